/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.store.Keys;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Request payloads of SmallBank: fixed-length, little-endian, no header (the type id travels beside the
 * payload). Encoders write into a caller's buffer and return the length, so generators and tests build
 * requests without allocation. Customer ids are row ids in [0, {@link Keys#MAX_ROW}]; any other value
 * makes the request malformed.
 * <pre>
 *  Balance, one account:
 *   0               8
 *  +---------------+
 *  | customer x (8)|
 *  +---------------+
 *  DepositChecking, TransactSavings, WriteCheck: one account and an amount:
 *   0               8                   16
 *  +---------------+-------------------+
 *  | customer x (8)| amount cents (8)  |
 *  +---------------+-------------------+
 *  Amalgamate, two accounts:
 *   0               8                   16
 *  +---------------+-------------------+
 *  | customer x (8)| customer y (8)    |
 *  +---------------+-------------------+
 *  SendPayment, SendPaymentWithFee: two accounts and an amount:
 *   0               8                   16                  24
 *  +---------------+-------------------+-------------------+
 *  | customer x (8)| customer y (8)    | amount cents (8)  |
 *  +---------------+-------------------+-------------------+
 * </pre>
 */
public final class SmallBankCodec
{
    /** Offset of the first (or only) customer id. */
    public static final int CUSTOMER_OFFSET = 0;
    /** Offset of the amount in one-account payloads. */
    public static final int AMOUNT_OFFSET = CUSTOMER_OFFSET + Long.BYTES;
    /** Offset of the second customer id in two-account payloads. */
    public static final int SECOND_CUSTOMER_OFFSET = CUSTOMER_OFFSET + Long.BYTES;
    /** Offset of the amount in payment payloads. */
    public static final int PAYMENT_AMOUNT_OFFSET = SECOND_CUSTOMER_OFFSET + Long.BYTES;

    /** Length of a Balance payload. */
    public static final int BALANCE_LENGTH = CUSTOMER_OFFSET + Long.BYTES;
    /** Length of a DepositChecking, TransactSavings or WriteCheck payload. */
    public static final int ACCOUNT_AMOUNT_LENGTH = AMOUNT_OFFSET + Long.BYTES;
    /** Length of an Amalgamate payload. */
    public static final int AMALGAMATE_LENGTH = SECOND_CUSTOMER_OFFSET + Long.BYTES;
    /** Length of a SendPayment or SendPaymentWithFee payload. */
    public static final int PAYMENT_LENGTH = PAYMENT_AMOUNT_OFFSET + Long.BYTES;
    /** Longest SmallBank payload. */
    public static final int MAX_PAYLOAD_LENGTH = PAYMENT_LENGTH;

    private SmallBankCodec()
    {
    }

    /**
     * @return the payload length of Balance(x).
     */
    public static int encodeBalance(final MutableDirectBuffer buffer, final int offset, final long customer)
    {
        buffer.putLong(offset + CUSTOMER_OFFSET, customer, ReplyCodes.BYTE_ORDER);
        return BALANCE_LENGTH;
    }

    /**
     * @return the payload length of DepositChecking(x, v).
     */
    public static int encodeDepositChecking(
        final MutableDirectBuffer buffer, final int offset, final long customer, final long amountCents)
    {
        return encodeAccountAmount(buffer, offset, customer, amountCents);
    }

    /**
     * @return the payload length of TransactSavings(x, v).
     */
    public static int encodeTransactSavings(
        final MutableDirectBuffer buffer, final int offset, final long customer, final long amountCents)
    {
        return encodeAccountAmount(buffer, offset, customer, amountCents);
    }

    /**
     * @return the payload length of WriteCheck(x, v).
     */
    public static int encodeWriteCheck(
        final MutableDirectBuffer buffer, final int offset, final long customer, final long amountCents)
    {
        return encodeAccountAmount(buffer, offset, customer, amountCents);
    }

    /**
     * @return the payload length of Amalgamate(x, y).
     */
    public static int encodeAmalgamate(
        final MutableDirectBuffer buffer, final int offset, final long fromCustomer, final long toCustomer)
    {
        buffer.putLong(offset + CUSTOMER_OFFSET, fromCustomer, ReplyCodes.BYTE_ORDER);
        buffer.putLong(offset + SECOND_CUSTOMER_OFFSET, toCustomer, ReplyCodes.BYTE_ORDER);
        return AMALGAMATE_LENGTH;
    }

    /**
     * @return the payload length of SendPayment(x, y, v), also the payload of SendPaymentWithFee.
     */
    public static int encodeSendPayment(
        final MutableDirectBuffer buffer,
        final int offset,
        final long fromCustomer,
        final long toCustomer,
        final long amountCents)
    {
        buffer.putLong(offset + CUSTOMER_OFFSET, fromCustomer, ReplyCodes.BYTE_ORDER);
        buffer.putLong(offset + SECOND_CUSTOMER_OFFSET, toCustomer, ReplyCodes.BYTE_ORDER);
        buffer.putLong(offset + PAYMENT_AMOUNT_OFFSET, amountCents, ReplyCodes.BYTE_ORDER);
        return PAYMENT_LENGTH;
    }

    /**
     * @return the first (or only) customer id of a payload.
     */
    public static long customer(final DirectBuffer payload, final int offset)
    {
        return payload.getLong(offset + CUSTOMER_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * @return the second customer id of an Amalgamate or payment payload.
     */
    public static long secondCustomer(final DirectBuffer payload, final int offset)
    {
        return payload.getLong(offset + SECOND_CUSTOMER_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * @return the amount of a DepositChecking, TransactSavings or WriteCheck payload.
     */
    public static long amountCents(final DirectBuffer payload, final int offset)
    {
        return payload.getLong(offset + AMOUNT_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * @return the amount of a SendPayment or SendPaymentWithFee payload.
     */
    public static long paymentAmountCents(final DirectBuffer payload, final int offset)
    {
        return payload.getLong(offset + PAYMENT_AMOUNT_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * @return true if {@code customer} can name a row.
     */
    public static boolean isValidCustomer(final long customer)
    {
        return customer >= 0 && customer <= Keys.MAX_ROW;
    }

    private static int encodeAccountAmount(
        final MutableDirectBuffer buffer, final int offset, final long customer, final long amountCents)
    {
        buffer.putLong(offset + CUSTOMER_OFFSET, customer, ReplyCodes.BYTE_ORDER);
        buffer.putLong(offset + AMOUNT_OFFSET, amountCents, ReplyCodes.BYTE_ORDER);
        return ACCOUNT_AMOUNT_LENGTH;
    }
}
