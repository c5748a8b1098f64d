/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import java.util.concurrent.atomic.AtomicLong;

import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.cluster.codecs.CloseReason;
import io.aeron.cluster.service.ClientSession;
import io.aeron.cluster.service.Cluster;
import io.aeron.cluster.service.ClusteredService;
import io.aeron.logbuffer.Header;
import io.ev.engine.ReplyCodes;
import io.ev.engine.apps.SmallBankReply;
import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * SmallBank as an Aeron Cluster service: every committed ingress message is one request, executed in log order on
 * a {@link SmallBankLedger}, and the leader replies on the client session's egress. Followers execute the same
 * messages in the same order (their {@link ClientSession#offer} is mocked), so every member ends with the same
 * balances.
 * <pre>
 *  ingress (client to cluster), little-endian:
 *   0                  8              12
 *  +------------------+--------------+----------------------------+
 *  | request id (8)   | type id (4)  | SmallBankCodec payload     |
 *  +------------------+--------------+----------------------------+
 *  egress (leader to client):
 *   0                  8
 *  +------------------+--------------------------------------------+
 *  | request id (8)   | SmallBankReply (20), or the code alone (4) |
 *  +------------------+--------------------------------------------+
 * </pre>
 * A message shorter than the ingress header gets a {@link ReplyCodes#MALFORMED_REQUEST} reply with request id -1.
 * The service takes no snapshots: the baseline starts every member on empty directories and never restarts one,
 * so {@link #onTakeSnapshot} refuses rather than write a snapshot that could not restore the balances.
 * <p>
 * Read from other threads: {@link #applied()}, {@link #role()}, and, once {@link #applied()} has reached a count
 * after which no request arrives, {@link #ledger()}'s totals (the counter is published after each request's
 * writes).
 */
final class SmallBankClusteredService implements ClusteredService
{
    /** Offset of the request id in ingress and egress messages. */
    static final int REQUEST_ID_OFFSET = 0;
    /** Offset of the type id in an ingress message. */
    static final int TYPE_ID_OFFSET = REQUEST_ID_OFFSET + Long.BYTES;
    /** Offset of the SmallBank payload in an ingress message. */
    static final int PAYLOAD_OFFSET = TYPE_ID_OFFSET + Integer.BYTES;
    /** Offset of the reply in an egress message. */
    static final int REPLY_OFFSET = REQUEST_ID_OFFSET + Long.BYTES;
    /** Longest egress message. */
    static final int MAX_EGRESS_LENGTH = REPLY_OFFSET + SmallBankReply.LENGTH;

    private final SmallBankLedger ledger;
    private final UnsafeBuffer egress = new UnsafeBuffer(new byte[BitUtil.align(MAX_EGRESS_LENGTH, Long.BYTES)]);
    private final AtomicLong applied = new AtomicLong();
    private final AtomicLong droppedReplies = new AtomicLong();
    private volatile Cluster.Role role = Cluster.Role.FOLLOWER;
    private IdleStrategy idleStrategy;

    /**
     * @param ledger the state, loaded; used by this service's thread only from {@link #onStart} on.
     */
    SmallBankClusteredService(final SmallBankLedger ledger)
    {
        this.ledger = ledger;
    }

    @Override
    public void onStart(final Cluster cluster, final Image snapshotImage)
    {
        if (null != snapshotImage)
        {
            throw new IllegalStateException("the SmallBank baseline service takes no snapshots and cannot load one");
        }
        idleStrategy = cluster.idleStrategy();
        role = cluster.role();
    }

    @Override
    public void onSessionOpen(final ClientSession session, final long timestamp)
    {
    }

    @Override
    public void onSessionClose(final ClientSession session, final long timestamp, final CloseReason closeReason)
    {
    }

    @Override
    public void onSessionMessage(
        final ClientSession session,
        final long timestamp,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final Header header)
    {
        final int replyLength;
        if (length < PAYLOAD_OFFSET)
        {
            egress.putLong(REQUEST_ID_OFFSET, -1, ReplyCodes.BYTE_ORDER);
            replyLength = ReplyCodes.writeCode(egress, REPLY_OFFSET, ReplyCodes.MALFORMED_REQUEST);
        }
        else
        {
            egress.putLong(REQUEST_ID_OFFSET,
                buffer.getLong(offset + REQUEST_ID_OFFSET, ReplyCodes.BYTE_ORDER), ReplyCodes.BYTE_ORDER);
            replyLength = ledger.execute(buffer.getInt(offset + TYPE_ID_OFFSET, ReplyCodes.BYTE_ORDER), buffer,
                offset + PAYLOAD_OFFSET, length - PAYLOAD_OFFSET, egress, REPLY_OFFSET);
        }
        applied.lazySet(applied.get() + 1);
        reply(session, REPLY_OFFSET + replyLength);
    }

    @Override
    public void onTimerEvent(final long correlationId, final long timestamp)
    {
    }

    @Override
    public void onTakeSnapshot(final ExclusivePublication snapshotPublication)
    {
        throw new UnsupportedOperationException("the SmallBank baseline service takes no snapshots");
    }

    @Override
    public void onRoleChange(final Cluster.Role newRole)
    {
        role = newRole;
    }

    @Override
    public void onTerminate(final Cluster cluster)
    {
    }

    /**
     * @return requests executed (committed ingress messages), on any role.
     */
    long applied()
    {
        return applied.get();
    }

    /**
     * @return replies the leader could not send because the client's egress was gone.
     */
    long droppedReplies()
    {
        return droppedReplies.get();
    }

    /**
     * @return this member's role, as the service last heard it.
     */
    Cluster.Role role()
    {
        return role;
    }

    /**
     * @return the state; read its totals only when no request executes (see the class comment).
     */
    SmallBankLedger ledger()
    {
        return ledger;
    }

    /**
     * Sends a reply; retries while the egress is back-pressured (the service's idle strategy between tries), drops
     * it if the client is gone. On a follower the offer is mocked and succeeds.
     */
    private void reply(final ClientSession session, final int length)
    {
        idleStrategy.reset();
        while (true)
        {
            final long result = session.offer(egress, 0, length);
            if (result > 0)
            {
                return;
            }
            if (Publication.BACK_PRESSURED != result && Publication.ADMIN_ACTION != result)
            {
                droppedReplies.lazySet(droppedReplies.get() + 1);
                return;
            }
            idleStrategy.idle();
        }
    }
}
