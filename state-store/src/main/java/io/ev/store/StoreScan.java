/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import net.openhft.chronicle.hash.Data;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.RecordLayout.FLAGS_OFFSET;
import static io.ev.store.RecordLayout.FLAG_TOMBSTONE;
import static io.ev.store.RecordLayout.HASH_OFFSET;
import static io.ev.store.RecordLayout.TRAILER_LENGTH;
import static io.ev.store.RecordLayout.VERSION_OFFSET;
import static io.ev.store.StateStoreException.Reason.CORRUPT_INPUT;

/**
 * Rebuilds page digests, page versions and the entry count of a reopened persisted store with one
 * scan, checking every record's stored hash against its contents; finds records by version.
 */
final class StoreScan
{
    private StoreScan()
    {
    }

    /**
     * @param expectCleanRoot whether the metadata's root must match (clean close).
     * @param cleanRoot the root written at the clean close.
     */
    static void rebuild(final StateStore store, final boolean expectCleanRoot, final long cleanRoot)
    {
        final UnsafeBuffer view = new UnsafeBuffer(0, 0);
        final UnsafeBuffer record = new UnsafeBuffer(new byte[Long.BYTES + store.context().maxValueBytes()]);
        final long[] count = new long[1];
        store.map().forEachEntry(entry ->
        {
            final Data<Long> keyData = entry.key();
            final long key = keyData.bytes().readLong(keyData.offset());
            final Data<byte[]> value = entry.value();
            final int length = (int)value.size();
            view.wrap(value.bytes().addressForRead(value.offset()), length);
            final int payloadLength = length - TRAILER_LENGTH;
            if (payloadLength < 0 || payloadLength > store.context().maxValueBytes())
            {
                throw new StateStoreException(CORRUPT_INPUT, "store file " + store.context().file() +
                    ": record of key " + key + " has impossible length " + length);
            }
            if ((view.getInt(payloadLength + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0)
            {
                entry.doRemove();
                return;
            }
            record.putLong(0, key);
            record.putBytes(Long.BYTES, view, 0, payloadLength);
            final long hash = RecordLayout.XX3.hashBytes(record.byteArray(), 0, Long.BYTES + payloadLength);
            if (hash != view.getLong(payloadLength + HASH_OFFSET))
            {
                throw new StateStoreException(CORRUPT_INPUT, "store file " + store.context().file() +
                    ": record of key " + key + " does not match its hash (bit rot or torn write)");
            }
            store.loadPage(store.page(key), hash, view.getLong(payloadLength + VERSION_OFFSET));
            count[0]++;
        });
        store.entryCountForScan(count[0]);
        store.recomputeAllNodes();
        if (expectCleanRoot && store.root() != cleanRoot)
        {
            throw new StateStoreException(CORRUPT_INPUT, "store file " + store.context().file() +
                ": root " + Long.toHexString(store.root()) + " differs from the root at its last clean close " +
                Long.toHexString(cleanRoot));
        }
    }

    /**
     * @return the keys whose record version is above {@code seq}, in map order (one scan).
     */
    static LongArrayList keysWrittenAfter(final StateStore store, final long seq)
    {
        final UnsafeBuffer view = new UnsafeBuffer(0, 0);
        final LongArrayList keys = new LongArrayList();
        store.map().forEachEntry(entry ->
        {
            final Data<byte[]> value = entry.value();
            final int length = (int)value.size();
            view.wrap(value.bytes().addressForRead(value.offset()), length);
            if (view.getLong(length - TRAILER_LENGTH + VERSION_OFFSET) > seq)
            {
                final Data<Long> keyData = entry.key();
                keys.addLong(keyData.bytes().readLong(keyData.offset()));
            }
        });
        return keys;
    }
}
