/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Flyweight over one request held in a {@link Batch}. One instance per thread; re-pointed with
 * {@link Batch#wrap(Request, int)}.
 */
public final class Request
{
    private final UnsafeBuffer payload = new UnsafeBuffer(0, 0);
    private long clientId;
    private long requestId;
    private int type;
    private int index;

    void set(
        final int index,
        final long clientId,
        final long requestId,
        final int type,
        final long address,
        final int length)
    {
        this.index = index;
        this.clientId = clientId;
        this.requestId = requestId;
        this.type = type;
        payload.wrap(address, length);
    }

    /**
     * @return the request's position in its batch (batch order).
     */
    public int index()
    {
        return index;
    }

    public long clientId()
    {
        return clientId;
    }

    public long requestId()
    {
        return requestId;
    }

    public int type()
    {
        return type;
    }

    /**
     * @return the payload, from offset 0 to {@link #payloadLength()}.
     */
    public DirectBuffer payload()
    {
        return payload;
    }

    public int payloadLength()
    {
        return payload.capacity();
    }
}
