/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.SequentialExecutor;
import io.ev.pipeline.SteppedExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.collections.LongHashSet;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIII_Result;

import static io.ev.perf.jcstress.StressFixtures.ABSENT;
import static io.ev.perf.jcstress.StressFixtures.AFTER_UPDATE_INSERT_DELETE;
import static io.ev.perf.jcstress.StressFixtures.BEFORE;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.HANDLER;
import static io.ev.perf.jcstress.StressFixtures.K1;
import static io.ev.perf.jcstress.StressFixtures.K2;
import static io.ev.perf.jcstress.StressFixtures.K3;
import static io.ev.perf.jcstress.StressFixtures.K4;
import static io.ev.perf.jcstress.StressFixtures.NEW1;
import static io.ev.perf.jcstress.StressFixtures.NEW4;
import static io.ev.perf.jcstress.StressFixtures.OLD1;
import static io.ev.perf.jcstress.StressFixtures.OLD2;
import static io.ev.perf.jcstress.StressFixtures.OLD3;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static io.ev.perf.jcstress.StressFixtures.STALE;
import static io.ev.perf.jcstress.StressFixtures.UPDATE_INSERT_DELETE;
import static io.ev.perf.jcstress.StressFixtures.classify;
import static io.ev.perf.jcstress.StressFixtures.digests;
import static io.ev.perf.jcstress.StressFixtures.valueOf;
import static io.ev.perf.jcstress.StressFixtures.versions;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Writer to rollback through the undo log. The worker executes batch 1 (update {@code K1}, insert {@code K4}, delete
 * {@code K3}): each first write of a key appends its pre-image and the page's previous version to the worker's
 * off-heap undo log (plain stores, plain slot position). Once the coordinator acquires the worker's done sequence it
 * lists the batch's written keys from the undo logs ({@code forEachWrittenKey}, the repair path), seals, and rolls
 * batch 1 back ({@code rollback} walks the undo entries newest first). Result: written keys, then after the
 * rollback the values of K1..K4, page digests, page versions, root and record count ({@code 0} phase not done yet,
 * {@code 1} as before batch 1, i.e. correctly restored, {@code 2} as after batch 1, i.e. the undo was lost,
 * {@code 3} neither). The written keys are {@code 1} when exactly K1, K3, K4, {@code 2} when none.
 */
@JCStressTest
@Description("Worker -> rollback through the off-heap undo log: a finished phase rolls back to the state before")
@Outcome(id = "0, 0, 0, 0, 0, 0", expect = ACCEPTABLE, desc = "the coordinator polled before the worker finished")
@Outcome(id = "1, 1, 1, 1, 1, 1", expect = ACCEPTABLE, desc = "rolled back to exactly the state before batch 1")
@Outcome(id = "2, .*", expect = FORBIDDEN, desc = "phase done, but the undo log looked empty (stale slot position)")
@Outcome(id = "1, [23], .*", expect = FORBIDDEN, desc = "phase done, but the rollback restored wrong values")
@Outcome(expect = FORBIDDEN, desc = "anything else: digests, versions, root or record count not restored, a failure")
@State
public class UndoLogRollback
{
    private final StateStore store;
    private final SequentialExecutor sequential;
    private final SteppedExecutor executor;
    private final Batch batch = StressFixtures.batch(UPDATE_INSERT_DELETE);
    private final LongHashSet written = new LongHashSet();
    private final long ticket;

    public UndoLogRollback()
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
    public void coordinator(final IIIIII_Result r)
    {
        if (!executor.workerDone(0, ticket))
        {
            return;
        }
        try
        {
            executor.checkFailures(batch, 0);
            store.forEachWrittenKey(1, written::add);
            r.r1 = written.isEmpty() ? STALE :
                3 == written.size() && written.contains(K1) && written.contains(K3) && written.contains(K4) ?
                CURRENT : OTHER;
            store.seal(1);
            store.rollback(1);
            r.r2 = values(sequential.writer());
            r.r3 = digests(store, BEFORE, AFTER_UPDATE_INSERT_DELETE);
            r.r4 = versions(store, BEFORE, AFTER_UPDATE_INSERT_DELETE);
            r.r5 = classify(store.root(), BEFORE.root, AFTER_UPDATE_INSERT_DELETE.root);
            r.r6 = classify(store.size(), 3, 4);
        }
        catch (final RuntimeException ex)
        {
            r.r1 = OTHER;
        }
    }

    private static int values(final StoreWriter reader)
    {
        final long v1 = valueOf(reader, K1);
        final long v3 = valueOf(reader, K3);
        final long v4 = valueOf(reader, K4);
        if (OLD2 != valueOf(reader, K2))
        {
            return OTHER;
        }
        if (OLD1 == v1 && OLD3 == v3 && ABSENT == v4)
        {
            return CURRENT;
        }
        return NEW1 == v1 && ABSENT == v3 && NEW4 == v4 ? STALE : OTHER;
    }

    @Arbiter
    public void close()
    {
        executor.close();
        store.close();
        sequential.close();
    }
}
