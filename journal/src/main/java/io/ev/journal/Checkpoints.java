/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.ev.store.ConcurrentSnapshot;
import io.ev.store.StateStore;
import io.ev.store.StateStoreException;

import static io.ev.journal.JournalException.Reason.IO_ERROR;

/**
 * Checkpoints of one node: {@code <dir>/checkpoints/checkpoint-<batches>.evsnap}, where
 * {@code <batches>} = last committed seq + 1 (20 digits, so names sort by age). Each is a state
 * snapshot (docs/formats.md: records, root, last committed seq, and as its tag the journal index
 * from which to replay), written to a temporary name, synced, journaled, then renamed, so a crash
 * never leaves a half checkpoint under a checkpoint name. After each checkpoint only the newest
 * {@code checkpointsKept} stay, and journal cycles older than the oldest kept one are deleted.
 * <p>
 * A checkpoint whose file cannot be written, journaled or renamed (disk full, I/O error) deletes its
 * temporary file, leaves the older checkpoints and journal cycles as they were, and stops the journal
 * ({@link Journal#failure()}): the owner stops taking work, as for a failed append. A concurrent
 * checkpoint that outgrew its capture bound is not a disk fault: it is counted and dropped, the journal
 * goes on. Temporary files a crash left behind are deleted when the journal opens.
 */
public final class Checkpoints
{
    static final String DIR = "checkpoints";
    static final String PREFIX = "checkpoint-";
    static final String SUFFIX = ".evsnap";
    static final String TMP_SUFFIX = ".tmp";

    private final Path dir;
    private final int kept;
    private final Journal journal;
    private long count;
    private long lastPauseNs;
    private long maxPauseNs;
    private long totalPauseNs;
    private long lastDurationNs;
    private long failures;
    private String lastFailure;
    private final int staleFilesRemoved;
    private InProgress inProgress;
    private Thread deleter;
    private CrashPoint crashPoint;

    Checkpoints(final Path dir, final int kept, final Journal journal)
    {
        this.dir = dir;
        this.kept = kept;
        this.journal = journal;
        try
        {
            Files.createDirectories(dir);
        }
        catch (final IOException ex)
        {
            throw new JournalException(IO_ERROR, "cannot create checkpoint directory " + dir + ": " + ex, ex);
        }
        this.staleFilesRemoved = removeStaleFiles(dir);
    }

    /**
     * Deletes the temporary files of checkpoints that never completed (the process stopped while writing
     * one, or could not delete it after a failure): no checkpoint is in progress while the journal opens,
     * and under a full disk they would hold space until the next checkpoint of the same batch.
     *
     * @return the files deleted.
     */
    private static int removeStaleFiles(final Path dir)
    {
        int removed = 0;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX + TMP_SUFFIX + "*"))
        {
            for (final Path file : stream)
            {
                if (deleteQuietly(file))
                {
                    removed++;
                }
            }
        }
        catch (final IOException ex)
        {
            throw new JournalException(IO_ERROR, "cannot list checkpoints in " + dir + ": " + ex, ex);
        }
        return removed;
    }

    /**
     * @param point the crash point between a checkpoint's journal record and its file's rename, for
     *              the owner's role ({@link CrashPoint#PRIMARY_MID_CHECKPOINT} or
     *              {@link CrashPoint#BACKUP_MID_CHECKPOINT}), or null for none.
     */
    public void crashPoint(final CrashPoint point)
    {
        this.crashPoint = point;
    }

    /**
     * Writes a checkpoint of {@code store} (no batch may be open), records it in the journal and
     * prunes old checkpoints and journal cycles. The caller pauses execution for the duration.
     *
     * @param requestCount requests committed up to this checkpoint (reported by recovery).
     * @return the checkpoint file.
     */
    public Path take(final StateStore store, final long requestCount)
    {
        return take(store, requestCount, true);
    }

    /**
     * As {@link #take(StateStore, long)}; {@code pausesExecution} false for the initial checkpoint
     * of a new node (taken before requests are accepted: not counted as a pause).
     */
    public Path take(final StateStore store, final long requestCount, final boolean pausesExecution)
    {
        final long start = System.nanoTime();
        final long seq = store.lastCommittedSeq();
        final long journalIndex = journal.lastAppendedIndex() >= 0 ? journal.lastAppendedIndex() : journal.lastIndex();
        final Path file = dir.resolve(name(seq));
        final Path tmp = dir.resolve(name(seq) + TMP_SUFFIX);
        final long root;
        try
        {
            root = store.exportSnapshot(tmp, journalIndex);
            injectAfterWritten(tmp);
        }
        catch (final StateStoreException | IOException ex)
        {
            deleteQuietly(tmp);
            throw writeFailed("cannot write checkpoint " + tmp, ex);
        }
        complete(seq, root, journalIndex, requestCount, tmp, file);
        prune();
        final long pause = System.nanoTime() - start;
        count++;
        lastDurationNs = pause;
        if (pausesExecution)
        {
            recordPause(pause);
        }
        return file;
    }

    /**
     * Starts a checkpoint that execution does not wait for (no batch may be open): the store's
     * {@link ConcurrentSnapshot} scans on a thread of its own, the records later batches modify are
     * copied on write. Call {@link #poll(StateStore)} between batches until it completes; at most one
     * runs at a time.
     *
     * @param requestCount    requests committed up to this checkpoint (reported by recovery).
     * @param maxCaptureBytes bound on the pre-images kept for records modified during the scan.
     * @return false if one is already in progress.
     */
    public boolean start(final StateStore store, final long requestCount, final long maxCaptureBytes)
    {
        if (null != inProgress)
        {
            return false;
        }
        final long startNs = System.nanoTime();
        final long seq = store.lastCommittedSeq();
        final long journalIndex = journal.lastAppendedIndex() >= 0 ? journal.lastAppendedIndex() : journal.lastIndex();
        final Path file = dir.resolve(name(seq));
        final Path tmp = dir.resolve(name(seq) + TMP_SUFFIX);
        final ConcurrentSnapshot snapshot = store.beginConcurrentSnapshot(tmp, journalIndex, maxCaptureBytes);
        final InProgress task = new InProgress(snapshot, file, tmp, journalIndex, requestCount, startNs);
        inProgress = task;
        final Thread thread = new Thread(task::run, "ev-checkpoint");
        thread.setDaemon(true);
        task.thread = thread;
        thread.start();
        recordPause(System.nanoTime() - startNs);
        return true;
    }

    /**
     * Between batches (no batch open): freezes the capture once the scan is done, and once the file
     * is complete journals the checkpoint and prunes old ones.
     *
     * @return true when a checkpoint completed in this call.
     * @throws JournalException DISK_FULL or IO_ERROR when the checkpoint's file could not be written,
     *                          journaled or renamed (the journal stopped).
     */
    public boolean poll(final StateStore store)
    {
        final InProgress task = inProgress;
        if (null == task)
        {
            return false;
        }
        final long startNs = System.nanoTime();
        if (!task.snapshot.frozen() && task.snapshot.scanDone())
        {
            store.freezeSnapshot();
            task.frozen.countDown();
        }
        if (task.done)
        {
            inProgress = null;
            if (null != task.error)
            {
                recordPause(System.nanoTime() - startNs);
                if (task.diskFault)
                {
                    throw writeFailed("cannot write checkpoint " + task.tmp, task.cause);
                }
                failures++;
                lastFailure = task.error;
                return false;
            }
            try
            {
                injectAfterWritten(task.tmp);
            }
            catch (final IOException ex)
            {
                deleteQuietly(task.tmp);
                throw writeFailed("cannot write checkpoint " + task.tmp, ex);
            }
            complete(task.snapshot.seq(), task.snapshot.root(), task.journalIndex, task.requestCount, task.tmp,
                task.file);
            pruneInBackground();
            count++;
            lastDurationNs = System.nanoTime() - task.startNs;
            recordPause(System.nanoTime() - startNs);
            return true;
        }
        recordPause(System.nanoTime() - startNs);
        return false;
    }

    /**
     * @return true when the concurrent checkpoint in progress waits for {@link #poll} with no batch
     * open (its scan is done, or it finished): a pipelined caller stops beginning batches until its
     * open ones committed.
     */
    public boolean awaitsBoundary()
    {
        final InProgress task = inProgress;
        return null != task && (task.done || (!task.snapshot.frozen() && task.snapshot.scanDone()));
    }

    /**
     * @return true while a concurrent checkpoint runs.
     */
    public boolean inProgress()
    {
        return null != inProgress;
    }

    /**
     * Abandons a concurrent checkpoint in progress and waits for its thread and for pending
     * deletions of old files (engine stopping).
     */
    public void abort(final StateStore store)
    {
        join(deleter);
        final InProgress task = inProgress;
        if (null == task)
        {
            return;
        }
        inProgress = null;
        store.abortSnapshot();
        task.frozen.countDown();
        join(task.thread);
        deleteQuietly(task.tmp);
    }

    private static void join(final Thread thread)
    {
        if (null == thread)
        {
            return;
        }
        try
        {
            thread.join(TimeUnit.MINUTES.toMillis(1));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private void recordPause(final long pause)
    {
        lastPauseNs = pause;
        maxPauseNs = Math.max(maxPauseNs, pause);
        totalPauseNs += pause;
    }

    /**
     * @return checkpoint files, newest first.
     */
    public List<Path> newestFirst()
    {
        final List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX))
        {
            stream.forEach(files::add);
        }
        catch (final IOException ex)
        {
            throw new JournalException(IO_ERROR, "cannot list checkpoints in " + dir + ": " + ex, ex);
        }
        files.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
        return files;
    }

    /**
     * @return the last committed seq a checkpoint file name stands for.
     */
    public static long seqOf(final Path file)
    {
        final String name = file.getFileName().toString();
        return Long.parseLong(name.substring(PREFIX.length(), name.length() - SUFFIX.length())) - 1;
    }

    static String name(final long seq)
    {
        return PREFIX + String.format("%020d", seq + 1) + SUFFIX;
    }

    /**
     * Deletes checkpoints beyond the newest {@code kept} and the journal cycles no kept checkpoint
     * needs, on this thread.
     */
    private void prune()
    {
        final List<Path> obsolete = obsoleteFiles();
        obsolete.forEach(Checkpoints::deleteQuietly);
        if (!obsolete.isEmpty())
        {
            journal.refreshDirectoryListing();
        }
    }

    /**
     * As {@link #prune()}, the deletions on a thread of their own: unlinking a large file takes
     * hundreds of milliseconds, which execution must not wait for.
     */
    private void pruneInBackground()
    {
        final List<Path> obsolete = obsoleteFiles();
        if (!obsolete.isEmpty())
        {
            final Thread deleter =
                new Thread(() -> obsolete.forEach(Checkpoints::deleteQuietly), "ev-checkpoint-prune");
            deleter.setDaemon(true);
            deleter.start();
            this.deleter = deleter;
        }
    }

    private List<Path> obsoleteFiles()
    {
        final List<Path> files = newestFirst();
        final List<Path> obsolete = new ArrayList<>();
        for (int i = kept; i < files.size(); i++)
        {
            obsolete.add(files.get(i));
        }
        final Path oldest = files.get(Math.min(kept, files.size()) - 1);
        try
        {
            obsolete.addAll(journal.cycleFilesBefore(StateStore.readSnapshotHeader(oldest)[2]));
        }
        catch (final StateStoreException ex)
        {
            // unreadable: keep every journal cycle; recovery will skip this checkpoint
        }
        return obsolete;
    }

    /**
     * The checkpoint's file is complete under its temporary name: journals its record, then gives it its
     * final name. The record comes first so that a checkpoint file always has its record (recovery reads
     * the request count from it); a record without a file (a crash or failure in between) is ignored.
     */
    private void complete(
        final long seq, final long root, final long journalIndex, final long requestCount, final Path tmp,
        final Path file)
    {
        try
        {
            journal.appendCheckpoint(seq, root, journalIndex, requestCount);
        }
        catch (final JournalException ex)
        {
            deleteQuietly(tmp);
            failures++;
            lastFailure = ex.getMessage();
            throw ex;
        }
        CrashPoints.hit(crashPoint);
        try
        {
            if (null != journal.context().faultInjector())
            {
                journal.context().faultInjector().beforeCheckpointRename(tmp, file);
            }
            try
            {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException ex)
            {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        catch (final IOException ex)
        {
            deleteQuietly(tmp);
            throw writeFailed("cannot rename checkpoint " + tmp + " to " + file, ex);
        }
    }

    private void injectAfterWritten(final Path tmp) throws IOException
    {
        if (null != journal.context().faultInjector())
        {
            journal.context().faultInjector().afterCheckpointWritten(tmp);
        }
    }

    /**
     * A checkpoint could not be written or renamed: counts it and stops the journal, DISK_FULL when the
     * cause is the disk (or quota) being full, IO_ERROR otherwise.
     *
     * @return the exception to throw.
     */
    private JournalException writeFailed(final String what, final Throwable ex)
    {
        IOException io = null;
        for (Throwable t = ex; null != t && null == io; t = t.getCause())
        {
            io = t instanceof IOException ? (IOException)t : null;
        }
        final boolean full = null != io && journal.looksFull(io);
        final JournalException failed = journal.fail(full ? JournalException.Reason.DISK_FULL : IO_ERROR,
            what + ": " + ex.getMessage() + "; the temporary file was deleted, the older checkpoints stand, " +
            "the journal takes no more entries", ex);
        failures++;
        lastFailure = failed.getMessage();
        return failed;
    }

    private static boolean deleteQuietly(final Path file)
    {
        try
        {
            return Files.deleteIfExists(file);
        }
        catch (final IOException ignore)
        {
            // a leftover is harmless: recovery verifies every checkpoint it uses, the next open deletes it
            return false;
        }
    }

    public Path dir()
    {
        return dir;
    }

    /** @return checkpoints taken by this process. */
    public long count()
    {
        return count;
    }

    /** @return how long the last checkpoint paused execution, in ns. */
    public long lastPauseNs()
    {
        return lastPauseNs;
    }

    /** @return the longest checkpoint pause so far, in ns. */
    public long maxPauseNs()
    {
        return maxPauseNs;
    }

    public long totalPauseNs()
    {
        return totalPauseNs;
    }

    /** @return wall time of the last completed checkpoint, from start to journaled, in ns. */
    public long lastDurationNs()
    {
        return lastDurationNs;
    }

    /**
     * @return checkpoints that failed: concurrent ones that outgrew their capture bound (the store and
     * journal are unaffected) and ones whose file could not be written (the journal stopped).
     */
    public long failures()
    {
        return failures;
    }

    /** @return temporary files of unfinished checkpoints deleted when the journal opened. */
    public int staleFilesRemoved()
    {
        return staleFilesRemoved;
    }

    /** @return why the last failed checkpoint failed, or null. */
    public String lastFailure()
    {
        return lastFailure;
    }

    /**
     * A concurrent checkpoint: scan, wait for the freeze, merge and sync, rename.
     */
    private static final class InProgress
    {
        final ConcurrentSnapshot snapshot;
        final Path file;
        final Path tmp;
        final long journalIndex;
        final long requestCount;
        final long startNs;
        final CountDownLatch frozen = new CountDownLatch(1);
        Thread thread;
        volatile boolean done;
        volatile String error;
        /** Whether the failure is the disk's (the journal must stop), not the capture bound's. */
        volatile boolean diskFault;
        volatile Throwable cause;

        InProgress(
            final ConcurrentSnapshot snapshot,
            final Path file,
            final Path tmp,
            final long journalIndex,
            final long requestCount,
            final long startNs)
        {
            this.snapshot = snapshot;
            this.file = file;
            this.tmp = tmp;
            this.journalIndex = journalIndex;
            this.requestCount = requestCount;
            this.startNs = startNs;
        }

        void run()
        {
            try
            {
                snapshot.scan();
                frozen.await();
                snapshot.finish();
            }
            catch (final InterruptedException ex)
            {
                error = "interrupted";
                Thread.currentThread().interrupt();
            }
            catch (final RuntimeException ex)
            {
                deleteQuietly(tmp);
                cause = ex;
                diskFault = !(ex instanceof StateStoreException) ||
                    StateStoreException.Reason.CAPTURE_FULL != ((StateStoreException)ex).reason();
                error = "checkpoint " + file + " failed: " + ex.getMessage();
            }
            finally
            {
                done = true;
            }
        }
    }
}
