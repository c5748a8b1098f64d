/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.AbstractTransactionType;
import io.ev.engine.ReplyCodes;
import io.ev.pipeline.KeySink;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Common shape of the SmallBank types: a fixed payload length with one or two customer ids checked
 * before any key is declared or anything executed; balances read and written through the reply slot
 * as scratch ({@link SmallBankReply#SCRATCH_OFFSET}), so nothing is allocated and the type stays
 * stateless and shareable between threads.
 * <p>
 * Overflow checks: the {@code *Overflows} helpers give {@link Math#addExact}'s and
 * {@link Math#subtractExact}'s verdict without throwing, so that an abort (which a client can provoke
 * at will) allocates no exception either. Every subclass checks all its arithmetic before its first
 * write, so an aborted request writes nothing.
 */
abstract class SmallBankType extends AbstractTransactionType
{
    /** Length of a balance value. */
    static final int BALANCE_LENGTH = Long.BYTES;

    private final int payloadLength;
    private final boolean twoCustomers;

    SmallBankType(final int typeId, final String name, final int payloadLength, final boolean twoCustomers)
    {
        super(typeId, name, payloadLength, SmallBankReply.LENGTH);
        this.payloadLength = payloadLength;
        this.twoCustomers = twoCustomers;
    }

    public final boolean declareKeys(final DirectBuffer payload, final int length, final KeySink keys)
    {
        if (!isWellFormed(payload, length))
        {
            return false;
        }
        declareValid(payload, keys);
        return true;
    }

    public final int execute(
        final DirectBuffer payload,
        final int length,
        final long seq,
        final StoreWriter store,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        if (!isWellFormed(payload, length))
        {
            return MALFORMED;
        }
        return executeValid(payload, seq, store, reply, replyOffset);
    }

    /**
     * Declares the keys of a well-formed payload.
     */
    abstract void declareValid(DirectBuffer payload, KeySink keys);

    /**
     * Executes a well-formed payload.
     *
     * @return the reply length, {@link SmallBankReply#LENGTH}.
     */
    abstract int executeValid(
        DirectBuffer payload, long seq, StoreWriter store, MutableDirectBuffer reply, int replyOffset);

    private boolean isWellFormed(final DirectBuffer payload, final int length)
    {
        return length == payloadLength &&
            SmallBankCodec.isValidCustomer(SmallBankCodec.customer(payload, 0)) &&
            (!twoCustomers || SmallBankCodec.isValidCustomer(SmallBankCodec.secondCustomer(payload, 0)));
    }

    /**
     * Reads a balance into the reply slot's scratch; fetch it with {@link #scratchBalance}.
     *
     * @return false if the row does not exist (unknown customer).
     * @throws IllegalStateException if the row does not hold a balance (corrupt state).
     */
    static boolean readBalance(
        final StoreWriter store, final long key, final MutableDirectBuffer reply, final int replyOffset)
    {
        final int length = store.get(key, reply, replyOffset + SmallBankReply.SCRATCH_OFFSET);
        if (StateStore.MISSING == length)
        {
            return false;
        }
        if (BALANCE_LENGTH != length)
        {
            throw new IllegalStateException(
                "balance row " + key + " holds " + length + " bytes, not " + BALANCE_LENGTH);
        }
        return true;
    }

    /**
     * @return the balance the last {@link #readBalance} staged.
     */
    static long scratchBalance(final MutableDirectBuffer reply, final int replyOffset)
    {
        return reply.getLong(replyOffset + SmallBankReply.SCRATCH_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * Writes a balance through the reply slot's scratch.
     */
    static void writeBalance(
        final StoreWriter store,
        final long seq,
        final long key,
        final long balanceCents,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final int scratchOffset = replyOffset + SmallBankReply.SCRATCH_OFFSET;
        reply.putLong(scratchOffset, balanceCents, ReplyCodes.BYTE_ORDER);
        store.put(seq, key, reply, scratchOffset, BALANCE_LENGTH);
    }

    /**
     * @return true if {@code a + b} overflows a long (when {@link Math#addExact} would throw).
     */
    static boolean sumOverflows(final long a, final long b)
    {
        final long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0;
    }

    /**
     * @return true if {@code a - b} overflows a long (when {@link Math#subtractExact} would throw).
     */
    static boolean differenceOverflows(final long a, final long b)
    {
        final long difference = a - b;
        return ((a ^ b) & (a ^ difference)) < 0;
    }

    static int abort(final MutableDirectBuffer reply, final int replyOffset, final int code)
    {
        return SmallBankReply.writeAbort(reply, replyOffset, code);
    }

    static int ok(
        final MutableDirectBuffer reply, final int replyOffset, final long moneyDeltaCents, final long value)
    {
        return SmallBankReply.write(reply, replyOffset, ReplyCodes.OK, moneyDeltaCents, value);
    }
}
