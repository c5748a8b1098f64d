/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The SmallBank conservation oracle (WORKLOADS.md invariant 1): the total money in the bank equals the
 * initial total plus the money delta of every committed reply (deposits + transact amounts - cheques -
 * penalties). Total money = sum over customers of s + c, plus the fee account (0 unless the racy
 * SendPaymentWithFee ran: its fees move money into that account, and the fees it loses under
 * concurrency break conservation, which is how the race shows).
 * <p>
 * Feed it every committed reply with {@link #onCommittedReply}; it keeps the sum of deltas without
 * allocating. Not thread safe: feed it from the thread that releases replies.
 */
public final class SmallBankOracle
{
    private final SmallBankReply reply = new SmallBankReply();
    private final long initialTotalCents;
    private long sumOfDeltasCents;
    private long committedReplies;

    /**
     * @param initialTotalCents the total after loading ({@link SmallBankLoader#load}'s result).
     */
    public SmallBankOracle(final long initialTotalCents)
    {
        this.initialTotalCents = initialTotalCents;
    }

    /**
     * Accounts for one committed reply (any code: only OK replies carry a non-zero delta).
     *
     * @param buffer holding the reply.
     * @param offset where it starts.
     * @param length its length.
     */
    public void onCommittedReply(final DirectBuffer buffer, final int offset, final int length)
    {
        reply.wrap(buffer, offset, length);
        if (ReplyCodes.OK == reply.code())
        {
            sumOfDeltasCents = Math.addExact(sumOfDeltasCents, reply.moneyDeltaCents());
        }
        committedReplies++;
    }

    public long initialTotalCents()
    {
        return initialTotalCents;
    }

    public long sumOfDeltasCents()
    {
        return sumOfDeltasCents;
    }

    public long committedReplies()
    {
        return committedReplies;
    }

    /**
     * @return initial total + sum of deltas: what {@link #totalMoney} must read.
     */
    public long expectedTotalCents()
    {
        return Math.addExact(initialTotalCents, sumOfDeltasCents);
    }

    /**
     * @param reader    a writer of the store, used only to read.
     * @param customers customers loaded.
     * @throws IllegalStateException if the store's total differs from the expected total.
     */
    public void checkConservation(final StoreWriter reader, final int customers)
    {
        final long actualCents = totalMoney(reader, customers);
        if (!conserves(initialTotalCents, sumOfDeltasCents, actualCents))
        {
            throw new IllegalStateException("SmallBank conservation violated: initial " + initialTotalCents +
                " + deltas " + sumOfDeltasCents + " of " + committedReplies + " committed replies = " +
                expectedTotalCents() + " but the store holds " + actualCents + " (difference " +
                (actualCents - expectedTotalCents()) + " cents)");
        }
    }

    /**
     * @return true if {@code initialTotalCents + sumOfDeltasCents == currentTotalCents} (without overflow).
     */
    public static boolean conserves(
        final long initialTotalCents, final long sumOfDeltasCents, final long currentTotalCents)
    {
        final long expected = initialTotalCents + sumOfDeltasCents;
        return !SmallBankType.sumOverflows(initialTotalCents, sumOfDeltasCents) && expected == currentTotalCents;
    }

    /**
     * Sums s + c over customers 0..N-1 and adds the fee account (absent counts as 0). Reads the
     * current contents, including writes of open batches. Not for the hot path: allocates a buffer.
     *
     * @param reader    a writer of the store, used only to read.
     * @param customers customers loaded.
     * @return the total money in cents.
     * @throws IllegalStateException if a customer's balance row is missing or malformed.
     */
    public static long totalMoney(final StoreWriter reader, final int customers)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[SmallBankReply.LENGTH]);
        long totalCents = 0;
        for (int customer = 0; customer < customers; customer++)
        {
            totalCents = Math.addExact(totalCents, balance(reader, SmallBank.savingsKey(customer), buffer, true));
            totalCents = Math.addExact(totalCents, balance(reader, SmallBank.checkingKey(customer), buffer, true));
        }
        return Math.addExact(totalCents, balance(reader, SmallBank.FEE_ACCOUNT_KEY, buffer, false));
    }

    private static long balance(
        final StoreWriter reader, final long key, final UnsafeBuffer buffer, final boolean required)
    {
        if (!SmallBankType.readBalance(reader, key, buffer, 0))
        {
            if (required)
            {
                throw new IllegalStateException("balance row " + key + " is missing");
            }
            return 0;
        }
        return SmallBankType.scratchBalance(buffer, 0);
    }

    /**
     * Reads one balance row (savings, checking or the fee account), for tests and tools.
     *
     * @param reader a writer of the store, used only to read.
     * @param key    the row's key, e.g. {@link SmallBank#savingsKey(long)}.
     * @return the balance in cents.
     * @throws IllegalStateException if the row is missing or malformed.
     */
    public static long balanceCents(final StoreWriter reader, final long key)
    {
        return balance(reader, key, new UnsafeBuffer(new byte[SmallBankReply.LENGTH]), true);
    }
}
