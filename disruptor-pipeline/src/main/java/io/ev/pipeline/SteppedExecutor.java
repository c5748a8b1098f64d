/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import io.ev.store.StateStore;

/**
 * A {@link ParallelExecutor} without threads, stepped by the caller: a test hook, not an API for the engine. The
 * jcstress tests of the phase hand-off ({@code io.ev.perf.jcstress}, {@code bin/ev jcstress}) run the real
 * coordinator code ({@link #publishPhase}, {@link #workerDone}, {@link #checkFailures}: what
 * {@link ParallelExecutor#execute} does per phase) and the real worker code ({@link #doWork}: the {@code Agent} an
 * executor thread runs) on jcstress's actor threads, so that they race exactly the plain and release/acquire
 * accesses of production. Those steps are package-private in {@link ParallelExecutor}; this public class in the same
 * package exposes them without widening {@link ParallelExecutor}'s API or putting classes of this package in
 * another module.
 */
public final class SteppedExecutor implements AutoCloseable
{
    private final ParallelExecutor executor;

    /**
     * @param store   the store; {@code workers} writers are taken from it.
     * @param workers workers, each stepped with {@link #doWork(int)} on a thread of its own.
     */
    public SteppedExecutor(final StateStore store, final int workers)
    {
        this(store, workers, false);
    }

    /**
     * @param store          the store; {@code workers} writers are taken from it.
     * @param workers        workers, each stepped with {@link #doWork(int)} on a thread of its own.
     * @param claimPositions workers claim schedule slots from a shared counter instead of fixed shares.
     */
    public SteppedExecutor(final StateStore store, final int workers, final boolean claimPositions)
    {
        executor = new ParallelExecutor(store, new ParallelExecutor.Context().workers(workers)
            .claimPositions(claimPositions), false);
    }

    /**
     * Coordinator: {@link ParallelExecutor#execute}'s publication of one phase (plain stores of the batch, handler
     * and phase, then the release store of a new ticket).
     *
     * @return the phase's ticket.
     */
    public long publishPhase(final Batch batch, final RequestHandler handler, final int phase)
    {
        return executor.publishPhase(batch, handler, phase);
    }

    /**
     * Worker {@code worker}: one {@code doWork} of its agent (acquire the ticket; if new, execute its share of the
     * phase and release-store the ticket into its done sequence).
     *
     * @return 0 if it saw no new phase, else 1 + the requests it executed.
     */
    public int doWork(final int worker)
    {
        return executor.worker(worker).doWork();
    }

    /**
     * Coordinator: whether worker {@code worker} finished phase {@code ticket} (acquire load of its done sequence).
     */
    public boolean workerDone(final int worker, final long ticket)
    {
        return executor.workerDone(worker, ticket);
    }

    /**
     * Coordinator, after every worker finished the phase: throws {@link IllegalStateException} naming the lowest
     * failed request, as {@link ParallelExecutor#execute} does.
     */
    public void checkFailures(final Batch batch, final int phase)
    {
        executor.checkFailures(batch, phase);
    }

    public void close()
    {
        executor.close();
    }
}
