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
import org.openjdk.jcstress.infra.results.IIIII_Result;

import static io.ev.perf.jcstress.StressFixtures.AFTER_UPDATE_K1;
import static io.ev.perf.jcstress.StressFixtures.BEFORE;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.HANDLER;
import static io.ev.perf.jcstress.StressFixtures.K1;
import static io.ev.perf.jcstress.StressFixtures.NEW1;
import static io.ev.perf.jcstress.StressFixtures.OLD1;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static io.ev.perf.jcstress.StressFixtures.REPLY_BYTES;
import static io.ev.perf.jcstress.StressFixtures.STALE;
import static io.ev.perf.jcstress.StressFixtures.UPDATE_K1;
import static io.ev.perf.jcstress.StressFixtures.classify;
import static io.ev.perf.jcstress.StressFixtures.digests;
import static io.ev.perf.jcstress.StressFixtures.valueOf;
import static io.ev.perf.jcstress.StressFixtures.versions;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Worker to coordinator (writer to sealer) at the end of a phase. The worker executes a request that updates
 * {@code K1} through its {@code StoreWriter}: the record in Chronicle Map, its undo entry (off-heap), the page digest
 * (atomic add, off-heap), the page version (release store, off-heap), the dirty-page list (plain int array after an
 * atomic index), then the reply slot (off-heap) and its length; then it release-stores its done sequence. The
 * coordinator acquires the done sequence ({@code ParallelExecutor.workerDone}, as {@code execute} waits) and, once the
 * phase is done, reads the reply, the page digests and versions, seals (Merkle recompute of the dirty pages) and reads
 * {@code K1}. Result: reply, digests, versions, sealed root, value of K1 ({@code 0} phase not done yet, {@code 1} as
 * after the write, {@code 2} as before it, {@code 3} neither).
 */
@JCStressTest
@Description("Worker -> coordinator through ParallelExecutor's done sequence: reply slot, page digest/version, root")
@Outcome(id = "0, 0, 0, 0, 0", expect = ACCEPTABLE, desc = "the coordinator polled before the worker finished")
@Outcome(id = "1, 1, 1, 1, 1", expect = ACCEPTABLE, desc = "the coordinator saw every write of the finished phase")
@Outcome(id = "1, 1, 2, .*", expect = FORBIDDEN, desc = "phase done, but a stale page digest")
@Outcome(id = "1, 1, 1, 2, .*", expect = FORBIDDEN, desc = "phase done, but a stale page version")
@Outcome(id = "1, 1, 1, 1, 2", expect = FORBIDDEN, desc = "phase done, but the seal missed the dirty page (stale root)")
@Outcome(id = "2, .*", expect = FORBIDDEN, desc = "phase done, but a stale (empty) reply slot")
@Outcome(expect = FORBIDDEN, desc = "anything else: a torn value, a failure")
@State
public class PhaseDonePublication
{
    private final StateStore store;
    private final SequentialExecutor sequential;
    private final SteppedExecutor executor;
    private final Batch batch = StressFixtures.batch(UPDATE_K1);
    private final long ticket;

    public PhaseDonePublication()
    {
        final StateStore[] opened = new StateStore[1];
        sequential = StressFixtures.openCommitted(1, opened);
        store = opened[0];
        executor = new SteppedExecutor(store, 1);
        store.begin(1);
        ticket = executor.publishPhase(batch, HANDLER, 0);
    }

    @Actor
    public void worker()
    {
        executor.doWork(0);
    }

    @Actor
    public void coordinator(final IIIII_Result r)
    {
        if (!executor.workerDone(0, ticket))
        {
            return;
        }
        try
        {
            executor.checkFailures(batch, 0);
            final int reply = batch.replyOffset(0);
            r.r1 = 0 == batch.replyLength(0) ? STALE : REPLY_BYTES == batch.replyLength(0) &&
                OLD1 == batch.replies().getLong(reply) && NEW1 == batch.replies().getLong(reply + Long.BYTES) ?
                CURRENT : OTHER;
            r.r2 = digests(store, AFTER_UPDATE_K1, BEFORE);
            r.r3 = versions(store, AFTER_UPDATE_K1, BEFORE);
            r.r4 = classify(store.seal(1), AFTER_UPDATE_K1.root, BEFORE.root);
            r.r5 = classify(valueOf(sequential.writer(), K1), NEW1, OLD1);
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
