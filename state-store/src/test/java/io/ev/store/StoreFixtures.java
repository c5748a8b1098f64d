/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Small helpers shared by the store tests.
 */
final class StoreFixtures
{
    static final int MAX_VALUE_BYTES = 64;

    private StoreFixtures()
    {
    }

    static StateStore.Context context(final long maxEntries, final int pageCount)
    {
        return new StateStore.Context()
            .maxEntries(maxEntries)
            .maxValueBytes(MAX_VALUE_BYTES)
            .pageCount(pageCount)
            .writers(4)
            .undoBytesPerBatch(1 << 16);
    }

    static UnsafeBuffer value(final byte[] bytes)
    {
        return new UnsafeBuffer(bytes);
    }

    static byte[] read(final StoreWriter writer, final long key)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[MAX_VALUE_BYTES]);
        final int length = writer.get(key, buffer, 0);
        if (length == StateStore.MISSING)
        {
            return null;
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(0, bytes);
        return bytes;
    }

    static void put(final StoreWriter writer, final long seq, final long key, final byte[] bytes)
    {
        writer.put(seq, key, new UnsafeBuffer(bytes), 0, bytes.length);
    }
}
