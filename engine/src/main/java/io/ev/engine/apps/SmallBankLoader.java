/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import java.util.SplittableRandom;

import io.ev.engine.ReplyCodes;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Loads the SmallBank tables: for customers 0..N-1 a name row, and savings and checking balances drawn
 * uniformly from [{@link SmallBank#MIN_INITIAL_BALANCE_CENTS}, {@link SmallBank#MAX_INITIAL_BALANCE_CENTS}]
 * by a {@link SplittableRandom} of the given seed (per customer in id order: savings, then checking), so
 * the same seed gives the same state on every replica. The first batch also sets the fee account to 0.
 * <p>
 * Batches: the load commits in chunks of at most {@link #maxCustomersPerBatch} customers so that no
 * batch outgrows the store's undo bound; the chunks use consecutive seqs from
 * {@code store.lastCommittedSeq() + 1} (0 for a fresh store), each begun, sealed and committed, so
 * afterwards {@code store.lastCommittedSeq()} is the last load batch and the next batch is the one
 * after it. No batch may be open. If a chunk fails (store full, say) it is rolled back and the error
 * rethrown; earlier chunks stay committed.
 */
public final class SmallBankLoader
{
    /** Name prefix of every customer. */
    public static final String NAME_PREFIX = "customer-";
    /** Longest name: the prefix and up to 10 decimal digits of an int id. */
    public static final int NAME_MAX_BYTES = NAME_PREFIX.length() + 10;
    /** Rows written per customer. */
    public static final int ROWS_PER_CUSTOMER = 3;

    private SmallBankLoader()
    {
    }

    /**
     * Loads in chunks of {@link #maxCustomersPerBatch} customers.
     *
     * @return the initial total money in cents (sum of s + c).
     */
    public static long load(final StateStore store, final StoreWriter writer, final int customers, final long seed)
    {
        return load(store, writer, customers, seed, maxCustomersPerBatch(store.context()));
    }

    /**
     * @param store             the store, with no open batch.
     * @param writer            a writer of that store, used on this thread only.
     * @param customers         how many customers, at least 1.
     * @param seed              seed of the balance generator.
     * @param customersPerBatch customers per batch, in [1, {@link #maxCustomersPerBatch}].
     * @return the initial total money in cents (sum of s + c).
     */
    public static long load(
        final StateStore store,
        final StoreWriter writer,
        final int customers,
        final long seed,
        final int customersPerBatch)
    {
        final StateStore.Context ctx = store.context();
        if (customers < 1)
        {
            throw new IllegalArgumentException("customers " + customers + " must be at least 1");
        }
        if (ctx.maxValueBytes() < NAME_MAX_BYTES)
        {
            throw new IllegalArgumentException("store setting maxValueBytes " + ctx.maxValueBytes() +
                " is below the SmallBank name length " + NAME_MAX_BYTES);
        }
        final int perBatchLimit = maxCustomersPerBatch(ctx);
        if (customersPerBatch < 1 || customersPerBatch > perBatchLimit)
        {
            throw new IllegalArgumentException("customersPerBatch " + customersPerBatch + " outside [1, " +
                perBatchLimit + "] (bounded by the store setting undoBytesPerBatch)");
        }
        if (StateStore.NULL_SEQ != store.newestOpenSeq())
        {
            throw new IllegalStateException(
                "load needs no open batch, but batch " + store.newestOpenSeq() + " is open");
        }
        final SplittableRandom random = new SplittableRandom(seed);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[NAME_MAX_BYTES]);
        long seq = store.lastCommittedSeq() + 1;
        long totalCents = 0;
        for (int first = 0; first < customers; first += customersPerBatch, seq++)
        {
            final int end = (int)Math.min(customers, (long)first + customersPerBatch);
            store.begin(seq);
            try
            {
                if (0 == first)
                {
                    putBalance(writer, seq, SmallBank.FEE_ACCOUNT_KEY, 0, buffer);
                }
                for (int customer = first; customer < end; customer++)
                {
                    totalCents = Math.addExact(totalCents, loadCustomer(writer, seq, customer, random, buffer));
                }
                store.seal(seq);
            }
            catch (final RuntimeException ex)
            {
                store.rollback(seq);
                throw ex;
            }
            store.commit(seq);
        }
        return totalCents;
    }

    /**
     * @param ctx the store's settings.
     * @return the most customers one load batch may hold without overflowing the undo log, even if the
     * rows already exist with values as long as the ones loaded.
     */
    public static int maxCustomersPerBatch(final StateStore.Context ctx)
    {
        final int feeBytes = StateStore.Context.undoBytesPerWrite(SmallBankType.BALANCE_LENGTH);
        final int customerBytes = ROWS_PER_CUSTOMER * StateStore.Context.undoBytesPerWrite(NAME_MAX_BYTES);
        return Math.max(1, (ctx.undoBytesPerBatch() - feeBytes) / customerBytes);
    }

    private static long loadCustomer(
        final StoreWriter writer, final long seq, final int customer, final SplittableRandom random,
        final UnsafeBuffer buffer)
    {
        final long savingsCents = initialBalance(random);
        final long checkingCents = initialBalance(random);
        int nameLength = buffer.putStringWithoutLengthAscii(0, NAME_PREFIX);
        nameLength += buffer.putNaturalIntAscii(nameLength, customer);
        writer.put(seq, SmallBank.accountKey(customer), buffer, 0, nameLength);
        putBalance(writer, seq, SmallBank.savingsKey(customer), savingsCents, buffer);
        putBalance(writer, seq, SmallBank.checkingKey(customer), checkingCents, buffer);
        return savingsCents + checkingCents;
    }

    private static long initialBalance(final SplittableRandom random)
    {
        return random.nextLong(SmallBank.MIN_INITIAL_BALANCE_CENTS, SmallBank.MAX_INITIAL_BALANCE_CENTS + 1);
    }

    private static void putBalance(
        final StoreWriter writer, final long seq, final long key, final long cents, final UnsafeBuffer buffer)
    {
        buffer.putLong(0, cents, ReplyCodes.BYTE_ORDER);
        writer.put(seq, key, buffer, 0, SmallBankType.BALANCE_LENGTH);
    }
}
