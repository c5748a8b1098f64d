/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Two replicas agree before a batch, diverge in it; the diff finds exactly the differing pages,
 * and shipping the primary's values of the keys either side wrote in those pages repairs the
 * backup to the primary's root. Bad frames are refused and change nothing.
 */
class RepairTest
{
    private static final int PAGES = 256;
    private static final long KEY_RANGE = 2_000;

    @Property(tries = 40)
    void shouldRepairDivergedBatchByShippingWrittenKeysOfDifferingPages(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final String message = "seed " + seed;
        try (StateStore primary = StateStore.open(StoreFixtures.context(10_000, PAGES));
            StateStore backup = StateStore.open(StoreFixtures.context(10_000, PAGES)))
        {
            final StoreWriter primaryWriter = primary.newWriter();
            final StoreWriter backupWriter = backup.newWriter();
            final NavigableMap<Long, byte[]> base = new TreeMap<>();
            for (int i = 0; i < 500; i++)
            {
                base.put((long)random.nextInt((int)KEY_RANGE), StoreFixtures.randomValue(random));
            }
            load(primary, primaryWriter, base);
            load(backup, backupWriter, base);
            assertEquals(primary.root(), backup.root(), message);

            final NavigableMap<Long, byte[]> primaryState = StoreFixtures.copy(base);
            final NavigableMap<Long, byte[]> backupState = StoreFixtures.copy(base);
            primary.begin(1);
            backup.begin(1);
            for (int i = 0; i < 200; i++)
            {
                final long key = random.nextInt((int)KEY_RANGE);
                final int kind = random.nextInt(10);
                final byte[] value = StoreFixtures.randomValue(random);
                if (kind < 6)
                {
                    write(primaryWriter, primaryState, key, value);
                    write(backupWriter, backupState, key, value);
                }
                else if (kind < 8)
                {
                    write(primaryWriter, primaryState, key, value);
                    write(backupWriter, backupState, key, StoreFixtures.randomValue(random));
                }
                else if (kind < 9)
                {
                    write(backupWriter, backupState, key, value);
                }
                else
                {
                    write(primaryWriter, primaryState, key, null);
                    write(backupWriter, backupState, key, value);
                }
            }
            final long primaryRoot = primary.seal(1);
            backup.seal(1);

            final IntArrayList differing = new IntArrayList();
            backup.diffPages(primary.digestTree(), differing);
            final IntHashSet expected = expectedDifferingPages(primary, primaryState, backupState);
            final IntHashSet found = new IntHashSet();
            found.addAll(differing);
            assertEquals(differing.size(), found.size(), message + " pages listed once");
            assertEquals(expected, found, message);

            final long[] keys = writtenKeysInPages(primary, backup, differing);
            final UnsafeBuffer frame = new UnsafeBuffer(new byte[primary.maxExportLength(keys.length)]);
            final int length = primary.exportRecords(keys, keys.length, frame, 0);
            backup.importRecords(1, frame, 0, length);
            assertEquals(primaryRoot, backup.seal(1), message);
            StoreFixtures.assertMatches(message, backup, backupWriter, primaryState, KEY_RANGE);
            backup.commit(1);
            primary.commit(1);
            assertEquals(primaryState.size(), backup.size(), message);
        }
    }

    @Test
    void shouldRefuseFrameThatDoesNotReproduceSenderDigestsAndChangeNothing()
    {
        try (StateStore primary = StateStore.open(StoreFixtures.context(100, PAGES));
            StateStore backup = StateStore.open(StoreFixtures.context(100, PAGES)))
        {
            final StoreWriter primaryWriter = primary.newWriter();
            final StoreWriter backupWriter = backup.newWriter();
            primary.begin(0);
            backup.begin(0);
            StoreFixtures.put(primaryWriter, 0, 1, new byte[] {1});
            StoreFixtures.put(primaryWriter, 0, 2, new byte[] {2});
            StoreFixtures.put(backupWriter, 0, 1, new byte[] {9});
            StoreFixtures.put(backupWriter, 0, 2, new byte[] {8});
            primary.seal(0);
            final long backupRoot = backup.seal(0);

            final UnsafeBuffer frame = new UnsafeBuffer(new byte[primary.maxExportLength(2)]);
            final int length = primary.exportRecords(new long[] {1}, 1, frame, 0);
            final int pageDigestOffset = RecordsCodec.HEADER_LENGTH + Long.BYTES;
            frame.putLong(pageDigestOffset, frame.getLong(pageDigestOffset) + 1);
            final StateStoreException wrongDigest =
                assertThrows(StateStoreException.class, () -> backup.importRecords(0, frame, 0, length));
            assertEquals(StateStoreException.Reason.DIGEST_MISMATCH, wrongDigest.reason());
            assertUnchanged(backup, backupWriter, backupRoot);

            final int truncated = primary.exportRecords(new long[] {1, 2}, 2, frame, 0) - 1;
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT, assertThrows(StateStoreException.class,
                () -> backup.importRecords(0, frame, 0, truncated)).reason());
            frame.putInt(0, 0xBAD);
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT, assertThrows(StateStoreException.class,
                () -> backup.importRecords(0, frame, 0, truncated + 1)).reason());
            assertUnchanged(backup, backupWriter, backupRoot);
        }
    }

    @Test
    void shouldFindNoDifferenceBetweenEqualTrees()
    {
        try (StateStore first = StateStore.open(StoreFixtures.context(100, PAGES));
            StateStore second = StateStore.open(StoreFixtures.context(100, PAGES)))
        {
            final IntArrayList differing = new IntArrayList();
            first.diffPages(second.digestTree(), differing);
            assertEquals(0, differing.size());
            assertNotEquals(0, first.digestTree().levels());
        }
    }

    private static void assertUnchanged(final StateStore store, final StoreWriter reader, final long root)
    {
        assertEquals(root, store.seal(store.newestOpenSeq()));
        assertArrayEquals(new byte[] {9}, StoreFixtures.read(reader, 1));
        assertArrayEquals(new byte[] {8}, StoreFixtures.read(reader, 2));
    }

    private static void load(final StateStore store, final StoreWriter writer, final Map<Long, byte[]> contents)
    {
        store.begin(0);
        contents.forEach((key, value) -> StoreFixtures.put(writer, 0, key, value));
        store.seal(0);
        store.commit(0);
    }

    private static void write(
        final StoreWriter writer, final NavigableMap<Long, byte[]> state, final long key, final byte[] value)
    {
        if (null == value)
        {
            writer.remove(1, key);
            state.remove(key);
        }
        else
        {
            StoreFixtures.put(writer, 1, key, value);
            state.put(key, value);
        }
    }

    private static IntHashSet expectedDifferingPages(
        final StateStore store, final Map<Long, byte[]> first, final Map<Long, byte[]> second)
    {
        final long[] a = StoreFixtures.expectedPageDigests(store, first);
        final long[] b = StoreFixtures.expectedPageDigests(store, second);
        final IntHashSet pages = new IntHashSet();
        for (int page = 0; page < a.length; page++)
        {
            if (a[page] != b[page])
            {
                pages.add(page);
            }
        }
        return pages;
    }

    private static long[] writtenKeysInPages(
        final StateStore primary, final StateStore backup, final IntArrayList pages)
    {
        final IntHashSet pageSet = new IntHashSet();
        pageSet.addAll(pages);
        final LongHashSet keys = new LongHashSet();
        primary.forEachWrittenKey(1, key -> keys.add(key));
        backup.forEachWrittenKey(1, key -> keys.add(key));
        return keys.stream().mapToLong(Long::longValue).filter(key -> pageSet.contains(primary.page(key))).toArray();
    }
}
