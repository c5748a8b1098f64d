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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link StateStore#seal(long)} of a batch that dirtied {@value #DIRTY_PAGES} distinct pages, in a
 * store of 100,000 and of 10,000,000 records with the same page count
 * ({@value StoreFixtures#PAGE_COUNT}), so that only the record count differs. Seal recomputes the
 * Merkle paths of the dirty pages: its cost should not grow with the record count.
 * Target: seal at 10M / seal at 100K at most 1.5.
 * <p>
 * {@code workers} writers wrote the batch ({@link ParallelWrites}): with 1 the benchmark thread itself,
 * as the engine with one worker; with N &gt; 1 the N threads of a {@link io.ev.pipeline.ParallelExecutor},
 * keys dealt round-robin, as the engine's workers. The seal then runs on the benchmark thread (the
 * engine's batcher), reading page records and dirty marks that other cores wrote.
 * <p>
 * Each invocation: an untimed invocation-level setup begins the next batch and overwrites
 * {@value #DIRTY_PAGES} existing keys, one per page (the next of {@value #KEY_SETS} pre-generated
 * key sets); the timed method is the seal alone; an untimed invocation-level teardown commits.
 * JMH's caveat on {@code Level.Invocation} (timestamps and fixture calls around every call) is
 * negligible here: one seal takes tens of microseconds, far above the timer's resolution and
 * cost, and {@code Mode.AverageTime} then reports the mean of the individually timed seals.
 * <p>
 * Loading 10M records (one writer, batches of 100K: ~25 s on 2 cores) is done once per fork in the trial
 * setup; {@code -p recordCount=100000} leaves it out. The store is off-heap, so the heap stays at 1 GiB.
 * Not final: JMH generates subclasses.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = { "-Xms1g", "-Xmx1g" })
@State(Scope.Thread)
public class SealBenchmark
{
    /** Distinct pages each sealed batch touches. */
    static final int DIRTY_PAGES = 1_000;
    /** Key sets cycled through, so consecutive batches write different keys. */
    static final int KEY_SETS = 64;

    /** Records loaded before measurement. */
    @Param({ "100000", "10000000" })
    long recordCount;

    /** Writers (threads) of each sealed batch; above the available processors they time-share them. */
    @Param({ "1", "2", "4", "8", "16" })
    int workers;

    private StateStore store;
    private ParallelWrites writes;
    private long[] keys;
    private int keySet;
    private long seq;

    /**
     * Opens and loads the store, and picks the key sets.
     */
    @Setup(Level.Trial)
    public void setUpTrial()
    {
        BenchmarkMain.requireJvmOptions();
        HostCpus.announce("SealBenchmark", workers, false);
        store = StoreFixtures.openStoreForWorkers(recordCount, workers);
        final StoreWriter writer = store.newWriter();
        seq = StoreFixtures.load(store, writer, recordCount);
        keys = StoreFixtures.distinctPageKeys(store, KEY_SETS, DIRTY_PAGES, recordCount);
        writes = new ParallelWrites(store, writer, workers, DIRTY_PAGES);
    }

    /**
     * Stops the writers and frees the store.
     */
    @TearDown(Level.Trial)
    public void tearDownTrial()
    {
        try
        {
            writes.close();
        }
        finally
        {
            store.close();
        }
    }

    /**
     * Untimed: begins batch {@code seq}; the workers overwrite one key in each of {@value #DIRTY_PAGES} pages.
     */
    @Setup(Level.Invocation)
    public void beginAndWrite()
    {
        store.begin(seq);
        writes.write(seq, keys, keySet * DIRTY_PAGES, DIRTY_PAGES, seq);
        keySet = (keySet + 1) % KEY_SETS;
    }

    /**
     * @return the root after sealing the batch.
     */
    @Benchmark
    public long seal()
    {
        return store.seal(seq);
    }

    /**
     * Untimed: commits the sealed batch.
     */
    @TearDown(Level.Invocation)
    public void commit()
    {
        store.commit(seq);
        seq++;
    }
}
