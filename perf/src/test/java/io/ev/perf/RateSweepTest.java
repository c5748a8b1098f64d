/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/ev bench --rate R1,R2}: every rate runs the load generator with the other options as given, and a
 * bad option or rate is refused before anything runs. Two 1-second runs on a small bank: a few seconds.
 */
class RateSweepTest
{
    @Test
    void shouldApplyEveryOtherOptionToEachRate()
    {
        final RateSweep.Sweep sweep = RateSweep.parse(new String[] {
            "--workers", "2", "--rate", "1000,50%, max", "--seconds", "3", "--json"});
        assertEquals(3, sweep.runs.size());
        assertEquals(LoadGenerator.Options.RATE_FIXED, sweep.runs.get(0).mode);
        assertEquals(1000, sweep.runs.get(0).ratePerSec);
        assertEquals(LoadGenerator.Options.RATE_PERCENT, sweep.runs.get(1).mode);
        assertEquals(LoadGenerator.Options.RATE_MAX, sweep.runs.get(2).mode);
        for (final LoadGenerator.Options options : sweep.runs)
        {
            assertEquals(2, options.workers);
            assertEquals(3, options.seconds);
        }
        assertTrue(sweep.json);
        assertNull(RateSweep.parse(new String[] {"--help"}));
    }

    @Test
    void shouldRefuseABadRateOrOptionAndNameIt()
    {
        assertEquals("--rate R[,R2,...] is required (or run the JMH suite: bin/ev bench jmh [JMH options])",
            assertThrows(IllegalArgumentException.class, () -> RateSweep.parse(new String[0])).getMessage());
        assertEquals("--rate fast must be a number, max or P%", assertThrows(IllegalArgumentException.class,
            () -> RateSweep.parse(new String[] {"--rate", "1000,fast"})).getMessage());
        assertEquals("--rate 1000,,2000 has an empty entry", assertThrows(IllegalArgumentException.class,
            () -> RateSweep.parse(new String[] {"--rate", "1000,,2000"})).getMessage());
        assertEquals("--rate given twice: list the rates in one --rate R,R2,...", assertThrows(
            IllegalArgumentException.class,
            () -> RateSweep.parse(new String[] {"--rate", "1000", "--rate", "2000"})).getMessage());
        assertEquals("--replicas 3 must be 1 or 2", assertThrows(IllegalArgumentException.class,
            () -> RateSweep.parse(new String[] {"--rate", "1000", "--replicas", "3"})).getMessage());
        assertEquals("unknown option --rates", assertThrows(IllegalArgumentException.class,
            () -> RateSweep.parse(new String[] {"--rates", "1000"})).getMessage());
    }

    @Test
    @Timeout(60)
    void shouldRunEachRateOpenLoopAndSummariseThemAll()
    {
        final String[] args = {"--rate", "2000,4000", "--seconds", "1", "--warmup-seconds", "0", "--accounts",
            "1000", "--json"};
        final RateSweep.Sweep sweep = RateSweep.parse(args);
        final ByteArrayOutputStream progress = new ByteArrayOutputStream();

        final List<LoadGenerator.Result> results =
            RateSweep.run(sweep, new PrintStream(progress, true, StandardCharsets.UTF_8));

        assertEquals(2, results.size());
        for (int i = 0; i < 2; i++)
        {
            final LoadGenerator.Result result = results.get(i);
            assertEquals(2000L * (i + 1), result.submitted, "one second at the rate");
            assertEquals(result.submitted, result.completed);
            assertNotNull(result.latency);
            assertEquals(result.completed, result.latency.getTotalCount());
        }
        final String text = progress.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("== rate 1 of 2: --rate 2000,") &&
            text.contains("== rate 2 of 2: --rate 4000,"), text);
        final String json = RateSweep.json(sweep, results, "bin/ev bench " + String.join(" ", args));
        assertTrue(json.startsWith("{\"date\":") && json.contains("\"runs\":[{\"replicas\":1,") &&
            json.contains("\"rate\":\"2000\"") && json.contains("\"rate\":\"4000\""), json);
        final ByteArrayOutputStream summary = new ByteArrayOutputStream();
        RateSweep.print(sweep, results, new PrintStream(summary, true, StandardCharsets.UTF_8));
        assertTrue(summary.toString(StandardCharsets.UTF_8).contains("== summary: open loop"), summary::toString);
    }
}
