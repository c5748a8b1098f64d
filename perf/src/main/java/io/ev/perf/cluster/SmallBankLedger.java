/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import java.util.SplittableRandom;

import io.ev.engine.ReplyCodes;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankReply;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * SmallBank on two plain {@code long[]} tables (savings and checking balances, indexed by customer id), for the
 * Aeron Cluster baseline: the same requests ({@link SmallBankCodec} payloads, {@link SmallBank} type ids), the same
 * replies ({@link SmallBankReply}, or the code alone for an unknown type or a malformed payload) and the same checks,
 * in the same order, as the engine's SmallBank types execute on the state store, and the same initial balances as
 * {@link io.ev.engine.apps.SmallBankLoader} (per customer in id order: savings, then checking, uniform in
 * [{@link SmallBank#MIN_INITIAL_BALANCE_CENTS}, {@link SmallBank#MAX_INITIAL_BALANCE_CENTS}] from a
 * {@link SplittableRandom} of the seed). No undo log, no digest, no names table: what a hand-written replicated
 * state machine holds. The racy SendPaymentWithFee is not a type here (unknown type, as in the engine's default
 * registration).
 * <p>
 * Deterministic and allocation-free; single-threaded, as an Aeron Cluster service is.
 */
final class SmallBankLedger
{
    /** WriteCheck's penalty for a cheque the balances do not cover. */
    static final long PENALTY_CENTS = 1;

    private final long[] savings;
    private final long[] checking;
    private final int customers;
    private final long initialTotalCents;

    /**
     * @param customers SmallBank customers, at least 2.
     * @param seed      seed of the initial balances (the engine's tools use 42).
     */
    SmallBankLedger(final int customers, final long seed)
    {
        if (customers < 2)
        {
            throw new IllegalArgumentException("customers " + customers + " must be at least 2");
        }
        this.customers = customers;
        this.savings = new long[customers];
        this.checking = new long[customers];
        final SplittableRandom random = new SplittableRandom(seed);
        long total = 0;
        for (int customer = 0; customer < customers; customer++)
        {
            savings[customer] = initialBalance(random);
            checking[customer] = initialBalance(random);
            total = Math.addExact(total, Math.addExact(savings[customer], checking[customer]));
        }
        this.initialTotalCents = total;
    }

    /**
     * Executes one request.
     *
     * @param typeId      SmallBank type id.
     * @param payload     buffer holding the payload.
     * @param offset      where the payload starts.
     * @param length      payload length.
     * @param reply       receives the reply at {@code replyOffset}; needs {@link SmallBankReply#LENGTH} bytes.
     * @param replyOffset where the reply goes.
     * @return the reply length: {@link SmallBankReply#LENGTH}, or {@link ReplyCodes#CODE_LENGTH} for an unknown type
     * or a malformed payload.
     */
    int execute(
        final int typeId,
        final DirectBuffer payload,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        switch (typeId)
        {
            case SmallBank.BALANCE:
                return wellFormed(payload, offset, length, SmallBankCodec.BALANCE_LENGTH, false) ?
                    balance(payload, offset, reply, replyOffset) : malformed(reply, replyOffset);
            case SmallBank.DEPOSIT_CHECKING:
                return wellFormed(payload, offset, length, SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, false) ?
                    depositChecking(payload, offset, reply, replyOffset) : malformed(reply, replyOffset);
            case SmallBank.TRANSACT_SAVINGS:
                return wellFormed(payload, offset, length, SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, false) ?
                    transactSavings(payload, offset, reply, replyOffset) : malformed(reply, replyOffset);
            case SmallBank.AMALGAMATE:
                return wellFormed(payload, offset, length, SmallBankCodec.AMALGAMATE_LENGTH, true) ?
                    amalgamate(payload, offset, reply, replyOffset) : malformed(reply, replyOffset);
            case SmallBank.WRITE_CHECK:
                return wellFormed(payload, offset, length, SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, false) ?
                    writeCheck(payload, offset, reply, replyOffset) : malformed(reply, replyOffset);
            case SmallBank.SEND_PAYMENT:
                return wellFormed(payload, offset, length, SmallBankCodec.PAYMENT_LENGTH, true) ?
                    sendPayment(payload, offset, reply, replyOffset) : malformed(reply, replyOffset);
            default:
                return ReplyCodes.writeCode(reply, replyOffset, ReplyCodes.UNKNOWN_TYPE);
        }
    }

    /**
     * @return customers in the tables.
     */
    int customers()
    {
        return customers;
    }

    /**
     * @return the total money after loading: sum of s + c.
     */
    long initialTotalCents()
    {
        return initialTotalCents;
    }

    /**
     * @return the total money now: sum over customers of s + c (read only where no request executes concurrently).
     */
    long totalMoneyCents()
    {
        long total = 0;
        for (int customer = 0; customer < customers; customer++)
        {
            total = Math.addExact(total, Math.addExact(savings[customer], checking[customer]));
        }
        return total;
    }

    /**
     * @return a digest of every balance, in customer order (read only where no request executes concurrently).
     */
    long digest()
    {
        long digest = customers;
        for (int customer = 0; customer < customers; customer++)
        {
            digest = 31 * digest + savings[customer];
            digest = 31 * digest + checking[customer];
        }
        return digest;
    }

    private boolean wellFormed(
        final DirectBuffer payload, final int offset, final int length, final int expectedLength,
        final boolean twoCustomers)
    {
        return length == expectedLength &&
            SmallBankCodec.isValidCustomer(SmallBankCodec.customer(payload, offset)) &&
            (!twoCustomers || SmallBankCodec.isValidCustomer(SmallBankCodec.secondCustomer(payload, offset)));
    }

    private boolean known(final long customer)
    {
        return customer < customers;
    }

    private int balance(final DirectBuffer payload, final int offset, final MutableDirectBuffer reply, final int at)
    {
        final long customer = SmallBankCodec.customer(payload, offset);
        if (!known(customer))
        {
            return abort(reply, at, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long savingsCents = savings[(int)customer];
        final long checkingCents = checking[(int)customer];
        if (sumOverflows(savingsCents, checkingCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        return SmallBankReply.write(reply, at, ReplyCodes.OK, 0, savingsCents + checkingCents);
    }

    private int depositChecking(
        final DirectBuffer payload, final int offset, final MutableDirectBuffer reply, final int at)
    {
        final long customer = SmallBankCodec.customer(payload, offset);
        final long amountCents = SmallBankCodec.amountCents(payload, offset);
        if (amountCents < 0)
        {
            return abort(reply, at, ReplyCodes.NEGATIVE_AMOUNT);
        }
        if (!known(customer))
        {
            return abort(reply, at, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long checkingCents = checking[(int)customer];
        if (sumOverflows(checkingCents, amountCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newCheckingCents = checkingCents + amountCents;
        checking[(int)customer] = newCheckingCents;
        return SmallBankReply.write(reply, at, ReplyCodes.OK, amountCents, newCheckingCents);
    }

    private int transactSavings(
        final DirectBuffer payload, final int offset, final MutableDirectBuffer reply, final int at)
    {
        final long customer = SmallBankCodec.customer(payload, offset);
        final long amountCents = SmallBankCodec.amountCents(payload, offset);
        if (!known(customer))
        {
            return abort(reply, at, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long savingsCents = savings[(int)customer];
        if (sumOverflows(savingsCents, amountCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newSavingsCents = savingsCents + amountCents;
        if (newSavingsCents < 0)
        {
            return abort(reply, at, ReplyCodes.INSUFFICIENT_FUNDS);
        }
        savings[(int)customer] = newSavingsCents;
        return SmallBankReply.write(reply, at, ReplyCodes.OK, amountCents, newSavingsCents);
    }

    private int amalgamate(final DirectBuffer payload, final int offset, final MutableDirectBuffer reply, final int at)
    {
        final long from = SmallBankCodec.customer(payload, offset);
        final long to = SmallBankCodec.secondCustomer(payload, offset);
        if (from == to)
        {
            return abort(reply, at, ReplyCodes.SAME_ACCOUNT);
        }
        if (!known(from) || !known(to))
        {
            return abort(reply, at, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long fromSavingsCents = savings[(int)from];
        final long fromCheckingCents = checking[(int)from];
        final long toCheckingCents = checking[(int)to];
        if (sumOverflows(fromSavingsCents, fromCheckingCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long totalCents = fromSavingsCents + fromCheckingCents;
        if (sumOverflows(toCheckingCents, totalCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newToCheckingCents = toCheckingCents + totalCents;
        savings[(int)from] = 0;
        checking[(int)from] = 0;
        checking[(int)to] = newToCheckingCents;
        return SmallBankReply.write(reply, at, ReplyCodes.OK, 0, newToCheckingCents);
    }

    private int writeCheck(final DirectBuffer payload, final int offset, final MutableDirectBuffer reply, final int at)
    {
        final long customer = SmallBankCodec.customer(payload, offset);
        final long amountCents = SmallBankCodec.amountCents(payload, offset);
        if (!known(customer))
        {
            return abort(reply, at, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long savingsCents = savings[(int)customer];
        final long checkingCents = checking[(int)customer];
        if (sumOverflows(savingsCents, checkingCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        long debitCents = amountCents;
        if (savingsCents + checkingCents < amountCents)
        {
            if (sumOverflows(amountCents, PENALTY_CENTS))
            {
                return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
            }
            debitCents = amountCents + PENALTY_CENTS;
        }
        if (differenceOverflows(checkingCents, debitCents) || differenceOverflows(0, debitCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newCheckingCents = checkingCents - debitCents;
        checking[(int)customer] = newCheckingCents;
        return SmallBankReply.write(reply, at, ReplyCodes.OK, -debitCents, newCheckingCents);
    }

    private int sendPayment(final DirectBuffer payload, final int offset, final MutableDirectBuffer reply, final int at)
    {
        final long from = SmallBankCodec.customer(payload, offset);
        final long to = SmallBankCodec.secondCustomer(payload, offset);
        final long amountCents = SmallBankCodec.paymentAmountCents(payload, offset);
        if (from == to)
        {
            return abort(reply, at, ReplyCodes.SAME_ACCOUNT);
        }
        if (!known(from) || !known(to))
        {
            return abort(reply, at, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long fromCents = checking[(int)from];
        final long toCents = checking[(int)to];
        if (fromCents < amountCents)
        {
            return abort(reply, at, ReplyCodes.INSUFFICIENT_FUNDS);
        }
        if (differenceOverflows(fromCents, amountCents) || sumOverflows(toCents, amountCents))
        {
            return abort(reply, at, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newFromCents = fromCents - amountCents;
        checking[(int)from] = newFromCents;
        checking[(int)to] = toCents + amountCents;
        return SmallBankReply.write(reply, at, ReplyCodes.OK, 0, newFromCents);
    }

    private static int malformed(final MutableDirectBuffer reply, final int at)
    {
        return ReplyCodes.writeCode(reply, at, ReplyCodes.MALFORMED_REQUEST);
    }

    private static int abort(final MutableDirectBuffer reply, final int at, final int code)
    {
        return SmallBankReply.writeAbort(reply, at, code);
    }

    private static long initialBalance(final SplittableRandom random)
    {
        return random.nextLong(SmallBank.MIN_INITIAL_BALANCE_CENTS, SmallBank.MAX_INITIAL_BALANCE_CENTS + 1);
    }

    /**
     * @return true if {@code a + b} overflows a long.
     */
    private static boolean sumOverflows(final long a, final long b)
    {
        final long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0;
    }

    /**
     * @return true if {@code a - b} overflows a long.
     */
    private static boolean differenceOverflows(final long a, final long b)
    {
        final long difference = a - b;
        return ((a ^ b) & (a ^ difference)) < 0;
    }
}
