/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import org.agrona.DirectBuffer;

/**
 * Receives a client's replies, only after their batch committed. Called on the engine's batcher
 * thread: return quickly, copy what you keep (the buffer is reused after the call).
 */
@FunctionalInterface
public interface ReplyListener
{
    /**
     * @param clientId  the client that submitted the request.
     * @param requestId the client's request id.
     * @param type      the transaction type.
     * @param batchSeq  the batch the request committed in.
     * @param reply     reply bytes (code first, see {@link ReplyCodes}) at {@code offset}.
     * @param offset    where the reply starts.
     * @param length    reply length.
     */
    void onReply(long clientId, long requestId, int type, long batchSeq, DirectBuffer reply, int offset, int length);
}
