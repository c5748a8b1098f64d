/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongHashSet;

import static io.ev.store.StateStoreException.Reason.CORRUPT_INPUT;
import static io.ev.store.StateStoreException.Reason.DIGEST_MISMATCH;
import static io.ev.store.StateStoreException.Reason.STORE_FULL;
import static io.ev.store.StateStoreException.Reason.UNDO_LOG_FULL;

/**
 * Repair frame: the sender's values of some keys plus the sender's digests of their pages.
 * <pre>
 *  header (16):   magic "EVRS" (4) | version (2) | flags (2) | record count (4) | page count (4)
 *  pages (16 each): page (4) | reserved (4) | sender's page digest (8)
 *  records:       key (8) | length (4, -1 = absent on the sender) | value bytes (length)
 * </pre>
 * Little-endian. Flags: bit 0 {@link #FLAG_COMPLETE_PAGES}, other bits 0 (frames written before the
 * flag existed hold 0 there: the field was reserved).
 * <ul>
 *   <li>flags 0, a repair frame ({@link #encode}): the pages listed are the distinct pages of the
 *   records, in order of first appearance; import writes the records over the receiver's
 *   contents.</li>
 *   <li>{@link #FLAG_COMPLETE_PAGES} ({@link #encodePages}): the pages listed, ascending, are copied
 *   whole; the records (none absent) are every record the sender holds in them; import also deletes
 *   the receiver's other keys in those pages, so that they hold exactly the frame's records.</li>
 * </ul>
 * Import first checks the whole frame and that applying it reproduces every listed page digest
 * (a page digest is the sum of its records' hashes: for a complete page it is computed from the
 * frame's records alone); only then does it write, so a refused frame changes nothing.
 */
final class RecordsCodec
{
    static final int MAGIC = 0x53525645; // "EVRS" little endian
    static final short VERSION = 1;
    /** Header flag: the frame holds every record of each page it lists. */
    static final int FLAG_COMPLETE_PAGES = 1;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int FLAGS_OFFSET = VERSION_OFFSET + Short.BYTES;
    static final int RECORD_COUNT_OFFSET = FLAGS_OFFSET + Short.BYTES;
    static final int PAGE_COUNT_OFFSET = RECORD_COUNT_OFFSET + Integer.BYTES;
    static final int HEADER_LENGTH = PAGE_COUNT_OFFSET + Integer.BYTES;
    static final int PAGE_ENTRY_LENGTH = 2 * Long.BYTES;
    static final int RECORD_HEADER_LENGTH = Long.BYTES + Integer.BYTES;
    static final int ABSENT = -1;
    private static final int NO_PAGE = -1;

    private RecordsCodec()
    {
    }

    static int maxLength(final int keyCount, final int maxValueBytes)
    {
        return HEADER_LENGTH + keyCount * (PAGE_ENTRY_LENGTH + RECORD_HEADER_LENGTH + maxValueBytes);
    }

    /**
     * @return the largest {@link #encodePages} frame for {@code pageCount} pages and {@code keyCount} keys.
     */
    static int maxPagesLength(final int pageCount, final int keyCount, final int maxValueBytes)
    {
        if (pageCount < 0 || keyCount < 0)
        {
            throw new IllegalArgumentException("page count " + pageCount + " and key count " + keyCount +
                " must be >= 0");
        }
        final long length = HEADER_LENGTH + (long)pageCount * PAGE_ENTRY_LENGTH +
            (long)keyCount * (RECORD_HEADER_LENGTH + maxValueBytes);
        if (length > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("a frame of " + pageCount + " pages and " + keyCount +
                " keys may take " + length + " bytes, more than a buffer holds: export fewer pages per frame");
        }
        return (int)length;
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
        int position = putHeader(dst, offset, 0, count, pages.size());
        for (int i = 0; i < pages.size(); i++)
        {
            position = putPage(store, dst, position, pages.getInt(i));
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

    /**
     * Writes a {@link #FLAG_COMPLETE_PAGES} frame: {@code pages} (strictly ascending) with this
     * store's digests, and the records of {@code keys}, which must be every key the store holds
     * in those pages: checked against the page digests before returning.
     */
    static int encodePages(
        final StateStore store,
        final StoreWriter reader,
        final int[] pages,
        final int pageCount,
        final long[] keys,
        final int keyCount,
        final MutableDirectBuffer dst,
        final int offset)
    {
        if (pageCount < 0 || pageCount > pages.length || keyCount < 0 || keyCount > keys.length)
        {
            throw new IllegalArgumentException("page count " + pageCount + " or key count " + keyCount +
                " outside the arrays given (" + pages.length + " pages, " + keys.length + " keys)");
        }
        final Int2IntHashMap indexOfPage = new Int2IntHashMap(Math.max(8, pageCount * 2), 0.65f, NO_PAGE);
        for (int i = 0; i < pageCount; i++)
        {
            final int page = pages[i];
            if (page < 0 || page >= store.pageCount() || (i > 0 && page <= pages[i - 1]))
            {
                throw new IllegalArgumentException("pages must be strictly ascending in [0, " + store.pageCount() +
                    "): pages[" + i + "] = " + page + (i > 0 ? " after " + pages[i - 1] : ""));
            }
            indexOfPage.put(page, i);
        }
        final int maxValueBytes = store.context().maxValueBytes();
        final long[] digests = new long[pageCount];
        final LongHashSet seen = new LongHashSet(Math.max(8, keyCount * 2));
        dst.checkLimit(offset + HEADER_LENGTH + pageCount * PAGE_ENTRY_LENGTH);
        int position = putHeader(dst, offset, FLAG_COMPLETE_PAGES, keyCount, pageCount);
        for (int i = 0; i < pageCount; i++)
        {
            position = putPage(store, dst, position, pages[i]);
        }
        for (int i = 0; i < keyCount; i++)
        {
            final long key = keys[i];
            final int index = indexOfPage.get(store.page(key));
            if (NO_PAGE == index)
            {
                throw new IllegalArgumentException("key " + key + " is in page " + store.page(key) +
                    ", which is not among the pages exported");
            }
            if (!seen.add(key))
            {
                throw new IllegalArgumentException("key " + key + " listed twice for export");
            }
            dst.checkLimit(position + RECORD_HEADER_LENGTH + maxValueBytes);
            dst.putLong(position, key);
            final int length = reader.get(key, dst, position + RECORD_HEADER_LENGTH);
            if (length == StateStore.MISSING)
            {
                throw new StateStoreException(DIGEST_MISMATCH, "exportPages: key " + key + " (page " +
                    store.page(key) + ") is not in the store: the key list is stale (take it from keysInPages " +
                    "with no batch in between)");
            }
            dst.putInt(position + Long.BYTES, length);
            digests[index] += reader.hashOf(key, dst, position + RECORD_HEADER_LENGTH, length);
            position += RECORD_HEADER_LENGTH + length;
        }
        for (int i = 0; i < pageCount; i++)
        {
            if (digests[i] != store.pageDigest(pages[i]))
            {
                throw new StateStoreException(DIGEST_MISMATCH, "exportPages: the keys given for page " + pages[i] +
                    " give digest " + Long.toHexString(digests[i]) + " but the page's digest is " +
                    Long.toHexString(store.pageDigest(pages[i])) + ": the key list is incomplete or stale (take " +
                    "it from keysInPages with no batch in between)");
            }
        }
        return position - offset;
    }

    private static int putHeader(
        final MutableDirectBuffer dst, final int offset, final int flags, final int recordCount, final int pageCount)
    {
        dst.putInt(offset + MAGIC_OFFSET, MAGIC);
        dst.putShort(offset + VERSION_OFFSET, VERSION);
        dst.putShort(offset + FLAGS_OFFSET, (short)flags);
        dst.putInt(offset + RECORD_COUNT_OFFSET, recordCount);
        dst.putInt(offset + PAGE_COUNT_OFFSET, pageCount);
        return offset + HEADER_LENGTH;
    }

    private static int putPage(
        final StateStore store, final MutableDirectBuffer dst, final int position, final int page)
    {
        dst.putInt(position, page);
        dst.putInt(position + Integer.BYTES, 0);
        dst.putLong(position + Long.BYTES, store.pageDigest(page));
        return position + PAGE_ENTRY_LENGTH;
    }

    static void decodeAndApply(
        final StateStore store,
        final StoreWriter writer,
        final long seq,
        final DirectBuffer src,
        final int offset,
        final int length)
    {
        require(length >= HEADER_LENGTH && offset >= 0 && (long)offset + length <= src.capacity(),
            "frame shorter than its header");
        final int end = offset + length;
        require(src.getInt(offset + MAGIC_OFFSET) == MAGIC, "bad magic: not a records frame");
        final short version = src.getShort(offset + VERSION_OFFSET);
        require(version == VERSION, "version " + version + ", this build reads " + VERSION);
        final int flags = src.getShort(offset + FLAGS_OFFSET) & 0xFFFF;
        require((flags & ~FLAG_COMPLETE_PAGES) == 0, "unknown flags 0x" + Integer.toHexString(flags));
        final boolean complete = (flags & FLAG_COMPLETE_PAGES) != 0;
        final int recordCount = src.getInt(offset + RECORD_COUNT_OFFSET);
        final int pageCount = src.getInt(offset + PAGE_COUNT_OFFSET);
        require(recordCount >= 0 && recordCount <= (length - HEADER_LENGTH) / RECORD_HEADER_LENGTH,
            "record count " + recordCount + " impossible for a frame of " + length + " bytes");
        if (complete)
        {
            require(pageCount >= 0 && pageCount <= store.pageCount(),
                "page count " + pageCount + " outside [0, " + store.pageCount() + "]");
        }
        else
        {
            require(pageCount >= 0 && pageCount <= recordCount, "page count " + pageCount + " > record count");
        }
        require(HEADER_LENGTH + (long)pageCount * PAGE_ENTRY_LENGTH <= length, "frame truncated in its page list");

        // per listed page: {sender's digest, digest the page would have after the import}
        final Int2ObjectHashMap<long[]> pages = new Int2ObjectHashMap<>();
        final int[] listed = new int[pageCount];
        int position = offset + HEADER_LENGTH;
        for (int i = 0; i < pageCount; i++)
        {
            final int page = src.getInt(position);
            if (page < 0 || page >= store.pageCount())
            {
                throw corrupt("page " + page + " outside [0, " + store.pageCount() + ")");
            }
            if (complete && i > 0 && page <= listed[i - 1])
            {
                throw corrupt("page " + page + " listed after page " + listed[i - 1] + " (complete pages ascend)");
            }
            final long after = complete ? 0 : store.pageDigest(page);
            if (null != pages.put(page, new long[] {src.getLong(position + Long.BYTES), after}))
            {
                throw corrupt("page " + page + " listed twice");
            }
            listed[i] = page;
            position += PAGE_ENTRY_LENGTH;
        }

        final LongHashSet keys = new LongHashSet(Math.max(8, 2 * recordCount));
        final int recordsStart = position;
        int inserts = 0;
        for (int i = 0; i < recordCount; i++)
        {
            // checks as ifs: no message is built per record
            if (position + RECORD_HEADER_LENGTH > end)
            {
                throw corrupt("frame truncated at record " + i);
            }
            final long key = src.getLong(position);
            final int valueLength = src.getInt(position + Long.BYTES);
            if (valueLength != ABSENT && (valueLength < 0 || valueLength > store.context().maxValueBytes()))
            {
                throw corrupt("record " + i + " (key " + key + ") has length " + valueLength);
            }
            if (complete && valueLength == ABSENT)
            {
                throw corrupt("record " + i + " (key " + key + ") is a deletion, which a complete-pages frame " +
                    "cannot hold");
            }
            final int valueOffset = position + RECORD_HEADER_LENGTH;
            final int valueEnd = valueOffset + Math.max(0, valueLength);
            if (valueEnd > end)
            {
                throw corrupt("frame truncated in the value of key " + key);
            }
            if (!keys.add(key))
            {
                throw corrupt("key " + key + " appears twice");
            }
            final long[] page = pages.get(store.page(key));
            if (null == page)
            {
                throw corrupt("key " + key + " belongs to page " + store.page(key) + ", which the frame lists not");
            }
            final long newHash = valueLength == ABSENT ? 0 : writer.hashOf(key, src, valueOffset, valueLength);
            if (complete)
            {
                page[1] += newHash;
            }
            else
            {
                final long oldHash = writer.currentHash(key);
                page[1] += newHash - oldHash;
                inserts += valueLength != ABSENT && 0 == oldHash ? 1 : 0;
            }
            position = valueEnd;
        }
        require(position == end, "frame has " + (end - position) + " trailing bytes");

        for (final int page : listed)
        {
            final long[] digests = pages.get(page);
            if (digests[0] != digests[1])
            {
                throw new StateStoreException(DIGEST_MISMATCH, (complete ? "the frame's records of page " + page +
                    " give digest " : "importing the frame would give page " + page + " digest ") +
                    Long.toHexString(digests[1]) + " but the sender has " + Long.toHexString(digests[0]) +
                    "; nothing was imported");
            }
        }
        final ReceiverKeys receiver = new ReceiverKeys();
        if (complete)
        {
            receiverKeys(store, writer, listed, keys, receiver);
            inserts = recordCount - receiver.liveFrameKeys;
        }
        final LongArrayList extras = receiver.extras;
        if (store.size() + inserts > store.context().maxEntries())
        {
            throw new StateStoreException(STORE_FULL, "import of " + inserts + " records would exceed maxEntries " +
                store.context().maxEntries() + "; nothing was imported");
        }
        final UndoLog log = writer.undoLog();
        final int writes = recordCount + extras.size();
        final long undoNeeded = (long)writes * UndoLog.entryLength(store.context().maxValueBytes() +
            RecordLayout.TRAILER_LENGTH);
        if (undoNeeded > log.capacityBytes() - (log.end(slotOf(store, seq)) - log.start(slotOf(store, seq))))
        {
            throw new StateStoreException(UNDO_LOG_FULL, "import of " + writes +
                " writes may not fit the repair undo log (setting undoBytesPerBatch); nothing was imported");
        }

        for (int i = 0, size = extras.size(); i < size; i++)
        {
            writer.remove(seq, extras.getLong(i));
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

    /**
     * Finds the receiver's live keys in {@code pages}, through the store's page index, sorting out
     * those the frame does not hold. The index may predate writes: it is trusted for a page only if
     * the hashes of the page's indexed keys sum to the page digest (the digest is that sum over the
     * live records, so a live key missing from the index would show), else it is rebuilt once.
     */
    private static void receiverKeys(
        final StateStore store,
        final StoreWriter reader,
        final int[] pages,
        final LongHashSet frameKeys,
        final ReceiverKeys receiver)
    {
        final int stale = collectReceiverKeys(store, reader, store.pageIndex(false), pages, frameKeys, receiver);
        if (NO_PAGE != stale)
        {
            final int still = collectReceiverKeys(store, reader, store.pageIndex(true), pages, frameKeys, receiver);
            if (NO_PAGE != still)
            {
                throw new IllegalStateException("page " + still + ": the hashes of its records do not sum to its " +
                    "digest " + Long.toHexString(store.pageDigest(still)) + "; nothing was imported");
            }
        }
    }

    /**
     * @return {@link #NO_PAGE} if the index covers every page, else the first page it does not cover.
     */
    private static int collectReceiverKeys(
        final StateStore store,
        final StoreWriter reader,
        final PageIndex index,
        final int[] pages,
        final LongHashSet frameKeys,
        final ReceiverKeys receiver)
    {
        receiver.extras.clear();
        receiver.liveFrameKeys = 0;
        for (final int page : pages)
        {
            long digest = 0;
            for (int i = index.start(page), end = index.end(page); i < end; i++)
            {
                final long key = index.key(i);
                final long hash = reader.currentHash(key);
                digest += hash;
                if (0 != hash)
                {
                    if (frameKeys.contains(key))
                    {
                        receiver.liveFrameKeys++;
                    }
                    else
                    {
                        receiver.extras.addLong(key);
                    }
                }
            }
            if (digest != store.pageDigest(page))
            {
                return page;
            }
        }
        return NO_PAGE;
    }

    /**
     * The receiver's side of a complete-pages import: its keys to delete, and how many of the
     * frame's keys it already holds.
     */
    private static final class ReceiverKeys
    {
        final LongArrayList extras = new LongArrayList();
        int liveFrameKeys;
    }

    private static int slotOf(final StateStore store, final long seq)
    {
        return (int)(seq % store.context().maxOpenBatches());
    }

    private static void require(final boolean valid, final String what)
    {
        if (!valid)
        {
            throw corrupt(what);
        }
    }

    private static StateStoreException corrupt(final String what)
    {
        return new StateStoreException(CORRUPT_INPUT, "records frame: " + what + "; nothing was imported");
    }
}
