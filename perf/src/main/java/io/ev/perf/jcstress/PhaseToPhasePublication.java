/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.SequentialExecutor;
import io.ev.pipeline.SteppedExecutor;
import io.ev.store.StateStore;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static io.ev.perf.jcstress.StressFixtures.AFTER_TWO_PHASES;
import static io.ev.perf.jcstress.StressFixtures.BEFORE;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.HANDLER;
import static io.ev.perf.jcstress.StressFixtures.K1;
import static io.ev.perf.jcstress.StressFixtures.K3;
import static io.ev.perf.jcstress.StressFixtures.NEW1;
import static io.ev.perf.jcstress.StressFixtures.NEW3;
import static io.ev.perf.jcstress.StressFixtures.NEWER1;
import static io.ev.perf.jcstress.StressFixtures.NEWER3;
import static io.ev.perf.jcstress.StressFixtures.OLD1;
import static io.ev.perf.jcstress.StressFixtures.OLD3;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static io.ev.perf.jcstress.StressFixtures.STALE;
import static io.ev.perf.jcstress.StressFixtures.TWO_PHASES;
import static io.ev.perf.jcstress.StressFixtures.classify;
import static io.ev.perf.jcstress.StressFixtures.valueOf;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Worker to worker across the phase barrier. Batch 1 has two phases (the mixer orders the conflicting requests):
 * in phase 0 worker 0 updates {@code K1} and worker 1 updates {@code K3}; in phase 1 worker 0 updates {@code K3} and
 * worker 1 updates {@code K1}, each replying the value it read first. So each worker reads in phase 1 what the other
 * wrote in phase 0, ordered only by the barrier: the writer's release store of its done sequence, the coordinator's
 * acquire of it, the coordinator's release store of the next ticket, the reader's acquire of that. One actor is
 * worker 1 (it polls {@code doWork} until it has run both phases); the other is the coordinator and worker 0 (as
 * {@code ParallelExecutor.execute}: publish, wait for every done sequence, check failures, next phase). Result, on
 * the coordinator after the batch: the value worker 1 read for K1 in phase 1 and the one worker 0 read for K3
 * ({@code 1} the other worker's phase-0 write, {@code 2} the value before the batch: that write was not visible,
 * {@code 3} neither), the sealed root and the final values of K1 and K3 ({@code 1} as the sequential execution).
 */
@JCStressTest
@Description("Worker -> worker across ParallelExecutor's phase barrier: phase k+1 sees every write of phase k")
@Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE, desc = "each worker saw the other's write of the previous phase")
@Outcome(id = "2, .*", expect = FORBIDDEN, desc = "worker 1 read K1 as before the batch: worker 0's phase-0 write lost")
@Outcome(id = "[13], 2, .*", expect = FORBIDDEN,
    desc = "worker 0 read K3 as before the batch: worker 1's phase-0 write lost")
@Outcome(expect = FORBIDDEN, desc = "anything else: a wrong root or final value, a failure")
@State
public class PhaseToPhasePublication
{
    private final StateStore store;
    private final SequentialExecutor sequential;
    private final SteppedExecutor executor;
    private final Batch batch = StressFixtures.batch(TWO_PHASES);
    private final long firstTicket;
    /** Set by an actor that failed, so that the other stops waiting for it (test harness, not engine code). */
    private volatile boolean abandoned;

    public PhaseToPhasePublication()
    {
        this(false);
    }

    /**
     * @param claimPositions the workers claim requests from a shared counter ({@link ClaimedPhaseToPhasePublication}).
     */
    protected PhaseToPhasePublication(final boolean claimPositions)
    {
        final StateStore[] opened = new StateStore[1];
        sequential = StressFixtures.openCommitted(2, opened);
        store = opened[0];
        executor = new SteppedExecutor(store, 2, claimPositions);
        if (2 != batch.phaseCount() || 0 != batch.member(0) || 1 != batch.member(1) ||
            2 != batch.member(2) || 3 != batch.member(3) || 2 != batch.phaseStart(1))
        {
            throw new IllegalStateException("the mixer must give phases [0, 1], [2, 3]");
        }
        store.begin(1);
        firstTicket = executor.publishPhase(batch, HANDLER, 0);
    }

    @Actor
    public void worker1()
    {
        try
        {
            for (int phases = 0; phases < 2 && !abandoned; )
            {
                if (0 == executor.doWork(1))
                {
                    Thread.onSpinWait();
                }
                else
                {
                    phases++;
                }
            }
        }
        catch (final RuntimeException ex)
        {
            abandoned = true;
            throw ex;
        }
    }

    @Actor
    public void coordinatorAndWorker0(final IIII_Result r)
    {
        try
        {
            executor.doWork(0);
            awaitWorker1(firstTicket);
            executor.checkFailures(batch, 0);
            final long secondTicket = executor.publishPhase(batch, HANDLER, 1);
            executor.doWork(0);
            awaitWorker1(secondTicket);
            executor.checkFailures(batch, 1);
            r.r1 = classify(replyBefore(3), NEW1, OLD1);
            r.r2 = classify(replyBefore(2), NEW3, OLD3);
            r.r3 = classify(store.seal(1), AFTER_TWO_PHASES.root, BEFORE.root);
            r.r4 = NEWER1 == valueOf(sequential.writer(), K1) && NEWER3 == valueOf(sequential.writer(), K3) ?
                CURRENT : STALE;
        }
        catch (final RuntimeException ex)
        {
            abandoned = true;
            r.r1 = OTHER;
        }
    }

    private void awaitWorker1(final long ticket)
    {
        while (!executor.workerDone(1, ticket))
        {
            if (abandoned)
            {
                throw new IllegalStateException("worker 1 failed");
            }
            Thread.onSpinWait();
        }
    }

    private long replyBefore(final int request)
    {
        return batch.replies().getLong(batch.replyOffset(request));
    }

    @Arbiter
    public void close()
    {
        executor.close();
        store.close();
        sequential.close();
    }
}
