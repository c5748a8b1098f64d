/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.Arrays;

import io.ev.journal.BatchDecoder;
import io.ev.journal.BatchEncoder;
import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
import io.ev.journal.Journal;
import io.ev.pipeline.Batch;
import io.ev.pipeline.PhaseExecutor;
import io.ev.pipeline.Request;
import io.ev.replication.ReplicaExecution;
import io.ev.replication.ReplicationSettings;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A replica's state for the Execute-Verify protocol ({@link ReplicaExecution}) over the engine's
 * store, its executor (parallel execution uses the phases the primary's mixer put in the batch
 * entry; the backup's executor may assign workers and order differently: schedule diversity), and
 * sequential execution in batch order with failed requests isolated as everywhere else
 * ({@link SequentialReplay}). Up to {@code maxOpenBatches} batches may be open (pipelining): each
 * has a slot ({@code seq % maxOpenBatches}) holding its requests and replies ({@link #batch(long)}),
 * its root and reply digest, until the batch {@code maxOpenBatches} later reuses it. A backup journals
 * a batch (entry, then commit marker) when it commits it: batches it rolls back and never commits
 * leave nothing in its journal.
 */
public final class EngineReplica implements ReplicaExecution
{
    /** Committed batches indexed for journal catch-up: the default gap a backup may catch up, + 1. */
    public static final int CATCH_UP_HISTORY = ReplicationSettings.MAX_CATCH_UP_BATCHES_DEFAULT + 1;

    private final StateStore store;
    private final TransactionRegistry registry;
    private final long configurationDigest;
    private final BatchRunner parallel;
    private final SequentialReplay sequential;
    private final Batch[] batches;
    private final long[] roots;
    private final long[] replyDigests;
    private final BatchEncoder[] journalEncoders;
    private final UnsafeBuffer replyView = new UnsafeBuffer(0, 0);
    private final IntHashSet pageSet = new IntHashSet();
    private final LongArrayList pageKeys = new LongArrayList();
    private long[] keyArray = new long[1024];
    private Journal journal;
    private Journal catchUpJournal;
    private final long[] historySeq = new long[CATCH_UP_HISTORY];
    private final long[] historyIndex = new long[CATCH_UP_HISTORY];
    private final long[] historyRoot = new long[CATCH_UP_HISTORY];
    private final boolean[] historyCommitted = new boolean[CATCH_UP_HISTORY];
    private long root;
    private final Batch[] mixed;
    private final long[] mixedSeq;
    private final Batch[] executed;
    private long replyDigest;
    private long requestsInState;
    private volatile long committedRoot;

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
        this.configurationDigest = registry.configurationDigest();
        this.parallel = new BatchRunner(store, executor, writer, maxBatchRequests);
        this.sequential = new SequentialReplay(store, writer, maxBatchRequests);
        final int slots = store.context().maxOpenBatches();
        this.batches = new Batch[slots];
        this.mixed = new Batch[slots];
        this.mixedSeq = new long[slots];
        this.executed = new Batch[slots];
        Arrays.fill(mixedSeq, -1);
        this.roots = new long[slots];
        this.replyDigests = new long[slots];
        this.journalEncoders = new BatchEncoder[slots];
        for (int i = 0; i < slots; i++)
        {
            batches[i] = new Batch(maxBatchRequests, registry.maxPayloadBytes(), registry.maxReplyBytes());
        }
        this.root = store.root();
        this.committedRoot = root;
    }

    private int slot(final long seq)
    {
        return (int)(seq % batches.length);
    }

    /**
     * Journal catch-up: {@code journal} is this node's journal (either role), read to ship committed
     * batches to a rejoining backup. The last {@value #CATCH_UP_HISTORY} committed batches are indexed
     * (seq -> journal index, root) as they are journaled and committed in this process; older ones, or
     * ones committed before a restart, are not served (the backup syncs pages instead).
     */
    public void catchUpJournal(final Journal journal)
    {
        this.catchUpJournal = journal;
    }

    /**
     * Primary role: batch {@code seq}'s entry was journaled at {@code journalIndex} (by the batcher).
     */
    public void journaled(final long seq, final long journalIndex)
    {
        final int h = (int)(seq % CATCH_UP_HISTORY);
        historySeq[h] = seq;
        historyIndex[h] = journalIndex;
        historyCommitted[h] = false;
    }

    public boolean canServeCatchUp(final long fromSeq)
    {
        final long last = lastCommittedSeq();
        if (null == catchUpJournal || fromSeq < 1 || last - fromSeq + 2 > CATCH_UP_HISTORY)
        {
            return false;
        }
        for (long seq = fromSeq - 1; seq <= last; seq++)
        {
            final int h = (int)(seq % CATCH_UP_HISTORY);
            if (historySeq[h] != seq || !historyCommitted[h])
            {
                return false;
            }
        }
        return true;
    }

    public long committedRoot(final long seq)
    {
        final int h = (int)(seq % CATCH_UP_HISTORY);
        if (historySeq[h] != seq || !historyCommitted[h])
        {
            throw new IllegalStateException("batch " + seq + " is not in the catch-up history");
        }
        return historyRoot[h];
    }

    public int committedBatch(final long seq, final MutableDirectBuffer dst, final int offset)
    {
        final int h = (int)(seq % CATCH_UP_HISTORY);
        // -1 once checkpoints pruned the journal cycle that held it
        return historySeq[h] == seq ? catchUpJournal.readBatchEntry(historyIndex[h], dst, offset) : -1;
    }

    /**
     * Backup role: journal what the replication protocol executes and commits (null: stop, e.g. on
     * promotion, when the engine's batcher journals as a primary).
     */
    public void journalAsBackup(final Journal journal)
    {
        this.journal = journal;
        if (null != journal && null == journalEncoders[0])
        {
            for (int i = 0; i < journalEncoders.length; i++)
            {
                journalEncoders[i] = new BatchEncoder();
            }
        }
    }

    /**
     * Names the crash points inside this replica's executions for its role (a promoted backup is a
     * primary): mid-execution for parallel runs, mid-re-execution for sequential ones.
     */
    void crashPointsOf(final boolean primary)
    {
        parallel.crashPoint(primary ? CrashPoint.PRIMARY_MID_EXECUTION : CrashPoint.BACKUP_MID_EXECUTION);
        sequential.crashPoint(primary ? CrashPoint.PRIMARY_MID_REEXECUTION : CrashPoint.BACKUP_MID_REEXECUTION);
    }

    /**
     * @param requests requests executed into the current state (recovered count at start).
     */
    public void requestsInState(final long requests)
    {
        this.requestsInState = requests;
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

    /**
     * Primary role: {@code batch} is the mixed batch {@code seq} (phases grouped) whose entry the
     * replication protocol will pass to {@link #execute(long, BatchDecoder, boolean)}; that execution
     * uses it, and writes the replies into it, instead of decoding the entry into a copy. The caller
     * keeps it unchanged until the batch's replies are released.
     */
    public void mixed(final long seq, final Batch batch)
    {
        if (batch.seq() != seq)
        {
            throw new IllegalArgumentException("mixed(" + seq + "): the batch is batch " + batch.seq());
        }
        final int slot = slot(seq);
        mixed[slot] = batch;
        mixedSeq[slot] = seq;
    }

    public void execute(final long seq, final BatchDecoder entry, final boolean sequentially)
    {
        final int slot = slot(seq);
        if (null != journal)
        {
            // kept until commit: the entry is journaled with its commit marker (the primary's bytes)
            journalEncoders[slot].copyOf(seq, entry).finish();
        }
        final Batch batch;
        if (mixedSeq[slot] == seq)
        {
            batch = mixed[slot]; // this replica's own mixed batch: the same requests, phases and order
        }
        else
        {
            batch = batches[slot];
            batch.reset(seq);
            while (entry.next())
            {
                final int index = batch.add(entry.clientId(), entry.requestId(), entry.type(), entry.payload(), 0,
                    entry.payload().capacity());
                batch.phase(index, entry.phase());
            }
            batch.groupPhases();
        }
        executed[slot] = batch;
        root = sequentially ? sequential.executeAndSeal(batch, registry) : parallel.executeAndSeal(batch, registry);
        replyDigest = ReplyDigest.of(batch, replyView);
        roots[slot] = root;
        replyDigests[slot] = replyDigest;
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
        root = store.root();
    }

    public void commit(final long seq)
    {
        final int slot = slot(seq);
        final int count = executed[slot].count();
        mixedSeq[slot] = -1; // committed: never executed again
        if (null != journal)
        {
            journaled(seq, journal.append(journalEncoders[slot]));
            CrashPoints.hit(CrashPoint.BACKUP_JOURNALED);
        }
        store.commit(seq);
        requestsInState += count;
        if (null != journal)
        {
            journal.appendCommit(seq, roots[slot], replyDigests[slot], count);
        }
        committedRoot = roots[slot];
        final int h = (int)(seq % CATCH_UP_HISTORY);
        if (historySeq[h] == seq)
        {
            historyRoot[h] = committedRoot;
            historyCommitted[h] = true;
        }
    }

    /**
     * @return the state root after the last committed batch (or state transfer); any thread may
     * read it.
     */
    public long committedRoot()
    {
        return committedRoot;
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
        roots[slot(seq)] = root;
    }

    public long configurationDigest()
    {
        return configurationDigest;
    }

    public int pageCount()
    {
        return store.pageCount();
    }

    public long pageDigest(final int page)
    {
        return store.pageDigest(page);
    }

    public int exportPages(final int[] pages, final int count, final MutableDirectBuffer dst, final int offset)
    {
        pageSet.clear();
        for (int i = 0; i < count; i++)
        {
            pageSet.add(pages[i]);
        }
        pageKeys.clear();
        store.keysInPages(pageSet, pageKeys);
        final int keys = pageKeys.size();
        if (keyArray.length < keys)
        {
            keyArray = new long[Math.max(keys, keyArray.length * 2)];
        }
        for (int i = 0; i < keys; i++)
        {
            keyArray[i] = pageKeys.getLong(i);
        }
        dst.checkLimit(offset + store.maxExportPagesLength(count, keys));
        return store.exportPages(pages, count, keyArray, keys, dst, offset);
    }

    public void importPages(final DirectBuffer src, final int offset, final int length)
    {
        final long seq = store.lastCommittedSeq() + 1;
        store.begin(seq);
        try
        {
            store.importRecords(seq, src, offset, length);
        }
        catch (final RuntimeException ex)
        {
            store.rollback(seq);
            throw ex;
        }
        root = store.seal(seq);
        store.commit(seq);
        committedRoot = root;
    }

    public void adoptCommittedSeq(final long seq, final long requests)
    {
        store.adoptCommittedSeq(seq);
        root = store.root();
        committedRoot = root;
        requestsInState = requests;
        if (null != journal)
        {
            // the transferred state is not the replay of this journal: recovery starts from here
            journal.checkpoints().take(store, requests, false);
        }
    }

    public long requestsInState()
    {
        return requestsInState;
    }

    /**
     * @return batch {@code seq} with its replies, for releasing them after commit: valid while the
     * batch is open and after it committed, until batch {@code seq + maxOpenBatches} executes.
     */
    public Batch batch(final long seq)
    {
        final Batch batch = executed[slot(seq)];
        if (null == batch || batch.seq() != seq)
        {
            throw new IllegalStateException("batch " + seq + " is not in its slot (it holds batch " + batch.seq() +
                ")");
        }
        return batch;
    }

    /**
     * @return the state root after batch {@code seq} as executed (and repaired), while {@link #batch(long)}
     * holds it.
     */
    public long rootOf(final long seq)
    {
        batch(seq);
        return roots[slot(seq)];
    }

    /**
     * @return the digest of batch {@code seq}'s replies as executed, while {@link #batch(long)} holds it
     * (what its commit marker records).
     */
    public long replyDigestOf(final long seq)
    {
        batch(seq);
        return replyDigests[slot(seq)];
    }
}
