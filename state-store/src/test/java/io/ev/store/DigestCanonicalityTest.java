/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The root depends only on the final contents: not on insertion order, not on how concurrent
 * writers interleave, and any one-bit change of any value changes it.
 */
class DigestCanonicalityTest
{
    private static final int PAGES = 64;

    @Property(tries = 40)
    void shouldGiveSameRootForAnyInsertionOrder(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final Map<Long, byte[]> contents = randomContents(random, 200);
        final List<Long> keys = new ArrayList<>(contents.keySet());
        final long expected = StoreFixtures.rootOf(StoreFixtures.context(1, PAGES), contents);

        Collections.shuffle(keys, random);
        try (StateStore store = StateStore.open(StoreFixtures.context(1_000, PAGES)))
        {
            final StoreWriter writer = store.newWriter();
            store.begin(0);
            for (final long key : keys)
            {
                StoreFixtures.put(writer, 0, key, StoreFixtures.randomValue(random));
            }
            store.seal(0);
            store.commit(0);
            Collections.shuffle(keys, random);
            store.begin(1);
            for (final long key : keys)
            {
                StoreFixtures.put(writer, 1, key, contents.get(key));
            }
            assertEquals(expected, store.seal(1), "seed " + seed);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldGiveSameRootWhenFourThreadsWriteConcurrently() throws Exception
    {
        final long seed = Long.getLong("ev.test.seed", System.nanoTime());
        System.out.println("DigestCanonicalityTest concurrent seed = " + seed + " (rerun with -Dev.test.seed=" +
            seed + ")");
        final Random random = new Random(seed);
        final int threads = 4;
        final Map<Long, byte[]> contents = randomContents(random, 4_000);
        final long expected = StoreFixtures.rootOf(StoreFixtures.context(1, PAGES), contents);
        final List<List<Long>> shares = new ArrayList<>();
        for (int i = 0; i < threads; i++)
        {
            shares.add(new ArrayList<>());
        }
        for (final long key : contents.keySet())
        {
            shares.get(random.nextInt(threads)).add(key);
        }

        for (int round = 0; round < 5; round++)
        {
            try (StateStore store = StateStore.open(StoreFixtures.context(10_000, PAGES).undoBytesPerBatch(1 << 20)))
            {
                final StoreWriter[] writers = new StoreWriter[threads];
                for (int i = 0; i < threads; i++)
                {
                    writers[i] = store.newWriter();
                }
                store.begin(0);
                final CountDownLatch start = new CountDownLatch(1);
                final ExecutorService executor = Executors.newFixedThreadPool(threads);
                try
                {
                    final List<Future<?>> done = new ArrayList<>();
                    for (int i = 0; i < threads; i++)
                    {
                        final StoreWriter writer = writers[i];
                        final List<Long> share = shares.get(i);
                        done.add(executor.submit(() ->
                        {
                            start.await();
                            for (final long key : share)
                            {
                                StoreFixtures.put(writer, 0, key, contents.get(key));
                            }
                            return null;
                        }));
                    }
                    start.countDown();
                    for (final Future<?> future : done)
                    {
                        future.get(30, TimeUnit.SECONDS);
                    }
                }
                finally
                {
                    executor.shutdownNow();
                }
                assertEquals(expected, store.seal(0), "seed " + seed + " round " + round);
                assertEquals(contents.size(), store.size(), "seed " + seed);
            }
        }
    }

    @Property(tries = 60)
    void shouldChangeRootWhenAnyOneBitOfAnyValueChanges(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final TreeMap<Long, byte[]> contents = randomContents(random, 100);
        final long root = StoreFixtures.rootOf(StoreFixtures.context(1, PAGES), contents);
        final List<Long> keys = new ArrayList<>(contents.keySet());
        long key = keys.get(random.nextInt(keys.size()));
        while (contents.get(key).length == 0)
        {
            key = keys.get(random.nextInt(keys.size()));
        }
        final byte[] value = contents.get(key).clone();
        final int bit = random.nextInt(value.length * 8);
        value[bit / 8] ^= (byte)(1 << (bit % 8));
        contents.put(key, value);
        assertNotEquals(root, StoreFixtures.rootOf(StoreFixtures.context(1, PAGES), contents),
            "seed " + seed + " key " + key + " bit " + bit);
    }

    @Test
    void shouldChangeRootWhenAKeyMovesToAnotherKeyWithTheSameValue()
    {
        final Map<Long, byte[]> first = Map.of(1L, new byte[] {7});
        final Map<Long, byte[]> second = Map.of(2L, new byte[] {7});
        assertNotEquals(StoreFixtures.rootOf(StoreFixtures.context(1, PAGES), first),
            StoreFixtures.rootOf(StoreFixtures.context(1, PAGES), second));
        assertTrue(StoreFixtures.recordHash(1, new byte[0]) != StoreFixtures.recordHash(2, new byte[0]));
    }

    private static TreeMap<Long, byte[]> randomContents(final Random random, final int count)
    {
        final TreeMap<Long, byte[]> contents = new TreeMap<>();
        while (contents.size() < count)
        {
            final byte[] value = StoreFixtures.randomValue(random);
            if (value.length > 0)
            {
                contents.put(Keys.key(random.nextInt(4), random.nextInt(1_000_000)), value);
            }
        }
        return contents;
    }
}
