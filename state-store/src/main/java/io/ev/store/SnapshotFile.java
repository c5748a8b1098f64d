/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

import net.openhft.chronicle.hash.Data;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.RecordLayout.FLAGS_OFFSET;
import static io.ev.store.RecordLayout.FLAG_TOMBSTONE;
import static io.ev.store.RecordLayout.TRAILER_LENGTH;
import static io.ev.store.RecordLayout.VERSION_OFFSET;
import static io.ev.store.StateStoreException.Reason.CORRUPT_INPUT;
import static io.ev.store.StateStoreException.Reason.IO_ERROR;
import static io.ev.store.StateStoreException.Reason.STORE_FULL;

/**
 * Whole-store snapshot file, for a node that rejoins after downtime (and later for checkpoints).
 * <pre>
 *  header (48): magic "EVSNAP01" (8) | format version (4) | page count (4) | max value bytes (4)
 *               | reserved (4) | root (8) | last committed seq (8) | caller tag (8)
 *  records:     key (8) | version (8) | length (4) | value bytes (length)      ... in map order
 *  footer (16): record count (8) | CRC32C of every byte before this field... (8, low 32 bits)
 * </pre>
 * Little-endian. Import reads the file twice: first to check its checksum, bounds and that its
 * records reproduce its root; only then does it clear the store and load.
 */
final class SnapshotFile
{
    static final long MAGIC = 0x31305041534E5645L; // "EVSNAP01" little endian
    static final int FORMAT_VERSION = 1;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    static final int PAGE_COUNT_OFFSET = VERSION_OFFSET + Integer.BYTES;
    static final int MAX_VALUE_BYTES_OFFSET = PAGE_COUNT_OFFSET + Integer.BYTES;
    static final int ROOT_OFFSET = MAX_VALUE_BYTES_OFFSET + 2 * Integer.BYTES;
    static final int LAST_COMMITTED_OFFSET = ROOT_OFFSET + Long.BYTES;
    static final int TAG_OFFSET = LAST_COMMITTED_OFFSET + Long.BYTES;
    static final int HEADER_LENGTH = TAG_OFFSET + Long.BYTES;
    static final int RECORD_HEADER_LENGTH = 2 * Long.BYTES + Integer.BYTES;
    static final int FOOTER_LENGTH = 2 * Long.BYTES;
    private static final int CHUNK_BYTES = 1 << 20;

    private SnapshotFile()
    {
    }

    static long write(final StateStore store, final Path file, final long tag)
    {
        final long root = store.root();
        try (FileChannel channel = FileChannel.open(file,
            StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
        {
            final Output out = new Output(channel);
            putHeader(out, store, root, store.lastCommittedSeq(), tag);
            final long count = writeLiveRecords(store, out);
            finish(out, channel, count);
        }
        catch (final IOException | java.io.UncheckedIOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot write snapshot " + file + ": " + ex, ex);
        }
        return root;
    }

    /**
     * Writes every live record of the store's map (tombstones skipped) in the record layout; safe
     * while writers run (Chronicle locks each segment while it is read).
     *
     * @return the records written.
     */
    static long writeLiveRecords(final StateStore store, final Output out)
    {
        final UnsafeBuffer view = new UnsafeBuffer(0, 0);
        final long[] count = new long[1];
        store.map().forEachEntry(entry ->
        {
            final Data<byte[]> value = entry.value();
            final int length = (int)value.size();
            view.wrap(value.bytes().addressForRead(value.offset()), length);
            final int payloadLength = length - TRAILER_LENGTH;
            if ((view.getInt(payloadLength + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0)
            {
                return;
            }
            final Data<Long> key = entry.key();
            final ByteBuffer record = out.reserve(RECORD_HEADER_LENGTH + payloadLength);
            record.putLong(key.bytes().readLong(key.offset()))
                .putLong(view.getLong(payloadLength + VERSION_OFFSET))
                .putInt(payloadLength);
            view.getBytes(0, record, record.position(), payloadLength);
            record.position(record.position() + payloadLength);
            count[0]++;
        });
        return count[0];
    }

    /**
     * Writes the footer (record count, CRC32C of everything before it) and syncs the file.
     */
    static void finish(final Output out, final FileChannel channel, final long count) throws IOException
    {
        out.reserve(Long.BYTES).putLong(count);
        out.flush();
        final ByteBuffer crc = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        crc.putLong(out.crc.getValue()).flip();
        channel.write(crc);
        channel.force(true);
    }

    static void putHeader(final Output out, final StateStore store, final long root, final long seq, final long tag)
    {
        out.reserve(HEADER_LENGTH).putLong(MAGIC).putInt(FORMAT_VERSION).putInt(store.pageCount())
            .putInt(store.context().maxValueBytes()).putInt(0)
            .putLong(root).putLong(seq).putLong(tag);
    }

    static long read(final StateStore store, final StoreWriter writer, final Path file, final long expectedRoot)
    {
        final int pageCount = store.pageCount();
        final UnsafeBuffer digests = new UnsafeBuffer(ByteBuffer.allocateDirect(pageCount * Long.BYTES));
        final MerkleTree tree = new MerkleTree(digests, Long.BYTES, pageCount);
        final long[] header = new long[3];
        final long recordCount = scan(store, writer, file, header, (key, version, value, length) ->
        {
            final int index = store.page(key) * Long.BYTES;
            digests.putLong(index, digests.getLong(index) + writer.hashOf(key, value, 0, length));
        });
        tree.recomputeAll();
        if (tree.root() != header[0])
        {
            throw corrupt(file, "records give root " + Long.toHexString(tree.root()) + " but the header says " +
                Long.toHexString(header[0]));
        }
        if (StateStore.NULL_SEQ != expectedRoot && expectedRoot != header[0])
        {
            throw corrupt(file, "root " + Long.toHexString(header[0]) + " is not the expected " +
                Long.toHexString(expectedRoot));
        }
        if (recordCount > store.context().maxEntries())
        {
            throw new StateStoreException(STORE_FULL, "snapshot " + file + " holds " + recordCount +
                " records, more than maxEntries " + store.context().maxEntries() + "; nothing was imported");
        }

        store.map().clear();
        store.entryCountForScan(-store.size());
        store.clearPages();
        scan(store, writer, file, header, (key, version, value, length) ->
            store.loadPage(store.page(key), writer.insertCommitted(key, value, 0, length, version), version));
        store.recomputeAllNodes();
        store.restoreLastCommitted(header[1]);
        return header[2];
    }

    /**
     * Reads only the header (magic and version checked; the body is not verified).
     *
     * @return root, last committed seq, caller tag.
     */
    static long[] readHeader(final Path file)
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            final ByteBuffer head = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            while (head.hasRemaining())
            {
                if (channel.read(head) < 0)
                {
                    throw corrupt(file, "only " + head.position() + " bytes: not a snapshot");
                }
            }
            head.flip();
            if (head.getLong() != MAGIC)
            {
                throw corrupt(file, "bad magic: not an EV snapshot");
            }
            final int version = head.getInt();
            if (version != FORMAT_VERSION)
            {
                throw corrupt(file, "format version " + version + ", this build reads " + FORMAT_VERSION);
            }
            return new long[] {
                head.getLong(ROOT_OFFSET), head.getLong(LAST_COMMITTED_OFFSET), head.getLong(TAG_OFFSET)};
        }
        catch (final IOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot read snapshot " + file + ": " + ex, ex);
        }
    }

    /**
     * Reads and checks the whole file, calling {@code visitor} per record.
     *
     * @param header receives root and last committed seq.
     * @return the record count.
     */
    private static long scan(
        final StateStore store,
        final StoreWriter writer,
        final Path file,
        final long[] header,
        final RecordVisitor visitor)
    {
        final int maxValueBytes = store.context().maxValueBytes();
        final UnsafeBuffer value = new UnsafeBuffer(new byte[Math.max(1, maxValueBytes)]);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            final long size = channel.size();
            if (size < HEADER_LENGTH + FOOTER_LENGTH)
            {
                throw corrupt(file, "only " + size + " bytes: not a snapshot");
            }
            final Input in = new Input(channel);
            final ByteBuffer head = in.take(HEADER_LENGTH);
            if (head.getLong() != MAGIC)
            {
                throw corrupt(file, "bad magic: not an EV snapshot");
            }
            final int version = head.getInt();
            final int pageCount = head.getInt();
            final int fileMaxValueBytes = head.getInt();
            head.getInt();
            header[0] = head.getLong();
            header[1] = head.getLong();
            header[2] = head.getLong();
            if (version != FORMAT_VERSION)
            {
                throw corrupt(file, "format version " + version + ", this build reads " + FORMAT_VERSION);
            }
            if (pageCount != store.pageCount() || fileMaxValueBytes > maxValueBytes)
            {
                throw corrupt(file, "made for pageCount " + pageCount + " and maxValueBytes " + fileMaxValueBytes +
                    ", this store has " + store.pageCount() + " and " + maxValueBytes);
            }
            final long recordsEnd = size - FOOTER_LENGTH;
            long count = 0;
            while (in.position() < recordsEnd)
            {
                if (in.position() + RECORD_HEADER_LENGTH > recordsEnd)
                {
                    throw corrupt(file, "truncated record header at byte " + in.position());
                }
                final ByteBuffer record = in.take(RECORD_HEADER_LENGTH);
                final long key = record.getLong();
                final long recordVersion = record.getLong();
                final int length = record.getInt();
                if (length < 0 || length > maxValueBytes || in.position() + length > recordsEnd)
                {
                    throw corrupt(file, "record of key " + key + " has bad length " + length + " at byte " +
                        (in.position() - RECORD_HEADER_LENGTH));
                }
                final ByteBuffer bytes = in.take(length);
                value.putBytes(0, bytes, bytes.position(), length);
                visitor.visit(key, recordVersion, value, length);
                count++;
            }
            final ByteBuffer footer = in.take(Long.BYTES);
            final long declared = footer.getLong();
            final long computed = in.crc.getValue();
            final long stored = in.take(Long.BYTES).getLong();
            if (stored != computed)
            {
                throw corrupt(file, "checksum mismatch (file damaged)");
            }
            if (declared != count)
            {
                throw corrupt(file, "footer says " + declared + " records but the file holds " + count);
            }
            return count;
        }
        catch (final IOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot read snapshot " + file + ": " + ex, ex);
        }
    }

    private static StateStoreException corrupt(final Path file, final String what)
    {
        return new StateStoreException(CORRUPT_INPUT, "snapshot " + file + ": " + what + "; nothing was imported");
    }

    @FunctionalInterface
    private interface RecordVisitor
    {
        void visit(long key, long version, UnsafeBuffer value, int length);
    }

    /**
     * Buffered sequential writer that keeps a running CRC32C of what it wrote.
     */
    static final class Output
    {
        final CRC32C crc = new CRC32C();
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);

        Output(final FileChannel channel)
        {
            this.channel = channel;
        }

        ByteBuffer reserve(final int length)
        {
            if (buffer.remaining() < length)
            {
                flush();
            }
            return buffer;
        }

        void flush()
        {
            buffer.flip();
            crc.update(buffer.duplicate());
            try
            {
                while (buffer.hasRemaining())
                {
                    channel.write(buffer);
                }
            }
            catch (final IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
            buffer.clear();
        }
    }

    /**
     * Buffered sequential reader that keeps a running CRC32C of what it handed out.
     */
    static final class Input
    {
        final CRC32C crc = new CRC32C();
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private long position;

        Input(final FileChannel channel)
        {
            this.channel = channel;
            buffer.limit(0);
        }

        long position()
        {
            return position;
        }

        ByteBuffer take(final int length) throws IOException
        {
            if (buffer.remaining() < length)
            {
                buffer.compact();
                while (buffer.position() < length)
                {
                    if (channel.read(buffer) < 0)
                    {
                        throw new IOException("unexpected end of file at byte " + position);
                    }
                }
                buffer.flip();
            }
            final ByteBuffer slice = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
            slice.limit(length);
            crc.update(slice.duplicate());
            buffer.position(buffer.position() + length);
            position += length;
            return slice;
        }
    }
}
