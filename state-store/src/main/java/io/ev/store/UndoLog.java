/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Off-heap undo log owned by one writer thread: one fixed-size region ("slot") per open batch,
 * slot = {@code seq % maxOpenBatches}. An entry holds the pre-image of the first write to a key
 * in a batch; rollback walks a slot newest-first via the length footer of each entry.
 * <pre>
 *   0                   8                   16        20        24
 *  +-------------------+-------------------+---------+---------+--------------------+---------+------+
 *  |       key         | prev page version | old len | entry   | old record bytes   | entry   | pad  |
 *  |                   |                   | (-1 =   | length  | (payload + record  | length  |      |
 *  |                   |                   | absent) |         | trailer), 8-padded | footer  |      |
 *  +-------------------+-------------------+---------+---------+--------------------+---------+------+
 * </pre>
 * Written only by its writer while a batch executes; read by the batch coordinator after the
 * batch barrier (which provides the happens-before edge), never concurrently.
 */
final class UndoLog
{
    static final int KEY_OFFSET = 0;
    static final int PREVIOUS_PAGE_VERSION_OFFSET = KEY_OFFSET + Long.BYTES;
    static final int OLD_LENGTH_OFFSET = PREVIOUS_PAGE_VERSION_OFFSET + Long.BYTES;
    static final int ENTRY_LENGTH_OFFSET = OLD_LENGTH_OFFSET + Integer.BYTES;
    static final int OLD_RECORD_OFFSET = ENTRY_LENGTH_OFFSET + Integer.BYTES;
    static final int FOOTER_LENGTH = Long.BYTES;
    static final int ABSENT = -1;

    private final UnsafeBuffer buffer;
    private final int slotCapacityBytes;
    private final long[] slotSeqs;
    private final int[] slotPositions;
    private final boolean[] slotHasTombstones;

    UndoLog(final int slots, final int slotCapacityBytes)
    {
        this.slotCapacityBytes = slotCapacityBytes;
        this.buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(slots * slotCapacityBytes));
        this.slotSeqs = new long[slots];
        this.slotPositions = new int[slots];
        this.slotHasTombstones = new boolean[slots];
        Arrays.fill(slotSeqs, StateStore.NULL_SEQ);
    }

    static int entryLength(final int oldRecordLength)
    {
        final int body = oldRecordLength == ABSENT ? 0 : (oldRecordLength + 7) & ~7;
        return OLD_RECORD_OFFSET + body + FOOTER_LENGTH;
    }

    void reset(final int slot, final long seq)
    {
        slotSeqs[slot] = seq;
        slotPositions[slot] = 0;
        slotHasTombstones[slot] = false;
    }

    long seq(final int slot)
    {
        return slotSeqs[slot];
    }

    boolean hasSpace(final int slot, final int oldRecordLength)
    {
        return slotPositions[slot] + entryLength(oldRecordLength) <= slotCapacityBytes;
    }

    int capacityBytes()
    {
        return slotCapacityBytes;
    }

    /**
     * Appends a pre-image; the caller checked {@link #hasSpace(int, int)}.
     *
     * @param oldRecordAddress address of the old record bytes, ignored when absent.
     * @param oldRecordLength  length of the old record incl. trailer, or {@link #ABSENT}.
     */
    void append(
        final int slot,
        final long key,
        final long previousPageVersion,
        final long oldRecordAddress,
        final int oldRecordLength)
    {
        final int length = entryLength(oldRecordLength);
        final int entry = slot * slotCapacityBytes + slotPositions[slot];
        buffer.putLong(entry + KEY_OFFSET, key);
        buffer.putLong(entry + PREVIOUS_PAGE_VERSION_OFFSET, previousPageVersion);
        buffer.putInt(entry + OLD_LENGTH_OFFSET, oldRecordLength);
        buffer.putInt(entry + ENTRY_LENGTH_OFFSET, length);
        if (oldRecordLength > 0)
        {
            UnsafeApi.copyMemory(
                oldRecordAddress, buffer.addressOffset() + entry + OLD_RECORD_OFFSET, oldRecordLength);
        }
        buffer.putInt(entry + length - FOOTER_LENGTH, length);
        slotPositions[slot] += length;
    }

    int position(final int slot)
    {
        return slotPositions[slot];
    }

    void truncate(final int slot, final int position)
    {
        slotPositions[slot] = position;
    }

    void markTombstone(final int slot)
    {
        slotHasTombstones[slot] = true;
    }

    boolean hasTombstones(final int slot)
    {
        return slotHasTombstones[slot];
    }

    /**
     * @return offset just past the newest entry of the slot (0 when empty); walk with {@link #previous}.
     */
    int end(final int slot)
    {
        return slot * slotCapacityBytes + slotPositions[slot];
    }

    int start(final int slot)
    {
        return slot * slotCapacityBytes;
    }

    /**
     * @param entryEnd offset just past an entry.
     * @return offset of that entry.
     */
    int previous(final int entryEnd)
    {
        return entryEnd - buffer.getInt(entryEnd - FOOTER_LENGTH);
    }

    int next(final int entry)
    {
        return entry + buffer.getInt(entry + ENTRY_LENGTH_OFFSET);
    }

    long key(final int entry)
    {
        return buffer.getLong(entry + KEY_OFFSET);
    }

    long previousPageVersion(final int entry)
    {
        return buffer.getLong(entry + PREVIOUS_PAGE_VERSION_OFFSET);
    }

    int oldRecordLength(final int entry)
    {
        return buffer.getInt(entry + OLD_LENGTH_OFFSET);
    }

    long oldRecordAddress(final int entry)
    {
        return buffer.addressOffset() + entry + OLD_RECORD_OFFSET;
    }
}
