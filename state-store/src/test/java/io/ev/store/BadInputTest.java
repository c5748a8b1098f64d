/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every refused operation names the problem and leaves the store unchanged.
 */
class BadInputTest
{
    @Test
    void shouldRefuseInvalidConfigurationNamingTheSetting()
    {
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "pageCount",
            () -> StateStore.open(StoreFixtures.context(10, 12)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "pageCount",
            () -> StateStore.open(StoreFixtures.context(10, 0)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "maxEntries",
            () -> StateStore.open(new StateStore.Context().maxValueBytes(8).pageCount(8)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "maxValueBytes",
            () -> StateStore.open(new StateStore.Context().maxEntries(8).maxValueBytes(-1).pageCount(8)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "averageValueBytes",
            () -> StateStore.open(StoreFixtures.context(10, 8).averageValueBytes(0)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "writers",
            () -> StateStore.open(StoreFixtures.context(10, 8).writers(0)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "undoBytesPerBatch",
            () -> StateStore.open(StoreFixtures.context(10, 8).undoBytesPerBatch(16)));
        assertRefused(StateStoreException.Reason.INVALID_CONFIGURATION, "maxOpenBatches",
            () -> StateStore.open(StoreFixtures.context(10, 8).undoBytesPerBatch(1 << 29)));
    }

    @Test
    void shouldRefuseOversizedValueAndKeepStore()
    {
        try (StateStore store = StateStore.open(StoreFixtures.context(10, 8)))
        {
            final StoreWriter writer = store.newWriter();
            store.begin(0);
            StoreFixtures.put(writer, 0, 1, new byte[] {1});
            final long root = store.seal(0);
            final byte[] big = new byte[StoreFixtures.MAX_VALUE_BYTES + 1];
            assertRefused(StateStoreException.Reason.VALUE_TOO_LARGE, "maxValueBytes",
                () -> StoreFixtures.put(writer, 0, 1, big));
            assertEquals(root, store.seal(0));
            assertArrayEquals(new byte[] {1}, StoreFixtures.read(writer, 1));
        }
    }

    @Test
    void shouldRefuseInsertBeyondMaxEntriesWithOurErrorAndKeepStore()
    {
        final long seed = Long.getLong("ev.test.seed", System.nanoTime());
        System.out.println("BadInputTest capacity seed = " + seed);
        final Random random = new Random(seed);
        final int maxEntries = Integer.getInteger("ev.test.capacity", 20_000);
        final StateStore.Context ctx = StoreFixtures.context(maxEntries, 64)
            .undoBytesPerBatch(Math.max(1 << 22, maxEntries * 40));
        try (StateStore store = StateStore.open(ctx))
        {
            final StoreWriter writer = store.newWriter();
            final UnsafeBuffer value = new UnsafeBuffer(new byte[StoreFixtures.MAX_VALUE_BYTES]);
            store.begin(0);
            int inserted = 0;
            while (inserted < maxEntries)
            {
                final long key = random.nextLong();
                if (StoreFixtures.read(writer, key) == null)
                {
                    writer.put(0, key, value, 0, StoreFixtures.MAX_VALUE_BYTES);
                    inserted++;
                }
            }
            final long root = store.seal(0);
            assertRefused(StateStoreException.Reason.STORE_FULL, "maxEntries",
                () -> writer.put(0, -1, value, 0, 1));
            assertEquals(maxEntries, store.size());
            assertEquals(root, store.seal(0));
            assertEquals(null, StoreFixtures.read(writer, -1), "seed " + seed);
        }
    }

    @Test
    void shouldRefuseWhenValuesOutgrowTheSizedMemoryWithOurError()
    {
        final int maxValueBytes = 1 << 16;
        final StateStore.Context ctx = new StateStore.Context().maxEntries(64).maxValueBytes(maxValueBytes)
            .averageValueBytes(maxValueBytes / StateStore.Context.MAX_VALUE_TO_AVERAGE_RATIO)
            .pageCount(8).undoBytesPerBatch(1 << 26);
        try (StateStore store = StateStore.open(ctx))
        {
            final StoreWriter writer = store.newWriter();
            final UnsafeBuffer value = new UnsafeBuffer(new byte[maxValueBytes]);
            store.begin(0);
            long key = 0;
            StateStoreException refused = null;
            while (null == refused && key < 64)
            {
                try
                {
                    writer.put(0, key, value, 0, maxValueBytes);
                    key++;
                }
                catch (final StateStoreException ex)
                {
                    refused = ex;
                }
            }
            assertNotNull(refused, "64 values of 64 KiB fit a map sized for 1 KiB values");
            assertEquals(StateStoreException.Reason.STORE_FULL, refused.reason(), refused.getMessage());
            assertTrue(refused.getMessage().contains("averageValueBytes"), refused.getMessage());
            assertEquals(key, store.size());
            assertEquals(StateStore.MISSING, writer.get(key, value, 0));
            store.seal(0);
            store.rollback(0);
            assertEquals(0, store.size());
        }
    }

    @Test
    void shouldRefuseBatchCallsOutOfOrder()
    {
        try (StateStore store = StateStore.open(StoreFixtures.context(10, 8).maxOpenBatches(2)))
        {
            final StoreWriter writer = store.newWriter();
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "newest open batch",
                () -> StoreFixtures.put(writer, 0, 1, new byte[] {1}));
            store.begin(5);
            StoreFixtures.put(writer, 5, 1, new byte[] {1});
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "not sealed", () -> store.begin(6));
            final long root = store.seal(5);
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "must be 6", () -> store.begin(7));
            store.begin(6);
            store.seal(6);
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "maxOpenBatches", () -> store.begin(7));
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "newest open batch",
                () -> StoreFixtures.put(writer, 5, 2, new byte[] {1}));
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "oldest open batch", () -> store.commit(6));
            store.commit(5);
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "below the oldest open batch",
                () -> store.rollback(5));
            assertEquals(root, store.root());
            assertArrayEquals(new byte[] {1}, StoreFixtures.read(writer, 1));
            store.commit(6);
            assertRefused(StateStoreException.Reason.BATCH_ORDER, "last committed", () -> store.begin(6));
        }
    }

    @Test
    void shouldRefuseUndoOverflowAndKeepStore()
    {
        try (StateStore store = StateStore.open(StoreFixtures.context(10_000, 8).undoBytesPerBatch(4096)))
        {
            final StoreWriter writer = store.newWriter();
            store.begin(0);
            long key = 0;
            StateStoreException refused = null;
            while (null == refused)
            {
                try
                {
                    StoreFixtures.put(writer, 0, key, new byte[] {(byte)key});
                    key++;
                }
                catch (final StateStoreException ex)
                {
                    refused = ex;
                }
            }
            assertEquals(StateStoreException.Reason.UNDO_LOG_FULL, refused.reason());
            assertTrue(refused.getMessage().contains("undoBytesPerBatch"), refused.getMessage());
            assertEquals(key, store.size());
            assertEquals(null, StoreFixtures.read(writer, key));
            store.rollback(0);
            assertEquals(0, store.size());
        }
    }

    @Test
    void shouldRefuseExtraWritersAndUseOfClosedStore()
    {
        final StateStore store = StateStore.open(StoreFixtures.context(10, 8).writers(1));
        final StoreWriter writer = store.newWriter();
        assertRefused(StateStoreException.Reason.TOO_MANY_WRITERS, "writers", store::newWriter);
        store.close();
        assertRefused(StateStoreException.Reason.CLOSED, "closed", () -> StoreFixtures.read(writer, 1));
        assertRefused(StateStoreException.Reason.CLOSED, "closed", () -> store.begin(0));
    }

    private static void assertRefused(
        final StateStoreException.Reason reason, final String mentions, final Executable executable)
    {
        final StateStoreException ex = assertThrows(StateStoreException.class, executable);
        assertEquals(reason, ex.reason(), ex.getMessage());
        assertTrue(ex.getMessage().contains(mentions), "message should mention '" + mentions + "': " + ex.getMessage());
    }
}
