/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.journal.CrashPoint;
import io.ev.pipeline.Batch;
import io.ev.pipeline.RequestHandler;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;

/**
 * Executes whole batches sequentially in batch order and commits them, isolating failed requests
 * ({@link FailedRequestIsolation}) and, when the registry deduplicates, answering retries and stale
 * request ids from the {@link ClientTable}, exactly as the engine does (through {@link BatchRunner}):
 * the one definition of "replay" that journal recovery, the replay oracle and the tests' oracles share.
 */
public final class SequentialReplay
{
    private final StateStore store;
    private final BatchRunner runner;

    /**
     * @param store            the store to execute on.
     * @param writer           a writer of {@code store}, used only on the calling thread.
     * @param maxBatchRequests the largest batch.
     */
    public SequentialReplay(final StateStore store, final StoreWriter writer, final int maxBatchRequests)
    {
        this.store = store;
        this.runner = new BatchRunner(store, new SequentialExecutor(writer), writer, maxBatchRequests);
    }

    /**
     * @param point the crash point in the middle of each batch (see {@link BatchRunner}), or null.
     */
    void crashPoint(final CrashPoint point)
    {
        runner.crashPoint(point);
    }

    /**
     * Begins store batch {@code batch.seq()}, executes every request in batch order, seals and
     * commits.
     *
     * @return the state root after the batch.
     */
    public long executeAndCommit(final Batch batch, final RequestHandler handler)
    {
        final long root = executeAndSeal(batch, handler);
        store.commit(batch.seq());
        return root;
    }

    /**
     * As {@link #executeAndCommit} but leaves the batch open (sealed): replication commits it once
     * the replicas agree.
     *
     * @return the state root after the batch.
     */
    public long executeAndSeal(final Batch batch, final RequestHandler handler)
    {
        batch.groupPhases();
        return runner.executeAndSeal(batch, handler);
    }
}
