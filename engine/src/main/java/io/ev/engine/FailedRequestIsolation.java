/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.Arrays;

import io.ev.pipeline.Batch;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestHandler;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Keeps a failed request from leaving half its writes behind. A request whose execution threw
 * ({@link ReplyCodes#EXECUTION_FAILED}) or was refused by the store mid-way
 * ({@link ReplyCodes#STORE_REJECTED}: store full, undo log full) may have written some of its keys
 * before failing; undo is per batch, not per request. So after a batch executed, if any request
 * failed, the batch is rolled back and re-executed sequentially in batch order with the failed
 * requests skipped (they keep their failure reply), until a pass adds no new failure. Both the
 * engine and the replay oracle apply it, so replay stays identical.
 * <p>
 * One instance per executing thread; no allocation unless a batch has failures.
 */
public final class FailedRequestIsolation implements RequestHandler
{
    private final StateStore store;
    private final SequentialExecutor sequential;
    private final boolean[] skip;
    private final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
    private RequestHandler handler;
    private Batch batch;

    /**
     * @param store the store the batches execute on.
     * @param writer a writer for the sequential re-execution, used only on the calling thread.
     * @param maxBatchRequests the largest batch.
     */
    public FailedRequestIsolation(final StateStore store, final StoreWriter writer, final int maxBatchRequests)
    {
        this.store = store;
        this.sequential = new SequentialExecutor(writer);
        this.skip = new boolean[maxBatchRequests];
    }

    /**
     * Call after the batch executed in open store batch {@code batch.seq()}, before the seal.
     *
     * @return how many times the batch was rolled back and re-executed (0 when nothing failed).
     */
    public int isolate(final Batch batch, final RequestHandler handler)
    {
        int passes = 0;
        while (markFailures(batch) && passes < batch.count())
        {
            passes++;
            this.batch = batch;
            this.handler = handler;
            store.rollback(batch.seq());
            store.begin(batch.seq());
            sequential.execute(batch, this);
        }
        if (passes > 0)
        {
            Arrays.fill(skip, 0, batch.count(), false);
        }
        return passes;
    }

    /**
     * @return true if some request failed that is not skipped yet (and marks it).
     */
    private boolean markFailures(final Batch batch)
    {
        boolean newFailure = false;
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            if (!skip[i] && batch.replyLength(i) >= ReplyCodes.CODE_LENGTH)
            {
                batch.wrapReply(reply, i);
                final int code = ReplyCodes.code(reply, 0);
                if (ReplyCodes.EXECUTION_FAILED == code || ReplyCodes.STORE_REJECTED == code)
                {
                    skip[i] = true;
                    newFailure = true;
                }
            }
        }
        return newFailure;
    }

    public void declareKeys(final Request request, final KeySink keys)
    {
        handler.declareKeys(request, keys);
    }

    public int execute(
        final Request request,
        final long seq,
        final StoreWriter writer,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final int index = request.index();
        if (skip[index])
        {
            return batch.replyLength(index);
        }
        return handler.execute(request, seq, writer, reply, replyOffset);
    }
}
