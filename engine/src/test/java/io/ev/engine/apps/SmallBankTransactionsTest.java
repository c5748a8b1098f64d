/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.store.Keys;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.ev.engine.apps.SmallBank.FEE_CENTS;
import static io.ev.engine.apps.SmallBank.checkingKey;
import static io.ev.engine.apps.SmallBank.savingsKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each SmallBank transaction's effect and reply (code, money delta, value) in the normal case and in
 * every abort case; an abort writes nothing (no written key, same root after seal).
 */
final class SmallBankTransactionsTest
{
    private static final int CUSTOMERS = 10;
    private static final long UNKNOWN = CUSTOMERS + 5;
    private static final long X = 3;
    private static final long Y = 7;

    private BankFixture bank;

    @BeforeEach
    void setUp()
    {
        bank = new BankFixture(CUSTOMERS, 42, true);
    }

    @AfterEach
    void tearDown()
    {
        bank.close();
    }

    @Test
    void shouldReplyBalanceWithoutWriting()
    {
        final long expected = bank.savings(X) + bank.checking(X);
        execute(SmallBank.BALANCE, SmallBankCodec.encodeBalance(bank.payload, 0, X));
        assertOk(0, expected);
        assertTrue(bank.writtenKeys.isEmpty());
        assertEquals(bank.rootBefore, bank.rootAfter);
    }

    @Test
    void shouldAbortBalanceOfUnknownCustomerOrOverflowingSum()
    {
        execute(SmallBank.BALANCE, SmallBankCodec.encodeBalance(bank.payload, 0, UNKNOWN));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        bank.setBalance(savingsKey(X), Long.MAX_VALUE);
        execute(SmallBank.BALANCE, SmallBankCodec.encodeBalance(bank.payload, 0, X));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
    }

    @Test
    void shouldDepositIntoChecking()
    {
        final long checking = bank.checking(X);
        final long savings = bank.savings(X);
        execute(SmallBank.DEPOSIT_CHECKING, SmallBankCodec.encodeDepositChecking(bank.payload, 0, X, 130));
        assertOk(130, checking + 130);
        assertEquals(checking + 130, bank.checking(X));
        assertEquals(savings, bank.savings(X));
        execute(SmallBank.DEPOSIT_CHECKING, SmallBankCodec.encodeDepositChecking(bank.payload, 0, X, 0));
        assertOk(0, checking + 130);
    }

    @Test
    void shouldAbortDepositOfNegativeAmountUnknownCustomerOrOverflow()
    {
        execute(SmallBank.DEPOSIT_CHECKING, SmallBankCodec.encodeDepositChecking(bank.payload, 0, X, -1));
        assertAborted(ReplyCodes.NEGATIVE_AMOUNT);
        execute(SmallBank.DEPOSIT_CHECKING, SmallBankCodec.encodeDepositChecking(bank.payload, 0, UNKNOWN, 1));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        bank.setBalance(checkingKey(X), Long.MAX_VALUE - 10);
        execute(SmallBank.DEPOSIT_CHECKING, SmallBankCodec.encodeDepositChecking(bank.payload, 0, X, 11));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
        assertEquals(Long.MAX_VALUE - 10, bank.checking(X));
    }

    @Test
    void shouldTransactSavingsEitherWayDownToZero()
    {
        final long savings = bank.savings(X);
        execute(SmallBank.TRANSACT_SAVINGS, SmallBankCodec.encodeTransactSavings(bank.payload, 0, X, 2_020));
        assertOk(2_020, savings + 2_020);
        execute(SmallBank.TRANSACT_SAVINGS, SmallBankCodec.encodeTransactSavings(bank.payload, 0, X, -100));
        assertOk(-100, savings + 1_920);
        execute(SmallBank.TRANSACT_SAVINGS, SmallBankCodec.encodeTransactSavings(
            bank.payload, 0, X, -(savings + 1_920)));
        assertOk(-(savings + 1_920), 0);
        assertEquals(0, bank.savings(X));
    }

    @Test
    void shouldAbortTransactSavingsBelowZeroUnknownCustomerOrOverflow()
    {
        final long savings = bank.savings(X);
        execute(SmallBank.TRANSACT_SAVINGS, SmallBankCodec.encodeTransactSavings(bank.payload, 0, X, -(savings + 1)));
        assertAborted(ReplyCodes.INSUFFICIENT_FUNDS);
        assertEquals(savings, bank.savings(X));
        execute(SmallBank.TRANSACT_SAVINGS, SmallBankCodec.encodeTransactSavings(bank.payload, 0, UNKNOWN, 1));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        execute(SmallBank.TRANSACT_SAVINGS, SmallBankCodec.encodeTransactSavings(bank.payload, 0, X, Long.MAX_VALUE));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
    }

    @Test
    void shouldAmalgamateIntoOtherChecking()
    {
        final long moved = bank.savings(X) + bank.checking(X);
        final long target = bank.checking(Y);
        final long targetSavings = bank.savings(Y);
        execute(SmallBank.AMALGAMATE, SmallBankCodec.encodeAmalgamate(bank.payload, 0, X, Y));
        assertOk(0, target + moved);
        assertEquals(0, bank.savings(X));
        assertEquals(0, bank.checking(X));
        assertEquals(target + moved, bank.checking(Y));
        assertEquals(targetSavings, bank.savings(Y));
    }

    @Test
    void shouldAbortAmalgamateOfSameAccountUnknownCustomerOrOverflow()
    {
        execute(SmallBank.AMALGAMATE, SmallBankCodec.encodeAmalgamate(bank.payload, 0, X, X));
        assertAborted(ReplyCodes.SAME_ACCOUNT);
        execute(SmallBank.AMALGAMATE, SmallBankCodec.encodeAmalgamate(bank.payload, 0, UNKNOWN, Y));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        execute(SmallBank.AMALGAMATE, SmallBankCodec.encodeAmalgamate(bank.payload, 0, X, UNKNOWN));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        bank.setBalance(checkingKey(Y), Long.MAX_VALUE - 1);
        execute(SmallBank.AMALGAMATE, SmallBankCodec.encodeAmalgamate(bank.payload, 0, X, Y));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
        bank.setBalance(savingsKey(X), Long.MAX_VALUE);
        execute(SmallBank.AMALGAMATE, SmallBankCodec.encodeAmalgamate(bank.payload, 0, X, 1));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
    }

    @Test
    void shouldWriteCheckWithoutPenaltyWhenCovered()
    {
        final long checking = bank.checking(X);
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, X, 500));
        assertOk(-500, checking - 500);
        assertEquals(checking - 500, bank.checking(X));
        final long covered = bank.savings(X) + bank.checking(X);
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, X, covered));
        assertOk(-covered, checking - 500 - covered);
    }

    @Test
    void shouldWriteCheckWithPenaltyWhenNotCovered()
    {
        final long checking = bank.checking(X);
        final long savings = bank.savings(X);
        final long amount = savings + checking + 1;
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, X, amount));
        assertOk(-(amount + 1), checking - amount - 1);
        assertEquals(checking - amount - 1, bank.checking(X));
        assertEquals(savings, bank.savings(X));
    }

    @Test
    void shouldAbortWriteCheckOfUnknownCustomerOrOverflow()
    {
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, UNKNOWN, 500));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, X, Long.MAX_VALUE));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
        bank.setBalance(checkingKey(X), Long.MIN_VALUE + 10);
        bank.setBalance(savingsKey(X), 0);
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, X, 500));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
        execute(SmallBank.WRITE_CHECK, SmallBankCodec.encodeWriteCheck(bank.payload, 0, 1, Long.MIN_VALUE));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
    }

    @Test
    void shouldSendPaymentBetweenCheckingAccounts()
    {
        final long from = bank.checking(X);
        final long to = bank.checking(Y);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, Y, 500));
        assertOk(0, from - 500);
        assertEquals(from - 500, bank.checking(X));
        assertEquals(to + 500, bank.checking(Y));
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, Y, from - 500));
        assertOk(0, 0);
        assertEquals(to + from, bank.checking(Y));
    }

    @Test
    void shouldAbortSendPaymentOfInsufficientFundsSameAccountUnknownCustomerOrOverflow()
    {
        final long from = bank.checking(X);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, Y, from + 1));
        assertAborted(ReplyCodes.INSUFFICIENT_FUNDS);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, X, 1));
        assertAborted(ReplyCodes.SAME_ACCOUNT);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, UNKNOWN, Y, 1));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, UNKNOWN, 1));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        bank.setBalance(checkingKey(Y), Long.MAX_VALUE);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, Y, 1));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
        assertEquals(from, bank.checking(X));
    }

    @Test
    void shouldSendPaymentWithFeeIntoFeeAccountConservingMoney()
    {
        final long from = bank.checking(X);
        final long to = bank.checking(Y);
        final long total = bank.totalMoney();
        assertEquals(0, bank.balance(SmallBank.FEE_ACCOUNT_KEY));
        execute(SmallBank.SEND_PAYMENT_WITH_FEE, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, Y, 500));
        assertOk(0, from - 500 - FEE_CENTS);
        assertEquals(from - 500 - FEE_CENTS, bank.checking(X));
        assertEquals(to + 500, bank.checking(Y));
        assertEquals(FEE_CENTS, bank.balance(SmallBank.FEE_ACCOUNT_KEY));
        assertEquals(total, bank.totalMoney());
    }

    @Test
    void shouldAbortSendPaymentWithFeeThatCannotPayTheFee()
    {
        final long from = bank.checking(X);
        execute(SmallBank.SEND_PAYMENT_WITH_FEE, SmallBankCodec.encodeSendPayment(
            bank.payload, 0, X, Y, from - FEE_CENTS + 1));
        assertAborted(ReplyCodes.INSUFFICIENT_FUNDS);
        execute(SmallBank.SEND_PAYMENT_WITH_FEE, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, X, 1));
        assertAborted(ReplyCodes.SAME_ACCOUNT);
        execute(SmallBank.SEND_PAYMENT_WITH_FEE, SmallBankCodec.encodeSendPayment(bank.payload, 0, X, UNKNOWN, 1));
        assertAborted(ReplyCodes.UNKNOWN_CUSTOMER);
        execute(SmallBank.SEND_PAYMENT_WITH_FEE, SmallBankCodec.encodeSendPayment(
            bank.payload, 0, X, Y, Long.MAX_VALUE));
        assertAborted(ReplyCodes.AMOUNT_OVERFLOW);
        assertEquals(0, bank.balance(SmallBank.FEE_ACCOUNT_KEY));
    }

    @Test
    void shouldRejectMalformedPayloadsOfEveryTypeWithoutWriting()
    {
        final int[] types = {
            SmallBank.BALANCE, SmallBank.DEPOSIT_CHECKING, SmallBank.TRANSACT_SAVINGS, SmallBank.AMALGAMATE,
            SmallBank.WRITE_CHECK, SmallBank.SEND_PAYMENT, SmallBank.SEND_PAYMENT_WITH_FEE };
        for (final int type : types)
        {
            final int length = bank.registry.type(type).maxPayloadBytes();
            SmallBankCodec.encodeSendPayment(bank.payload, 0, X, Y, 1);
            for (final int wrongLength : new int[]{ 0, length - 1, length + 1 })
            {
                execute(type, wrongLength);
                assertMalformed(type);
            }
            SmallBankCodec.encodeSendPayment(bank.payload, 0, -1, Y, 1);
            execute(type, length);
            assertMalformed(type);
            SmallBankCodec.encodeSendPayment(bank.payload, 0, Keys.MAX_ROW + 1, Y, 1);
            execute(type, length);
            assertMalformed(type);
        }
        SmallBankCodec.encodeSendPayment(bank.payload, 0, X, -5, 1);
        execute(SmallBank.SEND_PAYMENT, SmallBankCodec.PAYMENT_LENGTH);
        assertMalformed(SmallBank.SEND_PAYMENT);
        execute(SmallBank.AMALGAMATE, SmallBankCodec.AMALGAMATE_LENGTH);
        assertMalformed(SmallBank.AMALGAMATE);
    }

    private void execute(final int typeId, final int length)
    {
        bank.executeAlone(typeId, length);
    }

    private void assertOk(final long moneyDeltaCents, final long value)
    {
        assertEquals(SmallBankReply.LENGTH, bank.decoded.length());
        assertEquals(ReplyCodes.OK, bank.decoded.code(), () -> ReplyCodes.describe(bank.decoded.code()));
        assertEquals(moneyDeltaCents, bank.decoded.moneyDeltaCents(), "money delta");
        assertEquals(value, bank.decoded.value(), "value");
        assertTrue(bank.declared);
    }

    private void assertAborted(final int code)
    {
        assertEquals(SmallBankReply.LENGTH, bank.decoded.length());
        assertEquals(code, bank.decoded.code(), () -> ReplyCodes.describe(bank.decoded.code()));
        assertEquals(0, bank.decoded.moneyDeltaCents(), "money delta");
        assertEquals(0, bank.decoded.value(), "value");
        assertTrue(bank.writtenKeys.isEmpty(), () -> "abort wrote " + bank.writtenKeys);
        assertEquals(bank.rootBefore, bank.rootAfter, "root changed by an abort");
    }

    private void assertMalformed(final int type)
    {
        final String message = "type " + type;
        assertEquals(ReplyCodes.CODE_LENGTH, bank.decoded.length(), message);
        assertEquals(ReplyCodes.MALFORMED_REQUEST, bank.decoded.code(), message);
        assertFalse(bank.declared, message);
        assertTrue(bank.declaredReads.isEmpty() && bank.declaredWrites.isEmpty(), message);
        assertTrue(bank.writtenKeys.isEmpty(), message);
        assertEquals(bank.rootBefore, bank.rootAfter, message);
    }
}
