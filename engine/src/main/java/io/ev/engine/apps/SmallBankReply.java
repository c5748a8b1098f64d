/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight decoder of SmallBank replies. Every reply a SmallBank type writes is {@link #LENGTH} bytes,
 * little-endian:
 * <pre>
 *   0              4                          12                 20
 *  +---------------+--------------------------+------------------+
 *  | reply code (4)| money delta cents (8)    | value (8)        |
 *  +---------------+--------------------------+------------------+
 * </pre>
 * <ul>
 *   <li>money delta: the change this request made to the total money in the bank (sum of s + c over
 *       customers plus the fee account): DepositChecking +v, TransactSavings +v, WriteCheck -v or
 *       -(v + 1), SendPayment, SendPaymentWithFee and Amalgamate 0; always 0 unless the code is OK;</li>
 *   <li>value: Balance: s[x] + c[x]; DepositChecking: new c[x]; TransactSavings: new s[x];
 *       Amalgamate: new c[y]; WriteCheck: new c[x]; SendPayment(WithFee): new c[x]; 0 unless OK.</li>
 * </ul>
 * Engine-level replies (unknown type, malformed, failed) are the {@link ReplyCodes#CODE_LENGTH}-byte
 * code alone; this flyweight reads their delta and value as 0. Before a type writes its reply, its
 * reply slot serves as scratch for the balances it reads and writes ({@link #SCRATCH_OFFSET}).
 */
public final class SmallBankReply
{
    /** Offset of the reply code. */
    public static final int CODE_OFFSET = ReplyCodes.CODE_OFFSET;
    /** Offset of the money delta. */
    public static final int MONEY_DELTA_OFFSET = CODE_OFFSET + ReplyCodes.CODE_LENGTH;
    /** Offset of the value. */
    public static final int VALUE_OFFSET = MONEY_DELTA_OFFSET + Long.BYTES;
    /** Length of every reply a SmallBank type writes. */
    public static final int LENGTH = VALUE_OFFSET + Long.BYTES;
    /** Where in its reply slot a type stages the 8-byte balance it reads or writes. */
    static final int SCRATCH_OFFSET = VALUE_OFFSET;

    private DirectBuffer buffer;
    private int offset;
    private int length;

    /**
     * Points this flyweight at a reply.
     *
     * @param buffer holding the reply.
     * @param offset where it starts.
     * @param length its length: {@link ReplyCodes#CODE_LENGTH} or {@link #LENGTH}.
     * @return this.
     * @throws IllegalArgumentException for any other length.
     */
    public SmallBankReply wrap(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length != LENGTH && length != ReplyCodes.CODE_LENGTH)
        {
            throw new IllegalArgumentException("SmallBank reply length " + length + " is neither " + LENGTH +
                " nor " + ReplyCodes.CODE_LENGTH);
        }
        this.buffer = buffer;
        this.offset = offset;
        this.length = length;
        return this;
    }

    /**
     * @return the reply code.
     */
    public int code()
    {
        return buffer.getInt(offset + CODE_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * @return true if the code is {@link ReplyCodes#OK}.
     */
    public boolean isOk()
    {
        return ReplyCodes.OK == code();
    }

    /**
     * @return the change to the bank's total money this request caused; 0 for an engine-level reply.
     */
    public long moneyDeltaCents()
    {
        return length == LENGTH ? buffer.getLong(offset + MONEY_DELTA_OFFSET, ReplyCodes.BYTE_ORDER) : 0;
    }

    /**
     * @return the type's value (see the class comment); 0 for an engine-level reply.
     */
    public long value()
    {
        return length == LENGTH ? buffer.getLong(offset + VALUE_OFFSET, ReplyCodes.BYTE_ORDER) : 0;
    }

    /**
     * @return the length of the wrapped reply.
     */
    public int length()
    {
        return length;
    }

    /**
     * Writes a SmallBank reply.
     *
     * @return its length, {@link #LENGTH}.
     */
    public static int write(
        final MutableDirectBuffer reply, final int offset, final int code, final long moneyDeltaCents, final long value)
    {
        reply.putInt(offset + CODE_OFFSET, code, ReplyCodes.BYTE_ORDER);
        reply.putLong(offset + MONEY_DELTA_OFFSET, moneyDeltaCents, ReplyCodes.BYTE_ORDER);
        reply.putLong(offset + VALUE_OFFSET, value, ReplyCodes.BYTE_ORDER);
        return LENGTH;
    }

    /**
     * Writes the reply of an aborted request: the code, delta 0, value 0.
     *
     * @return its length, {@link #LENGTH}.
     */
    public static int writeAbort(final MutableDirectBuffer reply, final int offset, final int code)
    {
        return write(reply, offset, code, 0, 0);
    }
}
