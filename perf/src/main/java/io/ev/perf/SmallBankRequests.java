/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankWorkload;
import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A pre-generated, cyclic sequence of SmallBank requests (type id, payload, length), so that the
 * measured loops of the engine benchmarks only index into arrays and both sides of a comparison
 * (the engine, the raw sequential loop) execute exactly the same requests in the same order.
 * <pre>
 *  payloads: | request 0 (STRIDE bytes) | request 1 | ... | request count-1 |
 * </pre>
 * Generated once by {@link SmallBankWorkload} with {@link #SEED}; the same arguments give the same
 * requests. Read-only after construction, so any number of threads may read it.
 */
public final class SmallBankRequests
{
    /** Seed of the load (initial balances) and of the request generator. */
    public static final long SEED = 42;
    /** Requests generated; the sequence cycles after this many. */
    public static final int DEFAULT_COUNT = 1 << 16;
    /** Bytes between two payloads: the longest SmallBank payload, rounded up to 8. */
    public static final int STRIDE = BitUtil.align(SmallBankCodec.MAX_PAYLOAD_LENGTH, Long.BYTES);

    private final int[] typeIds;
    private final int[] lengths;
    private final UnsafeBuffer payloads;
    private final int mask;

    /**
     * @param count    requests to generate, a power of two.
     * @param accounts SmallBank customers, at least 2.
     * @param profile  "uniform" or "contended" (WORKLOADS.md).
     */
    SmallBankRequests(final int count, final int accounts, final String profile)
    {
        this(count, accounts, profile, SEED);
    }

    /**
     * As above with another seed (the Aeron Cluster baseline runs the same stream).
     *
     * @param seed seed of the generator.
     */
    public SmallBankRequests(final int count, final int accounts, final String profile, final long seed)
    {
        if (count < 1 || Integer.bitCount(count) != 1)
        {
            throw new IllegalArgumentException("count " + count + " must be a power of two");
        }
        final SmallBankWorkload workload = workload(accounts, profile, seed);
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
     * @param accounts SmallBank customers.
     * @param profile  "uniform" or "contended".
     * @return the seeded generator of that profile.
     * @throws IllegalArgumentException naming the profile if it is neither.
     */
    static SmallBankWorkload workload(final int accounts, final String profile)
    {
        return workload(accounts, profile, SEED);
    }

    private static SmallBankWorkload workload(final int accounts, final String profile, final long seed)
    {
        if ("uniform".equals(profile))
        {
            return SmallBankWorkload.uniform(accounts, seed, false);
        }
        if ("contended".equals(profile))
        {
            return SmallBankWorkload.contended(accounts, seed, false);
        }
        throw new IllegalArgumentException("profile '" + profile + "' must be uniform or contended");
    }

    /**
     * @param sequence any request number; taken modulo the count.
     * @return its type id.
     */
    public int typeId(final long sequence)
    {
        return typeIds[(int)sequence & mask];
    }

    /**
     * @return the payload length of request {@code sequence}.
     */
    public int length(final long sequence)
    {
        return lengths[(int)sequence & mask];
    }

    /**
     * @return where the payload of request {@code sequence} starts in {@link #payloads()}.
     */
    public int offset(final long sequence)
    {
        return ((int)sequence & mask) * STRIDE;
    }

    /**
     * @return the buffer holding every payload.
     */
    public UnsafeBuffer payloads()
    {
        return payloads;
    }

    /**
     * @return requests in the cycle.
     */
    int count()
    {
        return mask + 1;
    }
}
