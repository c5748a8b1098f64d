/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;

import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Store set-up shared by the benchmarks: sizes, preloading and pre-generated key sequences, all
 * done before measurement so the measured methods only index into arrays.
 */
final class StoreFixtures
{
    /** Payload length of every record (the store adds its 20-byte trailer). */
    static final int VALUE_BYTES = 64;
    /**
     * Digest pages of every benchmark store: 2^16 keeps 1,000 dirty pages sparse (1.5% of pages),
     * gives a five-level tree (65,536 / 4,096 / 256 / 16 / 1 at fan-out 16), and holds ~150 records
     * per page at 10M records and ~1.5 at 100K, so the seal comparison varies only the record count.
     */
    static final int PAGE_COUNT = 1 << 16;
    /** Writes per batch while preloading: one seal and commit per this many inserts. */
    static final int LOAD_BATCH_WRITES = 100_000;
    /**
     * Undo bytes taken by the first overwrite of a key in a batch: 24-byte header, the old record
     * (64-byte payload + 20-byte trailer, padded to 88) and an 8-byte footer (see the store's UndoLog).
     */
    static final int UNDO_ENTRY_BYTES = StateStore.Context.undoBytesPerWrite(VALUE_BYTES);
    /** Undo bytes per batch: a preload batch (100K inserts, 32 B each) or ~69,000 overwrites fit. */
    static final int UNDO_BYTES_PER_BATCH = 8 << 20;
    /**
     * Undo bytes per batch of the stores with several writers (seal and rollback by N writers): a preload
     * batch (100K inserts, 32 B each) still fits, and 17 writers x 4 open batches take 272 MiB of direct memory
     * where {@link #UNDO_BYTES_PER_BATCH} would take twice that.
     */
    static final int WRITERS_UNDO_BYTES_PER_BATCH = 4 << 20;
    /** Seed of every pre-generated key sequence, so runs measure the same keys. */
    static final long SEED = 0x5EEDL;

    private StoreFixtures()
    {
    }

    /**
     * @param recordCount records to be loaded; maxEntries gets 25% headroom above it.
     * @return an in-memory store for {@code recordCount} records of {@link #VALUE_BYTES}.
     */
    static StateStore openStore(final long recordCount)
    {
        return openStore(recordCount, UNDO_BYTES_PER_BATCH);
    }

    /**
     * @param recordCount       records to be loaded; maxEntries gets 25% headroom above it.
     * @param undoBytesPerBatch undo log bytes per batch of the one writer.
     * @return an in-memory store for {@code recordCount} records of {@link #VALUE_BYTES}.
     */
    static StateStore openStore(final long recordCount, final int undoBytesPerBatch)
    {
        return openStore(recordCount, undoBytesPerBatch, PAGE_COUNT);
    }

    static StateStore openStore(final long recordCount, final int undoBytesPerBatch, final int pageCount)
    {
        return openStore(recordCount, undoBytesPerBatch, pageCount, 1);
    }

    /**
     * @param writers writers the store allows (one per thread).
     * @return an in-memory store for {@code recordCount} records of {@link #VALUE_BYTES}.
     */
    static StateStore openStore(
        final long recordCount, final int undoBytesPerBatch, final int pageCount, final int writers)
    {
        return StateStore.open(new StateStore.Context()
            .maxEntries(recordCount + recordCount / 4 + 1024)
            .maxValueBytes(VALUE_BYTES)
            .pageCount(pageCount)
            .writers(writers)
            .undoBytesPerBatch(undoBytesPerBatch));
    }

    /**
     * @param recordCount records to be loaded.
     * @param workers     the writers of {@link ParallelWrites}: the store gets one more for the loader when
     *                    {@code workers > 1} (with one worker the loader's writer writes).
     * @return an in-memory store for {@code recordCount} records with {@link #PAGE_COUNT} pages.
     */
    static StateStore openStoreForWorkers(final long recordCount, final int workers)
    {
        return openStore(recordCount, WRITERS_UNDO_BYTES_PER_BATCH, PAGE_COUNT, 1 == workers ? 1 : workers + 1);
    }

    /**
     * @return a direct buffer of {@link #VALUE_BYTES} with a fixed pattern.
     */
    static UnsafeBuffer newValue()
    {
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(VALUE_BYTES));
        for (int i = 0; i < VALUE_BYTES; i++)
        {
            value.putByte(i, (byte)i);
        }
        return value;
    }

    /**
     * Inserts keys {@code [0, recordCount)} with one writer, sealing and committing every
     * {@link #LOAD_BATCH_WRITES} writes.
     *
     * @return the next batch seq to begin.
     */
    static long load(final StateStore store, final StoreWriter writer, final long recordCount)
    {
        final UnsafeBuffer value = newValue();
        long seq = store.lastCommittedSeq() + 1;
        long key = 0;
        while (key < recordCount)
        {
            store.begin(seq);
            final long end = Math.min(recordCount, key + LOAD_BATCH_WRITES);
            for (; key < end; key++)
            {
                value.putLong(0, key);
                writer.put(seq, key, value, 0, VALUE_BYTES);
            }
            store.seal(seq);
            store.commit(seq);
            seq++;
        }
        if (store.size() != recordCount)
        {
            throw new IllegalStateException("loaded " + store.size() + " records, expected " + recordCount);
        }
        return seq;
    }

    /**
     * @param count    length, a power of two so that a cursor can wrap with a mask.
     * @param keyRange keys are drawn uniformly from {@code [0, keyRange)}.
     * @return pseudo-random keys, the same for every run.
     */
    static long[] randomKeys(final int count, final long keyRange)
    {
        if (Integer.bitCount(count) != 1)
        {
            throw new IllegalArgumentException("count " + count + " must be a power of two");
        }
        final SplittableRandom random = new SplittableRandom(SEED);
        final long[] keys = new long[count];
        for (int i = 0; i < count; i++)
        {
            keys[i] = random.nextLong(keyRange);
        }
        return keys;
    }

    /**
     * @param store      gives the page of each key.
     * @param setCount   number of key sets.
     * @param setSize    keys per set, at most the page count.
     * @param keyRange   keys are drawn from {@code [0, keyRange)}.
     * @return {@code setCount} sets of {@code setSize} keys each, the keys of a set in distinct pages,
     * laid out set after set.
     */
    static long[] distinctPageKeys(final StateStore store, final int setCount, final int setSize, final long keyRange)
    {
        if (setSize > store.pageCount() || setSize > keyRange)
        {
            throw new IllegalArgumentException("setSize " + setSize + " > pages " + store.pageCount() +
                " or key range " + keyRange);
        }
        final SplittableRandom random = new SplittableRandom(SEED);
        final long[] keys = new long[setCount * setSize];
        final long[] pageUsedBySet = new long[store.pageCount()];
        Arrays.fill(pageUsedBySet, -1);
        for (int set = 0; set < setCount; set++)
        {
            int filled = 0;
            while (filled < setSize)
            {
                final long key = random.nextLong(keyRange);
                final int page = store.page(key);
                if (pageUsedBySet[page] != set)
                {
                    pageUsedBySet[page] = set;
                    keys[set * setSize + filled++] = key;
                }
            }
        }
        return keys;
    }
}
