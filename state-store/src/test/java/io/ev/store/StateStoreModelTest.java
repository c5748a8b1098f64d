/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Random operation sequences (puts, removes, batch begin/seal/commit/rollback, pipelined batches,
 * two writers) against a plain in-memory model: same contents, same page digests, and the same
 * root as a fresh store loaded with the model's contents. jqwik prints the seed of each property;
 * the failure message repeats the operation seed.
 */
class StateStoreModelTest
{
    private static final long KEY_RANGE = 96;

    @Property(tries = 60)
    void shouldMatchModelUnderRandomOperations(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final String message = "seed " + seed;
        final StateStore.Context ctx = StoreFixtures.context(1_000, 1 << (random.nextInt(5) * 2))
            .maxOpenBatches(1 + random.nextInt(4));
        try (StateStore store = StateStore.open(ctx))
        {
            final StoreWriter[] writers = {store.newWriter(), store.newWriter()};
            NavigableMap<Long, byte[]> model = new TreeMap<>();
            final Deque<NavigableMap<Long, byte[]>> before = new ArrayDeque<>();
            final Deque<Long> rootsBefore = new ArrayDeque<>();
            final List<Long> open = new ArrayList<>();
            long nextSeq = 0;
            long root = store.root();

            for (int step = 0; step < 400; step++)
            {
                if (open.isEmpty())
                {
                    before.addLast(StoreFixtures.copy(model));
                    rootsBefore.addLast(root);
                    store.begin(nextSeq);
                    open.add(nextSeq++);
                }
                final long seq = open.get(open.size() - 1);
                final StoreWriter writer = writers[random.nextInt(writers.length)];
                final int action = random.nextInt(100);
                if (action < 60)
                {
                    final long key = random.nextInt((int)KEY_RANGE);
                    final byte[] value = StoreFixtures.randomValue(random);
                    StoreFixtures.put(writer, seq, key, value);
                    model.put(key, value);
                }
                else if (action < 75)
                {
                    final long key = random.nextInt((int)KEY_RANGE);
                    assertEquals(model.containsKey(key), writer.remove(seq, key), message);
                    model.remove(key);
                }
                else if (action < 85)
                {
                    root = store.seal(seq);
                    StoreFixtures.assertMatches(message, store, writer, model, KEY_RANGE);
                    if (open.size() < ctx.maxOpenBatches())
                    {
                        before.addLast(StoreFixtures.copy(model));
                        rootsBefore.addLast(root);
                        store.begin(nextSeq);
                        open.add(nextSeq++);
                    }
                }
                else if (action < 93)
                {
                    root = store.seal(seq);
                    store.commit(open.remove(0));
                    before.removeFirst();
                    rootsBefore.removeFirst();
                    StoreFixtures.assertMatches(message, store, writer, model, KEY_RANGE);
                }
                else
                {
                    final int index = random.nextInt(open.size());
                    final long target = open.get(index);
                    store.rollback(target);
                    while (open.size() > index)
                    {
                        open.remove(open.size() - 1);
                        model = before.removeLast();
                        root = rootsBefore.removeLast();
                    }
                    nextSeq = target;
                    assertEquals(root, store.root(), message + " root after rollback(" + target + ")");
                    StoreFixtures.assertMatches(message, store, writer, model, KEY_RANGE);
                }
            }
            if (!open.isEmpty())
            {
                root = store.seal(open.get(open.size() - 1));
            }
            StoreFixtures.assertMatches(message, store, writers[0], model, KEY_RANGE);
            assertEquals(StoreFixtures.rootOf(ctx, model), root, message + " root vs fresh store");
            for (final long seq : new ArrayList<>(open))
            {
                store.commit(seq);
            }
            assertEquals(model.size(), store.size(), message + " entries after commit (tombstones freed)");
        }
    }

    @Property(tries = 30)
    void shouldRestoreExactContentsAndRootWhenRollingBackAnySuffix(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final String message = "seed " + seed;
        final int batches = 1 + random.nextInt(4);
        final StateStore.Context ctx = StoreFixtures.context(1_000, 16).maxOpenBatches(batches);
        try (StateStore store = StateStore.open(ctx))
        {
            final StoreWriter writer = store.newWriter();
            final NavigableMap<Long, byte[]> model = new TreeMap<>();
            store.begin(0);
            for (int i = 0; i < 50; i++)
            {
                final long key = random.nextInt((int)KEY_RANGE);
                final byte[] value = StoreFixtures.randomValue(random);
                StoreFixtures.put(writer, 0, key, value);
                model.put(key, value);
            }
            store.seal(0);
            store.commit(0);

            final List<NavigableMap<Long, byte[]>> contentsBefore = new ArrayList<>();
            final List<Long> rootsBefore = new ArrayList<>();
            final List<long[]> versionsBefore = new ArrayList<>();
            for (long seq = 1; seq <= batches; seq++)
            {
                contentsBefore.add(StoreFixtures.copy(model));
                rootsBefore.add(store.root());
                versionsBefore.add(pageVersions(store));
                store.begin(seq);
                StoreFixtures.randomWrites(random, writer, seq, model, KEY_RANGE, 40, 4);
                store.seal(seq);
            }

            final int from = 1 + random.nextInt(batches);
            store.rollback(from);
            assertEquals(rootsBefore.get(from - 1), store.root(), message + " root after rollback(" + from + ")");
            assertArrayEquals(versionsBefore.get(from - 1), pageVersions(store), message + " page versions");
            StoreFixtures.assertMatches(message, store, writer, contentsBefore.get(from - 1), KEY_RANGE);
        }
    }

    private static long[] pageVersions(final StateStore store)
    {
        final long[] versions = new long[store.pageCount()];
        for (int page = 0; page < versions.length; page++)
        {
            versions[page] = store.pageVersion(page);
        }
        return versions;
    }
}
