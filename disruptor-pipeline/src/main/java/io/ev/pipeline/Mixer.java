/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

/**
 * Groups a batch into phases: requests in one phase run in parallel, phases run one after
 * another. A mixer need not be perfect (verification catches its mistakes), but the default one
 * never puts two conflicting requests in one phase.
 */
public interface Mixer
{
    /**
     * Assigns every request of {@code batch} a phase and calls {@link Batch#groupPhases()}.
     *
     * @param batch   the batch, filled in batch order.
     * @param handler declares each request's keys.
     */
    void mix(Batch batch, RequestHandler handler);

    /**
     * @return a short name for status lines and counters ("keys", "permissive").
     */
    String name();
}
