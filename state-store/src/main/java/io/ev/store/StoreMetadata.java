/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.StateStoreException.Reason.CORRUPT_INPUT;
import static io.ev.store.StateStoreException.Reason.INVALID_CONFIGURATION;
import static io.ev.store.StateStoreException.Reason.IO_ERROR;

/**
 * The side file {@code <store file>.meta} of a persisted store: the bounds it was created with
 * and, after a clean close, its root. Replaced atomically (write to a temporary file, rename).
 * <pre>
 *   0 magic "EVSTORE1" (8) | 8 format version (4) | 12 page count (4) | 16 max value bytes (4)
 *  20 clean close 0/1 (4)  | 24 max entries (8)   | 32 root (8)       | 40 last committed seq (8)
 *  48 reserved (8)         | 56 xxh3 of bytes [0, 56) (8)                                 = 64
 * </pre>
 */
final class StoreMetadata
{
    static final long MAGIC = 0x3145524F54535645L; // "EVSTORE1" little endian
    static final int FORMAT_VERSION = 1;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    static final int PAGE_COUNT_OFFSET = VERSION_OFFSET + Integer.BYTES;
    static final int MAX_VALUE_BYTES_OFFSET = PAGE_COUNT_OFFSET + Integer.BYTES;
    static final int CLEAN_CLOSE_OFFSET = MAX_VALUE_BYTES_OFFSET + Integer.BYTES;
    static final int MAX_ENTRIES_OFFSET = CLEAN_CLOSE_OFFSET + Integer.BYTES;
    static final int ROOT_OFFSET = MAX_ENTRIES_OFFSET + Long.BYTES;
    static final int LAST_COMMITTED_OFFSET = ROOT_OFFSET + Long.BYTES;
    static final int RESERVED_OFFSET = LAST_COMMITTED_OFFSET + Long.BYTES;
    static final int CHECKSUM_OFFSET = RESERVED_OFFSET + Long.BYTES;
    static final int LENGTH = CHECKSUM_OFFSET + Long.BYTES;

    private final Path path;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(LENGTH));

    StoreMetadata(final Path storeFile)
    {
        this.path = storeFile.resolveSibling(storeFile.getFileName() + ".meta");
    }

    void readAndCheck(final StateStore.Context ctx)
    {
        if (!Files.exists(path))
        {
            throw new StateStoreException(CORRUPT_INPUT, "store file " + path.getParent() +
                " exists but its metadata " + path + " is missing");
        }
        final ByteBuffer bytes = buffer.byteBuffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        bytes.clear();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            if (channel.size() != LENGTH)
            {
                throw corrupt("length " + channel.size() + " != " + LENGTH);
            }
            while (bytes.hasRemaining() && channel.read(bytes) >= 0)
            {
                continue;
            }
        }
        catch (final IOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot read " + path + ": " + ex, ex);
        }
        if (buffer.getLong(MAGIC_OFFSET) != MAGIC)
        {
            throw corrupt("not an EV store metadata file (bad magic)");
        }
        if (RecordLayout.XX3.hashMemory(buffer.addressOffset(), CHECKSUM_OFFSET) != buffer.getLong(CHECKSUM_OFFSET))
        {
            throw corrupt("checksum mismatch");
        }
        if (buffer.getInt(VERSION_OFFSET) != FORMAT_VERSION)
        {
            throw corrupt("format version " + buffer.getInt(VERSION_OFFSET) + ", this build reads " + FORMAT_VERSION);
        }
        checkSame("pageCount", buffer.getInt(PAGE_COUNT_OFFSET), ctx.pageCount());
        checkSame("maxValueBytes", buffer.getInt(MAX_VALUE_BYTES_OFFSET), ctx.maxValueBytes());
    }

    private void checkSame(final String setting, final int inFile, final int configured)
    {
        if (inFile != configured)
        {
            throw new StateStoreException(INVALID_CONFIGURATION, setting + " = " + configured +
                " but the store file was created with " + setting + " = " + inFile + " (" + path + ")");
        }
    }

    private StateStoreException corrupt(final String what)
    {
        return new StateStoreException(CORRUPT_INPUT, "store metadata " + path + ": " + what);
    }

    boolean cleanClose()
    {
        return buffer.getInt(CLEAN_CLOSE_OFFSET) == 1;
    }

    long root()
    {
        return buffer.getLong(ROOT_OFFSET);
    }

    long lastCommittedSeq()
    {
        return buffer.getLong(LAST_COMMITTED_OFFSET);
    }

    void write(final StateStore.Context ctx, final boolean cleanClose, final long root, final long lastCommittedSeq)
    {
        buffer.putLong(MAGIC_OFFSET, MAGIC);
        buffer.putInt(VERSION_OFFSET, FORMAT_VERSION);
        buffer.putInt(PAGE_COUNT_OFFSET, ctx.pageCount());
        buffer.putInt(MAX_VALUE_BYTES_OFFSET, ctx.maxValueBytes());
        buffer.putInt(CLEAN_CLOSE_OFFSET, cleanClose ? 1 : 0);
        buffer.putLong(MAX_ENTRIES_OFFSET, ctx.maxEntries());
        buffer.putLong(ROOT_OFFSET, root);
        buffer.putLong(LAST_COMMITTED_OFFSET, lastCommittedSeq);
        buffer.putLong(RESERVED_OFFSET, 0);
        buffer.putLong(CHECKSUM_OFFSET, RecordLayout.XX3.hashMemory(buffer.addressOffset(), CHECKSUM_OFFSET));
        final Path temporary = path.resolveSibling(path.getFileName() + ".tmp");
        final ByteBuffer bytes = buffer.byteBuffer().duplicate();
        bytes.clear();
        try (FileChannel channel = FileChannel.open(temporary,
            StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
        {
            while (bytes.hasRemaining())
            {
                channel.write(bytes);
            }
            channel.force(true);
        }
        catch (final IOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot write " + temporary + ": " + ex, ex);
        }
        try
        {
            Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot replace " + path + ": " + ex, ex);
        }
    }
}
