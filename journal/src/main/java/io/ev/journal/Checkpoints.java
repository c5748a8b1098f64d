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

import io.ev.store.StateStore;
import io.ev.store.StateStoreException;

import static io.ev.journal.JournalException.Reason.IO_ERROR;

/**
 * Checkpoints of one node: {@code <dir>/checkpoints/checkpoint-<batches>.evsnap}, where
 * {@code <batches>} = last committed seq + 1 (20 digits, so names sort by age). Each is a state
 * snapshot (docs/formats.md: records, root, last committed seq, and as its tag the journal index
 * from which to replay), written to a temporary name, synced, then renamed, so a crash never leaves
 * a half checkpoint under a checkpoint name. After each checkpoint only the newest
 * {@code checkpointsKept} stay, and journal cycles older than the oldest kept one are deleted.
 */
public final class Checkpoints
{
    static final String DIR = "checkpoints";
    static final String PREFIX = "checkpoint-";
    static final String SUFFIX = ".evsnap";

    private final Path dir;
    private final int kept;
    private final Journal journal;
    private long count;
    private long lastPauseNs;
    private long maxPauseNs;
    private long totalPauseNs;

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
        final long start = System.nanoTime();
        final long seq = store.lastCommittedSeq();
        final long journalIndex = journal.lastAppendedIndex() >= 0 ? journal.lastAppendedIndex() : journal.lastIndex();
        final Path file = dir.resolve(name(seq));
        final Path tmp = dir.resolve(name(seq) + ".tmp");
        final long root;
        try
        {
            root = store.exportSnapshot(tmp, journalIndex);
            moveAtomically(tmp, file);
        }
        catch (final StateStoreException ex)
        {
            deleteQuietly(tmp);
            throw new JournalException(IO_ERROR, "cannot write checkpoint " + file + ": " + ex.getMessage(), ex);
        }
        journal.appendCheckpoint(seq, root, journalIndex, requestCount);
        prune();
        final long pause = System.nanoTime() - start;
        count++;
        lastPauseNs = pause;
        maxPauseNs = Math.max(maxPauseNs, pause);
        totalPauseNs += pause;
        return file;
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

    private void prune()
    {
        final List<Path> files = newestFirst();
        for (int i = kept; i < files.size(); i++)
        {
            deleteQuietly(files.get(i));
        }
        final Path oldest = files.get(Math.min(kept, files.size()) - 1);
        final long oldestIndex;
        try
        {
            oldestIndex = StateStore.readSnapshotHeader(oldest)[2];
        }
        catch (final StateStoreException ex)
        {
            return; // unreadable: keep every journal cycle; recovery will skip this checkpoint
        }
        journal.deleteCyclesBefore(oldestIndex);
    }

    private static void moveAtomically(final Path from, final Path to)
    {
        try
        {
            try
            {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException ex)
            {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        catch (final IOException ex)
        {
            throw new JournalException(IO_ERROR, "cannot rename checkpoint " + from + " to " + to + ": " + ex, ex);
        }
    }

    private static void deleteQuietly(final Path file)
    {
        try
        {
            Files.deleteIfExists(file);
        }
        catch (final IOException ignore)
        {
            // a leftover is harmless: recovery verifies every checkpoint it uses
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
}
