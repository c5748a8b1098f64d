/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SteppedExecutor}, the hook of the jcstress tests: no worker thread runs (nothing happens between the
 * steps), and each step is the executor's own (round-robin share, done tickets, failure report), driven here on one
 * thread.
 */
class SteppedExecutorTest
{
    /** Replies the request's id as one long; fails the request whose type is {@link #FAIL}. */
    private static final int FAIL = 9;
    private static final RequestHandler ECHO = new RequestHandler()
    {
        public void declareKeys(final Request request, final KeySink keys)
        {
        }

        public int execute(
            final Request request,
            final long seq,
            final StoreWriter writer,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            if (FAIL == request.type())
            {
                throw new IllegalArgumentException("type " + FAIL);
            }
            reply.putLong(replyOffset, request.requestId());
            return Long.BYTES;
        }
    };

    private static StateStore openStore()
    {
        return StateStore.open(new StateStore.Context()
            .maxEntries(16)
            .maxValueBytes(8)
            .pageCount(4)
            .writers(2)
            .maxOpenBatches(2)
            .undoBytesPerBatch(4096));
    }

    private static Batch batch(final int... types)
    {
        final Batch batch = new Batch(types.length, 0, Long.BYTES);
        batch.reset(1);
        for (int i = 0; i < types.length; i++)
        {
            batch.add(7, 100 + i, types[i], new UnsafeBuffer(new byte[0]), 0, 0);
            batch.phase(i, 0);
        }
        batch.groupPhases();
        return batch;
    }

    @Test
    void shouldRunEachWorkersShareOnlyWhenStepped()
    {
        try (StateStore store = openStore(); SteppedExecutor executor = new SteppedExecutor(store, 2))
        {
            final Batch batch = batch(1, 1, 1);
            store.begin(1);

            final long ticket = executor.publishPhase(batch, ECHO, 0);
            assertFalse(executor.workerDone(0, ticket));
            assertFalse(executor.workerDone(1, ticket));

            assertEquals(1 + 2, executor.doWork(0)); // requests 0 and 2
            assertTrue(executor.workerDone(0, ticket));
            assertFalse(executor.workerDone(1, ticket));
            assertEquals(0, batch.replyLength(1));

            assertEquals(1 + 1, executor.doWork(1)); // request 1
            assertEquals(0, executor.doWork(1)); // no new phase
            assertTrue(executor.workerDone(1, ticket));
            executor.checkFailures(batch, 0);
            for (int i = 0; i < 3; i++)
            {
                assertEquals(100 + i, batch.replies().getLong(batch.replyOffset(i)));
            }
        }
    }

    @Test
    void shouldLetALoneWorkerClaimTheWholePhaseInBatchOrder()
    {
        try (StateStore store = openStore(); SteppedExecutor executor = new SteppedExecutor(store, 2, true))
        {
            final Batch batch = batch(1, 1, 1);
            store.begin(1);
            final long ticket = executor.publishPhase(batch, ECHO, 0);

            assertEquals(1 + 3, executor.doWork(0)); // worker 1 has not started: worker 0 claims all three
            assertTrue(executor.workerDone(0, ticket));
            assertEquals(1, executor.doWork(1)); // a new phase, nothing left to claim
            assertTrue(executor.workerDone(1, ticket));
            executor.checkFailures(batch, 0);
            for (int i = 0; i < 3; i++)
            {
                assertEquals(100 + i, batch.replies().getLong(batch.replyOffset(i)));
            }

            final Batch next = batch(1, 1);
            final long second = executor.publishPhase(next, ECHO, 0);
            assertEquals(1 + 2, executor.doWork(1)); // the counter starts again at slot 0 for each phase
            assertEquals(1, executor.doWork(0));
            assertTrue(executor.workerDone(0, second) && executor.workerDone(1, second));
        }
    }

    @Test
    void shouldReportTheLowestFailedRequestAsExecuteDoes()
    {
        try (StateStore store = openStore(); SteppedExecutor executor = new SteppedExecutor(store, 2))
        {
            final Batch batch = batch(1, FAIL, 1, FAIL);
            store.begin(1);
            final long ticket = executor.publishPhase(batch, ECHO, 0);
            executor.doWork(0);
            executor.doWork(1);

            assertTrue(executor.workerDone(0, ticket) && executor.workerDone(1, ticket));
            final IllegalStateException failure =
                assertThrows(IllegalStateException.class, () -> executor.checkFailures(batch, 0));
            assertTrue(failure.getMessage().startsWith("request 1 of batch 1 (phase 0) failed on ev-worker-1"),
                failure.getMessage());
        }
    }
}
