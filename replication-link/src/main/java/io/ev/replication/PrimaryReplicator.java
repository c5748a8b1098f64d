/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.ev.journal.BatchDecoder;
import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.LongHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The primary's side of Execute-Verify, pipelined: up to {@code maxInFlightBatches} (K) batches are
 * shipped and executed but not yet verified; batch s + 1 executes on top of s's unverified state.
 * For each batch the backup's token (per seq, round and attempt) is compared with this replica's:
 * <ul>
 *   <li>equal: the batch is verified; verified batches commit strictly in seq order, oldest first
 *   (DECISION commit; the backup also learns it from the last committed seq carried by every BATCH
 *   and idle HEARTBEAT, so a lost decision costs nothing). The caller learns each commit, in order,
 *   from {@link #pollCommitted()}, and may release that batch's replies;</li>
 *   <li>different, for the oldest batch in flight s (a later batch's mismatch waits until it is the
 *   oldest: its state may change with s's): both replicas roll back every in-flight batch from the
 *   newest down to s, and re-execute s sequentially in batch order (DECISION re-execute, attempt 1,
 *   of a new round: the round goes up so that every message about the discarded executions is
 *   stale), compare again;</li>
 *   <li>still different: the backup sends the keys the batch wrote on it with its page digests
 *   (KEYS); the primary ships its values of those keys and of its own written keys in pages that
 *   differ (RECORDS); the backup imports them (verified against the primary's page digests) and
 *   must then match: a "sequential divergence", reported;</li>
 *   <li>once s commits, the later batches (their entries kept) are executed again in parallel and
 *   re-shipped, in the new round. While a batch is being repaired (attempt 1 or 2), or re-shipped
 *   batches wait, new batches wait too ({@code PENDING}): a repair only ever touches the newest
 *   open batch.</li>
 * </ul>
 * The primary drives: it re-sends the oldest batch's last message to the backup until the expected
 * answer arrives, after an adaptive timeout (at least {@code retransmitNs}, see {@link #sampleAnswerWait});
 * a message the transport refused is offered again at once; the backup answers duplicates
 * idempotently. Messages of an
 * older epoch are dropped (answered with a heartbeat of this epoch, which fences an old primary); a
 * newer epoch means this primary was fenced. With K = 1 this is Eve's synchronous protocol.
 * <p>
 * Failover: an idle primary sends heartbeats; after {@code peerTimeoutNs} without a word from the
 * backup it goes on alone ({@link Peer#LOST}): the batches in flight are committed here only, in
 * order: verified ones (and one already re-executed sequentially) as they are, the others executed
 * again sequentially first when {@code soloSequential}; every later batch is executed here and
 * committed at once. A backup that (re)joins says HELLO with its last committed batch and root:
 * equal to this primary's, they are paired; otherwise the primary stops beginning batches
 * ({@link Peer#SYNCING}) and answers the backup's SYNC_REQUESTs (its page digests, a range at a time)
 * with its complete records of the pages that differ, until the backup's HELLO matches. Not
 * thread-safe: call from the thread that runs the batches; {@link #doWork(long)} and
 * {@link #pollCommitted()} until the batches begun are reported, and begin a batch only when
 * {@link #readyForBatch()}.
 */
public final class PrimaryReplicator implements Link.MessageHandler
{
    /** The adaptive re-send timeout stays under peerTimeoutNs / this: several re-sends before a peer is lost. */
    private static final long MAX_RETRANSMIT_PEER_TIMEOUT_DIVISOR = 16;

    /** Where the batches stand, for reports. */
    public enum State
    {
        /** No batch in flight. */
        IDLE,
        /** Batches begun and not yet committed. */
        VERIFYING,
        /** Replication stopped: see {@link #failure()}. */
        FAILED
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

    /** A batch's place in the window. */
    private enum Status
    {
        /** Entry kept, not executed: waits for an earlier batch's repair. */
        PENDING,
        AWAITING_TOKEN,
        AWAITING_KEYS,
        /** Token equal; commits once every earlier batch has. */
        MATCHED,
        /** Parallel token different; repaired once it is the oldest in flight. */
        MISMATCHED,
        /** Committed; its slot is free once {@link #pollCommitted()} reported it. */
        COMMITTED
    }

    /**
     * One batch of the window: its entry, its execution's token and its last message to the backup.
     */
    private static final class Slot
    {
        final ExpandableDirectByteBuffer entry = new ExpandableDirectByteBuffer(1 << 16);
        final ExpandableDirectByteBuffer message = new ExpandableDirectByteBuffer(1 << 16);
        final UnsafeBuffer entryView = new UnsafeBuffer(0, 0);
        long seq;
        int entryLength;
        Status status;
        int attempt;
        long root;
        long replyDigest;
        int messageLength;
        /** When its message was last offered. */
        long sentNs;
        /** Offers of its current message: 1 = not re-sent (its answer times the round trip). */
        int sends;
        /** The transport refused its last offer (back pressure): offered again at the next duty cycle. */
        boolean unsent;
    }

    private final Link link;
    private final ReplicaExecution execution;
    private final long epoch;
    private final long retransmitNs;
    /** The longest wait for an answer before a re-send, however slow the round trips were. */
    private final long maxRetransmitNs;
    private final ReplicationSettings settings;
    private final BatchDecoder decoder = new BatchDecoder();
    private final Slot[] slots;
    private final ExpandableDirectByteBuffer records = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer control = new ExpandableDirectByteBuffer(1 << 12);
    private final ExpandableDirectByteBuffer lastDecision = new ExpandableDirectByteBuffer(64);
    private final LongHashSet keysToShip = new LongHashSet();
    private final LongArrayList keyList = new LongArrayList();
    private final Counters counters = new Counters();
    private long[] keyArray = new long[1024];
    private int[] differing = new int[1024];
    private int head;
    private int count;
    private int round;
    private Peer peer;
    private long committedRoot;
    private long lastHeardNs;
    private long lastWorkNs;
    private long lastControlNs;
    private long lastSentNs;
    /** When the backup last answered a message awaiting an answer (a token or the keys a batch wrote). */
    private long lastAnswerNs;
    /** Smoothed wait from a send to its answer ({@link #sampleAnswerWait}) and its mean deviation (0: none yet). */
    private long smoothedWaitNs;
    private long waitDeviationNs;
    /** Wait for an answer before a re-send: in [retransmitNs, maxRetransmitNs], adapted to the answers' waits. */
    private long retransmitTimeoutNs;
    private boolean clockStarted;
    private String refusal;
    private long pairedIncarnation;
    private int pairing;
    private int lastDecisionLength;
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
        this.maxRetransmitNs = Math.max(retransmitNs, settings.peerTimeoutNs() / MAX_RETRANSMIT_PEER_TIMEOUT_DIVISOR);
        this.retransmitTimeoutNs = retransmitNs;
        this.peer = peer;
        this.committedRoot = execution.root();
        this.slots = new Slot[settings.maxInFlightBatches()];
        for (int i = 0; i < slots.length; i++)
        {
            slots[i] = new Slot();
        }
    }

    /**
     * @return true when a batch may begin: fewer than {@code maxInFlightBatches} batches are begun and
     * not yet reported by {@link #pollCommitted()}, no backup is syncing, and replication has not
     * failed.
     */
    public boolean readyForBatch()
    {
        return count < slots.length && Peer.SYNCING != peer && null == failure;
    }

    /**
     * @return the seq the next {@link #begin} must carry: one after the newest batch begun, or after
     * the last committed one.
     */
    public long nextSeq()
    {
        return count > 0 ? slot(count - 1).seq + 1 : execution.lastCommittedSeq() + 1;
    }

    /**
     * Starts batch {@code seq}: keeps a copy of its journal entry, ships it and executes it here (in
     * parallel) on top of the batches still in flight; or keeps it pending while an earlier batch is
     * repaired; or, without a backup, executes and commits it at once.
     */
    public void begin(
        final long seq, final DirectBuffer batchEntry, final int offset, final int length, final long nowNs)
    {
        if (!readyForBatch())
        {
            throw new IllegalStateException("begin(" + seq + "): " + count + " of " + slots.length +
                " batches in flight or not yet reported, backup " + peer + ", failure " + failure +
                " (wait for readyForBatch())");
        }
        if (seq != nextSeq())
        {
            throw new IllegalArgumentException("begin(" + seq + "): the next batch is " + nextSeq());
        }
        final Slot slot = slot(count);
        slot.entry.putBytes(0, batchEntry, offset, length);
        slot.entryView.wrap(slot.entry, 0, length);
        final String problem = decoder.wrap(slot.entryView, length);
        if (null != problem)
        {
            throw new IllegalArgumentException("batch " + seq + ": " + problem);
        }
        slot.seq = seq;
        slot.entryLength = length;
        slot.attempt = 0;
        slot.messageLength = 0;
        slot.status = Status.PENDING;
        count++;
        this.nowNs = nowNs;
        if (Peer.LOST == peer)
        {
            commitAlone();
            return;
        }
        final Slot oldest = firstUncommitted();
        if (oldest == slot || (0 == oldest.attempt && Status.PENDING != slot(count - 2).status))
        {
            ship(slot);
        }
    }

    /**
     * @return the oldest committed batch not yet reported, which frees its slot (its replies may be
     * released: it committed, and every earlier batch did and was reported before it), or -1.
     */
    public long pollCommitted()
    {
        if (0 == count || Status.COMMITTED != slots[head].status)
        {
            return -1;
        }
        final long seq = slots[head].seq;
        head = next(head);
        count--;
        return seq;
    }

    /** @return batches begun and not yet committed. */
    public int inFlight()
    {
        int inFlight = 0;
        for (int i = 0; i < count; i++)
        {
            if (Status.COMMITTED != slot(i).status)
            {
                inFlight++;
            }
        }
        return inFlight;
    }

    private Slot slot(final int index)
    {
        return slots[(head + index) % slots.length];
    }

    private int next(final int index)
    {
        return index + 1 == slots.length ? 0 : index + 1;
    }

    /** @return the index of the oldest batch not committed, or {@code count} if none. */
    private int firstUncommittedIndex()
    {
        int index = 0;
        while (index < count && Status.COMMITTED == slot(index).status)
        {
            index++;
        }
        return index;
    }

    private Slot firstUncommitted()
    {
        final int index = firstUncommittedIndex();
        return index < count ? slot(index) : null;
    }

    /** @return the slot of batch {@code seq} if it is in flight (begun, not committed), else null. */
    private Slot inFlightSlot(final long seq)
    {
        if (0 == count)
        {
            return null;
        }
        final long index = seq - slots[head].seq;
        if (index < 0 || index >= count)
        {
            return null;
        }
        final Slot slot = slot((int)index);
        return Status.COMMITTED == slot.status ? null : slot;
    }

    /**
     * Ships a batch (in the current round) and executes it here in parallel.
     */
    private void ship(final Slot slot)
    {
        slot.status = Status.AWAITING_TOKEN;
        slot.attempt = 0;
        slot.messageLength = Messages.batch(slot.message, 0, epoch, slot.seq, round, execution.lastCommittedSeq(),
            slot.entryView, 0, slot.entryLength);
        send(slot);
        CrashPoints.hit(CrashPoint.PRIMARY_SHIPPED);
        execute(slot, false);
    }

    private void execute(final Slot slot, final boolean sequential)
    {
        decoder.wrap(slot.entryView, slot.entryLength);
        execution.execute(slot.seq, decoder, sequential);
        slot.root = execution.root();
        slot.replyDigest = execution.replyDigest();
        CrashPoints.hit(CrashPoint.PRIMARY_SEALED);
    }

    /**
     * Commits every batch in flight without the backup, in order: those verified (or already
     * re-executed sequentially, or transferred) as they are; from the first other one on, each is
     * executed (again) here, sequentially when {@code soloSequential}, and committed.
     */
    private void commitAlone()
    {
        final int first = firstUncommittedIndex();
        int keep = first;
        while (keep < count)
        {
            final Slot slot = slot(keep);
            if (Status.PENDING == slot.status ||
                (settings.soloSequential() && 0 == slot.attempt && Status.MATCHED != slot.status))
            {
                break;
            }
            keep++;
        }
        for (int i = first; i < keep; i++)
        {
            final Slot slot = slot(i);
            final boolean verified = Status.MATCHED == slot.status;
            commit(slot);
            if (!verified)
            {
                counters.committedAlone++;
                if (slot.attempt >= 1)
                {
                    // a divergence of this batch was detected before the backup was lost: what commits
                    // is this replica's sequential execution (or its transferred state)
                    counters.repairedByReexecution++;
                }
            }
        }
        if (keep < count && Status.PENDING != slot(keep).status)
        {
            execution.rollback(slot(keep).seq);
        }
        for (int i = keep; i < count; i++)
        {
            final Slot slot = slot(i);
            execute(slot, settings.soloSequential());
            commit(slot);
            counters.committedAlone++;
        }
    }

    private void commit(final Slot slot)
    {
        execution.commit(slot.seq);
        committedRoot = slot.root;
        slot.status = Status.COMMITTED;
        slot.messageLength = 0;
        counters.committed++;
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
            lastWorkNs = nowNs;
        }
        if (nowNs - lastWorkNs > settings.peerTimeoutNs() / 2)
        {
            // this replica did not run for a while (paused, descheduled, stopped by a debugger): the
            // peer's silence over that time is no evidence against it, and its messages may still sit
            // in the media driver; judge the silence again from now
            lastHeardNs = nowNs;
            counters.stalls++;
        }
        lastWorkNs = nowNs;
        int work = link.poll(this, 16);
        if (null != failure)
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
        if (nowNs - lastHeardNs > settings.peerTimeoutNs())
        {
            peerLost();
            return work + 1;
        }
        boolean awaiting = false;
        for (int i = 0; i < count; i++)
        {
            final Slot slot = slot(i);
            if (Status.AWAITING_TOKEN == slot.status || Status.AWAITING_KEYS == slot.status)
            {
                if (slot.unsent)
                {
                    resend(slot); // the transport refused it: no answer can come, offer it again now
                    work++;
                }
                else if (!awaiting && nowNs - Math.max(slot.sentNs, lastAnswerNs) >= retransmitTimeoutNs)
                {
                    // the backup answers in seq order: only the oldest message awaiting an answer is timed,
                    // from its send or the last answer, whichever is later; a later one is re-sent when it
                    // becomes the oldest and still gets no answer. Backed off until an answer is sampled.
                    resend(slot);
                    retransmitTimeoutNs = Math.min(maxRetransmitNs, 2 * retransmitTimeoutNs);
                    counters.retransmits++;
                    work++;
                }
                awaiting = true;
            }
        }
        if (!awaiting && Peer.PAIRED == peer && nowNs - Math.max(lastSentNs, lastControlNs) >= settings.heartbeatNs())
        {
            // also tells the backup which batches committed
            sendControl(Messages.heartbeat(control, 0, epoch, nowNs, execution.lastCommittedSeq(), true, pairing));
            work++;
        }
        return work;
    }

    /**
     * The backup said nothing for {@code peerTimeoutNs} (or restarted without the batches in hand):
     * go on alone, committing the batches in flight here (a new round: whatever the backup still
     * says about them is stale).
     */
    private void peerLost()
    {
        counters.peerLosses++;
        if (Peer.SYNCING == peer)
        {
            counters.syncsAbandoned++;
        }
        peer = Peer.LOST;
        round++;
        commitAlone();
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
        if (null != failure)
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
            case Messages.CATCH_UP:
                onCatchUp(buffer, offset);
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
            sendHelloAnswer(); // the backup compares too, and stops with its own error
            return;
        }
        final long configuration = Messages.helloConfigurationDigest(buffer, offset);
        if (configuration != execution.configurationDigest())
        {
            refusal = "refused a backup with configuration digest " + Long.toHexString(configuration) +
                ": this primary's is " + Long.toHexString(execution.configurationDigest()) +
                " (start both replicas with the same transaction types and request deduplication setting)";
            counters.refused++;
            sendHelloAnswer(); // the backup compares too, and stops with its own error
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
        if (inFlight() > 0)
        {
            peerLost(); // the backup restarted: it no longer has the batches in hand
        }
        round++; // a new pairing: nothing said in an earlier one is current
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
            execution.lastCommittedSeq(), committedRoot, execution.requestsInState(), pairing,
            execution.configurationDigest()));
    }

    /**
     * A syncing backup's page digests for a range: answers with this primary's complete records of
     * the pages that differ, as many as fit one frame.
     */
    private void onSyncRequest(final DirectBuffer buffer, final int offset)
    {
        final int firstPage = Messages.syncFirstPage(buffer, offset);
        final int pages = Messages.syncCountOrEnd(buffer, offset);
        if (Peer.SYNCING != peer || Messages.seq(buffer, offset) != execution.lastCommittedSeq())
        {
            counters.stale++;
            return;
        }
        if (firstPage < 0 || pages < 1 || (long)firstPage + pages > execution.pageCount())
        {
            counters.malformed++;
            return;
        }
        if (differing.length < pages)
        {
            differing = new int[pages];
        }
        int diffCount = 0;
        for (int i = 0; i < pages; i++)
        {
            final int page = firstPage + i;
            if (Messages.syncDigestAt(buffer, offset, i) != execution.pageDigest(page))
            {
                differing[diffCount++] = page;
            }
        }
        int endPage = firstPage + pages;
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

    /**
     * A rejoining backup asks for the committed batches from a seq on, saying its root after the one
     * before: answers with up to {@code catchUpBatchesPerAnswer} of them from the journal, each with
     * its committed root, or with seq -1 when it cannot (gap over {@code maxCatchUpBatches}, batches
     * not in the journal, or the backup's root is not this primary's history: the backup then syncs
     * pages).
     */
    private void onCatchUp(final DirectBuffer buffer, final int offset)
    {
        final long fromSeq = Messages.seq(buffer, offset);
        final long lastCommitted = execution.lastCommittedSeq();
        if (Peer.SYNCING != peer || fromSeq > lastCommitted)
        {
            counters.stale++;
            return;
        }
        if (fromSeq < 1 || lastCommitted - fromSeq >= settings.maxCatchUpBatches() ||
            !execution.canServeCatchUp(fromSeq) ||
            execution.committedRoot(fromSeq - 1) != Messages.catchUpRoot(buffer, offset))
        {
            refuseCatchUp();
            return;
        }
        final long lastSeq = Math.min(lastCommitted, fromSeq + settings.catchUpBatchesPerAnswer() - 1);
        for (long seq = fromSeq; seq <= lastSeq; seq++)
        {
            final int entryLength = execution.committedBatch(seq, control, Messages.CATCH_UP_FRAME_OFFSET);
            if (entryLength < 0)
            {
                refuseCatchUp(); // no longer in the journal (its cycle was pruned after a checkpoint)
                return;
            }
            Messages.catchUpBatchHeader(control, 0, epoch, seq, execution.committedRoot(seq),
                seq == lastSeq ? Messages.CATCH_UP_LAST : 0);
            counters.catchUpBatches++;
            sendControl(Messages.CATCH_UP_FRAME_OFFSET + entryLength);
        }
    }

    private void refuseCatchUp()
    {
        counters.catchUpsRefused++;
        Messages.catchUpBatchHeader(control, 0, epoch, -1, 0, Messages.CATCH_UP_LAST);
        sendControl(Messages.CATCH_UP_FRAME_OFFSET);
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
        final Slot slot = inFlightSlot(Messages.seq(buffer, offset));
        if (Peer.PAIRED != peer || null == slot || Status.AWAITING_TOKEN != slot.status ||
            Messages.round(buffer, offset) != round || Messages.attempt(buffer, offset) != slot.attempt)
        {
            counters.stale++;
            return;
        }
        CrashPoints.hit(CrashPoint.PRIMARY_TOKEN_RECEIVED);
        if (1 == slot.sends)
        {
            sampleAnswerWait(nowNs - slot.sentNs);
        }
        lastAnswerNs = nowNs;
        // after a transfer only the state must agree: the backup's replies were computed by its own
        // (nondeterministic) execution, and only the primary releases replies
        if (Messages.tokenRoot(buffer, offset) == slot.root &&
            (2 == slot.attempt || Messages.tokenReplyDigest(buffer, offset) == slot.replyDigest))
        {
            slot.status = Status.MATCHED;
        }
        else if (2 == slot.attempt)
        {
            fail("batch " + slot.seq + " still differs after the record transfer: root " +
                Long.toHexString(Messages.tokenRoot(buffer, offset)) + " on the backup, " +
                Long.toHexString(slot.root) + " here");
            return;
        }
        else
        {
            slot.status = Status.MISMATCHED;
        }
        advance();
    }

    /**
     * Moves the window on: commits the verified batches at its front, in order; then repairs the
     * oldest batch in flight if its token differed, or ships the batches that waited for a repair.
     */
    private void advance()
    {
        Slot oldest;
        while (null != (oldest = firstUncommitted()) && Status.MATCHED == oldest.status)
        {
            commitVerified(oldest);
        }
        if (null == oldest)
        {
            return;
        }
        if (Status.MISMATCHED == oldest.status)
        {
            repair(oldest);
        }
        else if (Status.PENDING == oldest.status)
        {
            for (int i = firstUncommittedIndex(); i < count; i++)
            {
                ship(slot(i));
            }
        }
    }

    private void commitVerified(final Slot slot)
    {
        lastDecisionLength = Messages.decision(lastDecision, 0, epoch, slot.seq, round, slot.attempt,
            Messages.DECISION_COMMIT);
        offer(lastDecision, lastDecisionLength);
        CrashPoints.hit(CrashPoint.PRIMARY_VERIFIED);
        if (1 == slot.attempt)
        {
            counters.repairedByReexecution++;
        }
        else if (2 == slot.attempt)
        {
            counters.repairedByTransfer++;
        }
        commit(slot);
    }

    /**
     * The oldest batch in flight differs. After its parallel execution: a new round; both replicas
     * roll back it and every later batch (kept pending, to be re-executed and re-shipped once it
     * commits) and re-execute it sequentially. After its sequential re-execution: record transfer.
     */
    private void repair(final Slot slot)
    {
        if (0 == slot.attempt)
        {
            counters.detected++; // a divergence is counted once, however it is repaired
            round++;
            for (int i = firstUncommittedIndex() + 1; i < count; i++)
            {
                final Slot later = slot(i);
                if (Status.PENDING != later.status)
                {
                    later.status = Status.PENDING;
                    later.messageLength = 0;
                    counters.discarded++;
                }
            }
            slot.attempt = 1;
            slot.status = Status.AWAITING_TOKEN;
            slot.messageLength = Messages.decision(slot.message, 0, epoch, slot.seq, round, slot.attempt,
                Messages.DECISION_REEXECUTE);
            send(slot);
            execution.rollback(slot.seq);
            CrashPoints.hit(CrashPoint.PRIMARY_MID_ROLLBACK);
            execute(slot, true);
        }
        else
        {
            counters.sequentialDivergences++;
            slot.attempt = 2;
            slot.status = Status.AWAITING_KEYS;
            slot.messageLength = Messages.decision(slot.message, 0, epoch, slot.seq, round, slot.attempt,
                Messages.DECISION_TRANSFER);
            send(slot);
        }
    }

    private void onKeys(final DirectBuffer buffer, final int offset)
    {
        final Slot slot = inFlightSlot(Messages.seq(buffer, offset));
        if (Peer.PAIRED != peer || null == slot || Status.AWAITING_KEYS != slot.status ||
            Messages.round(buffer, offset) != round)
        {
            counters.stale++;
            return;
        }
        lastAnswerNs = nowNs;
        keysToShip.clear();
        keyList.clear();
        execution.forEachWrittenKey(slot.seq, (key, pageDigest) -> addKey(key));
        for (int i = 0, keys = Messages.keyCount(buffer, offset); i < keys; i++)
        {
            final long key = Messages.key(buffer, offset, i);
            if (Messages.keyPageDigest(buffer, offset, i) != execution.pageDigestOf(key))
            {
                addKey(key);
            }
        }
        final int keys = keyList.size();
        if (keyArray.length < keys)
        {
            keyArray = new long[keys];
        }
        for (int i = 0; i < keys; i++)
        {
            keyArray[i] = keyList.getLong(i);
        }
        records.checkLimit(execution.maxExportLength(keys));
        final int frameLength = execution.exportRecords(keyArray, keys, records, 0);
        slot.status = Status.AWAITING_TOKEN;
        slot.messageLength = Messages.records(slot.message, 0, epoch, slot.seq, round, records, 0, frameLength);
        send(slot);
        counters.recordsShipped += keys;
    }

    private void addKey(final long key)
    {
        if (keysToShip.add(key))
        {
            keyList.addLong(key);
        }
    }

    private void send(final Slot slot)
    {
        slot.sends = 0;
        slot.unsent = false;
        resend(slot);
    }

    private void offer(final Slot slot)
    {
        slot.sentNs = nowNs;
        if (!slot.unsent)
        {
            slot.sends++; // a refused offer sent nothing: offering it again is not a re-send
        }
        slot.unsent = !offer(slot.message, slot.messageLength);
    }

    /**
     * The answer to a message offered once came {@code waitNs} after it (Karn: a re-sent message's answer
     * is ambiguous and not sampled). Like TCP's retransmission timer (RFC 6298): the timeout is the smoothed
     * wait plus four deviations, kept in [retransmitNs, maxRetransmitNs], doubled by each re-send until an
     * answer is sampled again, and it runs for the oldest message awaiting an answer only, from its send or
     * the last answer, whichever is later. With K batches in flight the backup answers a batch after
     * executing the ones before it: a fixed timeout on each batch's own send, shorter than that, re-sent
     * every batch (and the re-sent batches delayed the decisions queued behind them). The cap keeps at least
     * {@value #MAX_RETRANSMIT_PEER_TIMEOUT_DIVISOR} re-sends within a peer timeout, so that a lossy link is
     * not taken for a lost peer (the backup only speaks when spoken to).
     */
    private void sampleAnswerWait(final long waitNs)
    {
        if (0 == smoothedWaitNs)
        {
            smoothedWaitNs = Math.max(1, waitNs);
            waitDeviationNs = waitNs / 2;
        }
        else
        {
            final long error = waitNs - smoothedWaitNs;
            waitDeviationNs += (Math.abs(error) - waitDeviationNs) / 4;
            smoothedWaitNs = Math.max(1, smoothedWaitNs + error / 8);
        }
        retransmitTimeoutNs = Math.max(retransmitNs,
            Math.min(maxRetransmitNs, smoothedWaitNs + 4 * waitDeviationNs));
    }

    /**
     * Re-sends a batch's last message; a BATCH carries the last committed seq as of now.
     */
    private void resend(final Slot slot)
    {
        if (Messages.BATCH == Messages.type(slot.message, 0))
        {
            Messages.batchLastCommittedSeq(slot.message, 0, execution.lastCommittedSeq());
        }
        offer(slot);
    }

    private boolean offer(final DirectBuffer buffer, final int length)
    {
        lastSentNs = nowNs;
        if (!link.offer(buffer, 0, length))
        {
            counters.backPressured++;
            return false;
        }
        return true;
    }

    /**
     * Re-sends the commit decision of the last committed batch when no batch is in flight (e.g. at
     * shutdown, so that the backup need not wait for the next heartbeat to commit it).
     */
    public void resendLastDecision()
    {
        if (Peer.PAIRED == peer && lastDecisionLength > 0 && 0 == inFlight())
        {
            offer(lastDecision, lastDecisionLength);
        }
    }

    private void fail(final String reason)
    {
        if (null == failure)
        {
            failure = reason;
        }
    }

    public State state()
    {
        return null != failure ? State.FAILED : inFlight() > 0 ? State.VERIFYING : State.IDLE;
    }

    /**
     * @return why replication stopped (version mismatch, fencing, no convergence), or null.
     */
    public String failure()
    {
        return failure;
    }

    /** @return the primary's round: goes up whenever the executions of its in-flight batches are discarded. */
    public int round()
    {
        return round;
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
        long stalls;
        long syncsAbandoned;
        long catchUpBatches;
        long catchUpsRefused;
        long pagesShipped;
        long refused;
        long discarded;

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
        /** @return committed batches shipped from the journal to rejoining backups (catch-up). */
        public long catchUpBatches()
        {
            return catchUpBatches;
        }

        /** @return catch-ups refused (the backup synced pages instead). */
        public long catchUpsRefused()
        {
            return catchUpsRefused;
        }

        /**
         * @return times this replica itself had not run for over half the peer timeout (a pause): the
         * peer's silence is then judged again from the resume, not acted on.
         */
        public long stalls()
        {
            return stalls;
        }

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

        /**
         * @return executions of later in-flight batches rolled back with an earlier batch that
         * differed (each was executed and shipped again once that batch committed).
         */
        public long discarded()
        {
            return discarded;
        }
    }
}
