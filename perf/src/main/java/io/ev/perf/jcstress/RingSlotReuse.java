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
import org.openjdk.jcstress.infra.results.III_Result;

import static io.ev.perf.jcstress.RingRequests.PAYLOAD_BYTES;
import static io.ev.perf.jcstress.RingRequests.offer;
import static io.ev.perf.jcstress.RingRequests.seen;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.NOT_SEEN;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Batcher to client through the ring's consumed sequence: a slot is reused only after the batcher copied it out.
 * The ring (capacity 2) holds requests 1 and 2; the batcher drains both and frees their slots with a release store
 * of its consumed sequence; meanwhile a client offers request 3, which gets slot 0 (request 1's) only once the
 * producer side sees that sequence (acquire load). Result: what the batcher copied for requests 1 and 2
 * ({@code 1} = both intact), the client's offer ({@code 0} offered, {@code 1} ring full), and what the arbiter drains
 * afterwards ({@code 0} nothing, {@code 1} request 3 intact).
 */
@JCStressTest
@Description("Batcher -> client through RequestRing's consumed sequence: a slot is overwritten only once copied")
@Outcome(id = "1, 1, 0", expect = ACCEPTABLE, desc = "the client saw the ring full: the slots were not yet freed")
@Outcome(id = "1, 0, 1", expect = ACCEPTABLE, desc = "the client reused a slot after the batcher had copied it")
@Outcome(id = "3, 0, .*", expect = FORBIDDEN,
    desc = "the client overwrote a slot the batcher had not finished copying (request 1 or 2 not intact)")
@Outcome(expect = FORBIDDEN, desc = "anything else: a lost or torn request 3, an error")
@State
public class RingSlotReuse
{
    private final RequestRing ring = new RequestRing(2, PAYLOAD_BYTES);
    private final Batch batch = new Batch(2, PAYLOAD_BYTES, 0);
    private final Batch later = new Batch(2, PAYLOAD_BYTES, 0);
    private final Request request = new Request();

    public RingSlotReuse()
    {
        if (RequestRing.OFFERED != offer(ring, 1) || RequestRing.OFFERED != offer(ring, 2))
        {
            throw new IllegalStateException("cannot fill the ring");
        }
    }

    @Actor
    public void batcher(final III_Result r)
    {
        final int drained = ring.drainTo(batch, 2);
        r.r1 = 2 == drained && CURRENT == seen(batch, 0, request, 1) && CURRENT == seen(batch, 1, request, 2) ?
            CURRENT : OTHER;
    }

    @Actor
    public void client(final III_Result r)
    {
        r.r2 = offer(ring, 3);
    }

    @Arbiter
    public void arbiter(final III_Result r)
    {
        final int drained = ring.drainTo(later, 2);
        r.r3 = 0 == drained ? NOT_SEEN : 1 == drained && CURRENT == seen(later, 0, request, 3) ? CURRENT : OTHER;
    }
}
