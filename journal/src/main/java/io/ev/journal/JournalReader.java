/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.journal.JournalException.Reason.CORRUPT;
import static io.ev.journal.JournalException.Reason.UNSUPPORTED_VERSION;

/**
 * Reads a journal's entries in order and checks each one (length, checksum, version, structure).
 * <ul>
 *   <li>A damaged entry with nothing valid after it is a torn tail (a crash mid-append): reported in
 *   the {@link Result}, not delivered, never an error.</li>
 *   <li>A damaged entry followed by a valid entry is damage in committed history: reading stops
 *   with {@link JournalException.Reason#CORRUPT} naming the file, position and index. The only
 *   exception is a tail-skipped entry that names it: an earlier recovery already skipped it.</li>
 * </ul>
 */
public final class JournalReader
{
    private static final int CONTIGUOUS_COPY_LIMIT = 16 << 20;
    private final SingleChronicleQueue queue;
    private final BatchDecoder batch = new BatchDecoder();
    private final CRC32C crc = new CRC32C();
    private ByteBuffer bytes;
    private final UnsafeBuffer entry = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer source = new UnsafeBuffer(0, 0);

    JournalReader(final SingleChronicleQueue queue)
    {
        this.queue = queue;
        grow(64 * 1024);
    }

    Result read(final long fromIndex, final Handler handler)
    {
        final Result result = new Result();
        try (ExcerptTailer tailer = queue.createTailer())
        {
            tailer.singleThreadedCheckDisabled(true);
            if (fromIndex < 0 || !tailer.moveToIndex(fromIndex))
            {
                tailer.toStart();
            }
            while (true)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    final long index = dc.index();
                    final long position = dc.wire().bytes().readPosition();
                    final int length = copyEntry(tailer, dc);
                    onEntry(tailer, position, index, length, handler, result);
                }
            }
        }
        catch (final Exception | Error ex)
        {
            throw JournalException.fromQueue("cannot read journal " + queue.fileAbsolutePath(), ex);
        }
        return result;
    }

    /**
     * Reads the one batch entry at {@code index} (checked: length, checksum, format version, type,
     * structure) into {@code dst} at {@code offset}.
     *
     * @return the entry's length (header included), or -1 when the queue has no entry at that index.
     * @throws JournalException CORRUPT if the entry is damaged or not a batch entry.
     */
    int readBatchEntry(final long index, final MutableDirectBuffer dst, final int offset)
    {
        try (ExcerptTailer tailer = queue.createTailer())
        {
            tailer.singleThreadedCheckDisabled(true);
            if (!tailer.moveToIndex(index))
            {
                return -1;
            }
            try (DocumentContext dc = tailer.readingDocument())
            {
                if (!dc.isPresent() || dc.index() != index)
                {
                    return -1;
                }
                final long position = dc.wire().bytes().readPosition();
                final int length = copyEntry(tailer, dc);
                final String damage = JournalFormat.damage(crc, bytes, entry, length);
                final String problem = null != damage ? damage :
                    entry.getShort(JournalFormat.VERSION_OFFSET) != JournalFormat.FORMAT_VERSION ?
                    "entry format version " + entry.getShort(JournalFormat.VERSION_OFFSET) :
                    entry.getShort(JournalFormat.TYPE_OFFSET) != JournalFormat.TYPE_BATCH ?
                    JournalFormat.typeName(entry.getShort(JournalFormat.TYPE_OFFSET)) + " entry, not a batch" :
                    batch.wrap(entry, length);
                if (null != problem)
                {
                    throw new JournalException(CORRUPT, where(tailer, position, index) + ": " + problem);
                }
                dst.putBytes(offset, entry, 0, length);
                return length;
            }
        }
        catch (final Exception | Error ex)
        {
            throw JournalException.fromQueue("cannot read journal " + queue.fileAbsolutePath(), ex);
        }
    }

    /**
     * Copies the document's entry into {@link #entry} (growing it when needed).
     *
     * @return the entry's length.
     */
    private int copyEntry(final ExcerptTailer tailer, final DocumentContext dc)
    {
        final Bytes<?> in = dc.wire().bytes();
        final long position = in.readPosition();
        final long remaining = in.readRemaining();
        if (remaining > Integer.MAX_VALUE - 64)
        {
            throw new JournalException(CORRUPT, where(tailer, position, dc.index()) + ": entry of " + remaining +
                " bytes");
        }
        final int length = (int)remaining;
        if (length > bytes.capacity())
        {
            grow(length);
        }
        copy(in, position, length);
        return length;
    }

    private void onEntry(
        final ExcerptTailer tailer,
        final long position,
        final long index,
        final int length,
        final Handler handler,
        final Result result)
    {
        result.lastSeenIndex = index;
        final String damage = JournalFormat.damage(crc, bytes, entry, length);
        if (null != damage)
        {
            if (0 == result.tornEntries)
            {
                result.tornIndex = index;
                result.tornWhere = where(tailer, position, index);
                result.tornReason = damage;
            }
            result.tornEntries++;
            return;
        }
        final int version = entry.getShort(JournalFormat.VERSION_OFFSET);
        if (version != JournalFormat.FORMAT_VERSION)
        {
            throw new JournalException(UNSUPPORTED_VERSION, where(tailer, position, index) +
                ": entry format version " + version + ", this build reads " + JournalFormat.FORMAT_VERSION);
        }
        final int type = entry.getShort(JournalFormat.TYPE_OFFSET);
        if (result.tornEntries > 0)
        {
            if (JournalFormat.TYPE_TAIL_SKIPPED == type &&
                entry.getLong(JournalFormat.HEADER_LENGTH) == result.tornIndex)
            {
                result.acknowledgedSkips += result.tornEntries;
                result.tornEntries = 0;
                return;
            }
            throw new JournalException(CORRUPT, result.tornWhere + ": " + result.tornReason +
                "; valid entries follow it (next: " + JournalFormat.typeName(type) + " at index " + index +
                "), so this is damage in committed history, not a torn tail. Refusing to go on: the journal" +
                " is never truncated silently");
        }
        result.entries++;
        result.lastIndex = index;
        final int bodyLength = length - JournalFormat.HEADER_LENGTH;
        switch (type)
        {
            case JournalFormat.TYPE_BATCH:
            {
                final String problem = batch.wrap(entry, length);
                if (null != problem)
                {
                    throw new JournalException(CORRUPT, where(tailer, position, index) + ": " + problem);
                }
                result.batches++;
                handler.onBatch(batch, index);
                break;
            }
            case JournalFormat.TYPE_COMMIT:
            {
                requireBody(tailer, position, index, bodyLength, JournalFormat.COMMIT_BODY_LENGTH, type);
                final int base = JournalFormat.HEADER_LENGTH;
                result.commits++;
                handler.onCommit(entry.getLong(base), entry.getLong(base + 8), entry.getLong(base + 16),
                    entry.getInt(base + 24), index);
                break;
            }
            case JournalFormat.TYPE_CHECKPOINT:
            {
                requireBody(tailer, position, index, bodyLength, JournalFormat.CHECKPOINT_BODY_LENGTH, type);
                final int base = JournalFormat.HEADER_LENGTH;
                handler.onCheckpoint(entry.getLong(base), entry.getLong(base + 8), entry.getLong(base + 16),
                    entry.getLong(base + 24), index);
                break;
            }
            case JournalFormat.TYPE_TAIL_SKIPPED:
                requireBody(tailer, position, index, bodyLength, JournalFormat.TAIL_SKIPPED_BODY_LENGTH, type);
                break;
            default:
                throw new JournalException(CORRUPT, where(tailer, position, index) + ": unknown entry type " + type);
        }
    }

    private static void requireBody(
        final ExcerptTailer tailer,
        final long position,
        final long index,
        final int bodyLength,
        final int expected,
        final int type)
    {
        if (bodyLength != expected)
        {
            throw new JournalException(CORRUPT, where(tailer, position, index) + ": " +
                JournalFormat.typeName(type) + " entry body is " + bodyLength + " bytes, expected " + expected);
        }
    }

    private static String where(final ExcerptTailer tailer, final long position, final long index)
    {
        final File file = tailer.currentFile();
        return "journal file " + (null == file ? "?" : file.getPath()) + " position " + position + " (index 0x" +
            Long.toHexString(index) + ")";
    }

    /**
     * Copies the entry out of the mapped file in one memory copy ({@code read(ByteBuffer)} copies
     * byte by byte); {@code addressForRead(position, length)} maps the whole range contiguously.
     */
    private void copy(final Bytes<?> in, final long position, final int length)
    {
        if (in.isDirectMemory() && length <= CONTIGUOUS_COPY_LIMIT)
        {
            source.wrap(in.addressForRead(position, length), length);
            entry.putBytes(0, source, 0, length);
        }
        else
        {
            bytes.clear().limit(length);
            in.read(bytes);
            bytes.clear();
        }
    }

    private void grow(final int capacity)
    {
        bytes = BufferUtil.allocateDirectAligned(BitUtil.align(capacity, 4096), 64);
        entry.wrap(bytes);
    }

    /**
     * Receives checked entries in journal order.
     */
    public interface Handler
    {
        /**
         * @param batch flyweight over the entry, valid during the call.
         */
        void onBatch(BatchDecoder batch, long index);

        void onCommit(long seq, long root, long replyDigest, int requestCount, long index);

        default void onCheckpoint(
            final long seq, final long root, final long journalIndex, final long requestCount, final long index)
        {
        }
    }

    /**
     * What a read saw.
     */
    public static final class Result
    {
        long entries;
        long batches;
        long commits;
        long lastIndex = -1;
        long lastSeenIndex = -1;
        long tornIndex = -1;
        int tornEntries;
        long acknowledgedSkips;
        String tornWhere;
        String tornReason;

        public long entries()
        {
            return entries;
        }

        public long batches()
        {
            return batches;
        }

        public long commits()
        {
            return commits;
        }

        /** @return index of the last valid entry read, or -1. */
        public long lastIndex()
        {
            return lastIndex;
        }

        /** @return index of the last entry read, valid or damaged, or -1. */
        public long lastSeenIndex()
        {
            return lastSeenIndex;
        }

        /** @return damaged entries at the tail (skipped), 0 if none. */
        public int tornEntries()
        {
            return tornEntries;
        }

        public long tornIndex()
        {
            return tornIndex;
        }

        /**
         * @return a warning describing the skipped tail, or null.
         */
        public String tornTailWarning()
        {
            return 0 == tornEntries ? null : "skipped a torn journal tail of " + tornEntries + " entr" +
                (1 == tornEntries ? "y" : "ies") + " at " + tornWhere + ": " + tornReason;
        }

        /** @return damaged entries an earlier recovery already skipped. */
        public long acknowledgedSkips()
        {
            return acknowledgedSkips;
        }
    }
}
