/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.RecordLayout.FLAGS_OFFSET;
import static io.ev.store.RecordLayout.FLAG_TOMBSTONE;
import static io.ev.store.RecordLayout.TRAILER_LENGTH;
import static io.ev.store.RecordLayout.VERSION_OFFSET;
import static io.ev.store.StateStoreException.Reason.IO_ERROR;

/**
 * A snapshot of the state after batch S (the last committed batch when it began), written while
 * later batches keep executing: copy-on-write of the records they modify.
 * <ol>
 *   <li>{@link #scan()} (any thread, concurrently with writers): writes every live record it meets
 *   to {@code <file>.scan}. What it meets is a mixture of state S and later writes.</li>
 *   <li>Meanwhile the coordinator's commits and rollbacks of batches after S hand this snapshot
 *   their undo entries; it keeps, per key, the pre-image of the earliest such batch: the key's
 *   value in state S (or "absent"). A key no later batch wrote is unchanged since S, so what the
 *   scan met is its S value.</li>
 *   <li>{@link StateStore#freezeSnapshot()} (coordinator, with no batch open, after the scan is
 *   done) stops the capture: every batch that could have shown the scan a later value has ended.</li>
 *   <li>{@link #finish()} (any thread): the snapshot file = the scanned records whose key was not
 *   captured + the captured pre-images that are present; written in the {@link SnapshotFile}
 *   format with the root of S, synced. Import verifies that the records reproduce that root.</li>
 * </ol>
 * Memory: the captured pre-images, bounded by {@code maxCaptureBytes}; beyond it the snapshot
 * fails with {@link StateStoreException.Reason#CAPTURE_FULL} (the store is unaffected). A failed write
 * of either file fails it with {@link StateStoreException.Reason#IO_ERROR}, the I/O exception as cause.
 * Execution never waits for the snapshot except for Chronicle's per-segment lock while the scan reads a
 * segment.
 */
public final class ConcurrentSnapshot
{
    private static final int CAPTURE_HEADER = 16;

    private final StateStore store;
    private final Path file;
    private final Path scanFile;
    private final long tag;
    private final long seq;
    private final long root;
    private final long maxCaptureBytes;
    private final Long2LongHashMap captured = new Long2LongHashMap(-1);
    private final ExpandableDirectByteBuffer captureBytes = new ExpandableDirectByteBuffer(1 << 16);
    private final UnsafeBuffer undoView = new UnsafeBuffer(0, 0);
    private int captureLength;
    private volatile boolean scanDone;
    private volatile boolean frozen;
    private volatile String failure;
    private volatile StateStoreException.Reason failureReason;
    private volatile Throwable failureCause;
    private long scanned;

    ConcurrentSnapshot(
        final StateStore store,
        final Path file,
        final long tag,
        final long seq,
        final long root,
        final long maxCaptureBytes)
    {
        this.store = store;
        this.file = file;
        this.scanFile = file.resolveSibling(file.getFileName() + ".scan");
        this.tag = tag;
        this.seq = seq;
        this.root = root;
        this.maxCaptureBytes = maxCaptureBytes;
    }

    /**
     * Phase 1: writes every live record met to the scan file. Runs concurrently with writers.
     */
    public void scan()
    {
        try (FileChannel channel = FileChannel.open(scanFile,
            StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
        {
            final SnapshotFile.Output out = new SnapshotFile.Output(channel);
            scanned = SnapshotFile.writeLiveRecords(store, out);
            out.flush();
        }
        catch (final IOException | java.io.UncheckedIOException | StateStoreException ex)
        {
            fail(IO_ERROR, "cannot scan the store into " + scanFile + ": " + ex, ex);
        }
        finally
        {
            scanDone = true;
        }
    }

    /**
     * Coordinator: an undo entry of batch {@code batch} (> S) is ending (commit or rollback).
     */
    void capture(final long batch, final long key, final long oldRecordAddress, final int oldRecordLength)
    {
        if (frozen || null != failure)
        {
            return;
        }
        final long existing = captured.get(key);
        if (-1 != existing && captureBytes.getLong((int)existing) <= batch)
        {
            return;
        }
        int length = oldRecordLength;
        if (length > 0)
        {
            undoView.wrap(oldRecordAddress, length);
            if ((undoView.getInt(length - TRAILER_LENGTH + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0)
            {
                length = UndoLog.ABSENT; // deleted by a batch still open at S: absent in state S
            }
        }
        final int needed = CAPTURE_HEADER + Math.max(0, length);
        if ((long)captureLength + needed > maxCaptureBytes)
        {
            fail(StateStoreException.Reason.CAPTURE_FULL, "more than " + maxCaptureBytes +
                " bytes of records were modified during the scan (setting maxCaptureBytes)", null);
            return;
        }
        final int at = captureLength;
        captureBytes.putLong(at, batch);
        captureBytes.putInt(at + Long.BYTES, length);
        if (length > 0)
        {
            captureBytes.putBytes(at + CAPTURE_HEADER, undoView, 0, length);
        }
        captureLength = at + needed;
        captured.put(key, at);
    }

    void freeze()
    {
        frozen = true;
    }

    /**
     * Phase 3 (after {@link StateStore#freezeSnapshot()}): writes the snapshot file and syncs it.
     *
     * @return the snapshot's root (the root after batch S).
     * @throws StateStoreException if the scan or the capture failed, or writing failed.
     */
    public long finish()
    {
        if (!frozen)
        {
            throw new StateStoreException(StateStoreException.Reason.BATCH_ORDER,
                "snapshot of batch " + seq + ": finish() before the store froze the capture");
        }
        try
        {
            if (null != failure)
            {
                throw new StateStoreException(failureReason, "snapshot " + file + " failed: " + failure,
                    failureCause);
            }
            merge();
            return root;
        }
        finally
        {
            deleteQuietly(scanFile);
        }
    }

    private void merge()
    {
        try (FileChannel in = FileChannel.open(scanFile, StandardOpenOption.READ);
            FileChannel channel = FileChannel.open(file,
                StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
        {
            final SnapshotFile.Output out = new SnapshotFile.Output(channel);
            SnapshotFile.putHeader(out, store, root, seq, tag);
            final SnapshotFile.Input input = new SnapshotFile.Input(in);
            final long size = in.size();
            long count = 0;
            while (input.position() < size)
            {
                final ByteBuffer header = input.take(SnapshotFile.RECORD_HEADER_LENGTH);
                final long key = header.getLong();
                final long version = header.getLong();
                final int length = header.getInt();
                final ByteBuffer bytes = input.take(length);
                if (-1 != captured.get(key))
                {
                    continue;
                }
                final ByteBuffer record = out.reserve(SnapshotFile.RECORD_HEADER_LENGTH + length);
                record.putLong(key).putLong(version).putInt(length).put(bytes);
                count++;
            }
            final UnsafeBuffer view = new UnsafeBuffer(captureBytes, 0, Math.max(1, captureLength));
            final Long2LongHashMap.KeyIterator keys = captured.keySet().iterator();
            while (keys.hasNext())
            {
                final long key = keys.nextValue();
                final int at = (int)captured.get(key);
                final int length = view.getInt(at + Long.BYTES);
                if (length == UndoLog.ABSENT)
                {
                    continue;
                }
                final int payloadLength = length - TRAILER_LENGTH;
                final ByteBuffer record = out.reserve(SnapshotFile.RECORD_HEADER_LENGTH + payloadLength);
                record.putLong(key)
                    .putLong(view.getLong(at + CAPTURE_HEADER + payloadLength + VERSION_OFFSET))
                    .putInt(payloadLength);
                view.getBytes(at + CAPTURE_HEADER, record, record.position(), payloadLength);
                record.position(record.position() + payloadLength);
                count++;
            }
            SnapshotFile.finish(out, channel, count);
        }
        catch (final IOException | java.io.UncheckedIOException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot write snapshot " + file + ": " + ex, ex);
        }
    }

    /**
     * Abandons the snapshot (store closing, engine stopping): deletes its files.
     */
    public void abort()
    {
        fail(StateStoreException.Reason.CLOSED, "aborted", null);
        frozen = true;
        deleteQuietly(scanFile);
    }

    private synchronized void fail(final StateStoreException.Reason reason, final String what, final Throwable cause)
    {
        if (null == failure)
        {
            failureReason = reason;
            failureCause = cause;
            failure = what;
        }
    }

    /**
     * @return true once {@link #scan()} returned.
     */
    public boolean scanDone()
    {
        return scanDone;
    }

    public boolean frozen()
    {
        return frozen;
    }

    /**
     * @return why the snapshot failed, or null.
     */
    public String failure()
    {
        return failure;
    }

    /** @return the batch the snapshot is of (S). */
    public long seq()
    {
        return seq;
    }

    public long root()
    {
        return root;
    }

    public Path file()
    {
        return file;
    }

    /** @return live records the scan wrote. */
    public long scannedRecords()
    {
        return scanned;
    }

    /** @return records modified during the scan whose pre-image was kept. */
    public int capturedRecords()
    {
        return captured.size();
    }

    private static void deleteQuietly(final Path path)
    {
        try
        {
            Files.deleteIfExists(path);
        }
        catch (final IOException ignore)
        {
            // a leftover temporary file is harmless
        }
    }
}
