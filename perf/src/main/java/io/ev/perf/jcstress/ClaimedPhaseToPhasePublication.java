/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * {@link PhaseToPhasePublication} with the claimed split ({@code ParallelExecutor.Context.claimPositions}): the two
 * workers claim the requests of each phase from a shared counter, so which worker runs which request depends on
 * the race, and the coordinator resets the counter before it publishes phase 1. Every request of phase 1 must still
 * read the writes of phase 0, and none may be skipped or run twice: a worker that saw phase 0's counter in phase 1
 * would skip phase 1 (its replies, root and final values then differ). The actors are the parent's (jcstress looks
 * for them on this class only).
 */
@JCStressTest
@Description("Claimed split: phase k+1 sees every write of phase k, each request runs once after the counter's reset")
@Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE, desc = "every phase-1 request saw the phase-0 writes, each ran once")
@Outcome(expect = FORBIDDEN, desc = "a phase-0 write lost, a request skipped or run twice, a failure")
@State
public class ClaimedPhaseToPhasePublication extends PhaseToPhasePublication
{
    public ClaimedPhaseToPhasePublication()
    {
        super(true);
    }

    @Actor
    @Override
    public void worker1()
    {
        super.worker1();
    }

    @Actor
    @Override
    public void coordinatorAndWorker0(final IIII_Result r)
    {
        super.coordinatorAndWorker0(r);
    }
}
