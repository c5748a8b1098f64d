/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import net.openhft.chronicle.bytes.PointerBytesStore;
import net.openhft.chronicle.hash.Data;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;
import org.agrona.concurrent.UnsafeBuffer;
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

import static io.ev.perf.StoreFixtures.UNDO_BYTES_PER_BATCH;
import static io.ev.perf.StoreFixtures.UNDO_ENTRY_BYTES;
import static io.ev.perf.StoreFixtures.VALUE_BYTES;

/**
 * Single record get and put, the state store against a plain Chronicle Map of the same size and
 * record, side by side in one run. Each store holds {@value #RECORD_COUNT} records of
 * {@value StoreFixtures#VALUE_BYTES}-byte values (keys {@code [0, RECORD_COUNT)}); each operation
 * takes the next key of a pre-generated pseudo-random index of {@value #KEY_INDEX_LENGTH} keys that
 * cycles, so every op hits an existing key at a random place in the map. Run with {@code -prof gc}:
 * gc.alloc.rate.norm must stay below 1 B/op for all of them.
 * <ul>
 *   <li>{@code rawChronicleGet} / {@code rawChroniclePut}: the baseline, a
 *       {@code ChronicleMap<Long, byte[]>} with 64-byte values read and written through the same
 *       zero-allocation context API as the store: {@code queryContext(keyBytes, 0, 8)} over a reused
 *       off-heap key, read lock and a copy of the value into an Agrona buffer for get, update lock
 *       and {@code doReplaceValue(wrapValueBytesAsData(...))} for put;</li>
 *   <li>{@code storeGet}: {@link StoreWriter#get} into a reused buffer;</li>
 *   <li>{@code storePut} / {@code rawChroniclePutLoop}: the target pair. {@code storePut} runs
 *       1,000 {@link StoreWriter#put}s per invocation in a freshly begun batch, nearly always
 *       (~99.5%, keys being random over 100,000) the first write of the key in that batch:
 *       pre-image to the undo log, record hash, page digest and version, dirty mark. The seal,
 *       commit and begin run untimed between invocations (seal is {@code SealBenchmark}'s
 *       subject). {@code rawChroniclePutLoop} is the same loop over the raw map;</li>
 *   <li>{@code storePutAmortisedSeal}: the same first writes, but every {@code putsPerBatch}
 *       (default 1,000) puts the put that fills the batch also seals it (Merkle paths of its
 *       ~1,000 dirty pages), commits it and begins the next: the per-put cost with seal, commit
 *       and begin amortised over the batch;</li>
 *   <li>{@code storePutRewrite}: {@link StoreWriter#put} of a key already written in the open
 *       batch (every key was written once in it before measurement; same random key index): no
 *       undo entry and no seal, the store's bare write path. {@code storePut - storePutRewrite}
 *       is the cost of the undo entry.</li>
 * </ul>
 * The store states take {@code -p pageCount=N} (default 4,096 pages, ~24 records a page; with
 * 65,536 pages, 1.5 records a page, the 2 MiB page table adds a cache miss to every write).
 * Every put changes 8 bytes of the value so that the record hash and page digest really change.
 * Target: storePut at most 1.3 x rawChroniclePutLoop. {@code -p putsPerBatch=N} changes the batch
 * length of {@code storePutAmortisedSeal} (at most ~69,000: the undo log holds
 * {@value StoreFixtures#UNDO_BYTES_PER_BATCH} bytes per batch, 120 per first write).
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = { "-Xms1g", "-Xmx1g" })
public class StoreOpsBenchmark
{
    /** Records preloaded into each store. */
    static final int RECORD_COUNT = 100_000;
    /** Length of the cycling pseudo-random key index: a power of two. */
    static final int KEY_INDEX_LENGTH = 1 << 17;
    /** Undo bytes per batch of the rewrite store: one entry of 120 bytes for each preloaded key. */
    static final int REWRITE_UNDO_BYTES = 16 << 20;
    static final int PUTS_PER_INVOCATION = 1000;
    private static final int VERSION_OFFSET = Long.BYTES;

    /**
     * The baseline: a plain Chronicle Map, same entries and value length, accessed like the store does.
     */
    @State(Scope.Thread)
    public static class RawMapState
    {
        private ChronicleMap<Long, byte[]> map;
        private final UnsafeBuffer keyBuffer = new UnsafeBuffer(ByteBuffer.allocateDirect(Long.BYTES));
        private final PointerBytesStore keyStore = new PointerBytesStore();
        final UnsafeBuffer value = StoreFixtures.newValue();
        private final PointerBytesStore valueStore = new PointerBytesStore();
        private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
        private final UnsafeBuffer dst = new UnsafeBuffer(ByteBuffer.allocateDirect(VALUE_BYTES));
        private final KeyCursor keys = new KeyCursor(KEY_INDEX_LENGTH, RECORD_COUNT);
        private long version;

        /**
         * Creates and fills the map.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkMain.requireJvmOptions();
            keyStore.set(keyBuffer.addressOffset(), Long.BYTES);
            keyStore.singleThreadedCheckDisabled(true);
            valueStore.set(value.addressOffset(), VALUE_BYTES);
            valueStore.singleThreadedCheckDisabled(true);
            map = ChronicleMapBuilder.of(Long.class, byte[].class)
                .name("raw-chronicle-baseline")
                .entries(RECORD_COUNT + RECORD_COUNT / 4 + 1024)
                .averageValueSize(VALUE_BYTES)
                .create();
            for (long key = 0; key < RECORD_COUNT; key++)
            {
                value.putLong(0, key);
                put(key);
            }
            if (map.longSize() != RECORD_COUNT)
            {
                throw new IllegalStateException("raw map holds " + map.longSize() + " entries");
            }
        }

        /**
         * Frees the map.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            map.close();
        }

        long nextKey()
        {
            return keys.next();
        }

        int get(final long key)
        {
            keyBuffer.putLong(0, key);
            try (ExternalMapQueryContext<Long, byte[], ?> context = map.queryContext(keyStore, 0, Long.BYTES))
            {
                context.readLock().lock();
                final MapEntry<Long, byte[]> entry = context.entry();
                if (null == entry)
                {
                    return StateStore.MISSING;
                }
                final Data<byte[]> data = entry.value();
                final int length = (int)data.size();
                view.wrap(data.bytes().addressForRead(data.offset()), length);
                dst.putBytes(0, view, 0, length);
                return length;
            }
        }

        void put(final long key)
        {
            keyBuffer.putLong(0, key);
            try (ExternalMapQueryContext<Long, byte[], ?> context = map.queryContext(keyStore, 0, Long.BYTES))
            {
                context.updateLock().lock();
                final Data<byte[]> newValue = context.wrapValueBytesAsData(valueStore, 0, VALUE_BYTES);
                final MapEntry<Long, byte[]> entry = context.entry();
                if (null != entry)
                {
                    entry.doReplaceValue(newValue);
                }
                else
                {
                    context.absentEntry().doInsert(newValue);
                }
            }
        }
    }

    /**
     * A preloaded store, no batch open, for {@code storeGet}.
     */
    @State(Scope.Thread)
    public static class StoreState
    {
        /** Digest pages: 4096 gives ~24 records per page at 100,000 records. */
        @Param({ "4096" })
        int pageCount;

        private StateStore store;
        private StoreWriter writer;
        private final UnsafeBuffer dst = new UnsafeBuffer(ByteBuffer.allocateDirect(VALUE_BYTES));
        private final KeyCursor keys = new KeyCursor(KEY_INDEX_LENGTH, RECORD_COUNT);

        /**
         * Opens and fills the store.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkMain.requireJvmOptions();
            store = StoreFixtures.openStore(RECORD_COUNT, StoreFixtures.UNDO_BYTES_PER_BATCH, pageCount);
            writer = store.newWriter();
            StoreFixtures.load(store, writer, RECORD_COUNT);
        }

        /**
         * Frees the store.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            store.close();
        }

        long nextKey()
        {
            return keys.next();
        }
    }

    /**
     * A preloaded store with batch {@code seq} open, for {@code storePut}.
     */
    @State(Scope.Thread)
    public static class PutState
    {
        /** Digest pages: 4096 gives ~24 records per page at 100,000 records. */
        @Param({ "4096" })
        int pageCount;

        private StateStore store;
        private StoreWriter writer;
        private final UnsafeBuffer value = StoreFixtures.newValue();
        private final KeyCursor keys = new KeyCursor(KEY_INDEX_LENGTH, RECORD_COUNT);
        private long seq;
        private int putsInBatch;
        private long version;

        /** Puts per batch: the put that fills a batch also seals and commits it and begins the next. */
        @Param({ "1000" })
        int putsPerBatch;

        /**
         * Opens and fills the store, then begins a batch.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkMain.requireJvmOptions();
            if (putsPerBatch < 1 || (long)putsPerBatch * UNDO_ENTRY_BYTES > UNDO_BYTES_PER_BATCH)
            {
                throw new IllegalArgumentException("putsPerBatch = " + putsPerBatch + " must be in [1, " +
                    UNDO_BYTES_PER_BATCH / UNDO_ENTRY_BYTES + "]: the undo log of one batch must hold it");
            }
            store = StoreFixtures.openStore(RECORD_COUNT, StoreFixtures.UNDO_BYTES_PER_BATCH, pageCount);
            writer = store.newWriter();
            seq = StoreFixtures.load(store, writer, RECORD_COUNT);
            store.begin(seq);
        }

        /**
         * Rolls back the open batch and frees the store.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            store.close();
        }

        void putInBoundedBatch(final long key)
        {
            value.putLong(VERSION_OFFSET, ++version);
            writer.put(seq, key, value, 0, VALUE_BYTES);
            if (++putsInBatch == putsPerBatch)
            {
                store.seal(seq);
                store.commit(seq);
                store.begin(++seq);
                putsInBatch = 0;
            }
        }

        long nextKey()
        {
            return keys.next();
        }
    }

    /**
     * A preloaded store with one batch open for the whole trial, in which every key was written
     * once before measurement.
     */
    @State(Scope.Thread)
    public static class RewriteState
    {
        /** Digest pages: 4096 gives ~24 records per page at 100,000 records. */
        @Param({ "4096" })
        int pageCount;

        private StateStore store;
        private StoreWriter writer;
        private final UnsafeBuffer value = StoreFixtures.newValue();
        private final KeyCursor keys = new KeyCursor(KEY_INDEX_LENGTH, RECORD_COUNT);
        private long seq;
        private long version;

        /**
         * Opens and fills the store, begins a batch and writes every key once in it.
         */
        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkMain.requireJvmOptions();
            store = StoreFixtures.openStore(RECORD_COUNT, REWRITE_UNDO_BYTES, pageCount);
            writer = store.newWriter();
            seq = StoreFixtures.load(store, writer, RECORD_COUNT);
            store.begin(seq);
            for (long key = 0; key < RECORD_COUNT; key++)
            {
                writer.put(seq, key, value, 0, VALUE_BYTES);
            }
        }

        /**
         * Rolls back the open batch and frees the store.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            store.close();
        }

        long nextKey()
        {
            return keys.next();
        }
    }

    /**
     * @return the value length, after copying the value into a reused buffer.
     */
    @Benchmark
    public int rawChronicleGet(final RawMapState state)
    {
        return state.get(state.nextKey());
    }

    /**
     * Replaces the value of an existing key.
     */
    @Benchmark
    public void rawChroniclePut(final RawMapState state)
    {
        state.value.putLong(VERSION_OFFSET, ++state.version);
        state.put(state.nextKey());
    }

    /**
     * @return the value length, after copying the value into a reused buffer.
     */
    @Benchmark
    public int storeGet(final StoreState state)
    {
        return state.writer.get(state.nextKey(), state.dst, 0);
    }

    /**
     * First write of a key in a batch of {@code putsPerBatch}, with seal + commit + begin amortised:
     * what a worker's put costs once the batch's seal is paid too.
     */
    @Benchmark
    public void storePutAmortisedSeal(final PutState state)
    {
        state.putInBoundedBatch(state.nextKey());
    }

    /**
     * {@value #PUTS_PER_INVOCATION} first writes (undo pre-image + digest update) of distinct keys
     * in one open batch; the seal, commit and begin of the batch happen in the untimed
     * invocation setup. This is the put-with-undo-and-digest of the target.
     */
    @Benchmark
    @OperationsPerInvocation(PUTS_PER_INVOCATION)
    public void storePut(final BatchPutState state)
    {
        final StoreWriter writer = state.writer;
        final UnsafeBuffer value = state.value;
        final long seq = state.seq;
        for (int i = 0; i < PUTS_PER_INVOCATION; i++)
        {
            value.putLong(VERSION_OFFSET, ++state.version);
            writer.put(seq, state.nextKey(), value, 0, VALUE_BYTES);
        }
    }

    /**
     * The raw baseline of {@link #storePut}, with the same loop: {@value #PUTS_PER_INVOCATION}
     * replacements of existing keys per invocation.
     */
    @Benchmark
    @OperationsPerInvocation(PUTS_PER_INVOCATION)
    public void rawChroniclePutLoop(final RawMapState state)
    {
        for (int i = 0; i < PUTS_PER_INVOCATION; i++)
        {
            state.value.putLong(VERSION_OFFSET, ++state.version);
            state.put(state.nextKey());
        }
    }

    /**
     * A preloaded store; each invocation gets a freshly begun batch (the previous one sealed and
     * committed, untimed), so every measured put of distinct keys is a first write with undo.
     */
    @State(Scope.Thread)
    public static class BatchPutState
    {
        /** Digest pages: 4096 gives ~24 records per page at 100,000 records. */
        @Param({ "4096" })
        int pageCount;

        private StateStore store;
        private StoreWriter writer;
        private final UnsafeBuffer value = StoreFixtures.newValue();
        private final KeyCursor keys = new KeyCursor(KEY_INDEX_LENGTH, RECORD_COUNT);
        private long seq;
        private long version;

        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkMain.requireJvmOptions();
            store = StoreFixtures.openStore(RECORD_COUNT, StoreFixtures.UNDO_BYTES_PER_BATCH, pageCount);
            writer = store.newWriter();
            seq = StoreFixtures.load(store, writer, RECORD_COUNT) - 1;
        }

        /**
         * Untimed: closes the previous batch and opens the next. JMH's per-invocation overhead is
         * negligible against an invocation of {@value #PUTS_PER_INVOCATION} puts (~1 ms).
         */
        @Setup(Level.Invocation)
        public void nextBatch()
        {
            if (store.newestOpenSeq() != StateStore.NULL_SEQ)
            {
                store.seal(seq);
                store.commit(seq);
            }
            store.begin(++seq);
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            store.close();
        }

        long nextKey()
        {
            return keys.next();
        }
    }

    /**
     * Rewrite of a key already written in the open batch: no undo entry, no seal.
     */
    @Benchmark
    public void storePutRewrite(final RewriteState state)
    {
        state.value.putLong(VERSION_OFFSET, ++state.version);
        state.writer.put(state.seq, state.nextKey(), state.value, 0, VALUE_BYTES);
    }
}
