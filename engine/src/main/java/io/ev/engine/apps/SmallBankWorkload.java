/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import java.util.SplittableRandom;

import org.agrona.MutableDirectBuffer;

/**
 * Seeded SmallBank request generator, allocation-free per request. Each {@link #next} draws a type by
 * the WORKLOADS.md mix, its accounts, and writes its payload with the default amount:
 * <pre>
 *  type              mix %   amount cents
 *  Balance             15    -
 *  DepositChecking     15    130
 *  TransactSavings     15    2,020
 *  Amalgamate          15    -
 *  WriteCheck          15    500
 *  SendPayment         25    500   (SendPaymentWithFee instead when racyFee is set)
 * </pre>
 * Accounts: with probability {@code hotspotProbability} a request's accounts come from the first
 * {@code hotspotCustomers} customers, otherwise from all of them, uniformly; the two accounts of
 * Amalgamate and SendPayment always differ. Profiles: {@link #uniform} (p = 0) and {@link #contended}
 * (H = 100, p = 0.9). The same arguments give the same sequence of requests. Not thread safe.
 */
public final class SmallBankWorkload
{
    /** H of the contended profile. */
    public static final int CONTENDED_HOTSPOT_CUSTOMERS = 100;
    /** p of the contended profile. */
    public static final double CONTENDED_HOTSPOT_PROBABILITY = 0.9;

    /** Mix percentages, in type order Balance .. SendPayment. */
    static final int BALANCE_PERCENT = 15;
    static final int DEPOSIT_CHECKING_PERCENT = 15;
    static final int TRANSACT_SAVINGS_PERCENT = 15;
    static final int AMALGAMATE_PERCENT = 15;
    static final int WRITE_CHECK_PERCENT = 15;
    static final int SEND_PAYMENT_PERCENT = 25;

    private static final int BALANCE_BELOW = BALANCE_PERCENT;
    private static final int DEPOSIT_CHECKING_BELOW = BALANCE_BELOW + DEPOSIT_CHECKING_PERCENT;
    private static final int TRANSACT_SAVINGS_BELOW = DEPOSIT_CHECKING_BELOW + TRANSACT_SAVINGS_PERCENT;
    private static final int AMALGAMATE_BELOW = TRANSACT_SAVINGS_BELOW + AMALGAMATE_PERCENT;
    private static final int WRITE_CHECK_BELOW = AMALGAMATE_BELOW + WRITE_CHECK_PERCENT;
    private static final int ALL_PERCENT = WRITE_CHECK_BELOW + SEND_PAYMENT_PERCENT;

    private final SplittableRandom random;
    private final int customers;
    private final int hotspotCustomers;
    private final double hotspotProbability;
    private final int paymentType;
    private final long seed;
    private int typeId = -1;

    /**
     * @param customers          customers loaded, at least 2.
     * @param seed               generator seed.
     * @param hotspotCustomers   H: size of the hot set, in [2, customers] (clamped to customers).
     * @param hotspotProbability p: chance a request draws from the hot set, in [0, 1].
     * @param racyFee            generate SendPaymentWithFee in place of SendPayment.
     */
    public SmallBankWorkload(
        final int customers,
        final long seed,
        final int hotspotCustomers,
        final double hotspotProbability,
        final boolean racyFee)
    {
        if (customers < 2)
        {
            throw new IllegalArgumentException("customers " + customers + " must be at least 2 (distinct pairs)");
        }
        if (hotspotCustomers < 2)
        {
            throw new IllegalArgumentException("hotspotCustomers " + hotspotCustomers + " must be at least 2");
        }
        if (!(hotspotProbability >= 0.0 && hotspotProbability <= 1.0))
        {
            throw new IllegalArgumentException("hotspotProbability " + hotspotProbability + " outside [0, 1]");
        }
        this.random = new SplittableRandom(seed);
        this.seed = seed;
        this.customers = customers;
        this.hotspotCustomers = Math.min(hotspotCustomers, customers);
        this.hotspotProbability = hotspotProbability;
        this.paymentType = racyFee ? SmallBank.SEND_PAYMENT_WITH_FEE : SmallBank.SEND_PAYMENT;
    }

    /**
     * @return the uniform profile (p = 0).
     */
    public static SmallBankWorkload uniform(final int customers, final long seed, final boolean racyFee)
    {
        return new SmallBankWorkload(customers, seed, CONTENDED_HOTSPOT_CUSTOMERS, 0.0, racyFee);
    }

    /**
     * @return the contended profile (H = 100, p = 0.9).
     */
    public static SmallBankWorkload contended(final int customers, final long seed, final boolean racyFee)
    {
        return new SmallBankWorkload(
            customers, seed, CONTENDED_HOTSPOT_CUSTOMERS, CONTENDED_HOTSPOT_PROBABILITY, racyFee);
    }

    /**
     * Generates the next request.
     *
     * @param buffer receives the payload at {@code offset}; needs {@link SmallBankCodec#MAX_PAYLOAD_LENGTH}.
     * @param offset where the payload starts.
     * @return the payload length; the type id is then {@link #typeId()}.
     */
    public int next(final MutableDirectBuffer buffer, final int offset)
    {
        final int draw = random.nextInt(ALL_PERCENT);
        final int range = hotspotProbability > 0.0 && random.nextDouble() < hotspotProbability ?
            hotspotCustomers : customers;
        final long x = random.nextInt(range);
        if (draw < BALANCE_BELOW)
        {
            typeId = SmallBank.BALANCE;
            return SmallBankCodec.encodeBalance(buffer, offset, x);
        }
        if (draw < DEPOSIT_CHECKING_BELOW)
        {
            typeId = SmallBank.DEPOSIT_CHECKING;
            return SmallBankCodec.encodeDepositChecking(buffer, offset, x, SmallBank.DEPOSIT_CHECKING_AMOUNT_CENTS);
        }
        if (draw < TRANSACT_SAVINGS_BELOW)
        {
            typeId = SmallBank.TRANSACT_SAVINGS;
            return SmallBankCodec.encodeTransactSavings(buffer, offset, x, SmallBank.TRANSACT_SAVINGS_AMOUNT_CENTS);
        }
        if (draw < AMALGAMATE_BELOW)
        {
            typeId = SmallBank.AMALGAMATE;
            return SmallBankCodec.encodeAmalgamate(buffer, offset, x, distinctFrom(x, range));
        }
        if (draw < WRITE_CHECK_BELOW)
        {
            typeId = SmallBank.WRITE_CHECK;
            return SmallBankCodec.encodeWriteCheck(buffer, offset, x, SmallBank.WRITE_CHECK_AMOUNT_CENTS);
        }
        typeId = paymentType;
        return SmallBankCodec.encodeSendPayment(
            buffer, offset, x, distinctFrom(x, range), SmallBank.SEND_PAYMENT_AMOUNT_CENTS);
    }

    /**
     * @return the type id of the request the last {@link #next} generated, -1 before the first.
     */
    public int typeId()
    {
        return typeId;
    }

    public long seed()
    {
        return seed;
    }

    public int customers()
    {
        return customers;
    }

    public int hotspotCustomers()
    {
        return hotspotCustomers;
    }

    public double hotspotProbability()
    {
        return hotspotProbability;
    }

    private long distinctFrom(final long x, final int range)
    {
        final long y = random.nextInt(range - 1);
        return y >= x ? y + 1 : y;
    }
}
