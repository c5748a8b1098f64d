/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Builds one batch entry (header + body, docs/formats.md) in a reusable off-heap buffer, ready for
 * {@link Journal#append(BatchEncoder)}. Body:
 * <pre>
 *  seq (8) | request count (4) | phase count (4) | requests in batch order:
 *    client id (8) | request id (8) | type (4) | phase (4) | payload length (4) | payload
 * </pre>
 * One instance per appending thread; no allocation once the buffer has grown to the largest batch.
 */
public final class BatchEncoder
{
    static final int SEQ_OFFSET = JournalFormat.HEADER_LENGTH;
    static final int COUNT_OFFSET = SEQ_OFFSET + Long.BYTES;
    static final int PHASE_COUNT_OFFSET = COUNT_OFFSET + Integer.BYTES;
    static final int REQUESTS_OFFSET = PHASE_COUNT_OFFSET + Integer.BYTES;
    static final int REQUEST_HEADER_LENGTH = 2 * Long.BYTES + 3 * Integer.BYTES;
    static final int CLIENT_ID = 0;
    static final int REQUEST_ID = CLIENT_ID + Long.BYTES;
    static final int TYPE = REQUEST_ID + Long.BYTES;
    static final int PHASE = TYPE + Integer.BYTES;
    static final int PAYLOAD_LENGTH = PHASE + Integer.BYTES;

    private final CRC32C crc = new CRC32C();
    private ByteBuffer byteBuffer;
    private final UnsafeBuffer buffer = new UnsafeBuffer(0, 0);
    private int length;
    private int count;
    private int maxPhase = -1;

    public BatchEncoder()
    {
        grow(64 * 1024);
    }

    /**
     * Starts a new batch entry.
     */
    public BatchEncoder reset(final long seq)
    {
        buffer.putShort(JournalFormat.TYPE_OFFSET, JournalFormat.TYPE_BATCH);
        buffer.putShort(JournalFormat.VERSION_OFFSET, JournalFormat.FORMAT_VERSION);
        buffer.putInt(JournalFormat.HEADER_LENGTH - Integer.BYTES, 0);
        buffer.putLong(SEQ_OFFSET, seq);
        length = REQUESTS_OFFSET;
        count = 0;
        maxPhase = -1;
        return this;
    }

    /**
     * Makes this the copy of a whole batch entry another encoder wrote and a {@link BatchDecoder} checked
     * (e.g. the primary's entry a backup received): the same bytes as adding its requests one by one,
     * without decoding and encoding each.
     *
     * @param seq     the batch seq to journal it as.
     * @param decoder wraps the entry.
     */
    public BatchEncoder copyOf(final long seq, final BatchDecoder decoder)
    {
        final int entryLength = decoder.entryLength();
        if (entryLength > buffer.capacity())
        {
            grow(Math.max(entryLength, buffer.capacity() * 2));
        }
        buffer.putBytes(0, decoder.entry(), 0, entryLength);
        buffer.putLong(SEQ_OFFSET, seq);
        length = entryLength;
        count = buffer.getInt(COUNT_OFFSET);
        maxPhase = buffer.getInt(PHASE_COUNT_OFFSET) - 1;
        return this;
    }

    /**
     * Appends a request in batch order.
     */
    public BatchEncoder add(
        final long clientId,
        final long requestId,
        final int type,
        final int phase,
        final DirectBuffer payload,
        final int offset,
        final int payloadLength)
    {
        final int needed = length + REQUEST_HEADER_LENGTH + payloadLength;
        if (needed > buffer.capacity())
        {
            grow(Math.max(needed, buffer.capacity() * 2));
        }
        final int at = length;
        buffer.putLong(at + CLIENT_ID, clientId);
        buffer.putLong(at + REQUEST_ID, requestId);
        buffer.putInt(at + TYPE, type);
        buffer.putInt(at + PHASE, phase);
        buffer.putInt(at + PAYLOAD_LENGTH, payloadLength);
        buffer.putBytes(at + REQUEST_HEADER_LENGTH, payload, offset, payloadLength);
        length = needed;
        count++;
        maxPhase = Math.max(maxPhase, phase);
        return this;
    }

    /**
     * Completes the header (counts, length, checksum); may be called again.
     *
     * @return the entry's length in bytes.
     */
    public int finish()
    {
        buffer.putInt(COUNT_OFFSET, count);
        buffer.putInt(PHASE_COUNT_OFFSET, maxPhase + 1);
        final int bodyLength = length - JournalFormat.HEADER_LENGTH;
        buffer.putInt(JournalFormat.BODY_LENGTH_OFFSET, bodyLength);
        buffer.putInt(JournalFormat.CRC_OFFSET, JournalFormat.crc(crc, byteBuffer, bodyLength));
        return length;
    }

    public int count()
    {
        return count;
    }

    public long seq()
    {
        return buffer.getLong(SEQ_OFFSET);
    }

    /**
     * @return the entry, from offset 0 to {@link #finish()}'s length (e.g. to ship it to a backup).
     */
    public DirectBuffer buffer()
    {
        return buffer;
    }

    ByteBuffer byteBuffer()
    {
        return byteBuffer;
    }

    private void grow(final int capacity)
    {
        final ByteBuffer grown = BufferUtil.allocateDirectAligned(BitUtil.align(capacity, 4096), 64);
        if (null != byteBuffer)
        {
            final UnsafeBuffer target = new UnsafeBuffer(grown);
            target.putBytes(0, buffer, 0, length);
        }
        byteBuffer = grown;
        buffer.wrap(grown);
    }

}
