/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.ev.journal.BatchDecoder;
import io.ev.journal.Checkpoints;
import io.ev.journal.Journal;
import io.ev.journal.JournalException;
import io.ev.journal.JournalReader;
import io.ev.pipeline.Batch;
import io.ev.store.StateStore;
import io.ev.store.StateStoreException;
import io.ev.store.StoreWriter;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.journal.JournalException.Reason.CORRUPT;
import static io.ev.journal.JournalException.Reason.NO_VALID_CHECKPOINT;
import static io.ev.journal.JournalException.Reason.TOKEN_MISMATCH;

/**
 * Rebuilds a node's state from its data directory: the newest checkpoint whose records reproduce
 * its root (falling back to older ones), then every later journaled batch executed sequentially in
 * batch order (failed requests isolated as live), each token (root + reply digest) checked against
 * the batch's commit marker. Batches journaled but never committed are executed too (their replies
 * were never released); the engine appends their commit markers before taking new work.
 */
public final class Recovery implements JournalReader.Handler
{
    private final StateStore store;
    private final Journal journal;
    private final TransactionRegistry registry;
    private final Batch batch;
    private final SequentialReplay replay;
    private final UnsafeBuffer replyView = new UnsafeBuffer(0, 0);
    private final LongArrayList pending = new LongArrayList();
    private final Report report = new Report();
    private final CommitListener listener;
    private long checkpointSeq;
    private long lastSeq;
    private long fromIndex = -1;

    /**
     * @param store            the store to rebuild (its contents are replaced by the checkpoint).
     * @param writer           a writer of {@code store} for the sequential execution.
     * @param journal          the node's journal.
     * @param registry         the application's transaction types, as when the journal was written.
     * @param maxBatchRequests the largest batch the journal may hold.
     * @param listener         sees every replayed batch and its root (oracles, tools); may be null.
     */
    public Recovery(
        final StateStore store,
        final StoreWriter writer,
        final Journal journal,
        final TransactionRegistry registry,
        final int maxBatchRequests,
        final CommitListener listener)
    {
        this.listener = listener;
        this.store = store;
        this.journal = journal;
        this.registry = registry;
        this.batch = new Batch(maxBatchRequests, registry.maxPayloadBytes(), registry.maxReplyBytes());
        this.replay = new SequentialReplay(store, writer, maxBatchRequests);
    }

    /**
     * @return true if the data directory holds no journal entry and no checkpoint: a new node, or
     * one that stopped before its initial checkpoint was complete (it never acknowledged anything).
     */
    public static boolean isFresh(final Journal journal)
    {
        if (!journal.checkpoints().newestFirst().isEmpty())
        {
            return false;
        }
        if (journal.lastIndex() < 0)
        {
            return true;
        }
        // a crash between journaling the initial checkpoint's record and renaming its file leaves
        // that record alone: still a new node, as long as no batch was journaled
        return 0 == journal.read(-1, NO_OP).batches();
    }

    private static final JournalReader.Handler NO_OP = new JournalReader.Handler()
    {
        public void onBatch(final BatchDecoder batch, final long index)
        {
        }

        public void onCommit(
            final long seq, final long root, final long replyDigest, final int requestCount, final long index)
        {
        }
    };

    /**
     * Loads the checkpoint and replays the journal after it ({@link #loadCheckpoint()} then
     * {@link #replay(long)}).
     */
    public Report recover()
    {
        final long start = System.nanoTime();
        final Report report = replay(loadCheckpoint());
        report.seconds = (System.nanoTime() - start) / 1e9;
        return report;
    }

    /**
     * Replays every journaled batch after the loaded checkpoint, from journal index {@code fromIndex}.
     *
     * @return the report (its time covers this replay only).
     * @throws JournalException {@code CORRUPT} if the journal ends before {@code fromIndex} (the checkpoint
     *                          proves entries that are gone), or as {@link Journal#read} does.
     */
    public Report replay(final long fromIndex)
    {
        final long start = System.nanoTime();
        checkpointSeq = store.lastCommittedSeq();
        lastSeq = checkpointSeq;
        this.fromIndex = fromIndex;
        final long lastIndex = journal.lastIndex();
        if (fromIndex > lastIndex)
        {
            // the checkpoint was taken after the journal held entry fromIndex: entries are gone
            throw new JournalException(CORRUPT, "checkpoint " + report.checkpoint + " was taken when journal " +
                journal.dir() + " held entry 0x" + Long.toHexString(fromIndex) + ", but the journal now ends at " +
                (lastIndex < 0 ? "no entry" : "0x" + Long.toHexString(lastIndex)) + ": its files were deleted, " +
                "truncated or replaced. Refusing to recover without the batches committed after the checkpoint");
        }
        final JournalReader.Result result = journal.read(fromIndex, this);
        report.tornTailWarning = result.tornTailWarning();
        report.uncommittedBatches = pending.size() / 4;
        report.lastSeq = lastSeq;
        report.root = store.root();
        report.seconds = (System.nanoTime() - start) / 1e9;
        return report;
    }

    /**
     * Appends the commit markers of batches that were journaled but not committed before the crash
     * (call once the journal is writable, before new batches).
     */
    public void commitUncommitted()
    {
        for (int i = 0; i < pending.size(); i += 4)
        {
            journal.appendCommit(pending.getLong(i), pending.getLong(i + 1), pending.getLong(i + 2),
                (int)pending.getLong(i + 3));
        }
        pending.clear();
    }

    /**
     * Imports the newest checkpoint that verifies (older ones when it does not).
     *
     * @return the journal index to replay from.
     * @throws JournalException {@code NO_VALID_CHECKPOINT} when none verifies.
     */
    public long loadCheckpoint()
    {
        final long start = System.nanoTime();
        try
        {
            return loadNewestValidCheckpoint();
        }
        finally
        {
            report.checkpointSeconds = (System.nanoTime() - start) / 1e9;
        }
    }

    private long loadNewestValidCheckpoint()
    {
        final List<Path> checkpoints = journal.checkpoints().newestFirst();
        for (final Path checkpoint : checkpoints)
        {
            try
            {
                final long journalIndex = store.importSnapshot(checkpoint, StateStore.NULL_SEQ);
                if (store.lastCommittedSeq() != Checkpoints.seqOf(checkpoint))
                {
                    throw new StateStoreException(StateStoreException.Reason.CORRUPT_INPUT, "checkpoint " + checkpoint +
                        " holds state after batch " + store.lastCommittedSeq() + ", its name says " +
                        Checkpoints.seqOf(checkpoint));
                }
                report.checkpoint = checkpoint;
                report.checkpointSeq = store.lastCommittedSeq();
                return journalIndex;
            }
            catch (final StateStoreException ex)
            {
                report.warnings.add("skipped checkpoint " + checkpoint + ": " + ex.getMessage());
            }
        }
        throw new JournalException(NO_VALID_CHECKPOINT, checkpoints.isEmpty() ?
            "data directory " + journal.dir() + " has a journal but no checkpoint; it was not written by this engine" +
                " or its checkpoints were deleted" :
            "none of the " + checkpoints.size() + " checkpoints in " + journal.checkpoints().dir() + " verifies: " +
                String.join("; ", report.warnings));
    }

    public void onBatch(final BatchDecoder entry, final long index)
    {
        final long seq = entry.seq();
        if (seq <= checkpointSeq)
        {
            return;
        }
        if (seq != lastSeq + 1)
        {
            throw new JournalException(CORRUPT, "journal index 0x" + Long.toHexString(index) + " holds batch " + seq +
                " but batch " + (lastSeq + 1) + " was expected next: the journal is missing batches");
        }
        if (entry.requestCount() > batch.maxRequests())
        {
            throw new JournalException(CORRUPT, "journal batch " + seq + " holds " + entry.requestCount() +
                " requests, more than maxBatchRequests " + batch.maxRequests() + " of this engine");
        }
        batch.reset(seq);
        while (entry.next())
        {
            final int index2 = batch.add(entry.clientId(), entry.requestId(), entry.type(), entry.payload(), 0,
                entry.payload().capacity());
            batch.phase(index2, entry.phase());
        }
        final long root = replay.executeAndCommit(batch, registry);
        pending.addLong(seq);
        pending.addLong(root);
        pending.addLong(ReplyDigest.of(batch, replyView));
        pending.addLong(batch.count());
        lastSeq = seq;
        if (null != listener)
        {
            listener.onCommit(batch, root);
        }
        report.batchesReplayed++;
        report.requestsReplayed += batch.count();
    }

    public void onCheckpoint(
        final long seq, final long root, final long journalIndex, final long requestCount, final long index)
    {
        if (seq == checkpointSeq)
        {
            report.requestsAtCheckpoint = requestCount;
        }
    }

    public void onCommit(
        final long seq, final long root, final long replyDigest, final int requestCount, final long index)
    {
        if (seq <= checkpointSeq)
        {
            return;
        }
        if (index == fromIndex && pending.isEmpty())
        {
            // the checkpoint is tagged with the last entry journaled before it was taken, so its state covers
            // that entry. A commit marker of a later batch there belongs to a history this replica left when it
            // adopted a transferred state behind its journal (a page sync back to its new primary's lower seq,
            // EngineReplica.adoptCommittedSeq, after recovery had committed batches that primary never had)
            return;
        }
        if (pending.isEmpty() || pending.getLong(0) != seq)
        {
            throw new JournalException(CORRUPT, "journal index 0x" + Long.toHexString(index) + " is a commit marker" +
                " for batch " + seq + " but the next uncommitted journaled batch is " +
                (pending.isEmpty() ? "none" : Long.toString(pending.getLong(0))));
        }
        final long replayedRoot = pending.getLong(1);
        final long replayedReplies = pending.getLong(2);
        if (replayedRoot != root || replayedReplies != replyDigest || pending.getLong(3) != requestCount)
        {
            throw new JournalException(TOKEN_MISMATCH, "batch " + seq + " (journal index 0x" +
                Long.toHexString(index) + "): replay gives root " + Long.toHexString(replayedRoot) +
                " and reply digest " +
                Long.toHexString(replayedReplies) + ", the commit marker says root " + Long.toHexString(root) +
                " and reply digest " + Long.toHexString(replyDigest) + " (nondeterministic application, or a race" +
                " the mixer did not prevent)");
        }
        for (int i = 0; i < 4; i++)
        {
            pending.removeAt(0);
        }
        report.tokensVerified++;
    }

    /**
     * What recovery did.
     */
    public static final class Report
    {
        Path checkpoint;
        long checkpointSeq = StateStore.NULL_SEQ;
        long batchesReplayed;
        long requestsReplayed;
        long requestsAtCheckpoint;
        long tokensVerified;
        int uncommittedBatches;
        long lastSeq = StateStore.NULL_SEQ;
        long root;
        double seconds;
        double checkpointSeconds;
        String tornTailWarning;
        final List<String> warnings = new ArrayList<>();

        /** @return the checkpoint recovery started from, or null for a new node. */
        public Path checkpoint()
        {
            return checkpoint;
        }

        public long checkpointSeq()
        {
            return checkpointSeq;
        }

        public long batchesReplayed()
        {
            return batchesReplayed;
        }

        public long requestsReplayed()
        {
            return requestsReplayed;
        }

        /** @return requests committed in the history up to the checkpoint (from its journal record). */
        public long requestsAtCheckpoint()
        {
            return requestsAtCheckpoint;
        }

        /** @return requests in the recovered state's history: at the checkpoint + replayed. */
        public long requestsInState()
        {
            return requestsAtCheckpoint + requestsReplayed;
        }

        /** @return replayed batches whose token matched their commit marker. */
        public long tokensVerified()
        {
            return tokensVerified;
        }

        /** @return journaled batches without a commit marker, executed by recovery. */
        public int uncommittedBatches()
        {
            return uncommittedBatches;
        }

        /** @return the seq of the last batch in the recovered state. */
        public long lastSeq()
        {
            return lastSeq;
        }

        /** @return the recovered state's root. */
        public long root()
        {
            return root;
        }

        /** @return wall time of the whole recovery (checkpoint load + replay), or of the replay alone. */
        public double seconds()
        {
            return seconds;
        }

        /** @return wall time spent loading and verifying the checkpoint. */
        public double checkpointSeconds()
        {
            return checkpointSeconds;
        }

        /** @return the torn-tail warning, or null when the journal ended cleanly. */
        public String tornTailWarning()
        {
            return tornTailWarning;
        }

        /** @return checkpoints skipped because they did not verify. */
        public List<String> warnings()
        {
            return warnings;
        }
    }
}
