/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A batch holds copies of its requests in batch order, bounded, and groups phases stably.
 */
class BatchTest
{
    @Test
    void shouldHoldRequestCopiesInBatchOrder()
    {
        final Batch batch = new Batch(3, 8, 16);
        batch.reset(42);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[8]);
        for (int i = 0; i < 3; i++)
        {
            payload.putLong(0, 100 + i);
            assertEquals(i, batch.add(7, 1_000 + i, 5 + i, payload, 0, 8 - i));
        }
        payload.putLong(0, -1);
        assertTrue(batch.isFull());
        final Request request = new Request();
        for (int i = 0; i < 3; i++)
        {
            batch.wrap(request, i);
            assertEquals(i, request.index());
            assertEquals(7, request.clientId());
            assertEquals(1_000 + i, request.requestId());
            assertEquals(5 + i, request.type());
            assertEquals(8 - i, request.payloadLength());
            if (i == 0)
            {
                assertEquals(100, request.payload().getLong(0));
            }
        }
        assertEquals(42, batch.seq());
    }

    @Test
    void shouldRefuseRequestsBeyondItsBounds()
    {
        final Batch batch = new Batch(1, 4, 4);
        batch.reset(1);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[8]);
        assertThrows(IllegalStateException.class, () -> batch.add(1, 1, 1, payload, 0, 5));
        batch.add(1, 1, 1, payload, 0, 4);
        assertThrows(IllegalStateException.class, () -> batch.add(1, 2, 1, payload, 0, 1));
        assertThrows(IllegalStateException.class, () -> batch.replyLength(0, 5));
        assertThrows(IllegalArgumentException.class, () -> new Batch(0, 1, 1));
    }

    @Test
    void shouldGroupPhasesStablyAndDropEmptyPhases()
    {
        final Batch batch = new Batch(6, 0, 0);
        batch.reset(1);
        final UnsafeBuffer empty = new UnsafeBuffer(new byte[0]);
        final int[] phases = {4, 0, 4, 2, 0, 2};
        for (int i = 0; i < phases.length; i++)
        {
            batch.add(1, i, 0, empty, 0, 0);
            batch.phase(i, phases[i]);
        }
        batch.groupPhases();
        assertEquals(3, batch.phaseCount());
        final int[] expectedMembers = {1, 4, 3, 5, 0, 2};
        for (int position = 0; position < expectedMembers.length; position++)
        {
            assertEquals(expectedMembers[position], batch.member(position));
        }
        assertEquals(2, batch.phaseEnd(0));
        assertEquals(4, batch.phaseEnd(1));
        assertEquals(2, batch.phaseOf(0));
        KeyConflictMixerTest.assertGrouped(batch, "grouped");
    }
}
