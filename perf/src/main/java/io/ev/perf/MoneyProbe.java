/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.Arrays;

import io.ev.engine.EngineReplica;
import io.ev.engine.ReplyCodes;
import io.ev.engine.apps.SmallBankReply;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestHandler;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Tells a SmallBank batch's lost updates from its reorderings ({@link ManifestationOracle.Probe}): a run
 * of a batch <em>conserves money</em> when the sum of the balances it could touch changed by exactly the
 * sum of the money deltas its OK replies report (deposits, transact amounts, cheques, penalties; a
 * payment or a fee only moves money). Any serial order of the batch conserves money, whatever order it
 * took; a lost update (two workers read the same balance, both write it) does not. The balances summed
 * are every key the batch's requests declare plus the fee account (which the racy fee writes without
 * declaring it): every balance SmallBank can write. The difference, expected minus actual, is the money
 * the run lost (positive) or created (negative); lost updates that cancel out are not seen, so this is a
 * lower bound on the batches with a lost update. Not thread safe: the protocol's thread.
 */
final class MoneyProbe implements ManifestationOracle.Probe
{
    private final StoreWriter reader;
    private final EngineReplica replica;
    private final Keys keys;
    private final UnsafeBuffer value = new UnsafeBuffer(new byte[256]);
    private final UnsafeBuffer replyView = new UnsafeBuffer(0, 0);
    private final SmallBankReply reply = new SmallBankReply();
    private long preTotalCents;
    private long sequentialLostCents;
    private long parallelLostCents;

    /**
     * @param reader  a writer of the replica's store, only to read, on the protocol's thread.
     * @param replica the replica, whose {@code batch(seq)} holds the replies of the batch's last run.
     * @param keys    the balances of the current batch (filled by the experiment before each batch).
     */
    MoneyProbe(final StoreWriter reader, final EngineReplica replica, final Keys keys)
    {
        this.reader = reader;
        this.replica = replica;
        this.keys = keys;
    }

    public void before(final long seq)
    {
        preTotalCents = total();
    }

    public void after(final long seq, final boolean sequential)
    {
        long expectedDeltaCents = 0;
        final Batch replies = replica.batch(seq);
        for (int i = 0, count = replies.count(); i < count; i++)
        {
            replies.wrapReply(replyView, i);
            reply.wrap(replyView, 0, replies.replyLength(i));
            if (ReplyCodes.OK == reply.code())
            {
                expectedDeltaCents += reply.moneyDeltaCents();
            }
        }
        final long lostCents = expectedDeltaCents - (total() - preTotalCents);
        if (sequential)
        {
            sequentialLostCents = lostCents;
        }
        else
        {
            parallelLostCents = lostCents;
        }
    }

    private long total()
    {
        long totalCents = 0;
        for (int i = 0, count = keys.count; i < count; i++)
        {
            final int length = reader.get(keys.keys[i], value, 0);
            if (StateStore.MISSING != length && length >= Long.BYTES)
            {
                totalCents += value.getLong(0, ReplyCodes.BYTE_ORDER);
            }
        }
        return totalCents;
    }

    /**
     * @return money the last sequential run lost (expected - actual change); 0 unless the application is broken.
     */
    long sequentialLostCents()
    {
        return sequentialLostCents;
    }

    /**
     * @return money the last parallel run lost (expected - actual change): non-zero means a lost update.
     */
    long parallelLostCents()
    {
        return parallelLostCents;
    }

    /**
     * The distinct keys a batch's requests declare, plus extra keys: collected once per batch, shared by
     * the probes of all replicas.
     */
    static final class Keys implements KeySink
    {
        private final LongHashSet set = new LongHashSet();
        private final Request request = new Request();
        private long[] keys = new long[1024];
        private int count;

        /**
         * @param batch   a filled batch.
         * @param handler declares each request's keys.
         * @param extra   a key to include as well (the undeclared fee account).
         */
        void collect(final Batch batch, final RequestHandler handler, final long extra)
        {
            set.clear();
            count = 0;
            for (int i = 0, n = batch.count(); i < n; i++)
            {
                batch.wrap(request, i);
                handler.declareKeys(request, this);
            }
            write(extra);
        }

        public void read(final long key)
        {
            write(key);
        }

        public void write(final long key)
        {
            if (set.add(key))
            {
                if (count == keys.length)
                {
                    keys = Arrays.copyOf(keys, 2 * count);
                }
                keys[count++] = key;
            }
        }

        int count()
        {
            return count;
        }
    }
}
