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
    private final boolean ownsStore;
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
        this.store = StateStore.open(SmallBank.storeContext(accounts, batchRequests).writers(1));
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
        this.ownsStore = true;
        this.nextSeq = store.lastCommittedSeq() + 1;
    }

    /**
     * Runs on a store that the caller opened, loaded and closes (the replay ratio: raw and recovery
     * on one store). Call {@link #rewind()} after the caller replaced the store's contents.
     *
     * @param store         an open store holding SmallBank's rows.
     * @param writer        a writer of {@code store}.
     * @param accounts      SmallBank customers.
     * @param profile       "uniform" or "contended".
     * @param batchRequests requests per batch for {@link #execute(int)}, in [1, 65536].
     */
    RawSequential(
        final StateStore store,
        final StoreWriter writer,
        final int accounts,
        final String profile,
        final int batchRequests)
    {
        if (batchRequests < 1 || batchRequests > 1 << 16)
        {
            throw new IllegalArgumentException("batchRequests " + batchRequests + " outside [1, 65536]");
        }
        this.requests = new SmallBankRequests(SmallBankRequests.DEFAULT_COUNT, accounts, profile);
        this.batchRequests = batchRequests;
        this.accounts = accounts;
        this.reply = new UnsafeBuffer(new byte[registry.maxReplyBytes()]);
        this.store = store;
        this.writer = writer;
        this.initialTotalCents = SmallBankOracle.totalMoney(writer, accounts);
        this.ownsStore = false;
        this.nextSeq = store.lastCommittedSeq() + 1;
    }

    /**
     * Starts over at request 0 of the sequence, with the next batch after the store's last committed
     * one (after the caller reset the store, e.g. by importing a snapshot). The aborted count stays.
     */
    void rewind()
    {
        cursor = 0;
        nextSeq = store.lastCommittedSeq() + 1;
    }

    /**
     * Executes the next requests of the sequence in batches of the given sizes (e.g. the batches an
     * engine formed, as found in its journal).
     *
     * @param sizes   requests per batch.
     * @param batches how many of {@code sizes} to execute, from the first.
     * @return requests executed so far.
     */
    long executeBatches(final int[] sizes, final int batches)
    {
        for (int i = 0; i < batches; i++)
        {
            executeBatch(sizes[i]);
        }
        return cursor;
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

    /**
     * Closes the store if this opened it.
     */
    public void close()
    {
        if (ownsStore)
        {
            store.close();
        }
    }
}
