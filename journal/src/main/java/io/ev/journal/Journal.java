/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.StandardOpenOption;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.NavigableSet;
import java.util.function.LongSupplier;
import java.util.zip.CRC32C;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.MappedBytesStore;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.journal.JournalException.Reason.CLOSED;
import static io.ev.journal.JournalException.Reason.DISK_FULL;
import static io.ev.journal.JournalException.Reason.INVALID_CONFIGURATION;
import static io.ev.journal.JournalException.Reason.IO_ERROR;

/**
 * The request log of one node: a Chronicle Queue in {@code <dir>/journal} holding batch entries
 * (appended before a batch executes), commit markers (after it committed, before its replies are
 * released), checkpoint records and tail-skipped records; checkpoints in {@code <dir>/checkpoints}
 * ({@link Checkpoints}). Layouts: docs/formats.md.
 * <p>
 * Appends come from one thread at a time (the engine's batcher). After any append failure the
 * journal stops: every later append throws {@link JournalException.Reason#CLOSED} naming the first
 * failure, so nothing is acknowledged that was not journaled. A failed checkpoint write stops it too
 * ({@link Checkpoints}).
 * <p>
 * Disk space: Chronicle Queue writes through memory mappings of sparse cycle files, where a full
 * disk would show as a SIGBUS on the mapped store, which the JVM reports as an asynchronous
 * {@code InternalError} that may surface only after the write returned (and a skipped store can leave a
 * hole in an entry). So before each append the journal makes sure the blocks the entry (and a new
 * Chronicle index array) will occupy are allocated ({@code fallocate} ahead of the write position, in
 * steps of {@link Context#reserveAheadBytes(long)}): a full disk is then a synchronous
 * {@link JournalException.Reason#DISK_FULL} before anything of the entry is written. The first append
 * of a cycle file (and of a process) cannot be reserved before Chronicle positions it: it is guarded by
 * a free-space check instead. Chronicle's metadata file, mapped as well, is reserved whole when the journal
 * opens. New batches are also refused while the free space is below
 * {@link Context#minFreeDiskBytes(long)} (checked on the first batch and every 256th).
 */
public final class Journal implements AutoCloseable
{
    static final String QUEUE_DIR = "journal";
    static final String LOCK_FILE = "ev.lock";
    private static final int FREE_SPACE_CHECK_INTERVAL = 256;
    /** Below this much free space a write error of the journal or a checkpoint is reported as DISK_FULL. */
    static final long FULL_BELOW_BYTES = 1L << 20;

    private final Context ctx;
    private final SingleChronicleQueue queue;
    private final Checkpoints checkpoints;
    private final FileStore fileStore;
    private final FileChannel lock;
    private final UnsafeBuffer control;
    private final ByteBuffer controlBytes;
    private final CRC32C crc = new CRC32C();
    private final SpaceReserver reserver = new SpaceReserver();
    /** Room for a Chronicle index array, which may be written at the write position before an entry. */
    private final long indexArrayBytes;
    private ExcerptAppender appender;
    /** The cycle of the appender's last write, whose file is reserved up to {@link #reservedUpTo}. */
    private int reservedCycle = Integer.MIN_VALUE;
    private File reservedFile;
    private long reservedUpTo;
    /** The appender's write position after its last write in {@link #reservedCycle}, or -1 when unknown. */
    private long writeEnd = -1;
    /** The mapped chunk of the appender's last write, advised by {@link #adviseNoReadAround}. */
    private BytesStore<?, ?> advisedChunk;
    private boolean advisedNoReadAround;
    private long lastAppended = -1;
    private long pendingSkipIndex = -1;
    private JournalReader entryReader;
    private int pendingSkipCount;
    private int appendsSinceSpaceCheck = FREE_SPACE_CHECK_INTERVAL;
    private volatile String failure;
    private boolean closed;

    private Journal(final Context ctx)
    {
        this.ctx = ctx;
        final Path queueDir = ctx.dir().resolve(QUEUE_DIR);
        try
        {
            Files.createDirectories(queueDir);
            this.fileStore = Files.getFileStore(queueDir);
        }
        catch (final IOException ex)
        {
            throw new JournalException(IO_ERROR, "cannot create journal directory " + queueDir + ": " + ex, ex);
        }
        this.lock = lockDirectory(ctx.dir());
        SingleChronicleQueue opened = null;
        try
        {
            final SingleChronicleQueueBuilder builder = SingleChronicleQueueBuilder.binary(queueDir)
                .rollCycle(ctx.rollCycle())
                .timeoutMS(ctx.lockTimeoutMs());
            if (Durability.POWER_LOSS == ctx.durability())
            {
                // appender.sync() is a no-op under the default SyncMode.NONE; SYNC makes it msync(MS_SYNC)
                builder.syncMode(SyncMode.SYNC);
            }
            if (null != ctx.clock())
            {
                final LongSupplier clock = ctx.clock();
                builder.timeProvider(clock::getAsLong);
            }
            opened = builder.build();
            this.checkpoints = new Checkpoints(ctx.dir().resolve(Checkpoints.DIR), ctx.checkpointsKept(), this);
        }
        catch (final Exception ex)
        {
            if (null != opened)
            {
                opened.close();
            }
            closeQuietly(lock);
            throw JournalException.fromQueue("cannot open journal " + queueDir, ex);
        }
        this.queue = opened;
        this.indexArrayBytes = (long)opened.indexCount() * Long.BYTES + 4096;
        reserveMetadata(queueDir.resolve(SingleChronicleQueue.QUEUE_METADATA_FILE));
        this.controlBytes = BufferUtil.allocateDirectAligned(64, 64);
        this.control = new UnsafeBuffer(controlBytes);
    }

    /**
     * Takes {@code <dir>/ev.lock} exclusively for the life of this journal: two nodes appending to
     * one journal would interleave their batches.
     */
    private static FileChannel lockDirectory(final Path dir)
    {
        final Path file = dir.resolve(LOCK_FILE);
        FileChannel channel = null;
        try
        {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            if (null == channel.tryLock())
            {
                throw new JournalException(JournalException.Reason.IN_USE, "data directory " + dir +
                    " is in use by another process (lock " + file + ")");
            }
            return channel;
        }
        catch (final IOException | OverlappingFileLockException ex)
        {
            closeQuietly(channel);
            throw new JournalException(JournalException.Reason.IN_USE, "data directory " + dir +
                " is in use (cannot lock " + file + ": " + ex + ")", ex);
        }
        catch (final JournalException ex)
        {
            closeQuietly(channel);
            throw ex;
        }
    }

    private static void closeQuietly(final FileChannel channel)
    {
        if (null != channel)
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // already failing
            }
        }
    }

    /**
     * Opens (creating if needed) the journal in {@code ctx.dir()}.
     */
    public static Journal open(final Context ctx)
    {
        ctx.conclude();
        return new Journal(ctx);
    }

    /**
     * Appends a batch entry (call before the batch executes).
     *
     * @return its journal index.
     */
    public long append(final BatchEncoder batch)
    {
        checkAppendable(JournalFormat.TYPE_BATCH, batch.seq());
        checkFreeSpace();
        final int length = batch.finish();
        return write(JournalFormat.TYPE_BATCH, batch.seq(), batch.byteBuffer(), length);
    }

    /**
     * Appends a commit marker (call after the batch committed, before its replies are released).
     * With {@link Durability#POWER_LOSS} it returns only once everything appended is on the device.
     *
     * @return its journal index.
     */
    public long appendCommit(final long seq, final long root, final long replyDigest, final int requestCount)
    {
        checkAppendable(JournalFormat.TYPE_COMMIT, seq);
        control.putLong(JournalFormat.HEADER_LENGTH, seq);
        control.putLong(JournalFormat.HEADER_LENGTH + 8, root);
        control.putLong(JournalFormat.HEADER_LENGTH + 16, replyDigest);
        control.putInt(JournalFormat.HEADER_LENGTH + 24, requestCount);
        control.putInt(JournalFormat.HEADER_LENGTH + 28, 0);
        final long index = writeControl(JournalFormat.TYPE_COMMIT, seq, JournalFormat.COMMIT_BODY_LENGTH);
        if (Durability.POWER_LOSS == ctx.durability())
        {
            sync();
        }
        return index;
    }

    long appendCheckpoint(final long seq, final long root, final long journalIndex, final long requestCount)
    {
        checkAppendable(JournalFormat.TYPE_CHECKPOINT, seq);
        control.putLong(JournalFormat.HEADER_LENGTH, seq);
        control.putLong(JournalFormat.HEADER_LENGTH + 8, root);
        control.putLong(JournalFormat.HEADER_LENGTH + 16, journalIndex);
        control.putLong(JournalFormat.HEADER_LENGTH + 24, requestCount);
        return writeControl(JournalFormat.TYPE_CHECKPOINT, seq, JournalFormat.CHECKPOINT_BODY_LENGTH);
    }

    /**
     * Forces everything appended so far to the device.
     */
    public void sync()
    {
        if (null == appender)
        {
            return;
        }
        try
        {
            appender.sync();
        }
        catch (final RuntimeException | Error ex)
        {
            throw fail(IO_ERROR, "cannot sync journal " + queue.fileAbsolutePath() + ": " + ex, ex);
        }
    }

    /**
     * @return the index of the last entry this journal appended, or -1.
     */
    public long lastAppendedIndex()
    {
        return lastAppended; // not appender.lastIndexAppended(): it throws while the appender has written nothing
    }

    /**
     * @return the index of the last entry in the queue (any writer, this run or earlier), or -1.
     */
    public long lastIndex()
    {
        final long last = queueLastIndex();
        return last < 0 ? -1 : last;
    }

    private long queueLastIndex()
    {
        try
        {
            return queue.lastIndex();
        }
        catch (final Exception | Error ex)
        {
            throw JournalException.fromQueue("cannot find the end of journal " + queue.fileAbsolutePath(), ex);
        }
    }

    /**
     * Reads and checks entries from {@code fromIndex} (or from the start when -1 or no longer
     * present) to the end. A damaged tail is reported in the result (and acknowledged by a
     * tail-skipped entry before this journal's next append); damage followed by valid entries
     * throws {@link JournalException.Reason#CORRUPT} naming the file and position.
     */
    /**
     * Reads the batch entry at {@code index} (as {@link #append(BatchEncoder)} returned it), checked,
     * into {@code dst}: what a primary ships to a rejoining backup (journal catch-up). Call from the
     * appending thread.
     *
     * @return the entry's length (header included), or -1 when no entry has that index.
     * @throws JournalException CORRUPT if the entry is damaged or not a batch entry.
     */
    public int readBatchEntry(final long index, final MutableDirectBuffer dst, final int offset)
    {
        if (null == entryReader)
        {
            entryReader = new JournalReader(queue);
        }
        return entryReader.readBatchEntry(index, dst, offset);
    }

    public JournalReader.Result read(final long fromIndex, final JournalReader.Handler handler)
    {
        final JournalReader.Result result = new JournalReader(queue).read(fromIndex, handler);
        final long lastIndex = queueLastIndex();
        if (lastIndex > result.lastSeenIndex())
        {
            throw new JournalException(JournalException.Reason.CORRUPT, "journal " + queue.fileAbsolutePath() +
                " holds entries up to index 0x" + Long.toHexString(lastIndex) +
                " but reading stopped after 0x" + Long.toHexString(result.lastSeenIndex()) +
                ": a damaged entry header hides the rest (" +
                "Chronicle Queue stops at it silently). Refusing to go on: the journal is never truncated silently");
        }
        if (result.tornEntries() > 0)
        {
            pendingSkipIndex = result.tornIndex();
            pendingSkipCount = result.tornEntries();
        }
        return result;
    }

    public Checkpoints checkpoints()
    {
        return checkpoints;
    }

    public Context context()
    {
        return ctx;
    }

    /**
     * @return the first failure that stopped appends, or null.
     */
    public String failure()
    {
        return failure;
    }

    public Path dir()
    {
        return ctx.dir();
    }

    /**
     * @return the queue cycle files wholly before {@code index}'s cycle (no kept checkpoint needs
     * them once the oldest kept checkpoint replays from {@code index}); the current cycle never.
     */
    List<Path> cycleFilesBefore(final long index)
    {
        final List<Path> files = new ArrayList<>();
        if (index < 0)
        {
            return files;
        }
        final int keepFrom = queue.rollCycle().toCycle(index);
        NavigableSet<Long> cycles = cyclesBefore(keepFrom);
        if (null == cycles)
        {
            // Chronicle still listed a cycle whose file an earlier prune deleted on its own thread (the
            // background deleter does not refresh the listing), and refuses to list from it: re-read the
            // directory and try once more; pruning is best effort (a later checkpoint prunes what is left)
            queue.refreshDirectoryListing();
            cycles = cyclesBefore(keepFrom);
            if (null == cycles)
            {
                return files;
            }
        }
        for (final Long cycle : cycles)
        {
            final Path file = cycleFile(cycle.intValue());
            if (Files.exists(file))
            {
                files.add(file);
            }
        }
        return files;
    }

    /**
     * @return the cycles with a file before {@code keepFrom} (empty if none), or null when Chronicle's listing
     * names a first cycle whose file is gone.
     */
    private NavigableSet<Long> cyclesBefore(final int keepFrom)
    {
        final int first = queue.firstCycle();
        if (first == Integer.MAX_VALUE || first >= keepFrom)
        {
            return Collections.emptyNavigableSet();
        }
        try
        {
            return queue.listCyclesBetween(first, keepFrom - 1);
        }
        catch (final IllegalStateException ex)
        {
            return null; // "'file not found' for the lowerCycle"
        }
    }

    /**
     * Re-reads the queue directory after cycle files were deleted (otherwise Chronicle notices
     * within a minute; readers are not affected either way).
     */
    void refreshDirectoryListing()
    {
        queue.refreshDirectoryListing();
    }

    private Path cycleFile(final int cycle)
    {
        final java.text.SimpleDateFormat format = new java.text.SimpleDateFormat(queue.rollCycle().format(),
            Locale.ROOT);
        format.setTimeZone(java.util.TimeZone.getTimeZone("UTC"));
        final long millis = (long)cycle * queue.rollCycle().lengthInMillis() + queue.epoch();
        return queue.file().toPath().resolve(format.format(new java.util.Date(millis)) + ".cq4");
    }

    private void checkAppendable(final short type, final long seq)
    {
        if (closed)
        {
            throw new JournalException(CLOSED, "journal " + ctx.dir() + " is closed");
        }
        if (null != failure)
        {
            throw new JournalException(CLOSED, "journal " + ctx.dir() + " stopped after an earlier failure (" +
                failure + "); " + JournalFormat.typeName(type) + " of batch " + seq + " not appended");
        }
        if (null != ctx.faultInjector())
        {
            try
            {
                ctx.faultInjector().beforeAppend(type, seq);
            }
            catch (final IOException ex)
            {
                throw fail(IO_ERROR, "cannot append " + JournalFormat.typeName(type) + " of batch " + seq + " to " +
                    queue.fileAbsolutePath() + ": " + ex, ex);
            }
        }
        if (null == appender)
        {
            try
            {
                appender = queue.createAppender();
            }
            catch (final RuntimeException ex)
            {
                throw fail(IO_ERROR, "cannot open journal " + queue.fileAbsolutePath() + " for appending: " + ex, ex);
            }
            appender.singleThreadedCheckDisabled(true);
        }
        if (pendingSkipIndex >= 0)
        {
            final long skipped = pendingSkipIndex;
            pendingSkipIndex = -1;
            control.putLong(JournalFormat.HEADER_LENGTH, skipped);
            control.putInt(JournalFormat.HEADER_LENGTH + 8, pendingSkipCount);
            control.putInt(JournalFormat.HEADER_LENGTH + 12, 0);
            writeControl(JournalFormat.TYPE_TAIL_SKIPPED, -1, JournalFormat.TAIL_SKIPPED_BODY_LENGTH);
        }
    }

    private void checkFreeSpace()
    {
        if (++appendsSinceSpaceCheck < FREE_SPACE_CHECK_INTERVAL)
        {
            return;
        }
        appendsSinceSpaceCheck = 0;
        final long usable;
        try
        {
            usable = fileStore.getUsableSpace();
        }
        catch (final IOException ex)
        {
            throw fail(IO_ERROR, "cannot read free space of " + ctx.dir() + ": " + ex, ex);
        }
        if (usable < ctx.minFreeDiskBytes())
        {
            throw fail(DISK_FULL, "only " + usable + " bytes free for journal " + ctx.dir() +
                " (setting minFreeDiskBytes = " + ctx.minFreeDiskBytes() + "); new batches refused", null);
        }
    }

    private long writeControl(final short type, final long seq, final int bodyLength)
    {
        control.putShort(JournalFormat.TYPE_OFFSET, type);
        control.putShort(JournalFormat.VERSION_OFFSET, JournalFormat.FORMAT_VERSION);
        control.putInt(JournalFormat.BODY_LENGTH_OFFSET, bodyLength);
        control.putInt(JournalFormat.HEADER_LENGTH - Integer.BYTES, 0);
        control.putInt(JournalFormat.CRC_OFFSET, JournalFormat.crc(crc, controlBytes, bodyLength));
        return write(type, seq, controlBytes, JournalFormat.HEADER_LENGTH + bodyLength);
    }

    private long write(final short type, final long seq, final ByteBuffer entry, final int length)
    {
        reserveFor(type, seq, length);
        try (DocumentContext dc = appender.writingDocument())
        {
            try
            {
                final Bytes<?> bytes = dc.wire().bytes();
                entry.limit(length).position(0);
                bytes.writeSome(entry);
                if (entry.hasRemaining())
                {
                    dc.rollbackOnClose();
                    throw new IOException("short write: " + entry.remaining() + " of " + length + " bytes left");
                }
            }
            catch (final IOException | RuntimeException | Error ex)
            {
                dc.rollbackOnClose();
                throw ex;
            }
        }
        catch (final IOException | RuntimeException | Error ex)
        {
            throw fail(IO_ERROR, "cannot append " + JournalFormat.typeName(type) + " of batch " + seq + " to " +
                queue.fileAbsolutePath() + ": " + ex, ex);
        }
        finally
        {
            entry.clear();
        }
        lastAppended = appender.lastIndexAppended();
        afterWrite(type, seq);
        return lastAppended;
    }

    /**
     * Before an append: makes sure the blocks the entry will occupy (with a Chronicle index array that
     * may precede it) are allocated, reserving {@link Context#reserveAheadBytes()} more when they are not. When
     * the append opens a cycle file, or the write position is not known yet, checks the free space
     * instead. Throws DISK_FULL (the journal stops) with nothing of the entry written.
     */
    private void reserveFor(final short type, final long seq, final int length)
    {
        final long needed = length + indexArrayBytes;
        if (writeEnd < 0 || queue.cycle() != reservedCycle)
        {
            final long room = needed + indexArrayBytes + ctx.reserveAheadBytes();
            final long usable = usableSpace();
            if (usable >= 0 && usable < room)
            {
                throw fail(DISK_FULL, "only " + usable + " bytes free for journal " + queue.fileAbsolutePath() +
                    ", " + room + " needed to start a journal file with the " + JournalFormat.typeName(type) +
                    " of batch " + seq + "; nothing of it was written", null);
            }
            return;
        }
        if (writeEnd + needed > reservedUpTo)
        {
            reserve(type, seq, writeEnd + needed + ctx.reserveAheadBytes());
        }
    }

    /**
     * After an append: notes the write position; a new cycle file gets its first reservation at once.
     * If that fails the entry stands (it was written whole) and the next append is refused.
     */
    private void afterWrite(final short type, final long seq)
    {
        final int cycle = appender.cycle();
        final Bytes<?> bytes = appender.wire().bytes();
        writeEnd = bytes.writePosition();
        adviseNoReadAround(bytes.bytesStore());
        if (cycle != reservedCycle)
        {
            reservedCycle = cycle;
            reservedFile = appender.currentFile();
            reservedUpTo = 0;
            try
            {
                reserve(type, seq, writeEnd + indexArrayBytes + ctx.reserveAheadBytes());
            }
            catch (final JournalException ex)
            {
                // failure() is set: the next append throws CLOSED naming it
            }
        }
    }

    /**
     * Once per mapped chunk the appender writes into: no read-around on its faults
     * ({@link SpaceReserver#adviseNoReadAround}), which on a disk with a large {@code read_ahead_kb} zero-filled
     * megabytes of reserved pages at a time on this thread (docs/PERFORMANCE.md, "Journals on tmpfs vs the VM disk").
     */
    private void adviseNoReadAround(final BytesStore<?, ?> chunk)
    {
        if (chunk != advisedChunk)
        {
            advisedChunk = chunk;
            if (chunk instanceof MappedBytesStore)
            {
                // a chunk maps file offsets [start(), realCapacity()): its chunk size plus the overlap
                final long start = chunk.start();
                advisedNoReadAround = reserver.adviseNoReadAround(chunk.addressForRead(start),
                    chunk.realCapacity() - start);
            }
        }
    }

    /**
     * @return whether the mapped chunk of the last append was advised against read-around (false before the first
     * append, and where the platform has no {@code madvise}); a test hook.
     */
    boolean advisedNoReadAround()
    {
        return advisedNoReadAround;
    }

    /**
     * Chronicle's table store ({@code metadata.cq4t}: write lock, cycle range) is a sparse mapped file as
     * well: its blocks are allocated when the journal opens. On a full disk the journal still reads, and
     * refuses every append naming the cause.
     */
    private void reserveMetadata(final Path file)
    {
        try
        {
            if (Files.exists(file))
            {
                final long size = Files.size(file);
                if (null != ctx.faultInjector())
                {
                    ctx.faultInjector().beforeReserve(file, 0, size);
                }
                reserver.reserve(file, 0, size);
            }
        }
        catch (final IOException ex)
        {
            final boolean full = ex instanceof SpaceReserver.Failed ? ((SpaceReserver.Failed)ex).diskFull() :
                looksFull(ex);
            fail(full ? DISK_FULL : IO_ERROR, "cannot reserve disk space for the journal's metadata file " + file +
                ": " + ex.getMessage() + "; the journal can be read, no entry is appended", ex);
        }
    }

    private void reserve(final short type, final long seq, final long upTo)
    {
        final long from = Math.max(writeEnd, reservedUpTo);
        try
        {
            if (null != ctx.faultInjector())
            {
                ctx.faultInjector().beforeReserve(reservedFile.toPath(), from, upTo - from);
            }
            reserver.reserve(reservedFile.toPath(), from, upTo - from);
            reservedUpTo = upTo;
        }
        catch (final IOException ex)
        {
            final boolean full = ex instanceof SpaceReserver.Failed ? ((SpaceReserver.Failed)ex).diskFull() :
                looksFull(ex);
            throw fail(full ? DISK_FULL : IO_ERROR, "cannot reserve disk space for the " +
                JournalFormat.typeName(type) + " of batch " + seq + " in journal file " + reservedFile + ": " +
                ex.getMessage() + "; nothing of it was written", ex);
        }
    }

    private long usableSpace()
    {
        try
        {
            return fileStore.getUsableSpace();
        }
        catch (final IOException ex)
        {
            return -1;
        }
    }

    /**
     * @return true if {@code ex}, an I/O failure of a write to this journal's file system, is the disk
     * (or quota) being full: the operating system says so, or under {@link #FULL_BELOW_BYTES} are free.
     */
    boolean looksFull(final IOException ex)
    {
        final String message = String.valueOf(ex.getMessage());
        if (message.contains("No space left on device") || message.contains("Disk quota exceeded"))
        {
            return true;
        }
        final long usable = usableSpace();
        return usable >= 0 && usable < FULL_BELOW_BYTES;
    }

    /**
     * @return why disk space is not reserved ahead of appends (no fallocate here), or null when it is.
     */
    public String spaceReservationUnsupported()
    {
        return reserver.unsupportedReason();
    }

    /**
     * Stops appends: the first failure is kept and every later append throws CLOSED naming it.
     *
     * @return the exception to throw.
     */
    JournalException fail(final JournalException.Reason reason, final String message, final Throwable cause)
    {
        if (null == failure)
        {
            failure = reason + ": " + message;
        }
        return new JournalException(reason, message, cause);
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            if (null != appender)
            {
                appender.close();
            }
            queue.close();
        }
        finally
        {
            closeQuietly(lock);
        }
    }

    /**
     * Test hook standing in for a failing file system: called before each append, each disk space
     * reservation and at the steps of a checkpoint.
     */
    @FunctionalInterface
    public interface FaultInjector
    {
        /**
         * @param type entry type ({@link JournalFormat}).
         * @param seq  batch seq of the entry.
         * @throws IOException to make the append fail as the file system would.
         */
        void beforeAppend(short type, long seq) throws IOException;

        /**
         * Called before the journal reserves disk blocks of a cycle file (fallocate).
         *
         * @param file   the cycle file.
         * @param offset first byte of the range.
         * @param length bytes in the range.
         * @throws IOException to make the reservation fail as the file system would (a message saying
         *                     "No space left on device" is a full disk).
         */
        default void beforeReserve(final Path file, final long offset, final long length) throws IOException
        {
        }

        /**
         * Called when a checkpoint's file is complete (written and synced, still under its temporary
         * name), before its journal record.
         *
         * @param file the temporary checkpoint file.
         * @throws IOException to make the checkpoint fail as a failed write would (the injector may also
         *                     damage or truncate the file first).
         */
        default void afterCheckpointWritten(final Path file) throws IOException
        {
        }

        /**
         * Called before a checkpoint's file is renamed to its final name (after its journal record).
         *
         * @param from the temporary file.
         * @param to   the final name.
         * @throws IOException to make the rename fail.
         */
        default void beforeCheckpointRename(final Path from, final Path to) throws IOException
        {
        }
    }

    /**
     * Journal settings, validated once by {@link #conclude()}.
     */
    public static final class Context
    {
        public static final int CHECKPOINTS_KEPT_DEFAULT = 2;
        public static final long MIN_FREE_DISK_BYTES_DEFAULT = 64L << 20;
        public static final long RESERVE_AHEAD_BYTES_DEFAULT = 4L << 20;
        public static final String ROLL_CYCLE_DEFAULT = "FAST_HOURLY";

        private Path dir;
        private Durability durability = Durability.PROCESS_CRASH;
        private String rollCycleName = ROLL_CYCLE_DEFAULT;
        private RollCycle rollCycle;
        private int checkpointsKept = CHECKPOINTS_KEPT_DEFAULT;
        private long minFreeDiskBytes = MIN_FREE_DISK_BYTES_DEFAULT;
        private long reserveAheadBytes = RESERVE_AHEAD_BYTES_DEFAULT;
        private long lockTimeoutMs = 2_000;
        private LongSupplier clock;
        private FaultInjector faultInjector;
        private boolean concluded;

        /** @param dir required: the node's data directory (journal/ and checkpoints/ go under it). */
        public Context dir(final Path dir)
        {
            this.dir = dir;
            return this;
        }

        public Path dir()
        {
            return dir;
        }

        /** @param durability what an acknowledged request survives; default PROCESS_CRASH. */
        public Context durability(final Durability durability)
        {
            this.durability = durability;
            return this;
        }

        public Durability durability()
        {
            return durability;
        }

        /** @param rollCycle a Chronicle RollCycles name (e.g. FAST_HOURLY, FAST_DAILY); default FAST_HOURLY. */
        public Context rollCycle(final String rollCycle)
        {
            this.rollCycleName = rollCycle;
            return this;
        }

        RollCycle rollCycle()
        {
            return rollCycle;
        }

        /** @param checkpointsKept how many checkpoints to keep, in [1, 100]; default 2. */
        public Context checkpointsKept(final int checkpointsKept)
        {
            this.checkpointsKept = checkpointsKept;
            return this;
        }

        public int checkpointsKept()
        {
            return checkpointsKept;
        }

        /** @param minFreeDiskBytes below this free space new batches are refused; default 64 MiB. */
        public Context minFreeDiskBytes(final long minFreeDiskBytes)
        {
            this.minFreeDiskBytes = minFreeDiskBytes;
            return this;
        }

        public long minFreeDiskBytes()
        {
            return minFreeDiskBytes;
        }

        /**
         * @param reserveAheadBytes how much disk space the journal reserves beyond an entry that does not fit
         *                          the space reserved so far (fallocate), in [64 KiB, 1 GiB]; default 4 MiB.
         */
        public Context reserveAheadBytes(final long reserveAheadBytes)
        {
            this.reserveAheadBytes = reserveAheadBytes;
            return this;
        }

        public long reserveAheadBytes()
        {
            return reserveAheadBytes;
        }

        /** @param lockTimeoutMs how long an append waits for the queue's write lock, in [10, 60000]. */
        public Context lockTimeoutMs(final long lockTimeoutMs)
        {
            this.lockTimeoutMs = lockTimeoutMs;
            return this;
        }

        public long lockTimeoutMs()
        {
            return lockTimeoutMs;
        }

        /** @param clock wall clock in ms for the queue's cycle; tests use it to force cycle rolls. */
        public Context clock(final LongSupplier clock)
        {
            this.clock = clock;
            return this;
        }

        public LongSupplier clock()
        {
            return clock;
        }

        /** @param faultInjector test hook standing in for a failing file system; default none. */
        public Context faultInjector(final FaultInjector faultInjector)
        {
            this.faultInjector = faultInjector;
            return this;
        }

        public FaultInjector faultInjector()
        {
            return faultInjector;
        }

        /**
         * Validates every setting once.
         */
        public Context conclude()
        {
            if (concluded)
            {
                return this;
            }
            if (null == dir)
            {
                throw invalid("dir must be set (the node's data directory)");
            }
            if (null == durability)
            {
                throw invalid("durability must be PROCESS_CRASH or POWER_LOSS");
            }
            try
            {
                rollCycle = RollCycles.valueOf(rollCycleName);
            }
            catch (final RuntimeException ex)
            {
                throw invalid("rollCycle = " + rollCycleName + " is not a Chronicle RollCycles name (e.g. " +
                    ROLL_CYCLE_DEFAULT + ", FAST_DAILY)");
            }
            if (checkpointsKept < 1 || checkpointsKept > 100)
            {
                throw invalid("checkpointsKept = " + checkpointsKept + " must be in [1, 100]");
            }
            if (minFreeDiskBytes < 0)
            {
                throw invalid("minFreeDiskBytes = " + minFreeDiskBytes + " must be >= 0");
            }
            if (reserveAheadBytes < 64 << 10 || reserveAheadBytes > 1 << 30)
            {
                throw invalid("reserveAheadBytes = " + reserveAheadBytes + " must be in [65536, 1073741824]");
            }
            if (lockTimeoutMs < 10 || lockTimeoutMs > 60_000)
            {
                throw invalid("lockTimeoutMs = " + lockTimeoutMs + " must be in [10, 60000]");
            }
            concluded = true;
            return this;
        }

        private static JournalException invalid(final String what)
        {
            return new JournalException(INVALID_CONFIGURATION, "journal setting " + what);
        }
    }
}
