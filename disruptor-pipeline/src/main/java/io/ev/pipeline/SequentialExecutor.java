/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Executes a batch on the calling thread, strictly in batch order 0..count-1, ignoring phases:
 * always deterministic. Used for re-execution after a token mismatch and for journal replay.
 * Allocates nothing per batch.
 */
public final class SequentialExecutor implements PhaseExecutor
{
    private final StoreWriter writer;
    private final Request request = new Request();
    private final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
    private boolean closed;

    /**
     * @param store the store; one of its writers ({@link StateStore#newWriter()}) is taken for
     *              good (the store has no way to give a writer back).
     */
    public SequentialExecutor(final StateStore store)
    {
        this(store.newWriter());
    }

    /**
     * @param writer the writer to execute with; used only by the thread calling {@link #execute}.
     */
    public SequentialExecutor(final StoreWriter writer)
    {
        if (null == writer)
        {
            throw new IllegalArgumentException("writer must not be null");
        }
        this.writer = writer;
    }

    public void execute(final Batch batch, final RequestHandler handler)
    {
        if (closed)
        {
            throw new IllegalStateException("sequential executor is closed");
        }
        final long seq = batch.seq();
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.wrap(request, i);
            batch.wrapReply(reply, i);
            try
            {
                final int length = handler.execute(request, seq, writer, reply, 0);
                batch.replyLength(i, length);
            }
            catch (final RuntimeException | Error ex)
            {
                throw new IllegalStateException(
                    "request " + i + " of batch " + seq + " failed on " + Thread.currentThread().getName(), ex);
            }
        }
    }

    /**
     * @return the writer this executor writes with.
     */
    public StoreWriter writer()
    {
        return writer;
    }

    /**
     * Marks the executor closed; it owns no thread.
     */
    public void close()
    {
        closed = true;
    }
}
