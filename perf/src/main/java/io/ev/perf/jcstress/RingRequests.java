/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestRing;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Requests of the ring tests: request {@code id} has client id {@code 1000 + id}, type {@code 10 + id} and a
 * payload of {@value #PAYLOAD_BYTES} bytes derived from {@code id}, so that a slot is exactly one cache line
 * (24-byte header + payload) and a request overwritten by another, torn or stale reads as such.
 */
final class RingRequests
{
    static final int PAYLOAD_BYTES = 40;
    /** {@link #seen} of a request whose header and payload are all zero (a slot never written). */
    static final int ZEROED = StressFixtures.STALE;

    private static final DirectBuffer[] PAYLOADS = new DirectBuffer[4];

    static
    {
        for (int id = 0; id < PAYLOADS.length; id++)
        {
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[PAYLOAD_BYTES]);
            for (int i = 0; i < PAYLOAD_BYTES; i++)
            {
                payload.putByte(i, (byte)(id * 64 + i + 1));
            }
            PAYLOADS[id] = payload;
        }
    }

    private RingRequests()
    {
    }

    /**
     * @param id 1, 2 or 3.
     * @return the offer's result ({@link RequestRing#OFFERED}, {@link RequestRing#RING_FULL}, ...).
     */
    static int offer(final RequestRing ring, final int id)
    {
        return ring.offer(1000 + id, id, 10 + id, PAYLOADS[id], 0, PAYLOAD_BYTES);
    }

    /**
     * @return {@link StressFixtures#CURRENT} if request {@code index} of {@code batch} is request {@code id} as
     * offered, {@link #ZEROED} if it is all zeros, else {@link StressFixtures#OTHER}.
     */
    static int seen(final Batch batch, final int index, final Request request, final int id)
    {
        batch.wrap(request, index);
        return id == idOf(request) ? StressFixtures.CURRENT : isZero(request) ? ZEROED : StressFixtures.OTHER;
    }

    /**
     * @return the id of the intact request {@code index} of {@code batch}, or -1 if it is no request as offered.
     */
    static int idAt(final Batch batch, final int index, final Request request)
    {
        batch.wrap(request, index);
        return idOf(request);
    }

    private static int idOf(final Request request)
    {
        final long id = request.requestId();
        if (id < 1 || id >= PAYLOADS.length || request.clientId() != 1000 + id || request.type() != 10 + id ||
            request.payloadLength() != PAYLOAD_BYTES)
        {
            return -1;
        }
        final DirectBuffer payload = request.payload();
        final DirectBuffer expected = PAYLOADS[(int)id];
        for (int i = 0; i < PAYLOAD_BYTES; i += Long.BYTES)
        {
            if (payload.getLong(i) != expected.getLong(i))
            {
                return -1;
            }
        }
        return (int)id;
    }

    private static boolean isZero(final Request request)
    {
        if (0 != request.requestId() || 0 != request.clientId() || 0 != request.type())
        {
            return false;
        }
        final DirectBuffer payload = request.payload();
        for (int i = 0; i < request.payloadLength(); i++)
        {
            if (0 != payload.getByte(i))
            {
                return false;
            }
        }
        return true;
    }
}
