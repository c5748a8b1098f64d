/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
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
 * <p>
 * When the handler is a {@link TransactionRegistry} that {@link TransactionRegistry#deduplicatesRequests()
 * deduplicates requests}, the batch also goes through the {@link ClientTable}: admitted (retries and stale
 * request ids answered, client records claimed) after begin, remembered (client records written) after
 * failure isolation, all on the calling thread with {@code writer}. Since every path runs its batches
 * here, the live engine, both replicas, re-execution, recovery and the replay oracles apply the same rule.
 */
public final class BatchRunner
{
    private final StateStore store;
    private final PhaseExecutor executor;
    private final FailedRequestIsolation isolation;
    private final ClientTable clients;
    private int reexecutions;
    private int retried;
    private int stale;
    private CrashPoint crashPoint;

    /**
     * @param store            the store the batches run on.
     * @param executor         executes the phases.
     * @param writer           a writer of {@code store} for failure isolation and the client table, used on the
     *                         calling thread.
     * @param maxBatchRequests the largest batch.
     */
    public BatchRunner(
        final StateStore store, final PhaseExecutor executor, final StoreWriter writer, final int maxBatchRequests)
    {
        this.store = store;
        this.executor = executor;
        this.isolation = new FailedRequestIsolation(store, writer, maxBatchRequests);
        this.clients = new ClientTable(store, writer, maxBatchRequests);
    }

    /**
     * Begins store batch {@code batch.seq()}, executes, isolates failures and seals; the batch stays
     * open for the caller to commit (or roll back).
     *
     * @return the state root after the batch.
     * @throws IllegalStateException before anything happens if the handler deduplicates and the store's values
     *                               cannot hold its client records.
     */
    public long executeAndSeal(final Batch batch, final RequestHandler handler)
    {
        if (handler instanceof TransactionRegistry && ((TransactionRegistry)handler).deduplicatesRequests())
        {
            final TransactionRegistry registry = (TransactionRegistry)handler;
            ClientTable.checkFits(store.context(), registry);
            store.begin(batch.seq());
            clients.admit(batch, registry);
            executor.execute(batch, clients);
            CrashPoints.hit(crashPoint);
            reexecutions = isolation.isolate(batch, clients, registry);
            clients.remember(batch);
            retried = clients.retried();
            stale = clients.stale();
        }
        else
        {
            store.begin(batch.seq());
            executor.execute(batch, handler);
            CrashPoints.hit(crashPoint);
            reexecutions = isolation.isolate(batch, handler);
            retried = 0;
            stale = 0;
        }
        return store.seal(batch.seq());
    }

    /**
     * @param point the crash point reached after a batch's phases ran, before failure isolation, client
     *              records and the seal (a replica's mid-execution or mid-re-execution point), or null.
     */
    void crashPoint(final CrashPoint point)
    {
        this.crashPoint = point;
    }

    /**
     * @return how many times the last batch was rolled back and re-executed to isolate failures.
     */
    public int reexecutions()
    {
        return reexecutions;
    }

    /**
     * @return requests of the last batch answered as retries by the client table (0 without deduplication).
     */
    public int retried()
    {
        return retried;
    }

    /**
     * @return requests of the last batch answered {@link ReplyCodes#STALE_REQUEST_ID}.
     */
    public int stale()
    {
        return stale;
    }
}
