/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.ev.engine.Recovery;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.journal.BatchDecoder;
import io.ev.journal.Journal;
import io.ev.journal.JournalReader;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The journal's read side (issue 4; {@link JournalBenchmark} is the append side), in requests per second.
 * The trial setup runs the engine (1 worker, batches of up to {@value #MAX_BATCH_REQUESTS}, journal in a
 * temporary directory) over {@value #REQUESTS} SmallBank requests, so the journal holds the engine's own
 * batches and commit markers after its initial checkpoint; then:
 * <ul>
 *   <li>{@link #read}: {@link Journal#read} of every entry (length, CRC32C, version and structure checks,
 *       decoding), counting the requests: the floor of any recovery;</li>
 *   <li>{@link #replay}: {@link Recovery#replay} from the checkpoint: read, re-execute every batch
 *       sequentially into the store, seal, verify each batch's root against its commit marker, commit.
 *       The checkpoint is loaded again before each invocation (untimed, invocation-level setup of
 *       {@link ReplayState}); one replay takes a fraction of a second, so the per-call timestamps are
 *       negligible. The root after each replay must equal the engine's.</li>
 * </ul>
 * Replay is sequential by design (the journal's order is the state's), so this stage takes no {@code workers}.
 * {@code bin/ev ratio 21 replay} compares replay with the raw sequential loop in one JVM.
 * The temporary directory ({@code java.io.tmpdir/ev-journal-replay-bench-*}) is deleted at the end.
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xms2g", "-Xmx2g" })
@State(Scope.Benchmark)
public class JournalReplayBenchmark
{
    /** Requests journaled by the engine, read or replayed by each invocation. */
    public static final int REQUESTS = 100_000;
    /** The engine's batch bound. */
    public static final int MAX_BATCH_REQUESTS = 1024;

    /** WORKLOADS.md profile: uniform or contended. */
    @Param({ "uniform" })
    String profile;

    /** SmallBank customers. */
    @Param({ "100000" })
    int accounts;

    /** Requests journaled; {@link #REQUESTS} (the operations per invocation), smaller only in tests. */
    int requests = REQUESTS;

    private final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
    private final Counter counter = new Counter();
    private Path dir;
    private Journal journal;
    private StateStore store;
    private StoreWriter writer;
    private long engineRoot;
    private long engineBatches;

    /**
     * Writes the journal with the engine, opens it, and opens the store replay runs into.
     */
    @Setup(Level.Trial)
    public void setUpTrial()
    {
        BenchmarkMain.requireJvmOptions();
        dir = TempDirs.create("ev-journal-replay-bench-");
        try (EngineDriver engine = new EngineDriver(1, MAX_BATCH_REQUESTS, accounts, profile, null, null,
            new Journal.Context().dir(dir)))
        {
            engine.run(requests);
            engineRoot = engine.engine().root();
        }
        journal = Journal.open(new Journal.Context().dir(dir));
        // the batch count comes from the journal: the engine counts a batch after releasing its replies, so its
        // counter may still miss the last batch when the client has seen every reply
        clear(counter);
        journal.read(-1, counter);
        if (counter.requests != requests || counter.batches != counter.commits || 0 == counter.batches)
        {
            throw new IllegalStateException("journal in " + dir + " holds " + counter.requests + " requests in " +
                counter.batches + " batches and " + counter.commits + " commit markers; the engine replied to " +
                requests + " requests");
        }
        engineBatches = counter.batches;
        store = StateStore.open(SmallBank.storeContext(accounts, MAX_BATCH_REQUESTS).writers(1));
        writer = store.newWriter();
    }

    /**
     * Closes the journal and the store and deletes the directory.
     */
    @TearDown(Level.Trial)
    public void tearDownTrial()
    {
        try
        {
            journal.close();
            store.close();
        }
        finally
        {
            TempDirs.delete(dir);
        }
    }

    /**
     * @return requests read.
     * @throws IllegalStateException if the journal holds other than the engine's requests and batches.
     */
    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public long read()
    {
        clear(counter);
        journal.read(-1, counter);
        if (counter.requests != requests || counter.batches != engineBatches || counter.commits != engineBatches)
        {
            throw new IllegalStateException("journal in " + dir + " holds " + counter.requests + " requests in " +
                counter.batches + " batches and " + counter.commits + " commit markers; before, it held " +
                requests + " requests in " + engineBatches + " batches");
        }
        return counter.requests;
    }

    /**
     * @return requests replayed.
     * @throws IllegalStateException if the replay did not end at the engine's root with every batch verified.
     */
    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public long replay(final ReplayState state)
    {
        final Recovery.Report report = state.recovery.replay(state.fromIndex);
        if (report.root() != engineRoot || report.batchesReplayed() != engineBatches ||
            report.tokensVerified() != engineBatches)
        {
            throw new IllegalStateException("replay ended at root " + Long.toHexString(report.root()) +
                " (engine " + Long.toHexString(engineRoot) + ") after " + report.batchesReplayed() + " batches, " +
                report.tokensVerified() + " verified; the journal holds " + engineBatches + " batches");
        }
        return report.requestsReplayed();
    }

    /**
     * The store at the checkpoint, before each replay.
     */
    @State(Scope.Thread)
    public static class ReplayState
    {
        Recovery recovery;
        long fromIndex;

        /**
         * Untimed: loads the journal's checkpoint into the store.
         *
         * @param bench the journal and store.
         */
        @Setup(Level.Invocation)
        public void loadCheckpoint(final JournalReplayBenchmark bench)
        {
            recovery = new Recovery(bench.store, bench.writer, bench.journal, bench.registry, MAX_BATCH_REQUESTS,
                null);
            fromIndex = recovery.loadCheckpoint();
        }
    }

    private static void clear(final Counter counter)
    {
        counter.requests = 0;
        counter.batches = 0;
        counter.commits = 0;
    }

    /**
     * @return the directory of the journal (tests).
     */
    Path dir()
    {
        return dir;
    }

    /**
     * Counts what a read delivered.
     */
    private static final class Counter implements JournalReader.Handler
    {
        long requests;
        long batches;
        long commits;

        public void onBatch(final BatchDecoder batch, final long index)
        {
            requests += batch.requestCount();
            batches++;
        }

        public void onCommit(
            final long seq, final long root, final long replyDigest, final int requestCount, final long index)
        {
            commits++;
        }
    }
}
