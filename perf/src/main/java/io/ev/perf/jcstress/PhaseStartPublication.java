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
import org.openjdk.jcstress.infra.results.III_Result;

import static io.ev.perf.jcstress.StressFixtures.ABSENT;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.HANDLER;
import static io.ev.perf.jcstress.StressFixtures.NEW1;
import static io.ev.perf.jcstress.StressFixtures.NOT_SEEN;
import static io.ev.perf.jcstress.StressFixtures.OLD1;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static io.ev.perf.jcstress.StressFixtures.REPLY_BYTES;
import static io.ev.perf.jcstress.StressFixtures.REQUEST_BYTES;
import static io.ev.perf.jcstress.StressFixtures.UPDATE_K1;
import static io.ev.perf.jcstress.StressFixtures.classify;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Coordinator (the batcher) to worker at the start of a phase. The batcher fills the batch arena (off-heap request
 * slots), mixes it into phases, begins store batch 1 (the store's newest open batch and its undo slots, plain
 * fields) and publishes the phase ({@code ParallelExecutor.publishPhase}: plain stores of batch, handler and phase,
 * then a release store of the ticket). The worker ({@code ParallelExecutor.Worker.doWork}) acquires the ticket and
 * executes its share: the request puts {@code K1 = NEW1} and replies the value before and after. Result, on the
 * worker: what doWork did ({@code 0} saw no phase, {@code 1} executed the one request, {@code 3} failed: the
 * handler refuses a request slot that is not 16 bytes, such as a stale zeroed one), the value it wrote as read from
 * the request, the value before as read from the store.
 */
@JCStressTest
@Description("Batcher -> worker through ParallelExecutor's phase ticket: a worker that sees the phase sees the batch")
@Outcome(id = "0, 0, 0", expect = ACCEPTABLE, desc = "the worker polled before the phase was published")
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "the worker executed the request as the batcher wrote it")
@Outcome(id = "3, .*", expect = FORBIDDEN, desc = "the worker saw the phase but failed: no batch or handler, " +
    "a stale (zeroed) request slot, or store batch 1 not begun")
@Outcome(expect = FORBIDDEN, desc = "anything else")
@State
public class PhaseStartPublication
{
    private final StateStore store;
    private final SequentialExecutor sequential;
    private final SteppedExecutor executor;
    private final Batch batch = new Batch(4, REQUEST_BYTES, REPLY_BYTES);

    public PhaseStartPublication()
    {
        final StateStore[] opened = new StateStore[1];
        sequential = StressFixtures.openCommitted(1, opened);
        store = opened[0];
        executor = new SteppedExecutor(store, 1);
    }

    @Actor
    public void batcher()
    {
        StressFixtures.fill(batch, UPDATE_K1);
        store.begin(1);
        executor.publishPhase(batch, HANDLER, 0);
    }

    @Actor
    public void worker(final III_Result r)
    {
        try
        {
            final int work = executor.doWork(0);
            if (0 == work)
            {
                r.r1 = NOT_SEEN;
                return;
            }
            r.r1 = 2 == work && REPLY_BYTES == batch.replyLength(0) ? CURRENT : OTHER;
            final int reply = batch.replyOffset(0);
            r.r2 = classify(batch.replies().getLong(reply + Long.BYTES), NEW1, 0);
            r.r3 = classify(batch.replies().getLong(reply), OLD1, ABSENT);
        }
        catch (final RuntimeException ex)
        {
            r.r1 = OTHER;
        }
    }

    @Arbiter
    public void close()
    {
        executor.close();
        store.close();
        sequential.close();
    }
}
