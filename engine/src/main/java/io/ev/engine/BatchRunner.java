/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.pipeline.Batch;
import io.ev.pipeline.PhaseExecutor;
import io.ev.pipeline.RequestHandler;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;

/**
 * Runs one batch on a store: begin, execute its phases with an executor (parallel or
 * sequential), isolate failed requests ({@link FailedRequestIsolation}), seal. The one definition
 * the live batcher, replication ({@link EngineReplica}) and replay ({@link SequentialReplay}) share.
 * The batch's phases must be grouped ({@link Batch#groupPhases()}, which the mixers do).
 */
public final class BatchRunner
{
    private final StateStore store;
    private final PhaseExecutor executor;
    private final FailedRequestIsolation isolation;
    private int reexecutions;

    /**
     * @param store            the store the batches run on.
     * @param executor         executes the phases.
     * @param writer           a writer of {@code store} for failure isolation, used on the calling thread.
     * @param maxBatchRequests the largest batch.
     */
    public BatchRunner(
        final StateStore store, final PhaseExecutor executor, final StoreWriter writer, final int maxBatchRequests)
    {
        this.store = store;
        this.executor = executor;
        this.isolation = new FailedRequestIsolation(store, writer, maxBatchRequests);
    }

    /**
     * Begins store batch {@code batch.seq()}, executes, isolates failures and seals; the batch stays
     * open for the caller to commit (or roll back).
     *
     * @return the state root after the batch.
     */
    public long executeAndSeal(final Batch batch, final RequestHandler handler)
    {
        store.begin(batch.seq());
        executor.execute(batch, handler);
        reexecutions = isolation.isolate(batch, handler);
        return store.seal(batch.seq());
    }

    /**
     * @return how many times the last batch was rolled back and re-executed to isolate failures.
     */
    public int reexecutions()
    {
        return reexecutions;
    }
}
