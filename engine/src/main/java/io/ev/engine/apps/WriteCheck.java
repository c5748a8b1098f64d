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
import static io.ev.engine.apps.SmallBank.savingsKey;

/**
 * WriteCheck(x, v): if s[x] + c[x] &lt; v then c[x] -= v + 1 (overdraft penalty of one cent) else
 * c[x] -= v; reads s[x], writes c[x]. Money delta -v or -(v + 1); value the new c[x]. As in
 * WORKLOADS.md, v is not checked for sign: a negative cheque credits the account, and the delta says so.
 */
final class WriteCheck extends SmallBankType
{
    /** Penalty for a cheque the balances do not cover. */
    static final long PENALTY_CENTS = 1;

    WriteCheck()
    {
        super(SmallBank.WRITE_CHECK, "WriteCheck", SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, false);
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        final long customer = SmallBankCodec.customer(payload, 0);
        keys.read(savingsKey(customer));
        keys.write(checkingKey(customer));
    }

    int executeValid(
        final DirectBuffer payload,
        final long seq,
        final StoreWriter store,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final long customer = SmallBankCodec.customer(payload, 0);
        final long amountCents = SmallBankCodec.amountCents(payload, 0);
        final long checkingKey = checkingKey(customer);
        if (!readBalance(store, savingsKey(customer), reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long savingsCents = scratchBalance(reply, replyOffset);
        if (!readBalance(store, checkingKey, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long checkingCents = scratchBalance(reply, replyOffset);
        if (sumOverflows(savingsCents, checkingCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        long debitCents = amountCents;
        if (savingsCents + checkingCents < amountCents)
        {
            if (sumOverflows(amountCents, PENALTY_CENTS))
            {
                return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
            }
            debitCents = amountCents + PENALTY_CENTS;
        }
        if (differenceOverflows(checkingCents, debitCents) || differenceOverflows(0, debitCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newCheckingCents = checkingCents - debitCents;
        writeBalance(store, seq, checkingKey, newCheckingCents, reply, replyOffset);
        return ok(reply, replyOffset, -debitCents, newCheckingCents);
    }
}
