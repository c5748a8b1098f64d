/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongHashSet;

import static io.ev.store.StateStoreException.Reason.CORRUPT_INPUT;
import static io.ev.store.StateStoreException.Reason.DIGEST_MISMATCH;
import static io.ev.store.StateStoreException.Reason.STORE_FULL;
import static io.ev.store.StateStoreException.Reason.UNDO_LOG_FULL;

/**
 * Repair frame: the sender's values of some keys plus the sender's digests of their pages.
 * <pre>
 *  header (16):   magic "EVRS" (4) | version (2) | reserved (2) | record count (4) | page count (4)
 *  pages (16 each): page (4) | reserved (4) | sender's page digest (8)
 *  records:       key (8) | length (4, -1 = absent on the sender) | value bytes (length)
 * </pre>
 * Little-endian. Import first checks the whole frame and that applying it reproduces every listed
 * page digest; only then does it write, so a refused frame changes nothing.
 */
final class RecordsCodec
{
    static final int MAGIC = 0x53525645; // "EVRS" little endian
    static final short VERSION = 1;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int RECORD_COUNT_OFFSET = VERSION_OFFSET + Integer.BYTES;
    static final int PAGE_COUNT_OFFSET = RECORD_COUNT_OFFSET + Integer.BYTES;
    static final int HEADER_LENGTH = PAGE_COUNT_OFFSET + Integer.BYTES;
    static final int PAGE_ENTRY_LENGTH = 2 * Long.BYTES;
    static final int RECORD_HEADER_LENGTH = Long.BYTES + Integer.BYTES;
    static final int ABSENT = -1;

    private RecordsCodec()
    {
    }

    static int maxLength(final int keyCount, final int maxValueBytes)
    {
        return HEADER_LENGTH + keyCount * (PAGE_ENTRY_LENGTH + RECORD_HEADER_LENGTH + maxValueBytes);
    }

    static int encode(
        final StateStore store,
        final StoreWriter reader,
        final long[] keys,
        final int count,
        final MutableDirectBuffer dst,
        final int offset)
    {
        final IntArrayList pages = new IntArrayList();
        final LongHashSet seen = new LongHashSet();
        final IntHashSet pageSet = new IntHashSet();
        for (int i = 0; i < count; i++)
        {
            if (!seen.add(keys[i]))
            {
                throw new IllegalArgumentException("key " + keys[i] + " listed twice for export");
            }
            final int page = store.page(keys[i]);
            if (pageSet.add(page))
            {
                pages.addInt(page);
            }
        }
        int position = offset;
        dst.putInt(position + MAGIC_OFFSET, MAGIC);
        dst.putShort(position + VERSION_OFFSET, VERSION);
        dst.putShort(position + VERSION_OFFSET + Short.BYTES, (short)0);
        dst.putInt(position + RECORD_COUNT_OFFSET, count);
        dst.putInt(position + PAGE_COUNT_OFFSET, pages.size());
        position += HEADER_LENGTH;
        for (int i = 0; i < pages.size(); i++)
        {
            final int page = pages.getInt(i);
            dst.putInt(position, page);
            dst.putInt(position + Integer.BYTES, 0);
            dst.putLong(position + Long.BYTES, store.pageDigest(page));
            position += PAGE_ENTRY_LENGTH;
        }
        for (int i = 0; i < count; i++)
        {
            dst.putLong(position, keys[i]);
            final int length = reader.get(keys[i], dst, position + RECORD_HEADER_LENGTH);
            dst.putInt(position + Long.BYTES, length == StateStore.MISSING ? ABSENT : length);
            position += RECORD_HEADER_LENGTH + Math.max(0, length);
        }
        return position - offset;
    }

    static void decodeAndApply(
        final StateStore store,
        final StoreWriter writer,
        final long seq,
        final DirectBuffer src,
        final int offset,
        final int length)
    {
        final int end = offset + length;
        require(length >= HEADER_LENGTH && offset >= 0 && end <= src.capacity(), "frame shorter than its header");
        require(src.getInt(offset + MAGIC_OFFSET) == MAGIC, "bad magic: not a records frame");
        final short version = src.getShort(offset + VERSION_OFFSET);
        require(version == VERSION, "version " + version + ", this build reads " + VERSION);
        final int recordCount = src.getInt(offset + RECORD_COUNT_OFFSET);
        final int pageCount = src.getInt(offset + PAGE_COUNT_OFFSET);
        require(recordCount >= 0 && recordCount <= (length - HEADER_LENGTH) / RECORD_HEADER_LENGTH,
            "record count " + recordCount + " impossible for a frame of " + length + " bytes");
        require(pageCount >= 0 && pageCount <= recordCount, "page count " + pageCount + " > record count");
        require(HEADER_LENGTH + (long)pageCount * PAGE_ENTRY_LENGTH <= length, "frame truncated in its page list");

        final Int2ObjectHashMap<long[]> pages = new Int2ObjectHashMap<>();
        int position = offset + HEADER_LENGTH;
        for (int i = 0; i < pageCount; i++)
        {
            final int page = src.getInt(position);
            require(page >= 0 && page < store.pageCount(), "page " + page + " outside [0, " + store.pageCount() + ")");
            require(null == pages.put(page, new long[] {src.getLong(position + Long.BYTES), store.pageDigest(page)}),
                "page " + page + " listed twice");
            position += PAGE_ENTRY_LENGTH;
        }

        final LongHashSet keys = new LongHashSet();
        final int recordsStart = position;
        int inserts = 0;
        for (int i = 0; i < recordCount; i++)
        {
            require(position + RECORD_HEADER_LENGTH <= end, "frame truncated at record " + i);
            final long key = src.getLong(position);
            final int valueLength = src.getInt(position + Long.BYTES);
            require(valueLength == ABSENT || (valueLength >= 0 && valueLength <= store.context().maxValueBytes()),
                "record " + i + " (key " + key + ") has length " + valueLength);
            final int valueOffset = position + RECORD_HEADER_LENGTH;
            final int valueEnd = valueOffset + Math.max(0, valueLength);
            require(valueEnd <= end, "frame truncated in the value of key " + key);
            require(keys.add(key), "key " + key + " appears twice");
            final long[] page = pages.get(store.page(key));
            require(null != page, "key " + key + " belongs to page " + store.page(key) + ", which the frame lists not");
            final long newHash = valueLength == ABSENT ? 0 : writer.hashOf(key, src, valueOffset, valueLength);
            page[1] += newHash - writer.currentHash(key);
            inserts += valueLength == ABSENT ? 0 : 1;
            position = valueEnd;
        }
        require(position == end, "frame has " + (end - position) + " trailing bytes");

        pages.forEach((page, digests) ->
        {
            if (digests[0] != digests[1])
            {
                throw new StateStoreException(DIGEST_MISMATCH, "importing the frame would give page " + page +
                    " digest " + Long.toHexString(digests[1]) + " but the sender has " + Long.toHexString(digests[0]) +
                    "; nothing was imported");
            }
        });
        if (store.size() + inserts > store.context().maxEntries())
        {
            throw new StateStoreException(STORE_FULL, "import of " + inserts + " records would exceed maxEntries " +
                store.context().maxEntries() + "; nothing was imported");
        }
        final UndoLog log = writer.undoLog();
        final long undoNeeded = (long)recordCount * UndoLog.entryLength(store.context().maxValueBytes() +
            RecordLayout.TRAILER_LENGTH);
        if (undoNeeded > log.capacityBytes() - (log.end(slotOf(store, seq)) - log.start(slotOf(store, seq))))
        {
            throw new StateStoreException(UNDO_LOG_FULL, "import of " + recordCount +
                " records may not fit the repair undo log (setting undoBytesPerBatch); nothing was imported");
        }

        position = recordsStart;
        for (int i = 0; i < recordCount; i++)
        {
            final long key = src.getLong(position);
            final int valueLength = src.getInt(position + Long.BYTES);
            if (valueLength == ABSENT)
            {
                writer.remove(seq, key);
            }
            else
            {
                writer.put(seq, key, src, position + RECORD_HEADER_LENGTH, valueLength);
            }
            position += RECORD_HEADER_LENGTH + Math.max(0, valueLength);
        }
    }

    private static int slotOf(final StateStore store, final long seq)
    {
        return (int)(seq % store.context().maxOpenBatches());
    }

    private static void require(final boolean valid, final String what)
    {
        if (!valid)
        {
            throw new StateStoreException(CORRUPT_INPUT, "records frame: " + what + "; nothing was imported");
        }
    }
}
