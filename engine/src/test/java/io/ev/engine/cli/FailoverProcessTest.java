/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failover with real processes: a primary and a backup {@code bin/ev node} JVM over Aeron UDP on
 * loopback; the primary drives SmallBank and is killed with SIGKILL once it has acknowledged a
 * seeded number of requests. The backup must promote itself (epoch 2) holding at least every
 * acknowledged request, and its state must be the sequential execution of exactly the requests it
 * holds (one client submits in order, so they are a prefix of the seeded stream). The old primary
 * restarts on its data directory as a backup, recovers from its journal, rejoins and converges: same
 * state digest and request count as the new primary. Both then stop cleanly on SIGTERM. The seed is
 * printed; rerun with {@code -Dev.failover.process.seed=<seed>}.
 */
class FailoverProcessTest
{
    private static final int ACCOUNTS = CliTestSupport.NODE_ACCOUNTS;
    private static final int BATCH = CliTestSupport.NODE_BATCH;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldPromoteTheBackupWhenThePrimaryIsKilledAndRejoinTheOldPrimary() throws Exception
    {
        final long seed = Long.getLong("ev.failover.process.seed", System.nanoTime());
        final long killAfter = 2_000 + new SplittableRandom(seed).nextInt(20_000);
        System.out.println("FailoverProcessTest seed " + seed + " (-Dev.failover.process.seed=" + seed +
            "), kill after committed >= " + killAfter);
        final String endpointA = "127.0.0.1:" + freeUdpPort();
        final String endpointB = "127.0.0.1:" + freeUdpPort();
        final Path dirA = tmp.resolve("a");
        final Path dirB = tmp.resolve("b");
        final List<Process> processes = new ArrayList<>();
        try
        {
            final Process backup = start(processes, dirB, "backup", endpointB, endpointA, seed);
            final Process primary = start(processes, dirA, "primary", endpointA, endpointB, seed,
                "--drive", "smallbank", "--requests", "10000000", "--rate", "20000", "--window", "256");
            final AtomicLong acknowledged = new AtomicLong();
            final CountDownLatch reached = new CountDownLatch(1);
            final List<String> primaryLines = new ArrayList<>();
            final Thread reader = new Thread(() -> primaryLines.addAll(
                CrashRecoveryTest.drain(primary.getInputStream(), killAfter, reached, acknowledged)));
            reader.start();
            assertTrue(reached.await(120, TimeUnit.SECONDS), "the primary never acknowledged " + killAfter + ": " +
                primaryLines);
            primary.destroyForcibly(); // SIGKILL
            assertTrue(primary.waitFor(60, TimeUnit.SECONDS));
            reader.join(TimeUnit.SECONDS.toMillis(60));
            final long acked = acknowledged.get();

            awaitOrFail(() -> "PRIMARY".equals(status(dirB).getProperty("role")), 60, "the backup never promoted",
                backup);
            final Properties promoted = status(dirB);
            assertEquals("2", promoted.getProperty("epoch"), "the promoted backup is at the next epoch");
            final long inState = Long.parseLong(promoted.getProperty("requestsInState"));
            assertTrue(inState >= acked, "the new primary holds " + inState + " requests, the old one acknowledged " +
                acked);
            final SmallBankNode node = SmallBankNode.read(dirB);
            final long oracle = CrashRecoveryTest.oracleRoot(node.registry(), node.storeContext(), ACCOUNTS, BATCH,
                seed, inState, 0);
            assertEquals(String.format("%016x", oracle), promoted.getProperty("stateDigest"),
                "the new primary's state is the sequential execution of the first " + inState + " requests");

            final Process rejoined = start(processes, dirA, "backup", endpointA, endpointB, seed);
            awaitOrFail(() ->
            {
                final Properties a = status(dirA);
                final Properties b = status(dirB);
                return "BACKUP".equals(a.getProperty("role")) && "true".equals(a.getProperty("paired")) &&
                    "true".equals(b.getProperty("paired")) && "2".equals(a.getProperty("epoch")) &&
                    String.valueOf(b.getProperty("stateDigest")).equals(a.getProperty("stateDigest")) &&
                    String.valueOf(b.getProperty("requestsInState")).equals(a.getProperty("requestsInState"));
            }, 120, "the old primary never rejoined and converged", rejoined);
            System.out.println("FailoverProcessTest: acknowledged " + acked + ", new primary holds " + inState +
                " requests; old primary rejoined with digest " + status(dirA).getProperty("stateDigest"));
            for (final Process process : new Process[] {rejoined, backup})
            {
                process.destroy(); // SIGTERM: a clean stop, the summary printed, exit status 143 (the signal's)
                assertTrue(process.waitFor(60, TimeUnit.SECONDS), "a replica did not stop on SIGTERM");
                assertTrue(0 == process.exitValue() || 143 == process.exitValue(),
                    "a replica failed (" + process.exitValue() + "): " + output(process));
            }
            final String logs = output(backup);
            assertEquals(2, logs.split("== node summary ==", -1).length - 1,
                "both stopped replicas printed their summary: " + logs);
            CliTestSupport.assertReplaysConverge(dirA, dirB);
        }
        finally
        {
            for (final Process process : processes)
            {
                process.destroyForcibly();
            }
        }
    }

    private void awaitOrFail(
        final java.util.concurrent.Callable<Boolean> condition, final int seconds, final String what,
        final Process process)
    {
        CliTestSupport.awaitOrFail(condition, seconds, what, () -> "status a " + status(tmp.resolve("a")) + ", b " +
            status(tmp.resolve("b")) + "; " + output(process));
    }

    private static Process start(
        final List<Process> processes,
        final Path dir,
        final String role,
        final String listen,
        final String peer,
        final long seed,
        final String... extra) throws IOException
    {
        return CliTestSupport.startNode(processes, dir, List.of(), role, listen, peer, seed, extra);
    }

    private static Properties status(final Path dir)
    {
        return CliTestSupport.status(dir);
    }

    private String output(final Process process)
    {
        return "pid " + process.pid() + "; " + CliTestSupport.logs(tmp);
    }

    private static int freeUdpPort() throws IOException
    {
        return CliTestSupport.freeUdpPort();
    }
}
