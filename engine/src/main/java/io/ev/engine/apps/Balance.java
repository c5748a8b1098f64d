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
 * Balance(x): replies s[x] + c[x]; reads s[x], c[x], writes nothing.
 */
final class Balance extends SmallBankType
{
    Balance()
    {
        super(SmallBank.BALANCE, "Balance", SmallBankCodec.BALANCE_LENGTH, false);
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        final long customer = SmallBankCodec.customer(payload, 0);
        keys.read(savingsKey(customer));
        keys.read(checkingKey(customer));
    }

    int executeValid(
        final DirectBuffer payload,
        final long seq,
        final StoreWriter store,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final long customer = SmallBankCodec.customer(payload, 0);
        if (!readBalance(store, savingsKey(customer), reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long savingsCents = scratchBalance(reply, replyOffset);
        if (!readBalance(store, checkingKey(customer), reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long checkingCents = scratchBalance(reply, replyOffset);
        if (sumOverflows(savingsCents, checkingCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        return ok(reply, replyOffset, 0, savingsCents + checkingCents);
    }
}
