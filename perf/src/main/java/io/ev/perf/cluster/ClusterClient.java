/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import java.util.concurrent.TimeUnit;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.aeron.cluster.client.AeronCluster;
import io.aeron.cluster.client.EgressListener;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.exceptions.AeronException;
import io.aeron.logbuffer.Header;
import io.ev.perf.SmallBankRequests;
import io.ev.engine.ReplyCodes;
import org.agrona.BitUtil;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The SmallBank client of a {@link SmallBankCluster}: its own media driver (as a client process would have;
 * {@link ThreadingMode#SHARED}, the cluster's idle strategy), an Aeron client and one {@link AeronCluster} session,
 * egress on an ephemeral UDP port of 127.0.0.1. Not thread safe: one thread offers and polls.
 * <p>
 * {@link #offer} sends request {@code requestId} with the SmallBank request {@code requestId} of the
 * {@link SmallBankRequests}; {@link #poll} delivers replies to the {@link ReplyHandler}.
 */
final class ClusterClient implements AutoCloseable
{
    /** How long {@link #ClusterClient} keeps retrying the connection (the first election may still run). */
    static final long CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    /**
     * Receives the replies.
     */
    @FunctionalInterface
    interface ReplyHandler
    {
        /**
         * @param requestId the request's id (-1 for a message the service could not read).
         * @param buffer    holding the reply.
         * @param offset    where the reply starts: a SmallBankReply or the code alone.
         * @param length    the reply length.
         */
        void onReply(long requestId, DirectBuffer buffer, int offset, int length);
    }

    private final SmallBankRequests requests;
    private final UnsafeBuffer message = new UnsafeBuffer(
        new byte[BitUtil.align(SmallBankClusteredService.PAYLOAD_OFFSET + SmallBankRequests.STRIDE, Long.BYTES)]);
    private final MediaDriver driver;
    private final Aeron aeron;
    private final AeronCluster cluster;
    private final int connectAttempts;
    private ReplyHandler handler;

    /**
     * Starts the client's driver and connects, retrying until {@link #CONNECT_TIMEOUT_NS}.
     *
     * @param cluster  the cluster.
     * @param requests the requests to send.
     * @param handler  receives the replies; may be replaced with {@link #handler(ReplyHandler)}.
     */
    ClusterClient(final SmallBankCluster cluster, final SmallBankRequests requests, final ReplyHandler handler)
    {
        this.requests = requests;
        this.handler = handler;
        MediaDriver launchedDriver = null;
        Aeron connectedAeron = null;
        try
        {
            launchedDriver = MediaDriver.launch(new MediaDriver.Context()
                .aeronDirectoryName(cluster.clientAeronDirectory())
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .threadingMode(ThreadingMode.SHARED)
                .sharedIdleStrategy(SmallBankCluster.idleStrategy(cluster.idle()).get())
                .termBufferSparseFile(true));
            connectedAeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(launchedDriver.aeronDirectoryName()));
            final EgressListener listener = this::onEgress;
            final long deadlineNs = System.nanoTime() + CONNECT_TIMEOUT_NS;
            AeronCluster connected = null;
            int attempts = 0;
            while (null == connected)
            {
                attempts++;
                try
                {
                    connected = AeronCluster.connect(new AeronCluster.Context()
                        .aeron(connectedAeron)
                        .ownsAeronClient(false)
                        .ingressChannel("aeron:udp")
                        .ingressEndpoints(cluster.ingressEndpoints())
                        .egressChannel("aeron:udp?endpoint=" + SmallBankCluster.HOST + ":0")
                        .egressListener(listener));
                }
                catch (final AeronException ex)
                {
                    if (System.nanoTime() - deadlineNs > 0)
                    {
                        throw new IllegalStateException("cannot connect to the cluster after " + attempts +
                            " attempts", ex);
                    }
                }
            }
            this.driver = launchedDriver;
            this.aeron = connectedAeron;
            this.cluster = connected;
            this.connectAttempts = attempts;
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(connectedAeron, launchedDriver);
            throw ex;
        }
    }

    /**
     * @param handler receives the replies from now on.
     */
    void handler(final ReplyHandler handler)
    {
        this.handler = handler;
    }

    /**
     * Sends one request.
     *
     * @param requestId the request id, also the position of its SmallBank request in the {@link SmallBankRequests}.
     * @return true if sent; false if back-pressured (try again later).
     * @throws IllegalStateException if the session is closed or not connected.
     */
    boolean offer(final long requestId)
    {
        final int length = requests.length(requestId);
        message.putLong(SmallBankClusteredService.REQUEST_ID_OFFSET, requestId, ReplyCodes.BYTE_ORDER);
        message.putInt(SmallBankClusteredService.TYPE_ID_OFFSET, requests.typeId(requestId), ReplyCodes.BYTE_ORDER);
        message.putBytes(SmallBankClusteredService.PAYLOAD_OFFSET, requests.payloads(), requests.offset(requestId),
            length);
        final long result = cluster.offer(message, 0, SmallBankClusteredService.PAYLOAD_OFFSET + length);
        if (result > 0)
        {
            return true;
        }
        if (Publication.BACK_PRESSURED == result || Publication.ADMIN_ACTION == result)
        {
            return false;
        }
        throw new IllegalStateException("cluster ingress offer failed: " + Publication.errorString(result) +
            " (session " + cluster.clusterSessionId() + ", leader member " + cluster.leaderMemberId() + ")");
    }

    /**
     * Polls the egress.
     *
     * @return fragments received.
     */
    int poll()
    {
        return cluster.pollEgress();
    }

    /**
     * @return the member the session last heard was leader.
     */
    int leaderMemberId()
    {
        return cluster.leaderMemberId();
    }

    /**
     * @return connection attempts the constructor made (more than 1 if the election was still running).
     */
    int connectAttempts()
    {
        return connectAttempts;
    }

    @Override
    public void close()
    {
        CloseHelper.closeAll(cluster, aeron, driver);
    }

    private void onEgress(
        final long clusterSessionId,
        final long timestamp,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final Header header)
    {
        handler.onReply(buffer.getLong(offset + SmallBankClusteredService.REQUEST_ID_OFFSET, ReplyCodes.BYTE_ORDER),
            buffer, offset + SmallBankClusteredService.REPLY_OFFSET, length - SmallBankClusteredService.REPLY_OFFSET);
    }
}
