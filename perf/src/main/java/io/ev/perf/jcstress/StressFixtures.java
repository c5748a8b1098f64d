/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestHandler;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * What the jcstress tests share: a small store, a key-value request handler, the batches they execute, and the
 * expected page digests, page versions and Merkle roots, computed once per JVM by executing the same batches
 * sequentially on a reference store (so a test compares what a racing reader sees with what the store would hold
 * without any race).
 * <p>
 * Every test starts from batch 0 committed: {@link #K1} = {@link #OLD1}, {@link #K2} = {@link #OLD2},
 * {@link #K3} = {@link #OLD3}, {@link #K4} absent. {@link #K1} and {@link #K2} share a page.
 * <p>
 * Result codes used by the tests (one per observed aspect): {@link #NOT_SEEN} (the reader did not see the
 * publication, so read nothing), {@link #CURRENT} (the published value), {@link #STALE} (the value before the
 * publication) and {@link #OTHER} (neither: torn, garbage, or an exception).
 */
final class StressFixtures
{
    static final int NOT_SEEN = 0;
    static final int CURRENT = 1;
    static final int STALE = 2;
    static final int OTHER = 3;

    static final int PAGE_COUNT = 4;
    static final int VALUE_BYTES = Long.BYTES;
    /** Request type: put the request's value under its key. */
    static final int PUT = 1;
    /** Request type: remove the key. */
    static final int REMOVE = 2;
    static final int KEY_OFFSET = 0;
    static final int VALUE_OFFSET = KEY_OFFSET + Long.BYTES;
    static final int REQUEST_BYTES = VALUE_OFFSET + VALUE_BYTES;
    /** Reply: the key's value before the request, then after it ({@link #ABSENT} when it has none). */
    static final int REPLY_BYTES = 2 * Long.BYTES;
    static final long ABSENT = -1;

    static final long OLD1 = 0x1111_1111_1111_1111L;
    static final long OLD2 = 0x2222_2222_2222_2222L;
    static final long OLD3 = 0x3333_3333_3333_3333L;
    static final long NEW1 = 0x5151_5151_5151_5151L;
    static final long NEW2 = 0x5252_5252_5252_5252L;
    static final long NEW4 = 0x5454_5454_5454_5454L;
    static final long NEW3 = 0x5353_5353_5353_5353L;
    static final long NEWER1 = 0x6161_6161_6161_6161L;
    static final long NEWER3 = 0x6363_6363_6363_6363L;
    private static final long[] SAME_PAGE = samePageKeys();
    static final long K1 = SAME_PAGE[0];
    static final long K2 = SAME_PAGE[1];
    static final long K3 = 3;
    static final long K4 = 4;

    static final KeyValueHandler HANDLER = new KeyValueHandler();

    /** Batch 1 of {@link PhaseDonePublication}: one update. */
    static final Op[] UPDATE_K1 = {new Op(PUT, K1, NEW1)};
    /** Batch 1 of {@link SamePageWriters}: two updates of keys in one page. */
    static final Op[] UPDATE_K1_K2 = {new Op(PUT, K1, NEW1), new Op(PUT, K2, NEW2)};
    /** Batch 1 of {@link UndoLogRollback} and {@link SnapshotScanVersusWriter}: an update, an insert, a delete. */
    static final Op[] UPDATE_INSERT_DELETE = {new Op(PUT, K1, NEW1), new Op(PUT, K4, NEW4), new Op(REMOVE, K3, 0)};

    /**
     * Batch 1 of {@link PhaseToPhasePublication}: two phases; phase 0 = update K1 (worker 0), update K3 (worker 1);
     * phase 1 = update K3 (worker 0), update K1 (worker 1): each worker reads in phase 1 what the other wrote in 0.
     */
    static final Op[] TWO_PHASES = {
        new Op(PUT, K1, NEW1), new Op(PUT, K3, NEW3), new Op(PUT, K3, NEWER3), new Op(PUT, K1, NEWER1)};

    static final Expected BEFORE = reference(null);
    static final Expected AFTER_UPDATE_K1 = reference(UPDATE_K1);
    static final Expected AFTER_UPDATE_K1_K2 = reference(UPDATE_K1_K2);
    static final Expected AFTER_UPDATE_INSERT_DELETE = reference(UPDATE_INSERT_DELETE);
    static final Expected AFTER_TWO_PHASES = reference(TWO_PHASES);

    private StressFixtures()
    {
    }

    /**
     * @return two keys (at least 100, so distinct from {@link #K3} and {@link #K4}) in page 0.
     */
    private static long[] samePageKeys()
    {
        try (StateStore store = openStore(1))
        {
            final long[] keys = new long[2];
            int found = 0;
            for (long key = 100; found < keys.length; key++)
            {
                if (store.page(key) == 0)
                {
                    keys[found++] = key;
                }
            }
            return keys;
        }
    }

    /**
     * One request of a test batch.
     */
    static final class Op
    {
        final int type;
        final long key;
        final long value;

        Op(final int type, final long key, final long value)
        {
            this.type = type;
            this.key = key;
            this.value = value;
        }

    }

    /**
     * The state a reader may see: every page's digest and version, and the Merkle root.
     */
    static final class Expected
    {
        final long root;
        final long[] digests = new long[PAGE_COUNT];
        final long[] versions = new long[PAGE_COUNT];

        Expected(final StateStore store, final long root)
        {
            this.root = root;
            for (int page = 0; page < PAGE_COUNT; page++)
            {
                digests[page] = store.pageDigest(page);
                versions[page] = store.pageVersion(page);
            }
        }
    }

    /**
     * @param writers writers the store allows.
     * @return a small in-memory store: 16 entries, 16-byte values, {@link #PAGE_COUNT} pages, 2 open batches.
     */
    static StateStore openStore(final int writers)
    {
        return StateStore.open(new StateStore.Context()
            .maxEntries(16)
            .maxValueBytes(16)
            .pageCount(PAGE_COUNT)
            .writers(writers)
            .maxOpenBatches(2)
            .undoBytesPerBatch(4096));
    }

    /**
     * Opens a store for {@code workers} workers plus one sequential writer and commits batch 0 with it.
     *
     * @return the sequential executor (its writer reads for the coordinator); its store is {@code store[0]}.
     */
    static SequentialExecutor openCommitted(final int workers, final StateStore[] store)
    {
        store[0] = openStore(workers + 1);
        final SequentialExecutor sequential = new SequentialExecutor(store[0]);
        final Batch batch = new Batch(4, REQUEST_BYTES, REPLY_BYTES);
        batch.reset(0);
        add(batch, PUT, K1, OLD1);
        add(batch, PUT, K2, OLD2);
        add(batch, PUT, K3, OLD3);
        store[0].begin(0);
        sequential.execute(batch, HANDLER);
        store[0].seal(0);
        store[0].commit(0);
        return sequential;
    }

    /**
     * @return batch 1 holding {@code ops}, mixed into phases by the engine's mixer (distinct keys: one phase).
     */
    static Batch batch(final Op[] ops)
    {
        final Batch batch = new Batch(4, REQUEST_BYTES, REPLY_BYTES);
        fill(batch, ops);
        return batch;
    }

    /**
     * Resets {@code batch} to batch 1, adds {@code ops} and mixes it (what the batcher does before execute).
     */
    static void fill(final Batch batch, final Op[] ops)
    {
        batch.reset(1);
        for (final Op op : ops)
        {
            add(batch, op.type, op.key, op.value);
        }
        new KeyConflictMixer(batch.maxRequests()).mix(batch, HANDLER);
    }

    private static void add(final Batch batch, final int type, final long key, final long value)
    {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[REQUEST_BYTES]);
        payload.putLong(KEY_OFFSET, key);
        payload.putLong(VALUE_OFFSET, value);
        batch.add(7, 100 + batch.count(), type, payload, 0, REQUEST_BYTES);
    }

    private static Expected reference(final Op[] ops)
    {
        final StateStore[] store = new StateStore[1];
        final SequentialExecutor sequential = openCommitted(0, store);
        try (StateStore reference = store[0])
        {
            if (null == ops)
            {
                return new Expected(reference, reference.root());
            }
            reference.begin(1);
            sequential.execute(batch(ops), HANDLER);
            return new Expected(reference, reference.seal(1));
        }
    }

    /**
     * @return the value of {@code key} read through {@code reader}, or {@link #ABSENT}.
     */
    static long valueOf(final StoreWriter reader, final long key)
    {
        final UnsafeBuffer value = new UnsafeBuffer(new byte[16]);
        return StateStore.MISSING == reader.get(key, value, 0) ? ABSENT : value.getLong(0);
    }

    static int classify(final long seen, final long current, final long stale)
    {
        return seen == current ? CURRENT : seen == stale ? STALE : OTHER;
    }

    /**
     * @return {@link #CURRENT} if every page digest equals {@code current}'s, {@link #STALE} if every one equals
     * {@code stale}'s, else {@link #OTHER}.
     */
    static int digests(final StateStore store, final Expected current, final Expected stale)
    {
        return pages(store, current.digests, stale.digests, false);
    }

    /**
     * @return as {@link #digests}, for the page versions.
     */
    static int versions(final StateStore store, final Expected current, final Expected stale)
    {
        return pages(store, current.versions, stale.versions, true);
    }

    private static int pages(
        final StateStore store, final long[] current, final long[] stale, final boolean versions)
    {
        boolean isCurrent = true;
        boolean isStale = true;
        for (int page = 0; page < PAGE_COUNT; page++)
        {
            final long seen = versions ? store.pageVersion(page) : store.pageDigest(page);
            isCurrent &= seen == current[page];
            isStale &= seen == stale[page];
        }
        return isCurrent ? CURRENT : isStale ? STALE : OTHER;
    }

    /**
     * Key-value requests: payload = key (8), value (8); type {@link #PUT} or {@link #REMOVE}. Reply = the key's
     * value before (read through the worker's writer), then after. Stateless, shared by every thread.
     */
    static final class KeyValueHandler implements RequestHandler
    {
        public void declareKeys(final Request request, final KeySink keys)
        {
            keys.write(request.payload().getLong(KEY_OFFSET));
        }

        public int execute(
            final Request request,
            final long seq,
            final StoreWriter writer,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            final DirectBuffer payload = request.payload();
            if (REQUEST_BYTES != request.payloadLength())
            {
                throw new IllegalStateException("request of " + request.payloadLength() + " bytes");
            }
            final long key = payload.getLong(KEY_OFFSET);
            if (StateStore.MISSING == writer.get(key, reply, replyOffset))
            {
                reply.putLong(replyOffset, ABSENT);
            }
            if (REMOVE == request.type())
            {
                writer.remove(seq, key);
                reply.putLong(replyOffset + Long.BYTES, ABSENT);
            }
            else
            {
                writer.put(seq, key, payload, VALUE_OFFSET, VALUE_BYTES);
                reply.putBytes(replyOffset + Long.BYTES, payload, VALUE_OFFSET, VALUE_BYTES);
            }
            return REPLY_BYTES;
        }
    }
}
