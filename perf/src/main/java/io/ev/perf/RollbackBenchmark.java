/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.concurrent.TimeUnit;

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
 * {@link StateStore#rollback(long)} of a sealed batch of {@value #BATCH_WRITES} overwrites of
 * distinct existing keys (in distinct pages) of a store preloaded with {@value #RECORD_COUNT}
 * records, reported per write: the score is one rollback's time divided by
 * {@value #BATCH_WRITES} ({@code @OperationsPerInvocation}).
 * <p>
 * Each invocation: an untimed invocation-level setup begins batch {@code seq}, overwrites the next
 * of {@value #KEY_SETS} pre-generated key sets and seals the batch (a divergence is found after the
 * seal); the timed method is the rollback alone: restoring the {@value #BATCH_WRITES} pre-images
 * from the undo log into the map with their page digests and versions, and recomputing the Merkle
 * paths of the touched pages. The rollback closes the batch, so the same seq is begun again.
 * One rollback takes hundreds of microseconds, so {@code Level.Invocation}'s per-call timestamps
 * are negligible.
 * <p>
 * {@code workers} writers wrote the batch ({@link ParallelWrites}): with 1 the benchmark thread itself,
 * as the engine with one worker; with N &gt; 1 the N threads of a {@link io.ev.pipeline.ParallelExecutor},
 * keys dealt round-robin, so the rollback walks N undo logs of {@value #BATCH_WRITES}/N entries each,
 * written by other cores, as the engine's batcher does after a divergence. Not final: JMH generates
 * subclasses.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(RollbackBenchmark.BATCH_WRITES)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = { "-Xms1g", "-Xmx1g" })
@State(Scope.Thread)
public class RollbackBenchmark
{
    /** Records preloaded. */
    static final int RECORD_COUNT = 100_000;
    /** Writes in the rolled-back batch. */
    static final int BATCH_WRITES = 1_000;
    /** Key sets cycled through, so consecutive batches write different keys. */
    static final int KEY_SETS = 64;

    /** Writers (threads) of each rolled-back batch; above the available processors they time-share them. */
    @Param({ "1", "2", "4", "8", "16" })
    int workers;

    private StateStore store;
    private ParallelWrites writes;
    private long[] keys;
    private int keySet;
    private long seq;
    private long committedRoot;

    /**
     * Opens and loads the store, and picks the key sets.
     */
    @Setup(Level.Trial)
    public void setUpTrial()
    {
        BenchmarkMain.requireJvmOptions();
        HostCpus.announce("RollbackBenchmark", workers, false);
        store = StoreFixtures.openStoreForWorkers(RECORD_COUNT, workers);
        final StoreWriter writer = store.newWriter();
        seq = StoreFixtures.load(store, writer, RECORD_COUNT);
        keys = StoreFixtures.distinctPageKeys(store, KEY_SETS, BATCH_WRITES, RECORD_COUNT);
        committedRoot = store.root();
        writes = new ParallelWrites(store, writer, workers, BATCH_WRITES);
    }

    /**
     * Stops the writers and frees the store, after checking that the rollbacks left it as loaded.
     */
    @TearDown(Level.Trial)
    public void tearDownTrial()
    {
        try
        {
            writes.close();
            if (store.root() != committedRoot || store.size() != RECORD_COUNT)
            {
                throw new IllegalStateException("rollback did not restore the store: root " + store.root() +
                    " expected " + committedRoot + ", size " + store.size());
            }
        }
        finally
        {
            store.close();
        }
    }

    /**
     * Untimed: begins batch {@code seq}, the workers overwrite {@value #BATCH_WRITES} keys, seals.
     */
    @Setup(Level.Invocation)
    public void writeAndSeal()
    {
        store.begin(seq);
        writes.write(seq, keys, keySet * BATCH_WRITES, BATCH_WRITES, keySet);
        store.seal(seq);
        keySet = (keySet + 1) % KEY_SETS;
    }

    /**
     * @return the root after the rollback (the committed root).
     */
    @Benchmark
    public long rollback()
    {
        store.rollback(seq);
        return store.root();
    }
}
