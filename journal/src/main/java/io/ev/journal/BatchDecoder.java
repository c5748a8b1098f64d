/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.journal.BatchEncoder.CLIENT_ID;
import static io.ev.journal.BatchEncoder.COUNT_OFFSET;
import static io.ev.journal.BatchEncoder.PAYLOAD_LENGTH;
import static io.ev.journal.BatchEncoder.PHASE;
import static io.ev.journal.BatchEncoder.PHASE_COUNT_OFFSET;
import static io.ev.journal.BatchEncoder.REQUESTS_OFFSET;
import static io.ev.journal.BatchEncoder.REQUEST_HEADER_LENGTH;
import static io.ev.journal.BatchEncoder.REQUEST_ID;
import static io.ev.journal.BatchEncoder.SEQ_OFFSET;
import static io.ev.journal.BatchEncoder.TYPE;

/**
 * Flyweight over a checked batch entry (see {@link BatchEncoder} for the layout). Iterate with
 * {@link #next()}; the payload view is valid until the next call.
 */
public final class BatchDecoder
{
    private final UnsafeBuffer payload = new UnsafeBuffer(0, 0);
    private DirectBuffer entry;
    private int length;
    private int position;
    private int remaining;
    private long clientId;
    private long requestId;
    private int type;
    private int phase;

    /**
     * Points at a whole entry (header included) of {@code length} bytes whose checksum was checked.
     *
     * @return null if the body's structure is consistent, else what is wrong.
     */
    public String wrap(final DirectBuffer entry, final int length)
    {
        this.entry = entry;
        this.length = length;
        if (length < REQUESTS_OFFSET)
        {
            return "batch entry of " + length + " bytes is shorter than its fixed fields";
        }
        final int count = entry.getInt(COUNT_OFFSET);
        if (count < 0)
        {
            return "batch entry says " + count + " requests";
        }
        int at = REQUESTS_OFFSET;
        for (int i = 0; i < count; i++)
        {
            if (at + REQUEST_HEADER_LENGTH > length)
            {
                return "request " + i + " of " + count + " runs past the entry";
            }
            final int payloadLength = entry.getInt(at + PAYLOAD_LENGTH);
            if (payloadLength < 0 || payloadLength > length - at - REQUEST_HEADER_LENGTH)
            {
                return "request " + i + " has payload length " + payloadLength + " past the entry";
            }
            at += REQUEST_HEADER_LENGTH + payloadLength;
        }
        if (at != length)
        {
            return "batch entry has " + (length - at) + " bytes after its last request";
        }
        rewind();
        return null;
    }

    /**
     * Restarts iteration at the first request.
     */
    public void rewind()
    {
        position = REQUESTS_OFFSET;
        remaining = requestCount();
    }

    public long seq()
    {
        return entry.getLong(SEQ_OFFSET);
    }

    public int requestCount()
    {
        return entry.getInt(COUNT_OFFSET);
    }

    public int phaseCount()
    {
        return entry.getInt(PHASE_COUNT_OFFSET);
    }

    /**
     * Moves to the next request.
     *
     * @return false when every request was visited.
     */
    public boolean next()
    {
        if (0 == remaining)
        {
            return false;
        }
        final int at = position;
        clientId = entry.getLong(at + CLIENT_ID);
        requestId = entry.getLong(at + REQUEST_ID);
        type = entry.getInt(at + TYPE);
        phase = entry.getInt(at + PHASE);
        final int payloadLength = entry.getInt(at + PAYLOAD_LENGTH);
        payload.wrap(entry, at + REQUEST_HEADER_LENGTH, payloadLength);
        position = at + REQUEST_HEADER_LENGTH + payloadLength;
        remaining--;
        return true;
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

    public int phase()
    {
        return phase;
    }

    /**
     * @return the current request's payload (offset 0, capacity = its length).
     */
    public DirectBuffer payload()
    {
        return payload;
    }

    /** @return the entry this decoder points at (header included; {@link #entryLength()} bytes). */
    public DirectBuffer entry()
    {
        return entry;
    }

    /**
     * @return the entry's length in bytes, header included.
     */
    public int entryLength()
    {
        return length;
    }
}
