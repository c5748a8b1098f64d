/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.store.StateStore;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.agrona.concurrent.UnsafeBuffer;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Parallel execution with the key mixer is equivalent to sequential execution in batch order:
 * random SmallBank runs on 1..4 workers give, batch by batch, the same root and the same reply
 * for every request as a sequential replay on a fresh store. jqwik prints the seed.
 */
class EngineEquivalenceTest
{
    private static final int CUSTOMERS = 200;
    private static final int CLIENT = 0;

    @Property(tries = 12)
    void shouldMatchSequentialExecutionForAnyWorkerCount(
        @ForAll final long seed,
        @ForAll @IntRange(min = 1, max = 4) final int workers,
        @ForAll @IntRange(min = 1, max = 256) final int maxBatchRequests,
        @ForAll final boolean contended)
    {
        final BatchRecorder recorder = new BatchRecorder();
        final AtomicLong replies = new AtomicLong();
        final int requests = 3_000;
        final Engine.Context ctx = new Engine.Context()
            .store(storeContext())
            .registry(SmallBank.registerAll(new TransactionRegistry(), false))
            .workers(workers)
            .mixer(new KeyConflictMixer(maxBatchRequests))
            .maxBatchRequests(maxBatchRequests)
            .initializer((store, writer) -> SmallBankLoader.load(store, writer, CUSTOMERS, seed))
            .commitListener(recorder);
        try (Engine engine = Engine.launch(ctx))
        {
            engine.registerClient(CLIENT, (clientId, requestId, type, batchSeq, reply, offset, length) ->
                replies.incrementAndGet());
            final SmallBankWorkload workload = contended ?
                SmallBankWorkload.contended(CUSTOMERS, seed, false) : SmallBankWorkload.uniform(CUSTOMERS, seed, false);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
            for (int i = 0; i < requests; i++)
            {
                final int length = workload.next(payload, 0);
                assertEquals(Engine.SUBMITTED, engine.submit(CLIENT, i, workload.typeId(), payload, 0, length));
            }
            await().atMost(60, TimeUnit.SECONDS).until(() -> replies.get() == requests);
        }
        try (StateStore fresh = StateStore.open(storeContext().writers(3)))
        {
            SmallBankLoader.load(fresh, fresh.newWriter(), CUSTOMERS, seed);
            final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
            assertNull(recorder.replay(fresh, registry, maxBatchRequests),
                "seed " + seed + " workers " + workers + " batch " + maxBatchRequests);
            assertEquals(requests, recorder.requests());
        }
    }

    private static StateStore.Context storeContext()
    {
        return new StateStore.Context()
            .maxEntries(CUSTOMERS * SmallBankLoader.ROWS_PER_CUSTOMER + 16)
            .maxValueBytes(64)
            .averageValueBytes(8)
            .pageCount(64)
            .undoBytesPerBatch(1 << 20);
    }
}
