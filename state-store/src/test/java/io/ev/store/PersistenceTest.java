/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Persisted stores reopen with the same contents and root; whole-store snapshots move a store to
 * a node that rejoins; damaged files are refused with a clear error and change nothing.
 */
class PersistenceTest
{
    private static final int PAGES = 64;
    private static final long KEY_RANGE = 500;

    @TempDir
    Path directory;

    @Test
    void shouldReopenPersistedStoreWithSameContentsAndRoot()
    {
        final Path file = directory.resolve("store.cm3");
        final NavigableMap<Long, byte[]> model = new TreeMap<>();
        final long root;
        try (StateStore store = StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)))
        {
            root = fill(store, store.newWriter(), model, 7);
            assertTrue(store.openedClean());
        }
        try (StateStore reopened = StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)))
        {
            assertTrue(reopened.openedClean());
            assertEquals(root, reopened.root());
            assertEquals(2, reopened.lastCommittedSeq());
            assertEquals(model.size(), reopened.size());
            StoreFixtures.assertMatches("reopen", reopened, reopened.newWriter(), model, KEY_RANGE);
        }
    }

    @Test
    void shouldRollBackOpenBatchOnCloseAndRefuseOtherPageCount()
    {
        final Path file = directory.resolve("store.cm3");
        final NavigableMap<Long, byte[]> model = new TreeMap<>();
        final long root;
        try (StateStore store = StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)))
        {
            final StoreWriter writer = store.newWriter();
            root = fill(store, writer, model, 3);
            store.begin(3);
            StoreFixtures.put(writer, 3, 10_000, new byte[] {1});
        }
        try (StateStore reopened = StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)))
        {
            assertEquals(root, reopened.root());
            assertEquals(null, StoreFixtures.read(reopened.newWriter(), 10_000));
        }
        final StateStoreException wrongPages = assertThrows(StateStoreException.class,
            () -> StateStore.open(StoreFixtures.context(1_000, PAGES * 2).file(file)));
        assertEquals(StateStoreException.Reason.INVALID_CONFIGURATION, wrongPages.reason());
        assertTrue(wrongPages.getMessage().contains("pageCount"), wrongPages.getMessage());
    }

    @Test
    void shouldRefuseDamagedMetadataAndReportUncleanClose() throws IOException
    {
        final Path file = directory.resolve("store.cm3");
        try (StateStore store = StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)))
        {
            fill(store, store.newWriter(), new TreeMap<>(), 5);
        }
        final Path meta = directory.resolve("store.cm3.meta");
        final byte[] good = Files.readAllBytes(meta);
        final byte[] damaged = good.clone();
        damaged[StoreMetadata.ROOT_OFFSET] ^= 1;
        Files.write(meta, damaged);
        final StateStoreException corrupt = assertThrows(StateStoreException.class,
            () -> StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)));
        assertEquals(StateStoreException.Reason.CORRUPT_INPUT, corrupt.reason());
        assertTrue(corrupt.getMessage().contains("store.cm3.meta"), corrupt.getMessage());

        final byte[] unclean = good.clone();
        unclean[StoreMetadata.CLEAN_CLOSE_OFFSET] = 0;
        final long checksum = RecordLayout.XX3.hashBytes(unclean, 0, StoreMetadata.CHECKSUM_OFFSET);
        for (int i = 0; i < Long.BYTES; i++)
        {
            unclean[StoreMetadata.CHECKSUM_OFFSET + i] = (byte)(checksum >>> (8 * i));
        }
        Files.write(meta, unclean);
        try (StateStore reopened = StateStore.open(StoreFixtures.context(1_000, PAGES).file(file)))
        {
            assertFalse(reopened.openedClean());
        }
    }

    @Test
    void shouldMoveWholeStoreBySnapshot()
    {
        final Path snapshot = directory.resolve("snapshot.evs");
        final NavigableMap<Long, byte[]> model = new TreeMap<>();
        final long root;
        try (StateStore source = StateStore.open(StoreFixtures.context(1_000, PAGES)))
        {
            root = fill(source, source.newWriter(), model, 11);
            assertEquals(root, source.exportSnapshot(snapshot));
        }
        try (StateStore target = StateStore.open(StoreFixtures.context(1_000, PAGES)))
        {
            final StoreWriter writer = target.newWriter();
            fill(target, writer, new TreeMap<>(), 12);
            target.importSnapshot(snapshot, root);
            assertEquals(root, target.root());
            assertEquals(2, target.lastCommittedSeq());
            StoreFixtures.assertMatches("snapshot", target, writer, model, KEY_RANGE);
            target.begin(3);
            StoreFixtures.put(writer, 3, 1, new byte[] {42});
            target.seal(3);
            target.commit(3);
        }
    }

    @Test
    void shouldRefuseDamagedSnapshotAndChangeNothing() throws IOException
    {
        final Path snapshot = directory.resolve("snapshot.evs");
        try (StateStore source = StateStore.open(StoreFixtures.context(1_000, PAGES)))
        {
            fill(source, source.newWriter(), new TreeMap<>(), 13);
            source.exportSnapshot(snapshot);
        }
        try (StateStore target = StateStore.open(StoreFixtures.context(1_000, PAGES)))
        {
            final NavigableMap<Long, byte[]> model = new TreeMap<>();
            final StoreWriter writer = target.newWriter();
            final long root = fill(target, writer, model, 14);
            final long size = Files.size(snapshot);
            final Random random = new Random(15);
            for (int i = 0; i < 20; i++)
            {
                final Path damaged = directory.resolve("damaged-" + i + ".evs");
                Files.copy(snapshot, damaged);
                try (RandomAccessFile raf = new RandomAccessFile(damaged.toFile(), "rw"))
                {
                    if (i % 4 == 3)
                    {
                        raf.setLength(random.nextInt((int)size));
                    }
                    else
                    {
                        final long position = (long)(random.nextDouble() * size);
                        raf.seek(position);
                        final int b = raf.read();
                        raf.seek(position);
                        raf.write(b ^ (1 << random.nextInt(8)));
                    }
                }
                final StateStoreException refused =
                    assertThrows(StateStoreException.class, () -> target.importSnapshot(damaged, StateStore.NULL_SEQ));
                assertEquals(StateStoreException.Reason.CORRUPT_INPUT, refused.reason(), refused.getMessage());
                assertTrue(refused.getMessage().contains(damaged.toString()), refused.getMessage());
                assertEquals(root, target.root());
                StoreFixtures.assertMatches("damaged " + i, target, writer, model, KEY_RANGE);
            }
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT, assertThrows(StateStoreException.class,
                () -> target.importSnapshot(snapshot, root)).reason());
            assertEquals(root, target.root());
        }
    }

    /**
     * Commits batches 0..2 of random writes; returns the root.
     */
    private static long fill(
        final StateStore store, final StoreWriter writer, final NavigableMap<Long, byte[]> model, final long seed)
    {
        final Random random = new Random(seed);
        long root = 0;
        for (long seq = 0; seq < 3; seq++)
        {
            store.begin(seq);
            StoreFixtures.randomWrites(random, writer, seq, model, KEY_RANGE, 100, 5);
            root = store.seal(seq);
            store.commit(seq);
        }
        return root;
    }
}
