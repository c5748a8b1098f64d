/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.nio.ByteBuffer;

import net.openhft.chronicle.bytes.PointerBytesStore;
import net.openhft.chronicle.hash.Data;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.RecordLayout.FLAGS_OFFSET;
import static io.ev.store.RecordLayout.FLAG_TOMBSTONE;
import static io.ev.store.RecordLayout.HASH_OFFSET;
import static io.ev.store.RecordLayout.SCRATCH_KEY_OFFSET;
import static io.ev.store.RecordLayout.SCRATCH_PAYLOAD_OFFSET;
import static io.ev.store.RecordLayout.TRAILER_LENGTH;
import static io.ev.store.RecordLayout.VERSION_OFFSET;
import static io.ev.store.RecordLayout.XX3;

/**
 * One thread's handle on the store: reads, and writes inside the open batch with undo. Owns an
 * off-heap scratch area and an {@link UndoLog}, so no call allocates. Not thread safe: use one
 * writer per worker thread ({@link StateStore#newWriter()}).
 */
public final class StoreWriter
{
    private final StateStore store;
    private final int id;
    private final UndoLog undoLog;
    private final UnsafeBuffer scratch;
    private final PointerBytesStore scratchStore = new PointerBytesStore();
    private final PointerBytesStore recordStore = new PointerBytesStore();
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);

    StoreWriter(final StateStore store, final int id, final UndoLog undoLog, final int maxValueBytes)
    {
        this.store = store;
        this.id = id;
        this.undoLog = undoLog;
        final int scratchLength = SCRATCH_PAYLOAD_OFFSET + maxValueBytes + TRAILER_LENGTH;
        this.scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(scratchLength));
        scratchStore.set(scratch.addressOffset(), scratchLength);
        scratchStore.singleThreadedCheckDisabled(true);
        recordStore.singleThreadedCheckDisabled(true);
    }

    /**
     * @return this writer's index; its undo log is the store's undo log of that index.
     */
    public int id()
    {
        return id;
    }

    /**
     * Reads a value into a caller-owned buffer.
     *
     * @param key    the key.
     * @param dst    receives the value bytes at {@code offset}.
     * @param offset where in {@code dst}.
     * @return the value length, or {@link StateStore#MISSING} if the key has no value.
     */
    public int get(final long key, final MutableDirectBuffer dst, final int offset)
    {
        store.checkOpen();
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.readLock().lock();
            final MapEntry<Long, byte[]> entry = context.entry();
            if (null == entry)
            {
                return StateStore.MISSING;
            }
            final Data<byte[]> value = entry.value();
            final int recordLength = (int)value.size();
            view.wrap(value.bytes().addressForRead(value.offset()), recordLength);
            final int payloadLength = recordLength - TRAILER_LENGTH;
            if ((view.getInt(payloadLength + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0)
            {
                return StateStore.MISSING;
            }
            dst.putBytes(offset, view, 0, payloadLength);
            return payloadLength;
        }
    }

    /**
     * Writes a value inside open batch {@code seq}; the first write to a key in a batch saves
     * its pre-image for rollback. On any exception the store is unchanged.
     *
     * @param seq    the newest open batch.
     * @param key    the key.
     * @param src    the value bytes.
     * @param offset where in {@code src}.
     * @param length value length, at most the store's max value size.
     */
    public void put(final long seq, final long key, final DirectBuffer src, final int offset, final int length)
    {
        store.checkValueLength(key, length);
        final int slot = store.checkWritable(seq);
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        scratch.putBytes(SCRATCH_PAYLOAD_OFFSET, src, offset, length);
        final long hash = XX3.hashMemory(scratch.addressOffset(), SCRATCH_PAYLOAD_OFFSET + length);
        final int trailer = SCRATCH_PAYLOAD_OFFSET + length;
        scratch.putLong(trailer + VERSION_OFFSET, seq);
        scratch.putLong(trailer + HASH_OFFSET, hash);
        scratch.putInt(trailer + FLAGS_OFFSET, 0);
        write(seq, slot, key, length, hash);
    }

    /**
     * Removes a key inside open batch {@code seq}. The key reads as absent at once; the record
     * is freed when the batch commits.
     *
     * @return true if the key had a value.
     */
    public boolean remove(final long seq, final long key)
    {
        final int slot = store.checkWritable(seq);
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        final int trailer = SCRATCH_PAYLOAD_OFFSET;
        scratch.putLong(trailer + VERSION_OFFSET, seq);
        scratch.putLong(trailer + HASH_OFFSET, 0);
        scratch.putInt(trailer + FLAGS_OFFSET, FLAG_TOMBSTONE);
        return write(seq, slot, key, -1, 0);
    }

    /**
     * Writes the scratch record (payloadLength -1 = tombstone).
     *
     * @return true if the key had a live value before.
     */
    private boolean write(final long seq, final int slot, final long key, final int payloadLength, final long hash)
    {
        final boolean tombstone = payloadLength < 0;
        final int recordLength = (tombstone ? 0 : payloadLength) + TRAILER_LENGTH;
        final int page = store.page(key);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.updateLock().lock();
            final MapEntry<Long, byte[]> entry = context.entry();
            final Data<byte[]> newValue =
                context.wrapValueBytesAsData(scratchStore, SCRATCH_PAYLOAD_OFFSET, recordLength);
            final long oldHash;
            boolean hadLiveValue = false;
            if (null != entry)
            {
                final Data<byte[]> value = entry.value();
                final int oldLength = (int)value.size();
                final long oldAddress = value.bytes().addressForRead(value.offset());
                view.wrap(oldAddress, oldLength);
                final int oldTrailer = oldLength - TRAILER_LENGTH;
                final boolean wasTombstone = (view.getInt(oldTrailer + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0;
                if (tombstone && wasTombstone)
                {
                    return false;
                }
                hadLiveValue = !wasTombstone;
                oldHash = wasTombstone ? 0 : view.getLong(oldTrailer + HASH_OFFSET);
                final int undoMark = undoLog.position(slot);
                if (view.getLong(oldTrailer + VERSION_OFFSET) != seq)
                {
                    saveUndo(slot, key, page, oldAddress, oldLength);
                }
                try
                {
                    entry.doReplaceValue(newValue);
                }
                catch (final IllegalStateException | IllegalArgumentException ex)
                {
                    undoLog.truncate(slot, undoMark);
                    throw outOfMemory(key, recordLength, ex);
                }
            }
            else
            {
                if (tombstone)
                {
                    return false;
                }
                checkUndoSpace(slot, key, UndoLog.ABSENT);
                store.reserveEntry(key);
                try
                {
                    context.absentEntry().doInsert(newValue);
                }
                catch (final IllegalStateException | IllegalArgumentException ex)
                {
                    store.releaseEntry();
                    throw outOfMemory(key, recordLength, ex);
                }
                saveUndo(slot, key, page, 0, UndoLog.ABSENT);
                oldHash = 0;
            }
            if (tombstone)
            {
                undoLog.markTombstone(slot);
            }
            store.applyWrite(page, seq, hash - oldHash);
            return hadLiveValue;
        }
    }

    private StateStoreException outOfMemory(final long key, final int recordLength, final RuntimeException ex)
    {
        return new StateStoreException(
            StateStoreException.Reason.STORE_FULL,
            "no room for key " + key + " (" + (recordLength - TRAILER_LENGTH) + " value bytes): the store's memory, " +
            "sized for maxEntries x averageValueBytes, is exhausted (settings maxEntries, averageValueBytes; " +
            ex.getMessage() + ")",
            ex);
    }

    private void saveUndo(final int slot, final long key, final int page, final long address, final int length)
    {
        checkUndoSpace(slot, key, length);
        undoLog.append(slot, key, store.pageVersion(page), address, length);
    }

    private void checkUndoSpace(final int slot, final long key, final int length)
    {
        if (!undoLog.hasSpace(slot, length))
        {
            throw new StateStoreException(
                StateStoreException.Reason.UNDO_LOG_FULL,
                "writer " + id + " undo log for batch " + undoLog.seq(slot) + " is full (" +
                undoLog.capacityBytes() + " bytes, setting undoBytesPerBatch) at key " + key);
        }
    }

    /**
     * Undoes one undo-log entry: restores the pre-image, the page digest and the page version.
     */
    void undo(final UndoLog log, final int entry, final long lastCommittedSeq)
    {
        final long key = log.key(entry);
        final int oldLength = log.oldRecordLength(entry);
        final int page = store.page(key);
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.updateLock().lock();
            final MapEntry<Long, byte[]> entryNow = context.entry();
            if (null == entryNow)
            {
                throw new IllegalStateException("undo: key " + key + " written by the batch is missing");
            }
            final long currentHash = liveHash(entryNow.value());
            long restoredHash = 0;
            boolean restore = oldLength != UndoLog.ABSENT;
            if (restore)
            {
                final long oldAddress = log.oldRecordAddress(entry);
                view.wrap(oldAddress, oldLength);
                final int trailer = oldLength - TRAILER_LENGTH;
                final boolean oldTombstone = (view.getInt(trailer + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0;
                if (oldTombstone && view.getLong(trailer + VERSION_OFFSET) <= lastCommittedSeq)
                {
                    restore = false;
                }
                else
                {
                    restoredHash = oldTombstone ? 0 : view.getLong(trailer + HASH_OFFSET);
                    recordStore.set(oldAddress, oldLength);
                    entryNow.doReplaceValue(context.wrapValueBytesAsData(recordStore, 0, oldLength));
                }
            }
            if (!restore)
            {
                entryNow.doRemove();
                store.releaseEntry();
            }
            store.applyUndo(page, restoredHash - currentHash, log.previousPageVersion(entry));
        }
    }

    /**
     * Frees the record of {@code key} if it is a tombstone left by batch {@code seq}.
     */
    void purgeTombstone(final long key, final long seq)
    {
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.updateLock().lock();
            final MapEntry<Long, byte[]> entry = context.entry();
            if (null != entry)
            {
                final Data<byte[]> value = entry.value();
                final int length = (int)value.size();
                view.wrap(value.bytes().addressForRead(value.offset()), length);
                final int trailer = length - TRAILER_LENGTH;
                if ((view.getInt(trailer + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0 &&
                    view.getLong(trailer + VERSION_OFFSET) == seq)
                {
                    entry.doRemove();
                    store.releaseEntry();
                }
            }
        }
    }

    /**
     * @return the live record hash of {@code key}: 0 when absent or a tombstone.
     */
    long currentHash(final long key)
    {
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.readLock().lock();
            final MapEntry<Long, byte[]> entry = context.entry();
            return null == entry ? 0 : liveHash(entry.value());
        }
    }

    /**
     * @return the record hash of {@code payload} under {@code key}, as the store computes it.
     */
    long hashOf(final long key, final DirectBuffer payload, final int offset, final int length)
    {
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        scratch.putBytes(SCRATCH_PAYLOAD_OFFSET, payload, offset, length);
        return XX3.hashMemory(scratch.addressOffset(), SCRATCH_PAYLOAD_OFFSET + length);
    }

    /**
     * Inserts a committed record outside any batch (snapshot import into an empty store).
     *
     * @return its record hash.
     */
    long insertCommitted(final long key, final DirectBuffer src, final int offset, final int length, final long version)
    {
        final long hash = hashOf(key, src, offset, length);
        final int trailer = SCRATCH_PAYLOAD_OFFSET + length;
        scratch.putLong(trailer + VERSION_OFFSET, version);
        scratch.putLong(trailer + HASH_OFFSET, hash);
        scratch.putInt(trailer + FLAGS_OFFSET, 0);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.updateLock().lock();
            final Data<byte[]> newValue =
                context.wrapValueBytesAsData(scratchStore, SCRATCH_PAYLOAD_OFFSET, length + TRAILER_LENGTH);
            final MapEntry<Long, byte[]> entry = context.entry();
            if (null != entry)
            {
                throw new StateStoreException(
                    StateStoreException.Reason.CORRUPT_INPUT, "duplicate key " + key + " in snapshot");
            }
            store.reserveEntry(key);
            context.absentEntry().doInsert(newValue);
        }
        return hash;
    }

    /**
     * Lowers the version of {@code key}'s record to {@code seq} if it is above (no batch open;
     * {@link StateStore#adoptCommittedSeq(long)}). Contents and hash are unchanged.
     */
    void lowerVersion(final long key, final long seq)
    {
        scratch.putLong(SCRATCH_KEY_OFFSET, key);
        try (ExternalMapQueryContext<Long, byte[], ?> context = store.queryContext(scratchStore))
        {
            context.updateLock().lock();
            final MapEntry<Long, byte[]> entry = context.entry();
            if (null == entry)
            {
                return;
            }
            final Data<byte[]> value = entry.value();
            final int length = (int)value.size();
            view.wrap(value.bytes().addressForRead(value.offset()), length);
            final int trailer = length - TRAILER_LENGTH;
            if (view.getLong(trailer + VERSION_OFFSET) > seq)
            {
                scratch.putBytes(SCRATCH_PAYLOAD_OFFSET, view, 0, length);
                scratch.putLong(SCRATCH_PAYLOAD_OFFSET + trailer + VERSION_OFFSET, seq);
                entry.doReplaceValue(context.wrapValueBytesAsData(scratchStore, SCRATCH_PAYLOAD_OFFSET, length));
            }
        }
    }

    private long liveHash(final Data<byte[]> value)
    {
        final int length = (int)value.size();
        view.wrap(value.bytes().addressForRead(value.offset()), length);
        final int trailer = length - TRAILER_LENGTH;
        return (view.getInt(trailer + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0 ? 0 : view.getLong(trailer + HASH_OFFSET);
    }

    UndoLog undoLog()
    {
        return undoLog;
    }
}
