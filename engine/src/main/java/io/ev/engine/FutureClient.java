/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import org.agrona.DirectBuffer;

/**
 * The convenience form of submit: each request returns a {@link CompletableFuture} of its reply
 * bytes, completed after its batch commits (on the batcher thread: chain with an executor for
 * heavy work). Allocates per request (the future, the map entry, the reply copy); latency-critical
 * clients use {@link Engine#submit} with a {@link ReplyListener} instead. Request ids must be
 * unique among the client's outstanding requests.
 */
public final class FutureClient implements ReplyListener
{
    private final Engine engine;
    private final int clientId;
    private final ConcurrentHashMap<Long, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();

    FutureClient(final Engine engine, final int clientId)
    {
        this.engine = engine;
        this.clientId = clientId;
        engine.registerClient(clientId, this);
    }

    /**
     * @return a future of the reply bytes (code first, see {@link ReplyCodes}); completed
     * exceptionally with {@link RejectedRequestException} if the engine refused the request.
     */
    public CompletableFuture<byte[]> submit(
        final long requestId, final int type, final DirectBuffer payload, final int offset, final int length)
    {
        final CompletableFuture<byte[]> future = new CompletableFuture<>();
        if (null != pending.putIfAbsent(requestId, future))
        {
            future.completeExceptionally(new IllegalArgumentException(
                "request id " + requestId + " of client " + clientId + " is already outstanding"));
            return future;
        }
        final int result = engine.submit(clientId, requestId, type, payload, offset, length);
        if (Engine.SUBMITTED != result)
        {
            pending.remove(requestId);
            future.completeExceptionally(new RejectedRequestException(result));
        }
        return future;
    }

    public int clientId()
    {
        return clientId;
    }

    public void onReply(
        final long clientId,
        final long requestId,
        final int type,
        final long batchSeq,
        final DirectBuffer reply,
        final int offset,
        final int length)
    {
        final CompletableFuture<byte[]> future = pending.remove(requestId);
        if (null != future)
        {
            final byte[] bytes = new byte[length];
            reply.getBytes(offset, bytes);
            future.complete(bytes);
        }
    }

    /**
     * The engine refused a request before executing it (back pressure, size, closed).
     */
    public static final class RejectedRequestException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;
        private final int reason;

        RejectedRequestException(final int reason)
        {
            super(Engine.describeSubmit(reason));
            this.reason = reason;
        }

        /**
         * @return the {@code Engine.REJECTED_*} code.
         */
        public int reason()
        {
            return reason;
        }
    }
}
