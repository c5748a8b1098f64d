/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The generator follows the WORKLOADS.md mix (within 1.5 percentage points over 100,000 requests),
 * uses the default amounts, never pairs an account with itself, and draws about 90% of the contended
 * profile's two-account pairs from the first 100 customers.
 */
final class SmallBankWorkloadTest
{
    private static final int CUSTOMERS = 1_000;
    private static final int REQUESTS = 100_000;
    private static final double TOLERANCE_PERCENT = 1.5;

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);

    @Test
    void shouldFollowTheMixWithDefaultAmountsAndDistinctAccounts()
    {
        final long seed = TestSeeds.seed("shouldFollowTheMixWithDefaultAmountsAndDistinctAccounts");
        for (final SmallBankWorkload workload : new SmallBankWorkload[]{
            SmallBankWorkload.uniform(CUSTOMERS, seed, false), SmallBankWorkload.contended(CUSTOMERS, seed, false) })
        {
            final int[] counts = new int[SmallBank.SEND_PAYMENT_WITH_FEE + 1];
            for (int i = 0; i < REQUESTS; i++)
            {
                final int length = workload.next(payload, 0);
                final int type = workload.typeId();
                counts[type]++;
                checkRequest(type, length, "seed " + seed + " request " + i);
            }
            final String message = "seed " + seed + " p " + workload.hotspotProbability();
            assertPercent(SmallBankWorkload.BALANCE_PERCENT, counts[SmallBank.BALANCE], message);
            assertPercent(SmallBankWorkload.DEPOSIT_CHECKING_PERCENT, counts[SmallBank.DEPOSIT_CHECKING], message);
            assertPercent(SmallBankWorkload.TRANSACT_SAVINGS_PERCENT, counts[SmallBank.TRANSACT_SAVINGS], message);
            assertPercent(SmallBankWorkload.AMALGAMATE_PERCENT, counts[SmallBank.AMALGAMATE], message);
            assertPercent(SmallBankWorkload.WRITE_CHECK_PERCENT, counts[SmallBank.WRITE_CHECK], message);
            assertPercent(SmallBankWorkload.SEND_PAYMENT_PERCENT, counts[SmallBank.SEND_PAYMENT], message);
            assertEquals(0, counts[SmallBank.SEND_PAYMENT_WITH_FEE], message);
        }
    }

    @Test
    void shouldDrawNinetyPercentOfContendedPairsFromTheHotspot()
    {
        final long seed = TestSeeds.seed("shouldDrawNinetyPercentOfContendedPairsFromTheHotspot");
        final double contended = hotPairPercent(SmallBankWorkload.contended(CUSTOMERS, seed, false));
        // p = 0.9 plus the uniform draws that land both accounts in the hot set: 0.1 x (100 x 99) / (1000 x 999)
        final double expected = 90.0 + 10.0 * (100.0 * 99.0) / (1000.0 * 999.0);
        assertEquals(expected, contended, TOLERANCE_PERCENT, "seed " + seed);
        final double uniform = hotPairPercent(SmallBankWorkload.uniform(CUSTOMERS, seed, false));
        assertEquals(100.0 * (100.0 * 99.0) / (1000.0 * 999.0), uniform, TOLERANCE_PERCENT, "seed " + seed);
    }

    @Test
    void shouldGenerateRacyFeeTypeInPlaceOfSendPayment()
    {
        final long seed = TestSeeds.seed("shouldGenerateRacyFeeTypeInPlaceOfSendPayment");
        final SmallBankWorkload workload = SmallBankWorkload.uniform(CUSTOMERS, seed, true);
        int racy = 0;
        for (int i = 0; i < 10_000; i++)
        {
            workload.next(payload, 0);
            assertNotEquals(SmallBank.SEND_PAYMENT, workload.typeId());
            racy += SmallBank.SEND_PAYMENT_WITH_FEE == workload.typeId() ? 1 : 0;
        }
        assertEquals(25.0, racy / 100.0, TOLERANCE_PERCENT, "seed " + seed);
    }

    @Test
    void shouldRepeatTheSameRequestsForTheSameSeed()
    {
        final long seed = TestSeeds.seed("shouldRepeatTheSameRequestsForTheSameSeed");
        final SmallBankWorkload first = SmallBankWorkload.contended(CUSTOMERS, seed, false);
        final SmallBankWorkload second = SmallBankWorkload.contended(CUSTOMERS, seed, false);
        final UnsafeBuffer other = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
        for (int i = 0; i < 1_000; i++)
        {
            final int length = first.next(payload, 0);
            assertEquals(length, second.next(other, 0));
            assertEquals(first.typeId(), second.typeId());
            assertEquals(0, payload.compareTo(other), "request " + i);
        }
    }

    @Test
    void shouldRejectInvalidSettings()
    {
        assertThrows(IllegalArgumentException.class, () -> new SmallBankWorkload(1, 0, 100, 0.0, false));
        assertThrows(IllegalArgumentException.class, () -> new SmallBankWorkload(10, 0, 1, 0.5, false));
        assertThrows(IllegalArgumentException.class, () -> new SmallBankWorkload(10, 0, 5, 1.5, false));
        assertThrows(IllegalArgumentException.class, () -> new SmallBankWorkload(10, 0, 5, Double.NaN, false));
    }

    private double hotPairPercent(final SmallBankWorkload workload)
    {
        int pairs = 0;
        int hot = 0;
        for (int i = 0; i < REQUESTS; i++)
        {
            workload.next(payload, 0);
            final int type = workload.typeId();
            if (SmallBank.AMALGAMATE == type || SmallBank.SEND_PAYMENT == type)
            {
                pairs++;
                final long x = SmallBankCodec.customer(payload, 0);
                final long y = SmallBankCodec.secondCustomer(payload, 0);
                hot += x < SmallBankWorkload.CONTENDED_HOTSPOT_CUSTOMERS &&
                    y < SmallBankWorkload.CONTENDED_HOTSPOT_CUSTOMERS ? 1 : 0;
            }
        }
        assertTrue(pairs > REQUESTS / 3, "pairs " + pairs);
        return 100.0 * hot / pairs;
    }

    private void checkRequest(final int type, final int length, final String message)
    {
        final long x = SmallBankCodec.customer(payload, 0);
        assertTrue(x >= 0 && x < CUSTOMERS, message);
        switch (type)
        {
            case SmallBank.BALANCE:
                assertEquals(SmallBankCodec.BALANCE_LENGTH, length, message);
                break;
            case SmallBank.DEPOSIT_CHECKING:
                assertAmount(SmallBank.DEPOSIT_CHECKING_AMOUNT_CENTS, length, message);
                break;
            case SmallBank.TRANSACT_SAVINGS:
                assertAmount(SmallBank.TRANSACT_SAVINGS_AMOUNT_CENTS, length, message);
                break;
            case SmallBank.WRITE_CHECK:
                assertAmount(SmallBank.WRITE_CHECK_AMOUNT_CENTS, length, message);
                break;
            case SmallBank.AMALGAMATE:
                assertEquals(SmallBankCodec.AMALGAMATE_LENGTH, length, message);
                assertDistinct(x, message);
                break;
            case SmallBank.SEND_PAYMENT:
                assertEquals(SmallBankCodec.PAYMENT_LENGTH, length, message);
                assertEquals(SmallBank.SEND_PAYMENT_AMOUNT_CENTS, SmallBankCodec.paymentAmountCents(payload, 0));
                assertDistinct(x, message);
                break;
            default:
                throw new AssertionError(message + ": unexpected type " + type);
        }
    }

    private void assertAmount(final long amountCents, final int length, final String message)
    {
        assertEquals(SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, length, message);
        assertEquals(amountCents, SmallBankCodec.amountCents(payload, 0), message);
    }

    private void assertDistinct(final long x, final String message)
    {
        final long y = SmallBankCodec.secondCustomer(payload, 0);
        assertTrue(y >= 0 && y < CUSTOMERS && y != x, message);
    }

    private static void assertPercent(final int expectedPercent, final int count, final String message)
    {
        assertEquals(expectedPercent, 100.0 * count / REQUESTS, TOLERANCE_PERCENT, message);
    }
}
