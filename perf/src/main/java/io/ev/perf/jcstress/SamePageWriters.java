/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.SequentialExecutor;
import io.ev.pipeline.SteppedExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIIII_Result;

import static io.ev.perf.jcstress.StressFixtures.AFTER_UPDATE_K1_K2;
import static io.ev.perf.jcstress.StressFixtures.BEFORE;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.HANDLER;
import static io.ev.perf.jcstress.StressFixtures.K1;
import static io.ev.perf.jcstress.StressFixtures.K2;
import static io.ev.perf.jcstress.StressFixtures.NEW1;
import static io.ev.perf.jcstress.StressFixtures.NEW2;
import static io.ev.perf.jcstress.StressFixtures.OLD1;
import static io.ev.perf.jcstress.StressFixtures.OLD2;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static io.ev.perf.jcstress.StressFixtures.STALE;
import static io.ev.perf.jcstress.StressFixtures.UPDATE_K1_K2;
import static io.ev.perf.jcstress.StressFixtures.classify;
import static io.ev.perf.jcstress.StressFixtures.digests;
import static io.ev.perf.jcstress.StressFixtures.valueOf;
import static io.ev.perf.jcstress.StressFixtures.versions;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two workers writing one page in the same phase. Worker 0 updates {@code K1}, worker 1 updates {@code K2}, both in
 * page 0: they race on that page's off-heap metadata (digest: atomic add; version: volatile read, release store;
 * dirty epoch: CAS, then one slot of the dirty-page list) and each reads the page version for its undo entry while
 * the other may already have bumped it. The arbiter is the coordinator after the phase barrier: it seals and checks
 * the digests, versions and root, then rolls batch 1 back and checks that digests, versions, root and values are
 * those before it. Result: phase done, then after the seal: digests, versions, root ({@code 1} as the sequential
 * execution, {@code 2} as before batch 1, {@code 3} neither), then after the rollback: digests, versions, root, values
 * ({@code 1} as before batch 1, {@code 2} as after it, {@code 3} neither).
 */
@JCStressTest
@Description("Two workers -> one page's digest, version and dirty list: seal and rollback are exact whatever the race")
@Outcome(id = "1, 1, 1, 1, 1, 1, 1, 1", expect = ACCEPTABLE,
    desc = "the seal saw both writes and the rollback restored the page exactly")
@Outcome(id = "1, 1, 1, 1, 1, [23], .*", expect = FORBIDDEN,
    desc = "rollback left the page version of batch 1 (an undo entry recorded the other writer's version)")
@Outcome(id = "1, [23], .*", expect = FORBIDDEN, desc = "a lost digest update")
@Outcome(id = "1, 1, 1, [23], .*", expect = FORBIDDEN, desc = "the seal missed the dirty page")
@Outcome(expect = FORBIDDEN, desc = "anything else")
@State
public class SamePageWriters
{
    private final StateStore store;
    private final SequentialExecutor sequential;
    private final SteppedExecutor executor;
    private final Batch batch = StressFixtures.batch(UPDATE_K1_K2);
    private final long ticket;

    public SamePageWriters()
    {
        final StateStore[] opened = new StateStore[1];
        sequential = StressFixtures.openCommitted(2, opened);
        store = opened[0];
        executor = new SteppedExecutor(store, 2);
        store.begin(1);
        ticket = executor.publishPhase(batch, HANDLER, 0);
        if (1 != batch.phaseCount() || store.page(K1) != store.page(K2))
        {
            throw new IllegalStateException("K1 and K2 must be written in one phase, in one page");
        }
    }

    @Actor
    public void worker0()
    {
        executor.doWork(0);
    }

    @Actor
    public void worker1()
    {
        executor.doWork(1);
    }

    @Arbiter
    public void coordinator(final IIIIIIII_Result r)
    {
        try
        {
            r.r1 = executor.workerDone(0, ticket) && executor.workerDone(1, ticket) ? CURRENT : OTHER;
            executor.checkFailures(batch, 0);
            r.r2 = digests(store, AFTER_UPDATE_K1_K2, BEFORE);
            r.r3 = versions(store, AFTER_UPDATE_K1_K2, BEFORE);
            r.r4 = classify(store.seal(1), AFTER_UPDATE_K1_K2.root, BEFORE.root);
            store.rollback(1);
            r.r5 = digests(store, BEFORE, AFTER_UPDATE_K1_K2);
            r.r6 = versions(store, BEFORE, AFTER_UPDATE_K1_K2);
            r.r7 = classify(store.root(), BEFORE.root, AFTER_UPDATE_K1_K2.root);
            r.r8 = values(sequential.writer());
        }
        catch (final RuntimeException ex)
        {
            r.r1 = OTHER;
        }
        finally
        {
            executor.close();
            store.close();
            sequential.close();
        }
    }

    private static int values(final StoreWriter reader)
    {
        final long v1 = valueOf(reader, K1);
        final long v2 = valueOf(reader, K2);
        return OLD1 == v1 && OLD2 == v2 ? CURRENT : NEW1 == v1 && NEW2 == v2 ? STALE : OTHER;
    }
}
