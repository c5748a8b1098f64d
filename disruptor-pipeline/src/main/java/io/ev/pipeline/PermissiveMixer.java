/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

/**
 * Puts every request in one phase, whatever it conflicts with: for experiments (the
 * concurrency-bug experiment lets conflicting requests race on purpose).
 */
public final class PermissiveMixer implements Mixer
{
    public void mix(final Batch batch, final RequestHandler handler)
    {
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.phase(i, 0);
        }
        batch.groupPhases();
    }

    public String name()
    {
        return "permissive";
    }
}
