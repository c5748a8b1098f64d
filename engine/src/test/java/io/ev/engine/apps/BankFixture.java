/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.engine.TransactionRegistry;
import io.ev.pipeline.KeySink;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A loaded SmallBank store for tests: executes requests one per batch (begin, execute, seal, commit)
 * and records what each declared and wrote.
 */
final class BankFixture implements AutoCloseable
{
    static final int MAX_VALUE_BYTES = 64;

    final StateStore store;
    final StoreWriter writer;
    final TransactionRegistry registry;
    final int customers;
    final long initialTotalCents;
    final UnsafeBuffer payload = new UnsafeBuffer(new byte[1024]);
    final UnsafeBuffer reply = new UnsafeBuffer(new byte[1024]);
    final SmallBankReply decoded = new SmallBankReply();
    final LongHashSet declaredReads = new LongHashSet();
    final LongHashSet declaredWrites = new LongHashSet();
    final LongHashSet writtenKeys = new LongHashSet();
    boolean declared;
    long rootBefore;
    long rootAfter;
    private final KeySink sink = new KeySink()
    {
        public void read(final long key)
        {
            declaredReads.add(key);
        }

        public void write(final long key)
        {
            declaredWrites.add(key);
        }
    };

    BankFixture(final int customers, final long seed, final boolean racyFee)
    {
        this(context(customers, 1 << 16), customers, seed, racyFee);
    }

    BankFixture(final StateStore.Context context, final int customers, final long seed, final boolean racyFee)
    {
        this.customers = customers;
        this.store = StateStore.open(context);
        this.writer = store.newWriter();
        this.registry = SmallBank.registerAll(new TransactionRegistry(), racyFee);
        KeyValueApp.registerAll(registry);
        this.initialTotalCents = SmallBankLoader.load(store, writer, customers, seed);
    }

    static StateStore.Context context(final int customers, final int undoBytesPerBatch)
    {
        return new StateStore.Context()
            .maxEntries(SmallBankLoader.ROWS_PER_CUSTOMER * (long)customers + 256)
            .maxValueBytes(MAX_VALUE_BYTES)
            .averageValueBytes(16)
            .pageCount(256)
            .undoBytesPerBatch(undoBytesPerBatch);
    }

    long nextSeq()
    {
        return store.lastCommittedSeq() + 1;
    }

    /**
     * Declares and executes the request in {@link #payload} alone in its own batch, then commits.
     *
     * @return the reply length; the reply is in {@link #reply} from 0, decoded in {@link #decoded}
     * when its length allows.
     */
    int executeAlone(final int typeId, final int length)
    {
        declaredReads.clear();
        declaredWrites.clear();
        writtenKeys.clear();
        declared = registry.declareKeys(typeId, payload, length, sink);
        final long seq = nextSeq();
        rootBefore = store.root();
        store.begin(seq);
        final int replyLength = registry.execute(typeId, payload, length, seq, writer, reply, 0);
        store.forEachWrittenKey(seq, writtenKeys::add);
        rootAfter = store.seal(seq);
        store.commit(seq);
        if (replyLength == SmallBankReply.LENGTH || replyLength == ReplyCodes.CODE_LENGTH)
        {
            decoded.wrap(reply, 0, replyLength);
        }
        return replyLength;
    }

    void setBalance(final long key, final long cents)
    {
        final long seq = nextSeq();
        store.begin(seq);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[Long.BYTES]);
        buffer.putLong(0, cents, ReplyCodes.BYTE_ORDER);
        writer.put(seq, key, buffer, 0, Long.BYTES);
        store.seal(seq);
        store.commit(seq);
    }

    long balance(final long key)
    {
        return SmallBankOracle.balanceCents(writer, key);
    }

    long savings(final long customer)
    {
        return balance(SmallBank.savingsKey(customer));
    }

    long checking(final long customer)
    {
        return balance(SmallBank.checkingKey(customer));
    }

    long totalMoney()
    {
        return SmallBankOracle.totalMoney(writer, customers);
    }

    public void close()
    {
        store.close();
    }
}
