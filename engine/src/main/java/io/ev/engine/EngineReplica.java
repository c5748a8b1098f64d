/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.journal.BatchDecoder;
import io.ev.journal.BatchEncoder;
import io.ev.pipeline.Batch;
import io.ev.pipeline.PhaseExecutor;
import io.ev.pipeline.Request;
import io.ev.replication.ReplicaExecution;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A replica's state for the Execute-Verify protocol ({@link ReplicaExecution}) over the engine's
 * store, its executor (parallel execution uses the phases the primary's mixer put in the batch
 * entry; the backup's executor may assign workers and order differently: schedule diversity), and
 * sequential execution in batch order with failed requests isolated as everywhere else
 * ({@link SequentialReplay}). The batch's replies stay in {@link #batch()} until commit.
 */
public final class EngineReplica implements ReplicaExecution
{
    private final StateStore store;
    private final TransactionRegistry registry;
    private final BatchRunner parallel;
    private final SequentialReplay sequential;
    private final Batch batch;
    private final UnsafeBuffer replyView = new UnsafeBuffer(0, 0);
    private long root;
    private long replyDigest;

    /**
     * @param store            the replica's store.
     * @param writer           a writer of {@code store} for sequential execution and isolation.
     * @param registry         the application's transaction types.
     * @param executor         runs a batch's phases (parallel), on the store's other writers.
     * @param maxBatchRequests the largest batch.
     */
    public EngineReplica(
        final StateStore store,
        final StoreWriter writer,
        final TransactionRegistry registry,
        final PhaseExecutor executor,
        final int maxBatchRequests)
    {
        this.store = store;
        this.registry = registry;
        this.parallel = new BatchRunner(store, executor, writer, maxBatchRequests);
        this.sequential = new SequentialReplay(store, writer, maxBatchRequests);
        this.batch = new Batch(maxBatchRequests, registry.maxPayloadBytes(), registry.maxReplyBytes());
    }

    /**
     * Encodes a mixed batch as a journal batch entry (requests in batch order with their phases):
     * what the primary journals and ships.
     *
     * @return the entry's length.
     */
    public static int encode(final Batch batch, final BatchEncoder encoder, final Request request)
    {
        encoder.reset(batch.seq());
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.wrap(request, i);
            encoder.add(request.clientId(), request.requestId(), request.type(), batch.phaseOf(i),
                request.payload(), 0, request.payloadLength());
        }
        return encoder.finish();
    }

    public void execute(final long seq, final BatchDecoder entry, final boolean sequentially)
    {
        batch.reset(seq);
        while (entry.next())
        {
            final int index = batch.add(entry.clientId(), entry.requestId(), entry.type(), entry.payload(), 0,
                entry.payload().capacity());
            batch.phase(index, entry.phase());
        }
        if (sequentially)
        {
            root = sequential.executeAndSeal(batch, registry);
        }
        else
        {
            batch.groupPhases();
            root = parallel.executeAndSeal(batch, registry);
        }
        replyDigest = ReplyDigest.of(batch, replyView);
    }

    public long root()
    {
        return root;
    }

    public long replyDigest()
    {
        return replyDigest;
    }

    public void rollback(final long seq)
    {
        store.rollback(seq);
    }

    public void commit(final long seq)
    {
        store.commit(seq);
    }

    public long lastCommittedSeq()
    {
        return store.lastCommittedSeq();
    }

    public void forEachWrittenKey(final long seq, final KeyConsumer consumer)
    {
        store.forEachWrittenKey(seq, key -> consumer.accept(key, store.pageDigest(store.page(key))));
    }

    public long pageDigestOf(final long key)
    {
        return store.pageDigest(store.page(key));
    }

    public int maxExportLength(final int keys)
    {
        return store.maxExportLength(keys);
    }

    public int exportRecords(final long[] keys, final int count, final MutableDirectBuffer dst, final int offset)
    {
        return store.exportRecords(keys, count, dst, offset);
    }

    public void importRecords(final long seq, final DirectBuffer src, final int offset, final int length)
    {
        store.importRecords(seq, src, offset, length);
        root = store.seal(seq);
    }

    /**
     * @return the open (or last) batch with its replies, for releasing them after commit.
     */
    public Batch batch()
    {
        return batch;
    }
}
