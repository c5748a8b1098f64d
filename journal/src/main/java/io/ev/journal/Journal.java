/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
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
 * failure, so nothing is acknowledged that was not journaled.
 */
public final class Journal implements AutoCloseable
{
    static final String QUEUE_DIR = "journal";
    static final String LOCK_FILE = "ev.lock";
    private static final int FREE_SPACE_CHECK_INTERVAL = 256;

    private final Context ctx;
    private final SingleChronicleQueue queue;
    private final Checkpoints checkpoints;
    private final FileStore fileStore;
    private final FileChannel lock;
    private final UnsafeBuffer control;
    private final ByteBuffer controlBytes;
    private final CRC32C crc = new CRC32C();
    private ExcerptAppender appender;
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
        return lastAppended;
    }

    private JournalException fail(final JournalException.Reason reason, final String message, final Throwable cause)
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
     * Test hook standing in for a failing file system: called before each append.
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
    }

    /**
     * Journal settings, validated once by {@link #conclude()}.
     */
    public static final class Context
    {
        public static final int CHECKPOINTS_KEPT_DEFAULT = 2;
        public static final long MIN_FREE_DISK_BYTES_DEFAULT = 64L << 20;
        public static final String ROLL_CYCLE_DEFAULT = "FAST_HOURLY";

        private Path dir;
        private Durability durability = Durability.PROCESS_CRASH;
        private String rollCycleName = ROLL_CYCLE_DEFAULT;
        private RollCycle rollCycle;
        private int checkpointsKept = CHECKPOINTS_KEPT_DEFAULT;
        private long minFreeDiskBytes = MIN_FREE_DISK_BYTES_DEFAULT;
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

        /** @param faultInjector test hook called before each append; default none. */
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
