/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import io.ev.engine.ReplyCodes;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The baseline of the engine targets: the classic single-threaded state machine over our store.
 * One thread executes the requests of a {@link SmallBankRequests} sequence directly through
 * {@link TransactionRegistry#execute} on one {@link StoreWriter}, in batches of
 * {@code batchRequests}: {@code store.begin}, execute each request, {@code seal}, {@code commit}.
 * No ring, no mixer, no other thread, no reply delivery. Allocation-free per request.
 * Not thread safe: one thread drives it.
 */
final class RawSequential implements AutoCloseable
{
    private final StateStore store;
    private final StoreWriter writer;
    private final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
    private final SmallBankRequests requests;
    private final int batchRequests;
    private final int accounts;
    private final UnsafeBuffer payload = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer reply;
    private final long initialTotalCents;
    private long nextSeq;
    private long cursor;
    private long aborted;

    /**
     * Opens a store sized like the engine's and loads SmallBank into it.
     *
     * @param accounts      SmallBank customers.
     * @param profile       "uniform" or "contended".
     * @param batchRequests requests per batch, in [1, 65536].
     */
    RawSequential(final int accounts, final String profile, final int batchRequests)
    {
        if (batchRequests < 1 || batchRequests > 1 << 16)
        {
            throw new IllegalArgumentException("batchRequests " + batchRequests + " outside [1, 65536]");
        }
        this.requests = new SmallBankRequests(SmallBankRequests.DEFAULT_COUNT, accounts, profile);
        this.batchRequests = batchRequests;
        this.accounts = accounts;
        this.reply = new UnsafeBuffer(new byte[registry.maxReplyBytes()]);
        this.store = StateStore.open(SmallBankRequests.storeContext(accounts, batchRequests).writers(1));
        try
        {
            this.writer = store.newWriter();
            this.initialTotalCents = SmallBankLoader.load(store, writer, accounts, SmallBankRequests.SEED);
        }
        catch (final RuntimeException ex)
        {
            store.close();
            throw ex;
        }
        this.nextSeq = store.lastCommittedSeq() + 1;
    }

    /**
     * Executes the next {@code count} requests of the sequence, in full batches of
     * {@code batchRequests} and a last partial one.
     *
     * @param count requests to execute.
     * @return requests executed so far.
     */
    long execute(final int count)
    {
        int done = 0;
        while (done < count)
        {
            final int inBatch = Math.min(batchRequests, count - done);
            executeBatch(inBatch);
            done += inBatch;
        }
        return cursor;
    }

    private void executeBatch(final int count)
    {
        final long seq = nextSeq;
        store.begin(seq);
        long abortedInBatch = 0;
        for (int i = 0; i < count; i++)
        {
            final long sequence = cursor++;
            final int length = requests.length(sequence);
            payload.wrap(requests.payloads(), requests.offset(sequence), length);
            final int replyLength = registry.execute(requests.typeId(sequence), payload, length, seq, writer, reply, 0);
            if (replyLength < ReplyCodes.CODE_LENGTH || ReplyCodes.OK != ReplyCodes.code(reply, 0))
            {
                abortedInBatch++;
            }
        }
        store.seal(seq);
        store.commit(seq);
        aborted += abortedInBatch;
        nextSeq = seq + 1;
    }

    /**
     * @return requests whose reply code was not OK (application aborts), so far.
     */
    long aborted()
    {
        return aborted;
    }

    /**
     * @return the sum of all balances now.
     */
    long totalMoneyCents()
    {
        return SmallBankOracle.totalMoney(writer, accounts);
    }

    /**
     * @return the sum of all balances after the load.
     */
    long initialTotalCents()
    {
        return initialTotalCents;
    }

    /**
     * @return the state root after the last committed batch.
     */
    long root()
    {
        return store.root();
    }

    public void close()
    {
        store.close();
    }
}
