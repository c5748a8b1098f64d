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
 * With request deduplication, only the requests the {@link ClientTable} lets execute can fail (the
 * others carry a remembered or engine reply, which may be a remembered failure), and each rollback
 * undoes the table's claims, so the table admits the batch again before the re-execution.
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
    private ClientTable clients;
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
        return isolate(batch, handler, null, null);
    }

    /**
     * As {@link #isolate(Batch, RequestHandler)} for a batch admitted by a client table: {@code clients}
     * is the handler that ran it, and it admits the batch again (with {@code registry}) after each
     * rollback.
     *
     * @return how many times the batch was rolled back and re-executed (0 when nothing failed).
     */
    public int isolate(final Batch batch, final ClientTable clients, final TransactionRegistry registry)
    {
        return isolate(batch, clients, clients, registry);
    }

    private int isolate(
        final Batch batch, final RequestHandler handler, final ClientTable clients, final TransactionRegistry registry)
    {
        this.clients = clients;
        int passes = 0;
        while (markFailures(batch) && passes < batch.count())
        {
            passes++;
            this.batch = batch;
            this.handler = handler;
            store.rollback(batch.seq());
            store.begin(batch.seq());
            if (null != clients)
            {
                clients.admit(batch, registry);
            }
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
            final boolean executed = null == clients || clients.executes(i);
            if (executed && !skip[i] && batch.replyLength(i) >= ReplyCodes.CODE_LENGTH)
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
