/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import java.util.Arrays;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One batch of requests in batch order, copied out of the input ring into a pre-allocated
 * off-heap arena (so the ring slot is free at once and the batch can stay in flight while it is
 * verified), with its phase assignment and a reply slot per request.
 * <pre>
 *  request slot i, at i * requestSlotLength:
 *  +---------------+----------------+----------+-------------------+--------------------------+
 *  | client id (8) | request id (8) | type (4) | payload length (4)| payload (maxPayloadBytes) |
 *  +---------------+----------------+----------+-------------------+--------------------------+
 *  reply slot i, at i * maxReplyBytes of the reply arena; its length in replyLengths[i].
 * </pre>
 * Phases: {@link #phase(int, int)} sets a request's phase, {@link #groupPhases()} lists the
 * members of each phase in batch order. Filled and mixed by one thread; workers then read
 * requests and write their own requests' reply slots; the phase barrier orders these.
 */
public final class Batch
{
    static final int CLIENT_ID_OFFSET = 0;
    static final int REQUEST_ID_OFFSET = CLIENT_ID_OFFSET + Long.BYTES;
    static final int TYPE_OFFSET = REQUEST_ID_OFFSET + Long.BYTES;
    static final int PAYLOAD_LENGTH_OFFSET = TYPE_OFFSET + Integer.BYTES;
    static final int PAYLOAD_OFFSET = PAYLOAD_LENGTH_OFFSET + Integer.BYTES;
    static final int ALIGNMENT = 64;

    private final int maxRequests;
    private final int maxPayloadBytes;
    private final int maxReplyBytes;
    private final int requestSlotLength;
    private final UnsafeBuffer requests;
    private final UnsafeBuffer replies;
    private final int[] replyLengths;
    private final int[] phaseOf;
    private final int[] phaseStarts;
    private final int[] members;
    private final int[] phaseCursors;
    private final int[] phaseRenumber;
    private long seq = -1;
    private int count;
    private int phaseCount;

    /**
     * @param maxRequests     most requests in a batch, at least 1.
     * @param maxPayloadBytes largest request payload, at least 0.
     * @param maxReplyBytes   largest reply, at least 0.
     */
    public Batch(final int maxRequests, final int maxPayloadBytes, final int maxReplyBytes)
    {
        if (maxRequests < 1 || maxPayloadBytes < 0 || maxReplyBytes < 0)
        {
            throw new IllegalArgumentException("batch bounds must be positive: maxRequests=" + maxRequests +
                " maxPayloadBytes=" + maxPayloadBytes + " maxReplyBytes=" + maxReplyBytes);
        }
        this.maxRequests = maxRequests;
        this.maxPayloadBytes = maxPayloadBytes;
        this.maxReplyBytes = maxReplyBytes;
        this.requestSlotLength = align(PAYLOAD_OFFSET + maxPayloadBytes, Long.BYTES);
        this.requests = new UnsafeBuffer(BufferUtil.allocateDirectAligned(
            align(Math.multiplyExact(maxRequests, requestSlotLength), ALIGNMENT), ALIGNMENT));
        this.replies = new UnsafeBuffer(BufferUtil.allocateDirectAligned(
            align(Math.max(1, Math.multiplyExact(maxRequests, maxReplyBytes)), ALIGNMENT), ALIGNMENT));
        this.replyLengths = new int[maxRequests];
        this.phaseOf = new int[maxRequests];
        this.phaseStarts = new int[maxRequests + 1];
        this.members = new int[maxRequests];
        this.phaseCursors = new int[maxRequests];
        this.phaseRenumber = new int[maxRequests];
    }

    private static int align(final int value, final int alignment)
    {
        return (value + alignment - 1) & -alignment;
    }

    /**
     * Empties the batch for reuse as batch {@code seq}.
     */
    public void reset(final long seq)
    {
        this.seq = seq;
        this.count = 0;
        this.phaseCount = 0;
    }

    /**
     * Appends a request in batch order.
     *
     * @return its index.
     * @throws IllegalStateException if the batch is full or the payload exceeds maxPayloadBytes.
     */
    public int add(
        final long clientId,
        final long requestId,
        final int type,
        final DirectBuffer src,
        final int offset,
        final int length)
    {
        if (count == maxRequests || length < 0 || length > maxPayloadBytes)
        {
            throw new IllegalStateException("cannot add request " + requestId + " of client " + clientId +
                ": batch holds " + count + "/" + maxRequests + ", payload " + length + "/" + maxPayloadBytes +
                " bytes");
        }
        final int index = count;
        final int slot = index * requestSlotLength;
        requests.putLong(slot + CLIENT_ID_OFFSET, clientId);
        requests.putLong(slot + REQUEST_ID_OFFSET, requestId);
        requests.putInt(slot + TYPE_OFFSET, type);
        requests.putInt(slot + PAYLOAD_LENGTH_OFFSET, length);
        requests.putBytes(slot + PAYLOAD_OFFSET, src, offset, length);
        replyLengths[index] = 0;
        phaseOf[index] = 0;
        phaseCount = 0;
        count = index + 1;
        return index;
    }

    /**
     * Points {@code request} at request {@code index}.
     */
    public void wrap(final Request request, final int index)
    {
        checkIndex(index);
        final int slot = index * requestSlotLength;
        request.set(
            index,
            requests.getLong(slot + CLIENT_ID_OFFSET),
            requests.getLong(slot + REQUEST_ID_OFFSET),
            requests.getInt(slot + TYPE_OFFSET),
            requests.addressOffset() + slot + PAYLOAD_OFFSET,
            requests.getInt(slot + PAYLOAD_LENGTH_OFFSET));
    }

    public long seq()
    {
        return seq;
    }

    public int count()
    {
        return count;
    }

    public boolean isFull()
    {
        return count == maxRequests;
    }

    public int maxRequests()
    {
        return maxRequests;
    }

    public int maxPayloadBytes()
    {
        return maxPayloadBytes;
    }

    public int maxReplyBytes()
    {
        return maxReplyBytes;
    }

    /**
     * @return the arena all reply slots live in; request i's slot starts at {@link #replyOffset(int)}.
     */
    public MutableDirectBuffer replies()
    {
        return replies;
    }

    public int replyOffset(final int index)
    {
        return index * maxReplyBytes;
    }

    /**
     * Points {@code view} at exactly request {@code index}'s reply slot, so that a handler writing
     * past {@link #maxReplyBytes()} fails on its own slot instead of corrupting its neighbour's.
     */
    public void wrapReply(final UnsafeBuffer view, final int index)
    {
        checkIndex(index);
        view.wrap(replies, index * maxReplyBytes, maxReplyBytes);
    }

    private void checkIndex(final int index)
    {
        if (index < 0 || index >= count)
        {
            throw new IndexOutOfBoundsException("request " + index + " outside batch of " + count);
        }
    }

    public void replyLength(final int index, final int length)
    {
        checkIndex(index);
        if (length < 0 || length > maxReplyBytes)
        {
            throw new IllegalStateException("reply of request " + index + " is " + length + " bytes, max " +
                maxReplyBytes);
        }
        replyLengths[index] = length;
    }

    public int replyLength(final int index)
    {
        return replyLengths[index];
    }

    /**
     * Sets the phase of request {@code index} (mixer).
     */
    public void phase(final int index, final int phase)
    {
        checkIndex(index);
        if (phase < 0 || phase >= maxRequests)
        {
            throw new IllegalArgumentException("phase " + phase + " outside [0, " + maxRequests + ")");
        }
        phaseOf[index] = phase;
    }

    public int phaseOf(final int index)
    {
        return phaseOf[index];
    }

    /**
     * Lists each phase's members in batch order (a stable counting sort by phase); empty phases
     * are dropped, so phases are numbered 0..phaseCount()-1 afterwards. O(count + highest phase).
     */
    public void groupPhases()
    {
        int highest = -1;
        for (int i = 0; i < count; i++)
        {
            highest = Math.max(highest, phaseOf[i]);
        }
        final int[] sizes = phaseCursors;
        Arrays.fill(sizes, 0, highest + 1, 0);
        for (int i = 0; i < count; i++)
        {
            sizes[phaseOf[i]]++;
        }
        int phases = 0;
        phaseStarts[0] = 0;
        for (int phase = 0; phase <= highest; phase++)
        {
            if (sizes[phase] > 0)
            {
                phaseRenumber[phase] = phases;
                phaseStarts[phases + 1] = phaseStarts[phases] + sizes[phase];
                phases++;
            }
        }
        System.arraycopy(phaseStarts, 0, phaseCursors, 0, phases);
        for (int i = 0; i < count; i++)
        {
            final int phase = phaseRenumber[phaseOf[i]];
            phaseOf[i] = phase;
            members[phaseCursors[phase]++] = i;
        }
        phaseCount = phases;
    }

    /**
     * @return phases after {@link #groupPhases()}.
     */
    public int phaseCount()
    {
        return phaseCount;
    }

    /**
     * @return position in {@link #member(int)} order of the first request of {@code phase}.
     */
    public int phaseStart(final int phase)
    {
        return phaseStarts[phase];
    }

    /**
     * @return position just past the last request of {@code phase}.
     */
    public int phaseEnd(final int phase)
    {
        return phaseStarts[phase + 1];
    }

    /**
     * @return the request index at {@code position} of the phase-grouped order.
     */
    public int member(final int position)
    {
        return members[position];
    }
}
