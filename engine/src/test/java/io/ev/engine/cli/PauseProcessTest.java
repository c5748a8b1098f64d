/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static io.ev.engine.cli.CliTestSupport.signal;
import static io.ev.engine.cli.CliTestSupport.status;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pauses with real processes: a primary and a backup {@code bin/ev node} JVM over Aeron UDP on loopback
 * (peer timeout 2 s), the primary driving SmallBank; one of them is stopped with SIGSTOP once the primary
 * acknowledged a seeded number of requests and resumed with SIGCONT (a long GC pause, a descheduled VM, a
 * debugger). A pause cannot be told from a crash while it lasts; what matters is what the paused process
 * does when it runs again, with a clock that jumped:
 * <ul>
 *   <li>backup paused until the primary gave it up: the primary goes on alone (batches committed alone)
 *   and finishes its {@value #DRIVE_REQUESTS} requests; the resumed backup must not promote itself on
 *   its stale silence but hear that it was dropped, rejoin (catch-up or page sync) and converge;</li>
 *   <li>primary paused until the backup promoted itself (epoch 2): the resumed old primary hears the newer
 *   epoch and is fenced (it stops) without acknowledging anything the new primary lacks; restarted as a
 *   backup it rejoins and converges;</li>
 *   <li>a short pause (well under the timeout): nothing fails over, nothing is committed alone.</li>
 * </ul>
 * Each checks that every acknowledged request is held, the replicas converge (same state digest and
 * request count in {@code ev-node.status}) and the driving primary's conservation holds. By default one
 * scenario runs (about 25 s), chosen by the seed so that successive runs cover the three;
 * {@code -Dev.pause.scenarios=all} (or a comma-separated list of {@link Scenario} names) runs more. The
 * seed and ports are printed; rerun with {@code -Dev.pause.process.seed=<seed>}.
 */
class PauseProcessTest
{
    private static final long DRIVE_REQUESTS = 40_000;
    private static final long SEED = Long.getLong("ev.pause.process.seed", System.nanoTime());
    private static final Pattern ALONE = Pattern.compile("(\\d+) batches committed alone");

    @TempDir
    Path tmp;

    private final List<Process> processes = new ArrayList<>();
    private CliTestSupport.PrimaryOutput driving;
    private long startNs;
    private Path dirA;
    private Path dirB;
    private String endpointA;
    private String endpointB;

    /** What is paused, and for how long. */
    enum Scenario
    {
        /** The backup, until the primary gave it up. */
        BACKUP_PAUSED,
        /** The primary, until the backup promoted itself. */
        PRIMARY_PAUSED,
        /** The backup, for a fifth of the peer timeout. */
        SHORT_PAUSE
    }

    static Stream<Scenario> scenarios()
    {
        return CliTestSupport.chosen("ev.pause.scenarios", Scenario.values(), Scenario::valueOf, SEED);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldLoseNoAcknowledgedRequestAndConvergeAfterThePause(final Scenario scenario) throws Exception
    {
        final long seed = SEED + scenario.ordinal();
        switch (scenario)
        {
            case BACKUP_PAUSED -> backupPaused(seed);
            case PRIMARY_PAUSED -> primaryPaused(seed);
            default -> shortPause(seed);
        }
    }

    private void backupPaused(final long seed) throws Exception
    {
        try
        {
            final Process backup = startPair(seed, Scenario.BACKUP_PAUSED, true);
            signal(backup, "STOP");
            awaitOrFail(() -> "false".equals(status(dirA).getProperty("paired")), 60,
                "the primary never gave up its paused backup");
            signal(backup, "CONT");
            awaitConverged(dirB, dirA, "1");
            final String summary = stop(processes.get(1), backup);
            final Matcher alone = ALONE.matcher(summary);
            assertTrue(alone.find() && Long.parseLong(alone.group(1)) > 0,
                "the primary committed batches alone while its backup was paused: " + summary);
            assertTrue(summary.contains("conservation      ok"), "the driving primary's conservation: " + summary);
            System.out.println("PauseProcessTest backup paused: acknowledged " + DRIVE_REQUESTS + ", lost 0, " +
                alone.group(0) + ", converged with digest " + status(dirA).getProperty("stateDigest") + elapsed());
        }
        finally
        {
            destroyAll();
        }
    }

    private void primaryPaused(final long seed) throws Exception
    {
        try
        {
            final Process backup = startPair(seed, Scenario.PRIMARY_PAUSED, false);
            final Process primary = processes.get(1);
            signal(primary, "STOP");
            // the paused primary's client is paused with it: what it printed before is all it acknowledged
            awaitOrFail(() -> "PRIMARY".equals(status(dirB).getProperty("role")), 60,
                "the backup never promoted itself while the primary was paused");
            final Properties promoted = status(dirB);
            assertEquals("2", promoted.getProperty("epoch"), "the promoted backup is at the next epoch");
            final long inState = Long.parseLong(promoted.getProperty("requestsInState"));
            final long ackedBeforeResume = acknowledged();
            assertTrue(inState >= ackedBeforeResume, "the new primary holds " + inState + " requests, the old one " +
                "acknowledged " + ackedBeforeResume);
            signal(primary, "CONT");
            assertTrue(primary.waitFor(60, TimeUnit.SECONDS), () -> "the resumed old primary was not fenced: " +
                diagnostics());
            driving.join();
            final String output = primaryOutput();
            assertTrue(0 != primary.exitValue() && output.contains("fenced"),
                "the old primary stopped fenced (" + primary.exitValue() + "): " + output);
            final long acked = acknowledged();
            assertTrue(acked <= inState, "the fenced primary acknowledged " + acked + " requests, the new primary " +
                "holds " + inState + ": acknowledged requests lost");
            assertEquals(String.valueOf(inState), status(dirB).getProperty("requestsInState"),
                "the new primary (no client) took nothing from the old one");
            final Process rejoined = CliTestSupport.startNode(processes, dirA, List.of(), "backup", endpointA,
                endpointB, seed);
            awaitConverged(dirA, dirB, "2");
            stop(rejoined, backup);
            System.out.println("PauseProcessTest primary paused: acknowledged " + acked + " (" + ackedBeforeResume +
                " before the resume), new primary holds " + inState + ", lost 0, old primary fenced and rejoined " +
                "with digest " + status(dirA).getProperty("stateDigest") + elapsed());
        }
        finally
        {
            destroyAll();
        }
    }

    private void shortPause(final long seed) throws Exception
    {
        try
        {
            final Process backup = startPair(seed, Scenario.SHORT_PAUSE, true);
            signal(backup, "STOP");
            // the pause itself (a fifth of the peer timeout), not a synchronization
            await().pollDelay(Duration.ofMillis(400)).atMost(Duration.ofSeconds(5)).until(() -> true);
            signal(backup, "CONT");
            awaitConverged(dirB, dirA, "1");
            final String summary = stop(processes.get(1), backup);
            final Matcher alone = ALONE.matcher(summary);
            assertTrue(alone.find() && 0 == Long.parseLong(alone.group(1)),
                "nothing was committed alone through a short pause: " + summary);
            assertTrue(summary.contains("conservation      ok"), "the driving primary's conservation: " + summary);
            assertTrue(summary.contains("PRIMARY at epoch 1"), "no failover: " + summary);
            System.out.println("PauseProcessTest short pause: acknowledged " + DRIVE_REQUESTS + ", lost 0, " +
                "no failover, digest " + status(dirA).getProperty("stateDigest") + elapsed());
        }
        finally
        {
            destroyAll();
        }
    }

    /**
     * Starts backup B and driving primary A (a bounded drive served on afterwards when {@code bounded}, else
     * an endless one) and waits until A acknowledged a seeded number of requests.
     *
     * @return the backup.
     */
    private Process startPair(final long seed, final Scenario scenario, final boolean bounded) throws Exception
    {
        startNs = System.nanoTime();
        final long pauseAfter = 2_000 + new SplittableRandom(seed).nextInt(8_000);
        endpointA = "127.0.0.1:" + CliTestSupport.freeUdpPort();
        endpointB = "127.0.0.1:" + CliTestSupport.freeUdpPort();
        dirA = tmp.resolve("a");
        dirB = tmp.resolve("b");
        System.out.println("PauseProcessTest " + scenario + ": seed " + seed + " (-Dev.pause.process.seed=" + SEED +
            " -Dev.pause.scenarios=" + scenario + "), pause after committed >= " + pauseAfter + ", primary " +
            endpointA + ", backup " + endpointB);
        final Process backup = CliTestSupport.startNode(processes, dirB, List.of(), "backup", endpointB, endpointA,
            seed);
        final List<String> drive = new ArrayList<>(List.of("--drive", "smallbank", "--requests",
            Long.toString(bounded ? DRIVE_REQUESTS : 10_000_000), "--rate", "20000", "--window", "256"));
        if (bounded)
        {
            drive.add("--serve-after-drive");
        }
        final Process primary = CliTestSupport.startNode(processes, dirA, List.of(), "primary", endpointA, endpointB,
            seed, drive.toArray(new String[0]));
        driving = new CliTestSupport.PrimaryOutput(primary, pauseAfter);
        driving.awaitThreshold(this::diagnostics);
        return backup;
    }

    /**
     * Waits until {@code rejoined} is the paired backup of {@code primary} at {@code epoch}, with the same
     * state digest and request count; for a bounded drive also every request acknowledged and held.
     */
    private void awaitConverged(final Path rejoined, final Path primary, final String epoch)
    {
        awaitOrFail(() -> CliTestSupport.converged(rejoined, primary, epoch, DRIVE_REQUESTS), 120,
            "the replicas never converged");
    }

    /**
     * Stops both replicas with SIGTERM (a clean stop, the summary printed, exit status 143).
     *
     * @return the driving primary's output (its summary), if it was one of them.
     */
    private String stop(final Process first, final Process second) throws Exception
    {
        CliTestSupport.stopCleanly(this::diagnostics, first, second);
        driving.join();
        CliTestSupport.assertReplaysConverge(dirA, dirB);
        return primaryOutput();
    }

    /**
     * @return what the driving primary printed (its lines are in once its output ended).
     */
    private String primaryOutput()
    {
        return null == driving ? "(not started)" : driving.text();
    }

    private long acknowledged()
    {
        return null == driving ? 0 : driving.acknowledged();
    }

    private String elapsed()
    {
        return " (" + (System.nanoTime() - startNs) / 1_000_000 + " ms from the start)";
    }

    private void awaitOrFail(final java.util.concurrent.Callable<Boolean> condition, final int seconds,
        final String what)
    {
        CliTestSupport.awaitOrFail(condition, seconds, what, this::diagnostics);
    }

    private String diagnostics()
    {
        return "status a " + status(tmp.resolve("a")) + ", b " + status(tmp.resolve("b")) + "; primary acknowledged " +
            acknowledged() + "; " + CliTestSupport.logs(tmp);
    }

    private void destroyAll()
    {
        for (final Process process : processes)
        {
            process.destroyForcibly(); // SIGKILL ends a stopped process too
        }
    }
}
