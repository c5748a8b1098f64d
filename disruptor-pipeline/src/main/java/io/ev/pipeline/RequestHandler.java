/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import io.ev.store.StoreWriter;
import org.agrona.MutableDirectBuffer;

/**
 * What the pipeline needs from the application: each request's declared keys (for the mixer) and
 * its execution against the store. The engine implements this over its registry of transaction
 * types. Both methods are called from pipeline threads and must not allocate on the hot path.
 */
public interface RequestHandler
{
    /**
     * Declares the keys a request reads and writes. Called once per request by the mixer thread.
     * An unknown type or malformed payload declares nothing; {@link #execute} then rejects it.
     *
     * @param request the request (valid only during the call).
     * @param keys    receives the keys.
     */
    void declareKeys(Request request, KeySink keys);

    /**
     * Executes a request inside batch {@code seq}, reading and writing through {@code writer}.
     * Called on the worker that owns {@code writer}, or on the sequential executor.
     *
     * @param request the request (valid only during the call).
     * @param seq     the batch being executed (the store's newest open batch).
     * @param writer  the executing thread's store writer.
     * @param reply   the request's own reply slot (the executors pass a view bounded to
     *                {@link Batch#maxReplyBytes()} bytes: writing past it throws).
     * @param replyOffset where the reply starts in {@code reply} (0 from the executors).
     * @return the reply length, at most {@link Batch#maxReplyBytes()}.
     */
    int execute(Request request, long seq, StoreWriter writer, MutableDirectBuffer reply, int replyOffset);
}
