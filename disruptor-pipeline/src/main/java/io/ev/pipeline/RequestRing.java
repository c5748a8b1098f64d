/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.EventFactory;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.Sequence;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The input ring: a Disruptor multi-producer {@link RingBuffer} whose pre-allocated events are
 * views into one pre-allocated off-heap buffer, so that {@link #offer} allocates nothing.
 * <pre>
 *  slot i, at i * slotLength (slotLength = HEADER_LENGTH + maxPayloadBytes, rounded up to 64):
 *  +---------------+----------------+----------+--------------------+---------------------------+
 *  | client id (8) | request id (8) | type (4) | payload length (4) | payload (maxPayloadBytes) |
 *  +---------------+----------------+----------+--------------------+---------------------------+
 * </pre>
 * Slots are cache-line aligned so that producers writing neighbouring slots do not share a line.
 * <p>
 * Threads: any number of producers call {@link #offer}; exactly one consumer thread calls
 * {@link #drainTo(Batch, int)}, the batch cutter. A producer claims a slot with
 * {@code tryNext()}, copies, and publishes (a release store of the slot's availability flag);
 * the consumer reads the flag with acquire semantics ({@code isAvailable}) before copying, and
 * frees the slots it copied with a release store of its sequence, which producers read
 * before reusing a slot. So a producer's copy happens-before the consumer's read, and the
 * consumer's read happens-before the next producer's overwrite.
 * <p>
 * Bounds: {@code capacity} is a power of two in [2, {@value #MAX_CAPACITY}], {@code maxPayloadBytes}
 * in [0, {@value #MAX_PAYLOAD_BYTES_LIMIT}], and the whole buffer must fit in 2^31 - 1 bytes. At
 * the bound a producer gets {@link #RING_FULL} (back-pressure: retry, wait with
 * {@link #offer(long, long, int, DirectBuffer, int, int, long, IdleStrategy)}, or reject).
 * <p>
 * Memory: the off-heap buffer is a direct {@link java.nio.ByteBuffer} freed by the garbage
 * collector once the ring is unreachable; {@link #close()} only refuses further offers, so a
 * producer or consumer racing with close never touches freed memory.
 */
public final class RequestRing implements AutoCloseable
{
    /** {@link #offer} result: the request was copied into the ring and published. */
    public static final int OFFERED = 0;
    /** {@link #offer} result: no free slot (or none before the timeout); nothing was written. */
    public static final int RING_FULL = 1;
    /** {@link #offer} result: the payload is longer than {@link #maxPayloadBytes()}; nothing was written. */
    public static final int PAYLOAD_TOO_LARGE = 2;
    /** {@link #offer} result: the ring was closed; nothing was written. */
    public static final int CLOSED = 3;

    /** Largest capacity accepted. */
    public static final int MAX_CAPACITY = 1 << 24;
    /** Largest maxPayloadBytes accepted. */
    public static final int MAX_PAYLOAD_BYTES_LIMIT = 1 << 20;

    static final int CLIENT_ID_OFFSET = 0;
    static final int REQUEST_ID_OFFSET = CLIENT_ID_OFFSET + Long.BYTES;
    static final int TYPE_OFFSET = REQUEST_ID_OFFSET + Long.BYTES;
    static final int PAYLOAD_LENGTH_OFFSET = TYPE_OFFSET + Integer.BYTES;
    static final int PAYLOAD_OFFSET = PAYLOAD_LENGTH_OFFSET + Integer.BYTES;
    static final int HEADER_LENGTH = PAYLOAD_OFFSET;
    static final int SLOT_ALIGNMENT = 64;

    private final int capacity;
    private final int maxPayloadBytes;
    private final int slotLength;
    private final UnsafeBuffer slots;
    private final RingBuffer<Slot> ringBuffer;
    /** Highest sequence the consumer has copied out; producers gate on it. */
    private final Sequence consumed = new Sequence(RingBuffer.INITIAL_CURSOR_VALUE);
    private volatile boolean closed;

    /**
     * One ring entry: a view of its slot in the shared off-heap buffer.
     */
    static final class Slot
    {
        final int offset;

        Slot(final int offset)
        {
            this.offset = offset;
        }
    }

    /**
     * Assigns slot offsets in the order the ring buffer creates its entries (0 .. capacity - 1).
     */
    static final class SlotFactory implements EventFactory<Slot>
    {
        private final int slotLength;
        private int next;

        SlotFactory(final int slotLength)
        {
            this.slotLength = slotLength;
        }

        public Slot newInstance()
        {
            return new Slot(next++ * slotLength);
        }
    }

    /**
     * @param capacity        slots, a power of two in [2, {@value #MAX_CAPACITY}].
     * @param maxPayloadBytes largest request payload, in [0, {@value #MAX_PAYLOAD_BYTES_LIMIT}].
     * @throws IllegalArgumentException naming the parameter and its allowed range.
     */
    public RequestRing(final int capacity, final int maxPayloadBytes)
    {
        if (capacity < 2 || capacity > MAX_CAPACITY || Integer.bitCount(capacity) != 1)
        {
            throw new IllegalArgumentException(
                "capacity = " + capacity + " must be a power of two in [2, " + MAX_CAPACITY + "]");
        }
        if (maxPayloadBytes < 0 || maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT)
        {
            throw new IllegalArgumentException(
                "maxPayloadBytes = " + maxPayloadBytes + " must be in [0, " + MAX_PAYLOAD_BYTES_LIMIT + "]");
        }
        final int slotLength = align(HEADER_LENGTH + maxPayloadBytes, SLOT_ALIGNMENT);
        if ((long)capacity * slotLength > Integer.MAX_VALUE - SLOT_ALIGNMENT)
        {
            throw new IllegalArgumentException("capacity = " + capacity + " x maxPayloadBytes = " + maxPayloadBytes +
                " needs " + ((long)capacity * slotLength) + " bytes; capacity x (" + HEADER_LENGTH +
                " + maxPayloadBytes, rounded up to " + SLOT_ALIGNMENT + ") must be below 2^31 - " + SLOT_ALIGNMENT);
        }
        this.capacity = capacity;
        this.maxPayloadBytes = maxPayloadBytes;
        this.slotLength = slotLength;
        this.slots = new UnsafeBuffer(BufferUtil.allocateDirectAligned(capacity * slotLength, SLOT_ALIGNMENT));
        this.ringBuffer = RingBuffer.createMultiProducer(
            new SlotFactory(slotLength), capacity, new BusySpinWaitStrategy());
        for (int i = 0; i < capacity; i++)
        {
            if (ringBuffer.get(i).offset != i * slotLength)
            {
                throw new IllegalStateException("ring entry " + i + " is not a view of slot " + i);
            }
        }
        ringBuffer.addGatingSequences(consumed);
    }

    private static int align(final int value, final int alignment)
    {
        return (value + alignment - 1) & -alignment;
    }

    /**
     * Copies a request into a free slot and publishes it; never blocks, allocates nothing.
     * Checks in this order: closed, payload length, free slot.
     *
     * @param clientId  the client.
     * @param requestId the client's request id.
     * @param type      the transaction type.
     * @param payload   the payload bytes.
     * @param offset    where the payload starts in {@code payload}.
     * @param length    payload length.
     * @return {@link #OFFERED}, {@link #CLOSED}, {@link #PAYLOAD_TOO_LARGE} or {@link #RING_FULL}.
     * @throws IndexOutOfBoundsException if {@code offset, length} lie outside {@code payload}
     *                                   (a caller bug; nothing was claimed).
     */
    public int offer(
        final long clientId, final long requestId, final int type, final DirectBuffer payload, final int offset,
        final int length)
    {
        if (closed)
        {
            return CLOSED;
        }
        if (length > maxPayloadBytes)
        {
            return PAYLOAD_TOO_LARGE;
        }
        if (offset < 0 || length < 0 || offset > payload.capacity() - length)
        {
            throw new IndexOutOfBoundsException("payload offset " + offset + " length " + length +
                " outside buffer of " + payload.capacity() + " bytes");
        }
        final long sequence;
        try
        {
            sequence = ringBuffer.tryNext();
        }
        catch (final InsufficientCapacityException ex)
        {
            return RING_FULL;
        }
        final UnsafeBuffer slots = this.slots;
        final int slot = ringBuffer.get(sequence).offset;
        slots.putLong(slot + CLIENT_ID_OFFSET, clientId);
        slots.putLong(slot + REQUEST_ID_OFFSET, requestId);
        slots.putInt(slot + TYPE_OFFSET, type);
        slots.putInt(slot + PAYLOAD_LENGTH_OFFSET, length);
        slots.putBytes(slot + PAYLOAD_OFFSET, payload, offset, length);
        ringBuffer.publish(sequence);
        return OFFERED;
    }

    /**
     * Like {@link #offer(long, long, int, DirectBuffer, int, int)}, but while the ring is full
     * retries, idling with {@code idle} between tries, until a slot frees or {@code timeoutNs}
     * have passed ({@link System#nanoTime()}).
     *
     * @param timeoutNs how long to keep trying; 0 or less tries once.
     * @param idle      how to wait between tries; owned by the calling thread (idle strategies
     *                  keep per-thread state). Reset before the first wait.
     * @return {@link #OFFERED}, {@link #CLOSED}, {@link #PAYLOAD_TOO_LARGE}, or {@link #RING_FULL}
     * once the deadline passed.
     */
    public int offer(
        final long clientId, final long requestId, final int type, final DirectBuffer payload, final int offset,
        final int length, final long timeoutNs, final IdleStrategy idle)
    {
        int result = offer(clientId, requestId, type, payload, offset, length);
        if (RING_FULL != result || timeoutNs <= 0)
        {
            return result;
        }
        final long deadlineNs = System.nanoTime() + timeoutNs;
        idle.reset();
        while (true)
        {
            idle.idle();
            result = offer(clientId, requestId, type, payload, offset, length);
            if (RING_FULL != result || System.nanoTime() - deadlineNs >= 0)
            {
                return result;
            }
        }
    }

    /**
     * The batch cutter (one consumer thread only): copies the published requests that are
     * available now, in ring order, into {@code batch} with {@link Batch#add}, up to {@code limit}
     * and the batch's free room, then frees their slots. Never blocks.
     *
     * @param batch receives the requests; its maxPayloadBytes must be at least this ring's.
     * @param limit most requests to copy, at least 0.
     * @return how many were copied; 0 when none is available.
     * @throws IllegalArgumentException if {@code limit} is negative or the batch's payload bound
     *                                  is below the ring's (nothing is consumed).
     */
    public int drainTo(final Batch batch, final int limit)
    {
        if (limit < 0 || batch.maxPayloadBytes() < maxPayloadBytes)
        {
            throw new IllegalArgumentException("drainTo: limit = " + limit + " must be >= 0 and batch " +
                "maxPayloadBytes = " + batch.maxPayloadBytes() + " must be >= ring maxPayloadBytes = " +
                maxPayloadBytes);
        }
        final int most = Math.min(limit, batch.maxRequests() - batch.count());
        final RingBuffer<Slot> ringBuffer = this.ringBuffer;
        final UnsafeBuffer slots = this.slots;
        long next = consumed.get() + 1;
        final long cursor = ringBuffer.getCursor();
        int copied = 0;
        while (copied < most && next <= cursor && ringBuffer.isAvailable(next))
        {
            final int slot = ringBuffer.get(next).offset;
            batch.add(
                slots.getLong(slot + CLIENT_ID_OFFSET),
                slots.getLong(slot + REQUEST_ID_OFFSET),
                slots.getInt(slot + TYPE_OFFSET),
                slots,
                slot + PAYLOAD_OFFSET,
                slots.getInt(slot + PAYLOAD_LENGTH_OFFSET));
            copied++;
            next++;
        }
        if (copied > 0)
        {
            consumed.set(next - 1);
        }
        return copied;
    }

    /**
     * @return approximately how many requests wait to be drained (claimed slots, published or
     * not yet), in [0, capacity].
     */
    public int size()
    {
        final long waiting = ringBuffer.getCursor() - consumed.get();
        return (int)Math.max(0, Math.min(capacity, waiting));
    }

    public int capacity()
    {
        return capacity;
    }

    public int maxPayloadBytes()
    {
        return maxPayloadBytes;
    }

    /**
     * @return bytes per slot (header + maxPayloadBytes, rounded up to a cache line).
     */
    public int slotLength()
    {
        return slotLength;
    }

    public boolean isClosed()
    {
        return closed;
    }

    /**
     * Refuses further offers ({@link #CLOSED}). Idempotent. An offer racing with close may still be
     * published; the consumer may keep draining after close to collect it.
     */
    public void close()
    {
        closed = true;
    }
}
