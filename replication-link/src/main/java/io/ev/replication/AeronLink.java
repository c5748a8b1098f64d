/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.aeron.Aeron;
import io.aeron.ControlledFragmentAssembler;
import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.ControlledFragmentHandler.Action;
import io.aeron.logbuffer.Header;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.LangUtil;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.util.function.Consumer;

/**
 * A {@link Link} over Aeron: an {@link ExclusivePublication} to the peer and a {@link Subscription} on which the
 * peer's publication arrives. Made by {@link AeronTransport#newLink()} (UDP unicast: one stream id, two
 * endpoints) or {@link AeronTransport#newIpcLink(int, int)} (IPC: one stream id per direction).
 * <p>
 * Messages longer than the MTU are fragmented by Aeron and reassembled here by one
 * {@link ControlledFragmentAssembler} made with the link, so {@link #poll} delivers whole messages and counts its
 * {@code limit} in messages. The assembler's buffer grows to the largest message seen and then stays: zero
 * allocation in steady state. The reassembly buffer of a peer session that went away (the peer restarted) is freed
 * on the next poll.
 * <p>
 * {@link #offer} returns false on back pressure, while the peer is not connected, and on an Aeron admin action;
 * it throws {@link IllegalStateException} once the link or its transport is closed, or when the publication
 * reached its maximum position. An exception thrown by the message handler propagates out of {@link #poll}
 * after the message that caused it was consumed.
 * <p>
 * Not thread-safe: one thread offers, polls and closes.
 */
public final class AeronLink implements Link
{
    private static final int FREED_SESSIONS_CAPACITY = 64;

    private final ExclusivePublication publication;
    private final Subscription subscription;
    private final int maxMessageLength;
    private final ControlledFragmentAssembler assembler;
    private final ManyToOneConcurrentArrayQueue<Integer> unavailableSessionIds =
        new ManyToOneConcurrentArrayQueue<>(FREED_SESSIONS_CAPACITY);
    private final Consumer<Integer> freeSessionBuffer;
    private MessageHandler messageHandler;
    private int messageLimit;
    private int messagesDelivered;
    private Throwable handlerError;
    private boolean closed;

    AeronLink(
        final Aeron aeron,
        final String publicationChannel,
        final int publicationStreamId,
        final String subscriptionChannel,
        final int subscriptionStreamId,
        final int maxMessageLength)
    {
        this.maxMessageLength = maxMessageLength;
        final ControlledFragmentHandler onMessage = this::onMessage;
        this.assembler = new ControlledFragmentAssembler(onMessage);
        this.freeSessionBuffer = (sessionId) -> assembler.freeSessionBuffer(sessionId);
        ExclusivePublication newPublication = null;
        try
        {
            newPublication = aeron.addExclusivePublication(publicationChannel, publicationStreamId);
            subscription = aeron.addSubscription(
                subscriptionChannel, subscriptionStreamId, (image) -> {}, this::onUnavailableImage);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietClose(newPublication);
            throw ex;
        }
        publication = newPublication;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if {@code length} is negative or above {@link #maxMessageLength()}.
     * @throws IllegalStateException    if the link is closed (or its transport), or the publication reached its
     *                                  maximum position.
     */
    @Override
    public boolean offer(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < 0 || length > maxMessageLength)
        {
            throw new IllegalArgumentException("length = " + length + " must be in [0, " + maxMessageLength +
                "] (maxMessageLength = min(termBufferLength / 8, Link.MAX_MESSAGE_LENGTH))");
        }
        if (closed)
        {
            throw new IllegalStateException("offer on an AeronLink that is CLOSED");
        }
        final long result = publication.offer(buffer, offset, length);
        if (result > 0)
        {
            return true;
        }
        if (Publication.BACK_PRESSURED == result || Publication.NOT_CONNECTED == result ||
            Publication.ADMIN_ACTION == result)
        {
            return false;
        }
        if (Publication.CLOSED == result)
        {
            throw new IllegalStateException("offer on an AeronLink whose publication is CLOSED (transport closed?): " +
                publication.channel());
        }
        if (Publication.MAX_POSITION_EXCEEDED == result)
        {
            throw new IllegalStateException("offer on an AeronLink whose publication is MAX_POSITION_EXCEEDED " +
                "(termBufferLength * 2^31 bytes sent): make a new link");
        }
        throw new IllegalStateException("unexpected Publication.offer result " + result);
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException if the link is closed.
     */
    @Override
    public int poll(final MessageHandler handler, final int limit)
    {
        if (closed)
        {
            throw new IllegalStateException("poll on an AeronLink that is CLOSED");
        }
        if (!unavailableSessionIds.isEmpty())
        {
            unavailableSessionIds.drain(freeSessionBuffer);
        }
        messageHandler = handler;
        messageLimit = limit;
        messagesDelivered = 0;
        try
        {
            // The fragment limit is not the bound: onMessage aborts once `limit` messages were delivered, so one
            // poll reads at most `limit` messages plus the fragments of messages still being reassembled.
            subscription.controlledPoll(assembler, Integer.MAX_VALUE);
        }
        finally
        {
            messageHandler = null;
        }
        if (null != handlerError)
        {
            final Throwable error = handlerError;
            handlerError = null;
            LangUtil.rethrowUnchecked(error);
        }
        return messagesDelivered;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public boolean isConnected()
    {
        return !closed && publication.isConnected();
    }

    /**
     * @return the largest message {@link #offer} accepts.
     */
    public int maxMessageLength()
    {
        return maxMessageLength;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            CloseHelper.closeAll(publication, subscription);
        }
    }

    @Override
    public String toString()
    {
        return "AeronLink{publication=" + publication.channel() + " stream " + publication.streamId() +
            ", subscription=" + subscription.channel() + " stream " + subscription.streamId() +
            ", closed=" + closed + '}';
    }

    private Action onMessage(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (messagesDelivered >= messageLimit || null != handlerError)
        {
            return Action.ABORT;
        }
        messagesDelivered++;
        try
        {
            messageHandler.onMessage(buffer, offset, length);
        }
        catch (final Throwable ex)
        {
            handlerError = ex;
            return Action.BREAK;
        }
        return Action.CONTINUE;
    }

    private void onUnavailableImage(final Image image)
    {
        // Runs on the client conductor thread; the assembler belongs to the polling thread. If the queue is full
        // the buffer stays allocated until the link closes (a bounded leak of one buffer per lost notice).
        unavailableSessionIds.offer(image.sessionId());
    }
}
