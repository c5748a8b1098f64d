/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

/**
 * Executes a mixed batch inside its store batch. The caller (the batch coordinator) has called
 * {@code store.begin(batch.seq())}; {@link #execute} returns when every request has run and
 * written its reply ({@link Batch#replyLength(int, int)}), and everything the requests wrote
 * (store, replies) happens-before that return, so the caller may then seal the store batch.
 * <p>
 * One coordinator thread calls {@link #execute} at a time. A handler that throws fails the call
 * with an {@link IllegalStateException} naming the request index and batch seq, with the
 * handler's exception as cause; the store batch then holds partial writes and must be rolled
 * back. The executor stays usable.
 */
public interface PhaseExecutor extends AutoCloseable
{
    /**
     * Executes every request of {@code batch} inside store batch {@code batch.seq()}.
     *
     * @param batch   the batch, filled and (for phase-aware executors) grouped into phases.
     * @param handler executes each request against the store and writes its reply.
     * @throws IllegalStateException if a request failed (cause attached) or the executor is closed.
     */
    void execute(Batch batch, RequestHandler handler);

    /**
     * Stops any threads of the executor; idempotent.
     */
    void close();
}
