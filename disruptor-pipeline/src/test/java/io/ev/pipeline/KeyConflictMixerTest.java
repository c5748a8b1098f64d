/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import java.util.Random;

import io.ev.store.StoreWriter;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The key mixer puts every request in the earliest phase after the last phase of a conflicting
 * earlier request (Eve's write/write and read/write rule), checked against a quadratic model.
 */
class KeyConflictMixerTest
{
    private static final int MAX_REQUESTS = 128;

    @Property(tries = 200)
    void shouldPlaceEachRequestRightAfterItsLastConflict(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final Batch batch = new Batch(MAX_REQUESTS, KeyListHandler.maxPayloadBytes(80), 0);
        final int count = 1 + random.nextInt(MAX_REQUESTS);
        final int keySpace = 1 + random.nextInt(64);
        final long[][] reads = new long[count][];
        final long[][] writes = new long[count][];
        batch.reset(7);
        for (int i = 0; i < count; i++)
        {
            reads[i] = randomKeys(random, keySpace, random.nextInt(4));
            writes[i] = randomKeys(random, keySpace, random.nextInt(3));
            KeyListHandler.add(batch, i, reads[i], writes[i]);
        }
        new KeyConflictMixer(MAX_REQUESTS).mix(batch, new KeyListHandler());

        final int[] expected = new int[count];
        int phases = 0;
        for (int j = 0; j < count; j++)
        {
            for (int i = 0; i < j; i++)
            {
                if (conflict(reads[i], writes[i], reads[j], writes[j]))
                {
                    expected[j] = Math.max(expected[j], expected[i] + 1);
                }
            }
            phases = Math.max(phases, expected[j] + 1);
        }
        // phase numbers are compacted after grouping: compare the relative order, then the count
        for (int i = 0; i < count; i++)
        {
            for (int j = i + 1; j < count; j++)
            {
                assertEquals(Integer.compare(expected[i], expected[j]),
                    Integer.compare(batch.phaseOf(i), batch.phaseOf(j)), "seed " + seed + " requests " + i + ", " + j);
            }
        }
        assertEquals(phases, batch.phaseCount(), "seed " + seed);
        assertGrouped(batch, "seed " + seed);
    }

    @Test
    void shouldPutEverythingInOnePhaseWhenPermissive()
    {
        final Batch batch = new Batch(8, KeyListHandler.maxPayloadBytes(2), 0);
        batch.reset(1);
        for (int i = 0; i < 8; i++)
        {
            KeyListHandler.add(batch, i, new long[] {1}, new long[] {1});
        }
        new PermissiveMixer().mix(batch, new KeyListHandler());
        assertEquals(1, batch.phaseCount());
        assertGrouped(batch, "permissive");
        new KeyConflictMixer(8).mix(batch, new KeyListHandler());
        assertEquals(8, batch.phaseCount());
    }

    @Test
    void shouldIsolateRequestWithMoreKeysThanTracked()
    {
        final Batch batch = new Batch(4, KeyListHandler.maxPayloadBytes(100), 0);
        batch.reset(1);
        final long[] many = new long[100];
        for (int i = 0; i < many.length; i++)
        {
            many[i] = 1_000 + i;
        }
        KeyListHandler.add(batch, 0, new long[0], new long[] {1});
        KeyListHandler.add(batch, 1, new long[0], many);
        KeyListHandler.add(batch, 2, new long[0], new long[] {2});
        KeyListHandler.add(batch, 3, new long[0], new long[] {3});
        new KeyConflictMixer(4).mix(batch, new KeyListHandler());
        assertTrue(batch.phaseOf(0) < batch.phaseOf(1));
        assertTrue(batch.phaseOf(1) < batch.phaseOf(2));
        assertEquals(batch.phaseOf(2), batch.phaseOf(3));
    }

    static void assertGrouped(final Batch batch, final String message)
    {
        final boolean[] seen = new boolean[batch.count()];
        assertEquals(0, batch.phaseStart(0), message);
        assertEquals(batch.count(), batch.phaseEnd(batch.phaseCount() - 1), message);
        for (int phase = 0; phase < batch.phaseCount(); phase++)
        {
            assertTrue(batch.phaseEnd(phase) > batch.phaseStart(phase), message + " phase " + phase + " empty");
            int previous = -1;
            for (int position = batch.phaseStart(phase); position < batch.phaseEnd(phase); position++)
            {
                final int request = batch.member(position);
                assertTrue(request > previous, message + " batch order inside phase " + phase);
                assertEquals(phase, batch.phaseOf(request), message);
                assertTrue(!seen[request], message + " request " + request + " listed twice");
                seen[request] = true;
                previous = request;
            }
        }
    }

    private static boolean conflict(
        final long[] readsA, final long[] writesA, final long[] readsB, final long[] writesB)
    {
        return intersects(writesA, writesB) || intersects(writesA, readsB) || intersects(readsA, writesB);
    }

    private static boolean intersects(final long[] a, final long[] b)
    {
        for (final long x : a)
        {
            for (final long y : b)
            {
                if (x == y)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static long[] randomKeys(final Random random, final int keySpace, final int count)
    {
        final long[] keys = new long[count];
        for (int i = 0; i < count; i++)
        {
            keys[i] = random.nextInt(keySpace);
        }
        return keys;
    }

    /**
     * Test application whose payload lists its keys: reads count (4), writes count (4), keys (8 each).
     */
    static final class KeyListHandler implements RequestHandler
    {
        static int maxPayloadBytes(final int maxKeys)
        {
            return 2 * Integer.BYTES + maxKeys * Long.BYTES;
        }

        static void add(final Batch batch, final int requestId, final long[] reads, final long[] writes)
        {
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[maxPayloadBytes(reads.length + writes.length)]);
            payload.putInt(0, reads.length);
            payload.putInt(Integer.BYTES, writes.length);
            int offset = 2 * Integer.BYTES;
            for (final long key : reads)
            {
                payload.putLong(offset, key);
                offset += Long.BYTES;
            }
            for (final long key : writes)
            {
                payload.putLong(offset, key);
                offset += Long.BYTES;
            }
            batch.add(1, requestId, 0, payload, 0, offset);
        }

        public void declareKeys(final Request request, final KeySink keys)
        {
            final int reads = request.payload().getInt(0);
            final int writes = request.payload().getInt(Integer.BYTES);
            int offset = 2 * Integer.BYTES;
            for (int i = 0; i < reads; i++, offset += Long.BYTES)
            {
                keys.read(request.payload().getLong(offset));
            }
            for (int i = 0; i < writes; i++, offset += Long.BYTES)
            {
                keys.write(request.payload().getLong(offset));
            }
        }

        public int execute(
            final Request request,
            final long seq,
            final StoreWriter writer,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            return 0;
        }
    }
}
