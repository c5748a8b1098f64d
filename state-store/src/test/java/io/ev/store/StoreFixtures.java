/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import net.openhft.hashing.LongHashFunction;
import org.agrona.concurrent.UnsafeBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Helpers shared by the store tests, including an independent computation of page digests.
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

    /**
     * Applies {@code count} random writes (one in {@code removeOneIn} a remove) in batch {@code seq}
     * to the store and to {@code model}.
     */
    static void randomWrites(
        final Random random,
        final StoreWriter writer,
        final long seq,
        final Map<Long, byte[]> model,
        final long keyRange,
        final int count,
        final int removeOneIn)
    {
        for (int i = 0; i < count; i++)
        {
            final long key = random.nextInt((int)keyRange);
            if (random.nextInt(removeOneIn) == 0)
            {
                writer.remove(seq, key);
                model.remove(key);
            }
            else
            {
                final byte[] value = randomValue(random);
                put(writer, seq, key, value);
                model.put(key, value);
            }
        }
    }

    static byte[] randomValue(final Random random)
    {
        final byte[] bytes = new byte[random.nextInt(MAX_VALUE_BYTES + 1)];
        random.nextBytes(bytes);
        return bytes;
    }

    /**
     * Record hash computed without the store's code: xxh3 over the key (little endian) and value.
     */
    static long recordHash(final long key, final byte[] value)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(Long.BYTES + value.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(key).put(value);
        return LongHashFunction.xx3().hashBytes(bytes.array());
    }

    static long[] expectedPageDigests(final StateStore store, final Map<Long, byte[]> contents)
    {
        final long[] digests = new long[store.pageCount()];
        contents.forEach((key, value) -> digests[store.page(key)] += recordHash(key, value));
        return digests;
    }

    /**
     * Asserts the store holds exactly {@code model} (checking every key in [0, keyRange) and every
     * model key) and that every page digest matches the independent computation.
     */
    static void assertMatches(
        final String seedMessage,
        final StateStore store,
        final StoreWriter reader,
        final NavigableMap<Long, byte[]> model,
        final long keyRange)
    {
        for (long key = 0; key < keyRange; key++)
        {
            assertArrayEquals(model.get(key), read(reader, key), seedMessage + " key " + key);
        }
        for (final Map.Entry<Long, byte[]> entry : model.entrySet())
        {
            assertArrayEquals(entry.getValue(), read(reader, entry.getKey()), seedMessage + " key " + entry.getKey());
        }
        final long[] expected = expectedPageDigests(store, model);
        for (int page = 0; page < expected.length; page++)
        {
            assertEquals(expected[page], store.pageDigest(page), seedMessage + " digest of page " + page);
        }
    }

    /**
     * @return the root of a fresh in-memory store loaded with {@code contents} in one batch.
     */
    static long rootOf(final StateStore.Context shape, final Map<Long, byte[]> contents)
    {
        try (StateStore fresh = StateStore.open(new StateStore.Context()
            .maxEntries(Math.max(1, contents.size()) + 16)
            .maxValueBytes(shape.maxValueBytes())
            .pageCount(shape.pageCount())
            .undoBytesPerBatch(Math.max(1 << 16, contents.size() * 128))))
        {
            final StoreWriter writer = fresh.newWriter();
            fresh.begin(0);
            contents.forEach((key, value) -> put(writer, 0, key, value));
            final long root = fresh.seal(0);
            fresh.commit(0);
            return root;
        }
    }

    static NavigableMap<Long, byte[]> copy(final Map<Long, byte[]> model)
    {
        return new TreeMap<>(model);
    }
}
