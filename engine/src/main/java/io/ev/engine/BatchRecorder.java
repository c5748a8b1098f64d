/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.pipeline.Batch;
import io.ev.pipeline.Request;
import io.ev.store.StateStore;
import net.openhft.hashing.LongHashFunction;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * In-memory record of committed batches (requests in batch order, each reply's xxh3, each
 * batch's root) and the replay oracle over it: executing the recorded batches sequentially, in
 * batch order, on a fresh store must give the same root after every batch and the same reply for
 * every request (failed requests are isolated exactly as the engine does, see
 * {@link FailedRequestIsolation}). Until the journal exists this is how the demo checks a run; it grows with the
 * run (about 40 bytes a request), so it is for bounded runs, not production.
 */
public final class BatchRecorder implements CommitListener
{
    private static final LongHashFunction XX3 = LongHashFunction.xx3();
    private static final int HEADER_LENGTH = 2 * Long.BYTES + 2 * Integer.BYTES;

    private final ExpandableDirectByteBuffer requests = new ExpandableDirectByteBuffer(1 << 20);
    private final IntArrayList batchSizes = new IntArrayList();
    private final LongArrayList roots = new LongArrayList();
    private final LongArrayList replyHashes = new LongArrayList();
    private final Request request = new Request();
    private final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
    private int length;

    public void onCommit(final Batch batch, final long root)
    {
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.wrap(request, i);
            requests.putLong(length, request.clientId());
            requests.putLong(length + Long.BYTES, request.requestId());
            requests.putInt(length + 2 * Long.BYTES, request.type());
            requests.putInt(length + 2 * Long.BYTES + Integer.BYTES, request.payloadLength());
            requests.putBytes(length + HEADER_LENGTH, request.payload(), 0, request.payloadLength());
            length += HEADER_LENGTH + request.payloadLength();
            batch.wrapReply(reply, i);
            replyHashes.addLong(XX3.hashMemory(reply.addressOffset(), batch.replyLength(i)));
        }
        batchSizes.addInt(batch.count());
        roots.addLong(root);
    }

    public int batches()
    {
        return batchSizes.size();
    }

    public int requests()
    {
        return replyHashes.size();
    }

    /**
     * Replays every recorded batch sequentially on {@code store} (freshly initialised to the same
     * initial state as the recorded run) and compares roots and replies.
     *
     * @return null when everything matches, else a description of the first difference.
     */
    public String replay(final StateStore store, final TransactionRegistry registry, final int maxBatchRequests)
    {
        final Batch batch = new Batch(maxBatchRequests, registry.maxPayloadBytes(), registry.maxReplyBytes());
        final SequentialReplay replay = new SequentialReplay(store, store.newWriter(), maxBatchRequests);
        long seq = store.lastCommittedSeq() + 1;
        int position = 0;
        int requestIndex = 0;
        for (int b = 0; b < batchSizes.size(); b++, seq++)
        {
            batch.reset(seq);
            for (int i = 0, count = batchSizes.getInt(b); i < count; i++)
            {
                final int payloadLength = requests.getInt(position + 2 * Long.BYTES + Integer.BYTES);
                batch.add(requests.getLong(position), requests.getLong(position + Long.BYTES),
                    requests.getInt(position + 2 * Long.BYTES), requests, position + HEADER_LENGTH, payloadLength);
                position += HEADER_LENGTH + payloadLength;
            }
            final long root = replay.executeAndCommit(batch, registry);
            for (int i = 0, count = batch.count(); i < count; i++, requestIndex++)
            {
                batch.wrapReply(reply, i);
                if (XX3.hashMemory(reply.addressOffset(), batch.replyLength(i)) != replyHashes.getLong(requestIndex))
                {
                    batch.wrap(request, i);
                    return "reply of request " + request.requestId() + " (client " + request.clientId() + ", batch " +
                        (b + 1) + " of " + batchSizes.size() + ") differs on sequential replay";
                }
            }
            if (root != roots.getLong(b))
            {
                return "state root after batch " + (b + 1) + " of " + batchSizes.size() + " differs on sequential " +
                    "replay: " + Long.toHexString(roots.getLong(b)) + " live vs " + Long.toHexString(root) +
                    " replayed";
            }
        }
        return null;
    }
}
