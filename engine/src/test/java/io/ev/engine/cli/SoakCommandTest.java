/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.engine.cli.CliTestSupport.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/ev soak}: a short soak (two {@code bin/ev node} JVMs over the fault-injecting proxy, faults on a
 * seeded schedule) must end with every invariant holding, and bad options are refused before anything starts.
 * The short run lasts {@code -Dev.soak.minutes} (default 0.5, about a minute in all with start-up and the last
 * round); its seed is printed, rerun with {@code -Dev.soak.seed=<seed>}.
 */
class SoakCommandTest
{
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void shouldHoldEveryInvariantThroughAShortSoak()
    {
        final long seed = Long.getLong("ev.soak.seed", System.nanoTime());
        final String minutes = System.getProperty("ev.soak.minutes", "0.5");
        System.out.println("SoakCommandTest seed " + seed + " (-Dev.soak.seed=" + seed + "), " + minutes + " min");
        final Path work = tmp.resolve("soak");
        final String[] result = CliTestSupport.runWithin(Math.round(Double.parseDouble(minutes) * 60) + 500,
            "soak", "--minutes", minutes, "--round-seconds", "8", "--seed", Long.toString(seed), "--json", "--work",
            work.toString());
        final String json = result[1].trim();
        System.out.println("SoakCommandTest summary: " + json);
        assertEquals("0", result[0], "the soak passed: " + json + "\n" + result[2]);
        assertEquals("null", field(json, "violation"), json);
        assertEquals("0", field(json, "lost"), json);
        assertTrue(Long.parseLong(field(json, "rounds")) >= 1, json);
        assertTrue(Long.parseLong(field(json, "faultsInjected")) >= 1, "faults were injected: " + json);
        final long acknowledged = Long.parseLong(field(json, "acknowledged"));
        assertTrue(acknowledged > 0, json);
        assertTrue(Long.parseLong(field(json, "held")) >= acknowledged, json);
        // per round: paired, converged, clean stop, 2 x (conservation, exactly once), equal digests, replay = live,
        // nothing lost; and one more per fault
        assertTrue(Long.parseLong(field(json, "checksPassed")) >= 10 * Long.parseLong(field(json, "rounds")), json);
        assertTrue(result[2].contains("| faults "), "a status line every second on stderr: " + result[2]);
    }

    @Test
    void shouldRefuseBadOptionsBeforeStartingAnything() throws Exception
    {
        final Path work = tmp.resolve("work");
        assertRefused("--minutes 0 must be in (0, 10080]", "soak", "--minutes", "0", "--work", work.toString());
        assertRefused("--faults: unknown kind 'bogus'", "soak", "--faults", "link-cut,bogus", "--work",
            work.toString());
        assertRefused("--rate 5 must be in [100, 1000000]", "soak", "--rate", "5", "--work", work.toString());
        assertRefused("--peer-timeout-ms 100 must be in [500, 60000]", "soak", "--peer-timeout-ms", "100", "--work",
            work.toString());
        assertFalse(Files.exists(work), "nothing was written");
        Files.createDirectories(work.resolve("something"));
        assertRefused("must be absent or empty", "soak", "--work", work.toString());
    }

    private static void assertRefused(final String message, final String... args)
    {
        final String[] result = CliTestSupport.runWithin(60, args);
        assertEquals(Integer.toString(EvCli.EXIT_USAGE), result[0], String.join(" ", args) + ": " + result[2]);
        assertTrue(result[2].contains(message), "expected <" + message + "> in <" + result[2] + ">");
        assertFalse(result[2].contains("\tat "), "no stack trace: " + result[2]);
    }
}
