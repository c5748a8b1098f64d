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
 * SendPayment(x, y, v): aborts with SAME_ACCOUNT if x == y, with INSUFFICIENT_FUNDS if c[x] &lt; v;
 * else c[x] -= v; c[y] += v; writes c[x], c[y]. Money delta 0; value the new c[x]. As in
 * WORKLOADS.md, v is not checked for sign (a negative payment moves money from y to x).
 */
final class SendPayment extends SmallBankType
{
    SendPayment()
    {
        super(SmallBank.SEND_PAYMENT, "SendPayment", SmallBankCodec.PAYMENT_LENGTH, true);
    }

    void declareValid(final DirectBuffer payload, final KeySink keys)
    {
        keys.write(checkingKey(SmallBankCodec.customer(payload, 0)));
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
        if (fromCents < amountCents)
        {
            return abort(reply, replyOffset, ReplyCodes.INSUFFICIENT_FUNDS);
        }
        if (differenceOverflows(fromCents, amountCents) || sumOverflows(toCents, amountCents))
        {
            return abort(reply, replyOffset, ReplyCodes.AMOUNT_OVERFLOW);
        }
        final long newFromCents = fromCents - amountCents;
        writeBalance(store, seq, fromKey, newFromCents, reply, replyOffset);
        writeBalance(store, seq, toKey, toCents + amountCents, reply, replyOffset);
        return ok(reply, replyOffset, 0, newFromCents);
    }
}
