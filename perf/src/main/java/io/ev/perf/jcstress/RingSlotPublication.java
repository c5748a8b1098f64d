/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import io.ev.pipeline.Batch;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestRing;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import static io.ev.perf.jcstress.RingRequests.PAYLOAD_BYTES;
import static io.ev.perf.jcstress.RingRequests.offer;
import static io.ev.perf.jcstress.RingRequests.seen;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Client to batcher through a ring slot. {@link RequestRing#offer} claims a slot, copies the request into the ring's
 * off-heap slot with plain stores and publishes it (a release store of the slot's availability flag); the batcher's
 * {@link RequestRing#drainTo} sees the slot available (acquire load) and copies it into the batch arena.
 * Result: offer result, requests drained, what the drained request held (see {@link RingRequests#seen}).
 */
@JCStressTest
@Description("Client -> batcher through a RequestRing slot: a drained request is the request as offered")
@Outcome(id = "0, 0, 0", expect = ACCEPTABLE, desc = "the batcher polled before the request was published")
@Outcome(id = "0, 1, 1", expect = ACCEPTABLE, desc = "the batcher drained the request as offered")
@Outcome(id = "0, 1, 2", expect = FORBIDDEN, desc = "drained a published slot but read its stale (zeroed) contents")
@Outcome(expect = FORBIDDEN, desc = "anything else: a torn request, a failed offer, an error")
@State
public class RingSlotPublication
{
    private final RequestRing ring = new RequestRing(4, PAYLOAD_BYTES);
    private final Batch batch = new Batch(4, PAYLOAD_BYTES, 0);
    private final Request request = new Request();

    @Actor
    public void client(final III_Result r)
    {
        r.r1 = offer(ring, 1);
    }

    @Actor
    public void batcher(final III_Result r)
    {
        final int drained = ring.drainTo(batch, 4);
        r.r2 = drained;
        r.r3 = 1 == drained ? seen(batch, 0, request, 1) : StressFixtures.NOT_SEEN;
    }
}
