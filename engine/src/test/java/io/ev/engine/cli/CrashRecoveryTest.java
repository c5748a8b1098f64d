/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ev.engine.Recovery;
import io.ev.engine.SequentialReplay;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Journal;
import io.ev.pipeline.Batch;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real crashes: a child JVM runs {@code bin/ev node} (the same main class) driving SmallBank and is
 * killed with SIGKILL once it has reported a seeded random number of committed requests (some kills
 * land in the initial checkpoint, some mid-batch, some mid-checkpoint). Then recovery must succeed,
 * every token must verify, the recovered history must hold every request the child reported
 * committed, and the recovered state must equal a sequential oracle execution of exactly that many
 * requests of the same seeded stream (one client thread submits in order, so the journaled requests
 * are a prefix of the stream). Every fourth kill the node is restarted on the crashed directory and
 * runs to completion before the same checks. The base seed is printed; rerun one with
 * {@code -Dev.crash.seed=<seed> -Dev.crash.kills=1}.
 */
class CrashRecoveryTest
{
    private static final int ACCOUNTS = 500;
    private static final int BATCH = 64;
    private static final int RESTART_REQUESTS = 300;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void shouldRecoverEveryAcknowledgedRequestAfterSigkill() throws Exception
    {
        final long baseSeed = Long.getLong("ev.crash.seed", System.nanoTime());
        final int kills = Integer.getInteger("ev.crash.kills", 20);
        System.out.println("CrashRecoveryTest base seed " + baseSeed + " (-Dev.crash.seed=" + baseSeed + ")");
        for (int k = 0; k < kills; k++)
        {
            final long seed = baseSeed + k;
            final SplittableRandom random = new SplittableRandom(seed);
            final Path dir = tmp.resolve("node-" + k);
            final long killAfter = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(30_000);
            final long checkpointEvery = 1_000 + random.nextInt(10_000);
            final long reported = runAndKill(dir, seed, killAfter, checkpointEvery);
            final String context = "kill " + k + " seed " + seed + " after committed>=" + killAfter + " (reported " +
                reported + ", checkpoint every " + checkpointEvery + ")";
            final long recovered = verify(dir, seed, reported, 0, context);
            System.out.println(context + ": recovered " + recovered + " requests");
            if (k % 4 == 3)
            {
                final Process restart = child(dir, seed, RESTART_REQUESTS, checkpointEvery);
                final List<String> lines = drain(restart.getInputStream(), -1, null, new AtomicLong());
                assertTrue(restart.waitFor(120, TimeUnit.SECONDS), context + ": restarted node did not finish");
                assertEquals(0, restart.exitValue(), context + ": restarted node failed: " + lines);
                verify(dir, seed, recovered + RESTART_REQUESTS, RESTART_REQUESTS, context + " + restart");
            }
        }
    }

    /**
     * @return the last committed count the child printed before it died.
     */
    private static long runAndKill(final Path dir, final long seed, final long killAfter, final long checkpointEvery)
        throws Exception
    {
        final Process process = child(dir, seed, 10_000_000, checkpointEvery);
        final CountDownLatch reached = new CountDownLatch(1);
        final AtomicLong last = new AtomicLong();
        final List<String> lines = new ArrayList<>();
        final Thread reader = new Thread(() -> lines.addAll(drain(process.getInputStream(), killAfter, reached, last)));
        reader.start();
        final boolean triggered = reached.await(120, TimeUnit.SECONDS);
        process.destroyForcibly(); // SIGKILL on Linux
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "killed child did not exit");
        reader.join(TimeUnit.SECONDS.toMillis(60));
        assertTrue(triggered, "child never reported committed >= " + killAfter + ": " + lines);
        return last.get();
    }

    private static Process child(final Path dir, final long seed, final long requests, final long checkpointEvery)
        throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(CliTestSupport.jvmOptions());
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(EvCli.class.getName());
        command.addAll(List.of("node", "--data", dir.toString(), "--drive", "smallbank", "--requests",
            Long.toString(requests), "--accounts", Integer.toString(ACCOUNTS), "--seed", Long.toString(seed),
            "--batch", Integer.toString(BATCH), "--workers", "2", "--window", "256",
            "--checkpoint-every", Long.toString(checkpointEvery)));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /**
     * Reads the child's output to its end, tracking the last {@code committed=} value; counts down
     * {@code reached} once it is at least {@code threshold} (threshold 0: at the first line).
     */
    static List<String> drain(
        final InputStream in, final long threshold, final CountDownLatch reached, final AtomicLong last)
    {
        final List<String> lines = new ArrayList<>();
        final java.util.ArrayDeque<String> tail = new java.util.ArrayDeque<>();
        long skipped = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)))
        {
            String line;
            while (null != (line = reader.readLine()))
            {
                // the first 100 lines and the last 200 (a long drive's progress lines between them are left out)
                if (lines.size() < 100)
                {
                    lines.add(line);
                }
                else
                {
                    tail.add(line);
                    if (tail.size() > 200)
                    {
                        tail.poll();
                        skipped++;
                    }
                }
                if (line.startsWith("committed="))
                {
                    // the line of a killed child may be cut anywhere: read the digits there are
                    int end = "committed=".length();
                    while (end < line.length() && Character.isDigit(line.charAt(end)))
                    {
                        end++;
                    }
                    if (end > "committed=".length())
                    {
                        last.set(Math.max(last.get(), Long.parseLong(line.substring("committed=".length(), end))));
                    }
                }
                if (null != reached && (0 == threshold || last.get() >= threshold))
                {
                    reached.countDown();
                }
            }
        }
        catch (final IOException ex)
        {
            tail.add("(output ended: " + ex + ")");
        }
        if (skipped > 0)
        {
            lines.add("(" + skipped + " lines left out)");
        }
        lines.addAll(tail);
        return lines;
    }

    /**
     * Recovers {@code dir} read-only and checks it against the oracle.
     *
     * @param atLeast  requests that must be in the recovered history.
     * @param restartRequests requests of a completed restart run after the crash (0 if none).
     * @return requests in the recovered history.
     */
    private static long verify(
        final Path dir, final long seed, final long atLeast, final int restartRequests, final String context)
    {
        final SmallBankNode node = SmallBankNode.read(dir);
        final long recoveredRoot;
        final long inState;
        try (StateStore store = StateStore.open(node.storeContext().writers(2));
            Journal journal = Journal.open(new Journal.Context().dir(dir)))
        {
            if (Recovery.isFresh(journal))
            {
                // killed before the initial checkpoint was complete: the node starts afresh
                assertEquals(0, atLeast, context + ": acknowledged requests but left no checkpoint");
                return 0;
            }
            final StoreWriter writer = store.newWriter();
            final Recovery recovery = new Recovery(store, writer, journal, node.registry(), BATCH, null);
            final Recovery.Report report;
            try
            {
                report = recovery.recover();
            }
            catch (final RuntimeException ex)
            {
                throw new AssertionError(context + ": recovery failed; data directory: " + listing(dir), ex);
            }
            assertEquals(report.batchesReplayed() - report.uncommittedBatches(), report.tokensVerified(), context);
            inState = report.requestsInState();
            recoveredRoot = report.root();
            assertTrue(inState >= atLeast, context + ": recovered history holds " + inState +
                " requests, the child acknowledged " + atLeast);
        }
        final long oracleRoot = oracleRoot(node.registry(), node.storeContext(), ACCOUNTS, BATCH, seed,
            inState - restartRequests, restartRequests);
        assertEquals(Long.toHexString(oracleRoot), Long.toHexString(recoveredRoot),
            context + ": recovered state differs from the first " + inState + " requests executed sequentially");
        return inState;
    }

    private static String listing(final Path dir)
    {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir))
        {
            final StringBuilder text = new StringBuilder();
            files.forEach(file -> text.append(dir.relativize(file)).append(' ')
                .append(file.toFile().length()).append("; "));
            return text.toString();
        }
        catch (final IOException ex)
        {
            return "(cannot list: " + ex + ")";
        }
    }

    /**
     * Executes the first {@code requests} of the seeded stream (then the first {@code again} of it
     * once more, for a restart) sequentially on a fresh store; checks conservation.
     */
    static long oracleRoot(
        final TransactionRegistry registry,
        final StateStore.Context storeContext,
        final int accounts,
        final int maxBatchRequests,
        final long seed,
        final long requests,
        final int again)
    {
        try (StateStore store = StateStore.open(storeContext.writers(3)))
        {
            final StoreWriter writer = store.newWriter();
            final long initial = SmallBankLoader.load(store, writer, accounts, seed);
            final SmallBankOracle oracle = new SmallBankOracle(initial);
            final Batch batch = new Batch(maxBatchRequests, registry.maxPayloadBytes(), registry.maxReplyBytes());
            final SequentialReplay replay = new SequentialReplay(store, writer, maxBatchRequests);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
            long seq = store.lastCommittedSeq() + 1;
            long requestId = 0; // the node goes on from the last id after a restart (deduplication)
            for (final long count : new long[] {requests, again})
            {
                final SmallBankWorkload workload = SmallBankWorkload.uniform(accounts, seed, false);
                for (long done = 0; done < count; seq++)
                {
                    batch.reset(seq);
                    while (!batch.isFull() && done < count)
                    {
                        final int length = workload.next(payload, 0);
                        batch.add(0, requestId++, workload.typeId(), payload, 0, length);
                        done++;
                    }
                    replay.executeAndCommit(batch, registry);
                    for (int i = 0; i < batch.count(); i++)
                    {
                        batch.wrapReply(reply, i);
                        oracle.onCommittedReply(reply, 0, batch.replyLength(i));
                    }
                }
            }
            oracle.checkConservation(writer, accounts);
            return store.root();
        }
    }
}
