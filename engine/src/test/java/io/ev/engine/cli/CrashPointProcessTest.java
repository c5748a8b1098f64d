/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static io.ev.engine.cli.CliTestSupport.NODE_ACCOUNTS;
import static io.ev.engine.cli.CliTestSupport.NODE_BATCH;
import static io.ev.engine.cli.CliTestSupport.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Crash points with real processes: a primary and a backup {@code bin/ev node} JVM over Aeron UDP on
 * loopback, one of them started with {@code -Dev.crash.point=P -Dev.crash.hit=N} (a seeded N), so that it
 * halts ({@link Runtime#halt}) the N-th time it reaches step P of the commit protocol; every backup reports
 * a wrong token for every {@value #MISMATCH_EVERY}th batch ({@code -Dev.fault.mismatch.every}) so that
 * the rollback and re-execution steps run. The test waits for the armed node to exit with P's status
 * ({@link CrashPoint#exitStatus()}), then:
 * <ul>
 *   <li>primary points: the backup promotes itself (epoch 2) holding at least every request the primary
 *   acknowledged, its state is the sequential execution of exactly the requests it holds (one client
 *   submits in order: a prefix of the seeded stream, each once); the old primary restarts as a backup,
 *   recovers from its journal, rejoins and converges (same digest and request count);</li>
 *   <li>backup points: the primary goes on alone and finishes its {@value #DRIVE_REQUESTS} requests
 *   ({@code --serve-after-drive}); the backup restarts, recovers from its journal, rejoins and converges;
 *   the state holds exactly the {@value #DRIVE_REQUESTS} acknowledged requests and is their sequential
 *   execution.</li>
 * </ul>
 * Both then stop cleanly on SIGTERM. Which points: {@code -Dev.crashpoints=all}, or a comma-separated list
 * of names; by default one (about 35 s), chosen by the seed, so that successive runs cover the matrix
 * (printed; {@code -Dev.crashpoints.seed=S} reruns the same choice and hits).
 */
class CrashPointProcessTest
{
    private static final int MISMATCH_EVERY = 7;
    private static final long DRIVE_REQUESTS = 30_000;
    private static final String CHECKPOINT_EVERY = "2000";
    private static final long SEED = Long.getLong("ev.crashpoints.seed", System.nanoTime());

    @TempDir
    Path tmp;

    static Stream<CrashPoint> points()
    {
        return CliTestSupport.chosen("ev.crashpoints", CrashPoint.values(), CrashPoints::parse, SEED);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("points")
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldConvergeWithEveryAcknowledgedRequestOnceAfterACrashAtThePoint(final CrashPoint point) throws Exception
    {
        final long seed = SEED + point.ordinal();
        final int hit = hitFor(point, seed);
        System.out.println("CrashPointProcessTest " + point + " hit " + hit + " seed " + seed +
            " (-Dev.crashpoints.seed=" + SEED + " -Dev.crashpoints=" + point + ")");
        final long startNs = System.nanoTime();
        final String endpointA = "127.0.0.1:" + CliTestSupport.freeUdpPort();
        final String endpointB = "127.0.0.1:" + CliTestSupport.freeUdpPort();
        final Path dirA = tmp.resolve("a");
        final Path dirB = tmp.resolve("b");
        final List<String> armed = List.of("-Dev.crash.point=" + point, "-Dev.crash.hit=" + hit,
            "-Dev.fault.mismatch.every=" + MISMATCH_EVERY);
        final List<String> mismatches = List.of("-Dev.fault.mismatch.every=" + MISMATCH_EVERY);
        final List<Process> processes = new ArrayList<>();
        try
        {
            final Process backup = CliTestSupport.startNode(processes, dirB, point.primary() ? mismatches : armed,
                "backup", endpointB, endpointA, seed, "--checkpoint-every", CHECKPOINT_EVERY);
            final List<String> drive = new ArrayList<>(List.of("--drive", "smallbank", "--requests",
                Long.toString(point.primary() ? 10_000_000 : DRIVE_REQUESTS), "--rate", "20000", "--window", "256",
                "--checkpoint-every", CHECKPOINT_EVERY));
            if (!point.primary())
            {
                drive.add("--serve-after-drive"); // alone once the backup crashed; serves its rejoin afterwards
            }
            final Process primary = CliTestSupport.startNode(processes, dirA, point.primary() ? armed : List.of(),
                "primary", endpointA, endpointB, seed, drive.toArray(new String[0]));
            final AtomicLong acknowledged = new AtomicLong();
            final List<String> primaryLines = new ArrayList<>();
            final Thread reader = new Thread(() -> primaryLines.addAll(
                CrashRecoveryTest.drain(primary.getInputStream(), -1, new CountDownLatch(1), acknowledged)));
            reader.start();
            final Process crashed = point.primary() ? primary : backup;
            assertTrue(crashed.waitFor(120, TimeUnit.SECONDS), point + " hit " + hit + " was not reached in 120 s: " +
                primaryLines + CliTestSupport.logs(tmp));
            assertEquals(point.exitStatus(), crashed.exitValue(), "the armed node did not halt at " + point + ": " +
                primaryLines + CliTestSupport.logs(tmp));
            final Process survivor;
            final Process restarted;
            final long inState;
            if (point.primary())
            {
                reader.join(TimeUnit.SECONDS.toMillis(60));
                final long acked = acknowledged.get();
                final Properties crashedStatus = status(dirA); // its counters, as of at most 200 ms before the halt
                awaitOrFail(() -> "PRIMARY".equals(status(dirB).getProperty("role")), 60, "the backup never promoted");
                final Properties promoted = status(dirB);
                assertEquals("2", promoted.getProperty("epoch"), "the promoted backup is at the next epoch");
                inState = Long.parseLong(promoted.getProperty("requestsInState"));
                assertTrue(inState >= acked, "the new primary holds " + inState + " requests, the old one " +
                    "acknowledged " + acked);
                assertOracle(dirB, seed, inState, promoted);
                survivor = backup;
                restarted = CliTestSupport.startNode(processes, dirA, mismatches, "backup", endpointA, endpointB, seed,
                    "--checkpoint-every", CHECKPOINT_EVERY);
                awaitConverged(dirA, dirB, "2", -1);
                report(point, hit, acked, inState, crashedStatus, startNs);
            }
            else
            {
                survivor = primary;
                restarted = CliTestSupport.startNode(processes, dirB, mismatches, "backup", endpointB, endpointA, seed,
                    "--checkpoint-every", CHECKPOINT_EVERY);
                awaitConverged(dirB, dirA, "1", DRIVE_REQUESTS);
                inState = Long.parseLong(status(dirA).getProperty("requestsInState"));
                assertEquals(DRIVE_REQUESTS, inState, "every acknowledged request is in the state exactly once");
                assertOracle(dirA, seed, inState, status(dirA));
                report(point, hit, DRIVE_REQUESTS, inState, status(dirA), startNs);
            }
            for (final Process process : new Process[] {restarted, survivor})
            {
                process.destroy(); // SIGTERM: a clean stop, the summary printed, exit status 143 (the signal's)
                assertTrue(process.waitFor(60, TimeUnit.SECONDS), "a replica did not stop on SIGTERM");
                assertTrue(0 == process.exitValue() || 143 == process.exitValue(),
                    "a replica failed (" + process.exitValue() + "): " + CliTestSupport.logs(tmp));
            }
            reader.join(TimeUnit.SECONDS.toMillis(60));
        }
        finally
        {
            for (final Process process : processes)
            {
                process.destroyForcibly();
            }
        }
    }

    /**
     * @return a seeded hit count the point reaches early in the run: per batch points within the first
     * batches, the rarer ones (mismatch repairs every {@value #MISMATCH_EVERY}th batch, checkpoints every
     * {@value #CHECKPOINT_EVERY} requests) within their first few.
     */
    private static int hitFor(final CrashPoint point, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final String name = point.name();
        if (name.endsWith("CHECKPOINT"))
        {
            return 1 + random.nextInt(3);
        }
        if (name.contains("ROLLBACK") || name.contains("REEXECUTION"))
        {
            return 1 + random.nextInt(5);
        }
        return 20 + random.nextInt(200);
    }

    private void awaitConverged(final Path rejoined, final Path primary, final String epoch, final long acknowledged)
    {
        awaitOrFail(() ->
        {
            final Properties r = status(rejoined);
            final Properties p = status(primary);
            return "BACKUP".equals(r.getProperty("role")) && "PRIMARY".equals(p.getProperty("role")) &&
                "true".equals(r.getProperty("paired")) && "true".equals(p.getProperty("paired")) &&
                epoch.equals(r.getProperty("epoch")) && epoch.equals(p.getProperty("epoch")) &&
                (acknowledged < 0 || String.valueOf(acknowledged).equals(p.getProperty("acknowledged"))) &&
                String.valueOf(p.getProperty("stateDigest")).equals(r.getProperty("stateDigest")) &&
                String.valueOf(p.getProperty("requestsInState")).equals(r.getProperty("requestsInState"));
        }, 120, "the restarted node never rejoined and converged");
    }

    private static void assertOracle(final Path dir, final long seed, final long inState, final Properties status)
    {
        final SmallBankNode node = SmallBankNode.read(dir);
        final long oracle = CrashRecoveryTest.oracleRoot(node.registry(), node.storeContext(), NODE_ACCOUNTS,
            NODE_BATCH, seed, inState, 0);
        assertEquals(String.format("%016x", oracle), status.getProperty("stateDigest"),
            "the primary's state is the sequential execution of the first " + inState + " requests");
    }

    private void report(
        final CrashPoint point, final int hit, final long acked, final long inState, final Properties status,
        final long startNs)
    {
        System.out.println("CrashPointProcessTest " + point + " hit " + hit + ": acknowledged " + acked +
            ", in state " + inState + ", lost 0, divergences detected " + status.getProperty("divergencesDetected") +
            " repaired " + status.getProperty("repairedByReexecution") + "+" +
            status.getProperty("repairedByTransfer") + " (by the driving primary), converged in " +
            (System.nanoTime() - startNs) / 1_000_000 + " ms");
    }

    private void awaitOrFail(final java.util.concurrent.Callable<Boolean> condition, final int seconds,
        final String what)
    {
        CliTestSupport.awaitOrFail(condition, seconds, what, () -> "status a " + status(tmp.resolve("a")) + ", b " +
            status(tmp.resolve("b")) + "; " + CliTestSupport.logs(tmp));
    }
}
