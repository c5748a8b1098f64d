/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.pipeline.KeySink;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static io.ev.engine.apps.SmallBank.checkingKey;

/**
 * SendPaymentWithFee(x, y, v): the <b>deliberately racy</b> transaction of the concurrency-bug
 * experiment (WORKLOADS.md). Like SendPayment, and also moves a fee of {@link SmallBank#FEE_CENTS}
 * from c[x] to the shared fee account {@link SmallBank#FEE_ACCOUNT_KEY}: aborts with SAME_ACCOUNT if
 * x == y, with INSUFFICIENT_FUNDS if c[x] &lt; v + fee; else c[x] -= v + fee; c[y] += v; fees += fee.
 * Money delta 0 (money only moves; the oracle counts the fee account); value the new c[x].
 * <p>
 * <b>The bug:</b> it declares only c[x] and c[y] (as SendPayment does), not the fee account, and
 * updates the fee account with a plain read-modify-write ({@code get}, add, {@code put}). The mixer
 * therefore puts many of these requests in the same phase, and two workers that both read the fee
 * balance before either writes it lose one fee: money disappears from the bank, replicas can diverge,
 * and conservation fails. Executed sequentially it is correct. Never register it outside the
 * experiment: {@link SmallBank#registerAll} leaves it out unless asked.
 */
final class SendPaymentWithFee extends SmallBankType
{
    private final boolean declareFeeKey;

    /**
     * @param declareFeeKey true declares the fee account too: the fix (the key mixer then orders
     *                      every fee update and the race is gone); false is the bug.
     */
    SendPaymentWithFee(final boolean declareFeeKey)
    {
        super(SmallBank.SEND_PAYMENT_WITH_FEE, "SendPaymentWithFee", SmallBankCodec.PAYMENT_LENGTH, true);
        this.declareFeeKey = declareFeeKey;
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        keys.write(checkingKey(SmallBankCodec.customer(payload, 0)));
        keys.write(checkingKey(SmallBankCodec.secondCustomer(payload, 0)));
        if (declareFeeKey)
        {
            keys.write(SmallBank.FEE_ACCOUNT_KEY);
        }
        // otherwise the fee account is deliberately NOT declared: that is the bug
    }

    int executeValid(
        final DirectBuffer payload,
        final long seq,
        final StoreWriter store,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final long from = SmallBankCodec.customer(payload, 0);
        final long to = SmallBankCodec.secondCustomer(payload, 0);
        final long amountCents = SmallBankCodec.paymentAmountCents(payload, 0);
        if (from == to)
        {
            return abort(reply, replyOffset, ReplyCodes.SAME_ACCOUNT);
        }
        final long fromKey = checkingKey(from);
        final long toKey = checkingKey(to);
        if (!readBalance(store, fromKey, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long fromCents = scratchBalance(reply, replyOffset);
        if (!readBalance(store, toKey, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long toCents = scratchBalance(reply, replyOffset);
        if (sumOverflows(amountCents, SmallBank.FEE_CENTS))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long debitCents = amountCents + SmallBank.FEE_CENTS;
        if (fromCents < debitCents)
        {
            return abort(reply, replyOffset, ReplyCodes.INSUFFICIENT_FUNDS);
        }
        // racy read of an undeclared key: another worker may be between its read and its write
        final long feesCents = readBalance(store, SmallBank.FEE_ACCOUNT_KEY, reply, replyOffset) ?
            scratchBalance(reply, replyOffset) : 0;
        if (differenceOverflows(fromCents, debitCents) ||
            sumOverflows(toCents, amountCents) ||
            sumOverflows(feesCents, SmallBank.FEE_CENTS))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newFromCents = fromCents - debitCents;
        writeBalance(store, seq, fromKey, newFromCents, reply, replyOffset);
        writeBalance(store, seq, toKey, toCents + amountCents, reply, replyOffset);
        // racy write: overwrites any fee another worker added since our read
        writeBalance(store, seq, SmallBank.FEE_ACCOUNT_KEY, feesCents + SmallBank.FEE_CENTS, reply, replyOffset);
        return ok(reply, replyOffset, 0, newFromCents);
    }
}
