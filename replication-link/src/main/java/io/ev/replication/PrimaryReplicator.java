/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.ev.journal.BatchDecoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.LongHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The primary's side of Execute-Verify for one batch at a time (synchronous, Eve's model): ship
 * the batch, execute it locally in parallel, compare the backup's token with its own.
 * <ul>
 *   <li>equal: commit on both (DECISION commit; the backup also commits when the next batch
 *   arrives, so a lost decision costs nothing);</li>
 *   <li>different: both roll back and re-execute sequentially in batch order (DECISION
 *   re-execute), compare again;</li>
 *   <li>still different: the backup sends the keys the batch wrote on it with its page digests
 *   (KEYS); the primary ships its values of those keys and of its own written keys in pages that
 *   differ (RECORDS); the backup imports them (verified against the primary's page digests) and
 *   must then match: a "sequential divergence", reported.</li>
 * </ul>
 * The primary drives: it re-sends its last message to the backup until the expected answer arrives
 * ({@code retransmitNs}); the backup answers duplicates idempotently. Messages of an older epoch are
 * dropped (answered with a heartbeat of this epoch, which fences an old primary); a newer epoch
 * means this primary was fenced.
 * <p>
 * Failover: an idle primary sends heartbeats; after {@code peerTimeoutNs} without a word from the
 * backup it goes on alone ({@link Peer#LOST}): the batch in hand and every later one are executed
 * here only (sequentially by default) and committed at once. A backup that (re)joins says HELLO with
 * its last committed batch and root: equal to this primary's, they are paired; otherwise the
 * primary stops beginning batches ({@link Peer#SYNCING}) and answers the backup's SYNC_REQUESTs
 * (its page digests, a range at a time) with its complete records of the pages that differ, until
 * the backup's HELLO matches. Not thread-safe: call from the thread that runs the batches;
 * {@link #doWork(long)} until {@link #isCommitted()}, and begin a batch only when
 * {@link #readyForBatch()}.
 */
public final class PrimaryReplicator implements Link.MessageHandler
{
    /** What a batch's verification came to. */
    public enum State
    {
        IDLE, AWAITING_TOKEN, AWAITING_KEYS, COMMITTED, FAILED
    }

    /** What this primary knows of its backup. */
    public enum Peer
    {
        /** Batches are verified by the backup. */
        PAIRED,
        /** No backup: batches are executed and committed here alone. */
        LOST,
        /** A backup is copying this primary's state: no batch may begin. */
        SYNCING
    }

    private final Link link;
    private final ReplicaExecution execution;
    private final long epoch;
    private final long retransmitNs;
    private final ReplicationSettings settings;
    private final BatchDecoder decoder = new BatchDecoder();
    private final ExpandableDirectByteBuffer entry = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer lastSent = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer records = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer control = new ExpandableDirectByteBuffer(1 << 12);
    private final UnsafeBuffer entryView = new UnsafeBuffer(0, 0);
    private final LongHashSet keysToShip = new LongHashSet();
    private final LongArrayList keyList = new LongArrayList();
    private final Counters counters = new Counters();
    private long[] keyArray = new long[1024];
    private int[] differing = new int[1024];
    private State state = State.IDLE;
    private Peer peer;
    private long committedRoot;
    private long lastHeardNs;
    private long lastControlNs;
    private boolean clockStarted;
    private String refusal;
    private long pairedIncarnation;
    private int pairing;
    private long seq = -1;
    private int attempt;
    private long localRoot;
    private long localReplyDigest;
    private int lastSentLength;
    private long lastSentNs;
    private long nowNs;
    private String failure;

    /**
     * A primary already paired with a backup in the same state (both start from the same state),
     * default settings but {@code retransmitNs} (and a peer timeout of at least 3 of them).
     *
     * @param link         to the backup.
     * @param execution    this replica's state.
     * @param epoch        this primary's epoch (fencing).
     * @param retransmitNs how long to wait for an answer before re-sending.
     */
    public PrimaryReplicator(
        final Link link, final ReplicaExecution execution, final long epoch, final long retransmitNs)
    {
        this(link, execution, epoch, new ReplicationSettings().retransmitNs(retransmitNs)
            .peerTimeoutNs(Math.max(ReplicationSettings.PEER_TIMEOUT_NS_DEFAULT, 3 * retransmitNs)), Peer.PAIRED);
    }

    /**
     * @param link      to the backup.
     * @param execution this replica's state.
     * @param epoch     this primary's epoch (fencing).
     * @param settings  timing and sizing (validated here).
     * @param peer      {@link Peer#PAIRED} when the backup is known to hold the same state, else
     *                  {@link Peer#LOST} (alone until a backup says HELLO: a new primary, or one
     *                  started before its backup).
     */
    public PrimaryReplicator(
        final Link link,
        final ReplicaExecution execution,
        final long epoch,
        final ReplicationSettings settings,
        final Peer peer)
    {
        if (Peer.SYNCING == peer)
        {
            throw new IllegalArgumentException("a primary starts PAIRED or LOST, not " + peer);
        }
        this.link = link;
        this.execution = execution;
        this.epoch = epoch;
        this.settings = settings.conclude();
        this.retransmitNs = settings.retransmitNs();
        this.peer = peer;
        this.committedRoot = execution.root();
    }

    /**
     * @return true when a batch may begin: the previous one committed and no backup is syncing.
     */
    public boolean readyForBatch()
    {
        return (State.IDLE == state || State.COMMITTED == state) && Peer.SYNCING != peer;
    }

    /**
     * Starts batch {@code seq}: keeps a copy of its journal entry, ships it and executes it here
     * (in parallel).
     */
    public void begin(
        final long seq, final DirectBuffer batchEntry, final int offset, final int length, final long nowNs)
    {
        if (!readyForBatch())
        {
            throw new IllegalStateException("begin(" + seq + "): batch " + this.seq + " is " + state + ", backup " +
                peer + " (wait for readyForBatch())");
        }
        entry.putBytes(0, batchEntry, offset, length);
        entryView.wrap(entry, 0, length);
        final String problem = decoder.wrap(entryView, length);
        if (null != problem)
        {
            throw new IllegalArgumentException("batch " + seq + ": " + problem);
        }
        this.seq = seq;
        this.attempt = 0;
        this.nowNs = nowNs;
        if (Peer.LOST == peer)
        {
            decoder.rewind();
            execution.execute(seq, decoder, settings.soloSequential());
            commitAlone();
            return;
        }
        state = State.AWAITING_TOKEN;
        send(Messages.framed(lastSent, 0, Messages.BATCH, epoch, seq, entryView, 0, length));
        decoder.rewind();
        execution.execute(seq, decoder, false);
        localRoot = execution.root();
        localReplyDigest = execution.replyDigest();
    }

    /**
     * Commits the batch in hand without the backup: after a parallel execution (the backup was
     * lost while verifying it) it is first executed again sequentially when so configured.
     */
    private void commitAlone()
    {
        if (State.AWAITING_TOKEN == state && 0 == attempt && settings.soloSequential())
        {
            execution.rollback(seq);
            decoder.rewind();
            execution.execute(seq, decoder, true);
        }
        localRoot = execution.root();
        localReplyDigest = execution.replyDigest();
        execution.commit(seq);
        committedRoot = localRoot;
        lastSentLength = 0;
        if (attempt >= 1)
        {
            // a divergence of this batch was detected before the backup was lost: what commits is this
            // replica's sequential execution
            counters.repairedByReexecution++;
        }
        state = State.COMMITTED;
        counters.committed++;
        counters.committedAlone++;
    }

    /**
     * Polls the link and re-sends on timeout.
     *
     * @return work done (messages handled + re-sends).
     */
    public int doWork(final long nowNs)
    {
        this.nowNs = nowNs;
        if (!clockStarted)
        {
            clockStarted = true;
            lastHeardNs = nowNs;
            lastControlNs = nowNs;
        }
        int work = link.poll(this, 16);
        if (State.FAILED == state)
        {
            return work;
        }
        if (Peer.LOST == peer)
        {
            // tells a backup that still thinks it is paired (the loss was a long pause, not a crash) to
            // rejoin rather than promote itself; fences an old primary
            if (nowNs - lastControlNs >= settings.heartbeatNs())
            {
                sendControl(Messages.heartbeat(control, 0, epoch, nowNs, execution.lastCommittedSeq(), false, pairing));
                work++;
            }
            return work;
        }
        final boolean awaiting = State.AWAITING_TOKEN == state || State.AWAITING_KEYS == state;
        if (nowNs - lastHeardNs > settings.peerTimeoutNs())
        {
            peerLost();
            work++;
        }
        else if (awaiting && nowNs - lastSentNs >= retransmitNs)
        {
            resend();
            counters.retransmits++;
            work++;
        }
        else if (!awaiting && Peer.PAIRED == peer && nowNs - Math.max(lastSentNs, lastControlNs) >=
            settings.heartbeatNs())
        {
            sendControl(Messages.heartbeat(control, 0, epoch, nowNs, execution.lastCommittedSeq(), true, pairing));
            work++;
        }
        return work;
    }

    /**
     * The backup said nothing for {@code peerTimeoutNs} (or restarted without the batch in hand):
     * go on alone, finishing the batch in hand here.
     */
    private void peerLost()
    {
        counters.peerLosses++;
        if (Peer.SYNCING == peer)
        {
            counters.syncsAbandoned++;
        }
        peer = Peer.LOST;
        if (State.AWAITING_TOKEN == state || State.AWAITING_KEYS == state)
        {
            commitAlone();
        }
    }

    public void onMessage(final DirectBuffer buffer, final int offset, final int length)
    {
        final String problem = Messages.check(buffer, offset, length);
        if (null != problem)
        {
            counters.malformed++;
            if (length >= Messages.HEADER_LENGTH &&
                (buffer.getShort(offset + Messages.SCHEMA_ID_OFFSET) != Messages.SCHEMA_ID ||
                buffer.getShort(offset + Messages.VERSION_OFFSET) != Messages.VERSION))
            {
                fail("refused the backup: " + problem);
            }
            return;
        }
        if (State.FAILED == state)
        {
            return;
        }
        final long messageEpoch = Messages.epoch(buffer, offset);
        final short type = Messages.type(buffer, offset);
        if (messageEpoch > epoch)
        {
            fail("fenced: the peer is at epoch " + messageEpoch + ", this primary at " + epoch +
                " (another primary was promoted)");
            return;
        }
        if (messageEpoch < epoch && Messages.HELLO != type)
        {
            counters.stale++;
            fence();
            return;
        }
        lastHeardNs = nowNs;
        switch (type)
        {
            case Messages.TOKEN:
                onToken(buffer, offset);
                break;
            case Messages.KEYS:
                onKeys(buffer, offset);
                break;
            case Messages.HELLO:
                onHello(buffer, offset, messageEpoch);
                break;
            case Messages.SYNC_REQUEST:
                onSyncRequest(buffer, offset);
                break;
            default:
                break; // HEARTBEAT: liveness only
        }
    }

    /**
     * Answers a message of an older epoch (an old primary, or a backup that missed a promotion)
     * with a heartbeat of this epoch, at most once per {@code retransmitNs}.
     */
    private void fence()
    {
        if (nowNs - lastControlNs >= retransmitNs)
        {
            sendControl(Messages.heartbeat(control, 0, epoch, nowNs, execution.lastCommittedSeq(), false, pairing));
        }
    }

    private void onHello(final DirectBuffer buffer, final int offset, final long messageEpoch)
    {
        if (Messages.ROLE_BACKUP != Messages.helloRole(buffer, offset))
        {
            if (messageEpoch == epoch)
            {
                fail("two primaries at epoch " + epoch + ": the peer also says it is primary (start one replica " +
                    "as backup)");
            }
            else
            {
                fence();
            }
            return;
        }
        if (Messages.helloPageCount(buffer, offset) != execution.pageCount())
        {
            refusal = "refused a backup with " + Messages.helloPageCount(buffer, offset) + " digest pages: this " +
                "primary has " + execution.pageCount() + " (size both stores the same)";
            counters.refused++;
            return;
        }
        final long incarnation = Messages.helloIncarnation(buffer, offset);
        if (Peer.PAIRED == peer && incarnation == pairedIncarnation)
        {
            // a retransmitted HELLO of the backup already paired (its answer may have been lost)
            counters.stale++;
            sendHelloAnswer();
            return;
        }
        if (State.AWAITING_TOKEN == state || State.AWAITING_KEYS == state)
        {
            peerLost(); // the backup restarted: it no longer has the batch in hand
        }
        pairedIncarnation = incarnation;
        final long backupSeq = Messages.lastCommittedSeq(buffer, offset);
        final long backupRoot = Messages.helloRoot(buffer, offset);
        if (backupSeq == execution.lastCommittedSeq() && backupRoot == committedRoot)
        {
            if (Peer.PAIRED != peer)
            {
                counters.pairings++;
                pairing++;
            }
            peer = Peer.PAIRED;
        }
        else
        {
            if (Peer.SYNCING != peer)
            {
                counters.syncs++;
            }
            peer = Peer.SYNCING;
        }
        sendHelloAnswer();
    }

    private void sendHelloAnswer()
    {
        sendControl(Messages.hello(control, 0, epoch, Messages.ROLE_PRIMARY, execution.pageCount(),
            execution.lastCommittedSeq(), committedRoot, execution.requestsInState(), pairing));
    }

    /**
     * A syncing backup's page digests for a range: answers with this primary's complete records of
     * the pages that differ, as many as fit one frame.
     */
    private void onSyncRequest(final DirectBuffer buffer, final int offset)
    {
        final int firstPage = Messages.syncFirstPage(buffer, offset);
        final int count = Messages.syncCountOrEnd(buffer, offset);
        if (Peer.SYNCING != peer || Messages.seq(buffer, offset) != execution.lastCommittedSeq())
        {
            counters.stale++;
            return;
        }
        if (firstPage < 0 || count < 1 || (long)firstPage + count > execution.pageCount())
        {
            counters.malformed++;
            return;
        }
        if (differing.length < count)
        {
            differing = new int[count];
        }
        int diffCount = 0;
        for (int i = 0; i < count; i++)
        {
            final int page = firstPage + i;
            if (Messages.syncDigestAt(buffer, offset, i) != execution.pageDigest(page))
            {
                differing[diffCount++] = page;
            }
        }
        int endPage = firstPage + count;
        int frameLength = 0;
        int exported = diffCount;
        while (exported > 0)
        {
            frameLength = execution.exportPages(differing, exported, control, Messages.SYNC_HEADER_LENGTH);
            if (frameLength <= settings.maxSyncFrameBytes())
            {
                break;
            }
            if (1 == exported)
            {
                fail("page " + differing[0] + " needs a " + frameLength + "-byte sync frame, more than " +
                    "maxSyncFrameBytes " + settings.maxSyncFrameBytes());
                return;
            }
            exported /= 2;
            endPage = differing[exported];
        }
        counters.pagesShipped += exported;
        sendControl(Messages.syncRecords(control, 0, epoch, execution.lastCommittedSeq(), firstPage, endPage,
            frameLength));
    }

    private void sendControl(final int length)
    {
        lastControlNs = nowNs;
        if (!link.offer(control, 0, length))
        {
            counters.backPressured++;
        }
    }

    private void onToken(final DirectBuffer buffer, final int offset)
    {
        if (Peer.PAIRED != peer || State.AWAITING_TOKEN != state || Messages.seq(buffer, offset) != seq ||
            Messages.attempt(buffer, offset) != attempt)
        {
            counters.stale++;
            return;
        }
        // after a transfer only the state must agree: the backup's replies were computed by its own
        // (nondeterministic) execution, and only the primary releases replies
        if (Messages.tokenRoot(buffer, offset) == localRoot &&
            (2 == attempt || Messages.tokenReplyDigest(buffer, offset) == localReplyDigest))
        {
            send(Messages.decision(lastSent, 0, epoch, seq, attempt, Messages.DECISION_COMMIT));
            execution.commit(seq);
            committedRoot = localRoot;
            state = State.COMMITTED;
            counters.committed++;
            if (1 == attempt)
            {
                counters.repairedByReexecution++;
            }
            else if (2 == attempt)
            {
                counters.repairedByTransfer++;
            }
            return;
        }
        if (0 == attempt)
        {
            counters.detected++; // a divergence is counted once, however it is repaired
            attempt = 1;
            send(Messages.decision(lastSent, 0, epoch, seq, attempt, Messages.DECISION_REEXECUTE));
            execution.rollback(seq);
            decoder.rewind();
            execution.execute(seq, decoder, true);
            localRoot = execution.root();
            localReplyDigest = execution.replyDigest();
        }
        else if (1 == attempt)
        {
            counters.sequentialDivergences++;
            attempt = 2;
            state = State.AWAITING_KEYS;
            send(Messages.decision(lastSent, 0, epoch, seq, attempt, Messages.DECISION_TRANSFER));
        }
        else
        {
            fail("batch " + seq + " still differs after the record transfer: root " +
                Long.toHexString(Messages.tokenRoot(buffer, offset)) + " on the backup, " +
                Long.toHexString(localRoot) + " here");
        }
    }

    private void onKeys(final DirectBuffer buffer, final int offset)
    {
        if (Peer.PAIRED != peer || State.AWAITING_KEYS != state || Messages.seq(buffer, offset) != seq)
        {
            counters.stale++;
            return;
        }
        keysToShip.clear();
        keyList.clear();
        execution.forEachWrittenKey(seq, (key, pageDigest) -> addKey(key));
        for (int i = 0, count = Messages.keyCount(buffer, offset); i < count; i++)
        {
            final long key = Messages.key(buffer, offset, i);
            if (Messages.keyPageDigest(buffer, offset, i) != execution.pageDigestOf(key))
            {
                addKey(key);
            }
        }
        final int count = keyList.size();
        if (keyArray.length < count)
        {
            keyArray = new long[count];
        }
        for (int i = 0; i < count; i++)
        {
            keyArray[i] = keyList.getLong(i);
        }
        records.checkLimit(execution.maxExportLength(count));
        final int frameLength = execution.exportRecords(keyArray, count, records, 0);
        state = State.AWAITING_TOKEN;
        lastSent.checkLimit(Messages.FRAME_OFFSET + frameLength);
        send(Messages.framed(lastSent, 0, Messages.RECORDS, epoch, seq, records, 0, frameLength));
        counters.recordsShipped += count;
    }

    private void addKey(final long key)
    {
        if (keysToShip.add(key))
        {
            keyList.addLong(key);
        }
    }

    private void send(final int length)
    {
        lastSentLength = length;
        resend();
    }

    private void resend()
    {
        lastSentNs = nowNs;
        if (!link.offer(lastSent, 0, lastSentLength))
        {
            counters.backPressured++;
        }
    }

    /**
     * Re-sends the commit decision of the last committed batch (when no next batch follows soon,
     * e.g. at shutdown, so that the backup need not wait for the next batch to commit it).
     */
    public void resendLastDecision()
    {
        if (State.COMMITTED == state && Peer.PAIRED == peer && lastSentLength > 0)
        {
            resend();
        }
    }

    private void fail(final String reason)
    {
        if (null == failure)
        {
            failure = reason;
        }
        state = State.FAILED;
    }

    public State state()
    {
        return state;
    }

    public boolean isCommitted()
    {
        return State.COMMITTED == state;
    }

    /**
     * @return why replication stopped (version mismatch, fencing, no convergence), or null.
     */
    public String failure()
    {
        return failure;
    }

    /**
     * @return the attempt that committed the current batch: 0 parallel, 1 sequential re-execution,
     * 2 record transfer.
     */
    public int attempt()
    {
        return attempt;
    }

    public long seq()
    {
        return seq;
    }

    public Counters counters()
    {
        return counters;
    }

    /** @return what this primary knows of its backup. */
    public Peer peer()
    {
        return peer;
    }

    public long epoch()
    {
        return epoch;
    }

    /** @return why the last backup was refused (e.g. other store sizing), or null. */
    public String refusal()
    {
        return refusal;
    }

    /**
     * What the primary saw, for reports and oracles.
     */
    public static final class Counters
    {
        long committed;
        long detected;
        long repairedByReexecution;
        long repairedByTransfer;
        long sequentialDivergences;
        long recordsShipped;
        long retransmits;
        long backPressured;
        long malformed;
        long stale;
        long committedAlone;
        long peerLosses;
        long pairings;
        long syncs;
        long syncsAbandoned;
        long pagesShipped;
        long refused;

        public long committed()
        {
            return committed;
        }

        /** @return batches whose parallel tokens differed. */
        public long detected()
        {
            return detected;
        }

        public long repairedByReexecution()
        {
            return repairedByReexecution;
        }

        public long repairedByTransfer()
        {
            return repairedByTransfer;
        }

        /** @return batches that differed even when executed sequentially (nondeterministic application). */
        public long sequentialDivergences()
        {
            return sequentialDivergences;
        }

        public long recordsShipped()
        {
            return recordsShipped;
        }

        public long retransmits()
        {
            return retransmits;
        }

        public long backPressured()
        {
            return backPressured;
        }

        public long malformed()
        {
            return malformed;
        }

        public long stale()
        {
            return stale;
        }

        /** @return batches committed without a backup (unverified). */
        public long committedAlone()
        {
            return committedAlone;
        }

        /** @return times the backup was presumed crashed (silence, or it restarted). */
        public long peerLosses()
        {
            return peerLosses;
        }

        /** @return times a backup in this primary's state joined. */
        public long pairings()
        {
            return pairings;
        }

        /** @return state transfers started for a rejoining backup. */
        public long syncs()
        {
            return syncs;
        }

        public long syncsAbandoned()
        {
            return syncsAbandoned;
        }

        /** @return pages whose records were shipped to syncing backups. */
        public long pagesShipped()
        {
            return pagesShipped;
        }

        /** @return backups refused (other store sizing). */
        public long refused()
        {
            return refused;
        }
    }
}
