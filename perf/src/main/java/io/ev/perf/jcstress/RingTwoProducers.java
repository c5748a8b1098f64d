/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestRing;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static io.ev.perf.jcstress.RingRequests.PAYLOAD_BYTES;
import static io.ev.perf.jcstress.RingRequests.idAt;
import static io.ev.perf.jcstress.RingRequests.offer;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two clients through the multi-producer ring: each claims a sequence (CAS on the cursor), copies its request and
 * publishes its own slot. Client 2 offers request 2 and then drains as the batcher: it must stop at the first
 * sequence not yet published (the cursor may be ahead of the published slots) and copy only whole requests. The
 * arbiter drains what is left. Result: requests client 2 drained, the ids of the first and second ({@code 0} none,
 * {@code -1} not an intact request), and whether requests 1 and 2 were each drained exactly once, intact, overall.
 */
@JCStressTest
@Description("Two clients -> batcher through RequestRing: drainTo stops at the first unpublished slot, whole requests")
@Outcome(id = "0, 0, 0, 1", expect = ACCEPTABLE,
    desc = "client 1 claimed the first slot but had not published it: the batcher stops there")
@Outcome(id = "1, 2, 0, 1", expect = ACCEPTABLE, desc = "request 2 took the first slot; request 1 not yet published")
@Outcome(id = "2, 1, 2, 1", expect = ACCEPTABLE, desc = "both published, request 1 first")
@Outcome(id = "2, 2, 1, 1", expect = ACCEPTABLE, desc = "both published, request 2 first")
@Outcome(id = "1, 1, 0, .*", expect = FORBIDDEN,
    desc = "drained request 1 but not request 2, published before the drain on the same thread")
@Outcome(expect = FORBIDDEN, desc = "anything else: a torn, stale, lost or repeated request, an error")
@State
public class RingTwoProducers
{
    private final RequestRing ring = new RequestRing(4, PAYLOAD_BYTES);
    private final Batch batch = new Batch(4, PAYLOAD_BYTES, 0);
    private final Batch later = new Batch(4, PAYLOAD_BYTES, 0);
    private final Request request = new Request();

    @Actor
    public void client1()
    {
        offer(ring, 1);
    }

    @Actor
    public void client2ThenBatcher(final IIII_Result r)
    {
        offer(ring, 2);
        final int drained = ring.drainTo(batch, 4);
        r.r1 = drained;
        r.r2 = drained > 0 ? idAt(batch, 0, request) : 0;
        r.r3 = drained > 1 ? idAt(batch, 1, request) : 0;
    }

    @Arbiter
    public void arbiter(final IIII_Result r)
    {
        ring.drainTo(later, 4);
        int seen = 0;
        for (final Batch drained : new Batch[]{batch, later})
        {
            for (int i = 0; i < drained.count(); i++)
            {
                final int id = idAt(drained, i, request);
                seen = id < 1 || (seen & (1 << id)) != 0 ? -1 : seen | (1 << id);
            }
        }
        r.r4 = 0b110 == seen ? CURRENT : OTHER;
    }
}
