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
 * Amalgamate(x, y): aborts with SAME_ACCOUNT if x == y; t = s[x] + c[x]; s[x] = 0; c[x] = 0;
 * c[y] += t; writes s[x], c[x], c[y]. Money delta 0; value the new c[y].
 */
final class Amalgamate extends SmallBankType
{
    Amalgamate()
    {
        super(SmallBank.AMALGAMATE, "Amalgamate", SmallBankCodec.AMALGAMATE_LENGTH, true);
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        final long from = SmallBankCodec.customer(payload, 0);
        keys.write(savingsKey(from));
        keys.write(checkingKey(from));
        keys.write(checkingKey(SmallBankCodec.secondCustomer(payload, 0)));
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
        if (from == to)
        {
            return abort(reply, replyOffset, ReplyCodes.SAME_ACCOUNT);
        }
        final long fromSavingsKey = savingsKey(from);
        final long fromCheckingKey = checkingKey(from);
        final long toCheckingKey = checkingKey(to);
        if (!readBalance(store, fromSavingsKey, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long fromSavingsCents = scratchBalance(reply, replyOffset);
        if (!readBalance(store, fromCheckingKey, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long fromCheckingCents = scratchBalance(reply, replyOffset);
        if (!readBalance(store, toCheckingKey, reply, replyOffset))
        {
            return abort(reply, replyOffset, ReplyCodes.UNKNOWN_CUSTOMER);
        }
        final long toCheckingCents = scratchBalance(reply, replyOffset);
        if (sumOverflows(fromSavingsCents, fromCheckingCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long totalCents = fromSavingsCents + fromCheckingCents;
        if (sumOverflows(toCheckingCents, totalCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newToCheckingCents = toCheckingCents + totalCents;
        writeBalance(store, seq, fromSavingsKey, 0, reply, replyOffset);
        writeBalance(store, seq, fromCheckingKey, 0, reply, replyOffset);
        writeBalance(store, seq, toCheckingKey, newToCheckingCents, reply, replyOffset);
        return ok(reply, replyOffset, 0, newToCheckingCents);
    }
}
