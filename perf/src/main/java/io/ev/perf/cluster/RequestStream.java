/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankWorkload;
import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A pre-generated, cyclic sequence of SmallBank requests, made by the engine's own {@link SmallBankWorkload} with
 * the seed and profiles the engine's load tools use ({@code io.ev.perf.SmallBankRequests}: seed 42, uniform or
 * contended), so that the cluster baseline and {@code bin/ev load} draw their requests from the same generator.
 * Request {@code sequence} is entry {@code sequence mod count}. Read-only after construction.
 */
final class RequestStream
{
    /** Seed of the engine's load tools (initial balances and requests). */
    static final long SEED = 42;
    /** Requests generated, as in the engine's tools; the sequence cycles after this many. */
    static final int DEFAULT_COUNT = 1 << 16;
    /** Bytes between two payloads: the longest SmallBank payload, rounded up to 8. */
    static final int STRIDE = BitUtil.align(SmallBankCodec.MAX_PAYLOAD_LENGTH, Long.BYTES);

    private final int[] typeIds;
    private final int[] lengths;
    private final UnsafeBuffer payloads;
    private final int mask;

    /**
     * @param count    requests to generate, a power of two.
     * @param accounts SmallBank customers, at least 2.
     * @param profile  "uniform" or "contended".
     * @param seed     seed of the generator.
     */
    RequestStream(final int count, final int accounts, final String profile, final long seed)
    {
        if (count < 1 || Integer.bitCount(count) != 1)
        {
            throw new IllegalArgumentException("count " + count + " must be a power of two");
        }
        final SmallBankWorkload workload;
        if ("uniform".equals(profile))
        {
            workload = SmallBankWorkload.uniform(accounts, seed, false);
        }
        else if ("contended".equals(profile))
        {
            workload = SmallBankWorkload.contended(accounts, seed, false);
        }
        else
        {
            throw new IllegalArgumentException("profile '" + profile + "' must be uniform or contended");
        }
        typeIds = new int[count];
        lengths = new int[count];
        payloads = new UnsafeBuffer(new byte[count * STRIDE]);
        mask = count - 1;
        for (int i = 0; i < count; i++)
        {
            lengths[i] = workload.next(payloads, i * STRIDE);
            typeIds[i] = workload.typeId();
        }
    }

    /**
     * @return the type id of request {@code sequence}.
     */
    int typeId(final long sequence)
    {
        return typeIds[(int)sequence & mask];
    }

    /**
     * @return the payload length of request {@code sequence}.
     */
    int length(final long sequence)
    {
        return lengths[(int)sequence & mask];
    }

    /**
     * @return where the payload of request {@code sequence} starts in {@link #payloads()}.
     */
    int offset(final long sequence)
    {
        return ((int)sequence & mask) * STRIDE;
    }

    /**
     * @return the buffer holding every payload.
     */
    DirectBuffer payloads()
    {
        return payloads;
    }
}
