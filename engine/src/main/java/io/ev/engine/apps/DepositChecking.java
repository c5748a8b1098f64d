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
 * DepositChecking(x, v): aborts with NEGATIVE_AMOUNT if v &lt; 0, else c[x] += v; writes c[x].
 * Money delta +v; value the new c[x].
 */
final class DepositChecking extends SmallBankType
{
    DepositChecking()
    {
        super(SmallBank.DEPOSIT_CHECKING, "DepositChecking", SmallBankCodec.ACCOUNT_AMOUNT_LENGTH, false);
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        keys.write(checkingKey(SmallBankCodec.customer(payload, 0)));
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
        if (amountCents < 0)
        {
            return abort(reply, replyOffset, ReplyCodes.NEGATIVE_AMOUNT);
        }
        final long key = checkingKey(customer);
        if (!readBalance(store, key, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long checkingCents = scratchBalance(reply, replyOffset);
        if (sumOverflows(checkingCents, amountCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newCheckingCents = checkingCents + amountCents;
        writeBalance(store, seq, key, newCheckingCents, reply, replyOffset);
        return ok(reply, replyOffset, amountCents, newCheckingCents);
    }
}
