/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A concurrent (copy-on-write) snapshot is exactly the state at its start although batches
 * (commits, rollbacks, inserts, deletes, re-inserts) run while it scans and until it is frozen.
 */
class ConcurrentSnapshotTest
{
    private static final int KEYS = 20_000;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldHoldExactlyTheStateAtItsStartWhileBatchesRun() throws Exception
    {
        for (int run = 0; run < 5; run++)
        {
            final long seed = System.nanoTime() + run;
            System.out.println("ConcurrentSnapshotTest seed " + seed);
            snapshotWhileWriting(seed);
        }
    }

    private void snapshotWhileWriting(final long seed) throws Exception
    {
        final Random random = new Random(seed);
        final Map<Long, byte[]> model = new HashMap<>();
        final Path file = dir.resolve("snapshot-" + seed);
        try (StateStore store = StateStore.open(StoreFixtures.context(KEYS * 2L, 256).undoBytesPerBatch(4 << 20)))
        {
            final StoreWriter writer = store.newWriter();
            long seq = 0;
            store.begin(seq);
            StoreFixtures.randomWrites(random, writer, seq, model, KEYS, KEYS, 10);
            store.seal(seq);
            store.commit(seq);
            seq++;
            final long rootAtStart = store.root();
            final Map<Long, byte[]> atStart = new HashMap<>(model);

            final ConcurrentSnapshot snapshot = store.beginConcurrentSnapshot(file, 42, 64L << 20);
            seq = writeBatches(store, writer, random, model, seq, 3);
            final CompletableFuture<Void> scan = CompletableFuture.runAsync(snapshot::scan);
            while (!snapshot.scanDone())
            {
                seq = writeBatches(store, writer, random, model, seq, 1);
            }
            scan.get(30, TimeUnit.SECONDS);
            seq = writeBatches(store, writer, random, model, seq, 2);
            store.freezeSnapshot();
            writeBatches(store, writer, random, model, seq, 2);
            assertEquals(rootAtStart, snapshot.finish());
            assertFalse(Files.exists(file.resolveSibling(file.getFileName() + ".scan")), "scan file removed");

            try (StateStore copy = StateStore.open(StoreFixtures.context(KEYS * 2L, 256).undoBytesPerBatch(4 << 20)))
            {
                assertEquals(42, copy.importSnapshot(file, rootAtStart), "seed " + seed);
                assertEquals(rootAtStart, copy.root());
                assertEquals(atStart.size(), copy.size(), "seed " + seed);
                final StoreWriter reader = copy.newWriter();
                for (final Map.Entry<Long, byte[]> entry : atStart.entrySet())
                {
                    final byte[] value = StoreFixtures.read(reader, entry.getKey());
                    assertNotNull(value, "seed " + seed + " key " + entry.getKey());
                    assertArrayEquals(entry.getValue(), value, "seed " + seed + " key " + entry.getKey());
                }
            }
        }
    }

    /**
     * Runs {@code batches} batches of random writes; one in three is rolled back (and the model
     * keeps its state), the others commit.
     */
    private static long writeBatches(
        final StateStore store,
        final StoreWriter writer,
        final Random random,
        final Map<Long, byte[]> model,
        final long firstSeq,
        final int batches)
    {
        long seq = firstSeq;
        for (int b = 0; b < batches; b++)
        {
            store.begin(seq);
            if (random.nextInt(3) == 0)
            {
                StoreFixtures.randomWrites(random, writer, seq, new HashMap<>(model), KEYS + 500, 200, 4);
                store.rollback(seq);
            }
            else
            {
                StoreFixtures.randomWrites(random, writer, seq, model, KEYS + 500, 200, 4);
                store.seal(seq);
                store.commit(seq);
                seq++;
            }
        }
        return seq;
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldRefuseOutOfOrderUseAndFailBeyondItsCaptureBound()
    {
        final Random random = new Random(1);
        final Map<Long, byte[]> model = new HashMap<>();
        try (StateStore store = StateStore.open(StoreFixtures.context(KEYS * 2L, 256).undoBytesPerBatch(4 << 20)))
        {
            final StoreWriter writer = store.newWriter();
            store.begin(0);
            StoreFixtures.randomWrites(random, writer, 0, model, KEYS, 1000, 10);
            assertThrows(StateStoreException.class, () -> store.beginConcurrentSnapshot(dir.resolve("a"), 0, 1 << 20));
            store.seal(0);
            store.commit(0);
            final ConcurrentSnapshot snapshot = store.beginConcurrentSnapshot(dir.resolve("a"), 0, 100);
            assertThrows(StateStoreException.class, () -> store.beginConcurrentSnapshot(dir.resolve("b"), 0, 100));
            assertThrows(StateStoreException.class, store::freezeSnapshot, "scan not done");
            assertThrows(StateStoreException.class, snapshot::finish, "not frozen");
            writeBatches(store, writer, random, model, 1, 3);
            snapshot.scan();
            store.freezeSnapshot();
            final StateStoreException ex = assertThrows(StateStoreException.class, snapshot::finish);
            assertEquals(StateStoreException.Reason.CAPTURE_FULL, ex.reason());
            assertNotNull(snapshot.failure());
        }
    }
}
