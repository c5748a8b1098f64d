/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.pipeline.KeySink;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static io.ev.engine.apps.SmallBank.savingsKey;

/**
 * TransactSavings(x, v): aborts with INSUFFICIENT_FUNDS if s[x] + v &lt; 0 (v may be negative), else
 * s[x] += v; writes s[x]. Money delta +v; value the new s[x].
 */
final class TransactSavings extends SmallBankType
{
    TransactSavings()
    {
        super(SmallBank.TRANSACT_SAVINGS, "TransactSavings", SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, false);
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        keys.write(savingsKey(SmallBankCodec.customer(payload, 0)));
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
        final long key = savingsKey(customer);
        if (!readBalance(store, key, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long savingsCents = scratchBalance(reply, replyOffset);
        if (sumOverflows(savingsCents, amountCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newSavingsCents = savingsCents + amountCents;
        if (newSavingsCents < 0)
        {
            return abort(reply, replyOffset, ReplyCodes.INSUFFICIENT_FUNDS);
        }
        writeBalance(store, seq, key, newSavingsCents, reply, replyOffset);
        return ok(reply, replyOffset, amountCents, newSavingsCents);
    }
}
