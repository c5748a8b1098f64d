/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Properties over arbitrary amounts (extremes included) on a four-customer bank: every request's
 * committed money delta equals the change of the bank's total (modulo 2^64), aborts write nothing, and the overflow
 * checks agree with {@link Math#addExact} / {@link Math#subtractExact}. jqwik prints its seed.
 */
final class SmallBankPropertiesTest
{
    private static final int CUSTOMERS = 4;
    private static BankFixture bank;

    @BeforeContainer
    static void openBank()
    {
        bank = new BankFixture(CUSTOMERS, 7, true);
    }

    @AfterContainer
    static void closeBank()
    {
        bank.close();
    }

    @Property(tries = 2_000)
    void shouldReportTheExactChangeOfTotalMoney(
        @ForAll("types") final int type,
        @ForAll("customers") final long x,
        @ForAll("customers") final long y,
        @ForAll("amounts") final long amountCents)
    {
        final int length;
        switch (type)
        {
            case SmallBank.BALANCE:
                length = SmallBankCodec.encodeBalance(bank.payload, 0, x);
                break;
            case SmallBank.AMALGAMATE:
                length = SmallBankCodec.encodeAmalgamate(bank.payload, 0, x, y);
                break;
            case SmallBank.SEND_PAYMENT:
            case SmallBank.SEND_PAYMENT_WITH_FEE:
                length = SmallBankCodec.encodeSendPayment(bank.payload, 0, x, y, amountCents);
                break;
            default:
                length = SmallBankCodec.encodeDepositChecking(bank.payload, 0, x, amountCents);
                break;
        }
        final long before = wrappingTotal();
        bank.executeAlone(type, length);
        final long after = wrappingTotal();
        assertEquals(SmallBankReply.LENGTH, bank.decoded.length());
        if (ReplyCodes.OK == bank.decoded.code())
        {
            assertEquals(after - before, bank.decoded.moneyDeltaCents());
        }
        else
        {
            final int code = bank.decoded.code();
            assertTrue(code >= ReplyCodes.FIRST_APPLICATION_CODE, ReplyCodes.describe(code));
            assertEquals(before, after);
            assertEquals(bank.rootBefore, bank.rootAfter);
            assertTrue(bank.writtenKeys.isEmpty());
        }
        assertTrue(bank.declaredWrites.containsAll(bank.writtenKeys) ||
            SmallBank.SEND_PAYMENT_WITH_FEE == type);
    }

    @Property(tries = 1_000)
    void shouldDetectOverflowExactlyWhenMathExactThrows(@ForAll final long a, @ForAll final long b)
    {
        assertEquals(throwsArithmetic(() -> Math.addExact(a, b)), SmallBankType.sumOverflows(a, b));
        assertEquals(throwsArithmetic(() -> Math.subtractExact(a, b)), SmallBankType.differenceOverflows(a, b));
    }

    @Provide
    Arbitrary<Integer> types()
    {
        return Arbitraries.integers().between(SmallBank.BALANCE, SmallBank.SEND_PAYMENT_WITH_FEE);
    }

    @Provide
    Arbitrary<Long> customers()
    {
        return Arbitraries.longs().between(0, CUSTOMERS);
    }

    @Provide
    Arbitrary<Long> amounts()
    {
        return Arbitraries.oneOf(
            Arbitraries.longs().between(-100_000, 100_000),
            Arbitraries.longs(),
            Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE, Long.MAX_VALUE - 1, 0L, -1L));
    }

    /**
     * Total money summed modulo 2^64: arbitrary amounts can push the bank's total past a long even when
     * every balance fits, and a delta still equals the change of the total modulo 2^64.
     */
    private static long wrappingTotal()
    {
        long total = bank.balance(SmallBank.FEE_ACCOUNT_KEY);
        for (int customer = 0; customer < CUSTOMERS; customer++)
        {
            total += bank.savings(customer) + bank.checking(customer);
        }
        return total;
    }

    private static boolean throwsArithmetic(final Runnable operation)
    {
        try
        {
            operation.run();
            return false;
        }
        catch (final ArithmeticException ex)
        {
            return true;
        }
    }
}
