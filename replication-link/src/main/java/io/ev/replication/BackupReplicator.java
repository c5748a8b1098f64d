/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32C;

import io.ev.journal.BatchDecoder;
import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
import io.ev.journal.JournalFormat;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The backup's side of Execute-Verify (see {@link PrimaryReplicator}): executes each batch the
 * primary ships with its own threads, on top of the batches still open (up to
 * {@code maxInFlightBatches}), answers with its token, and follows the primary's decisions. Purely
 * reactive and idempotent: a duplicate BATCH or DECISION gets the same answer again; a batch that
 * arrives ahead of an earlier one (reordering, loss) is kept, within the window, and executed once
 * the earlier ones are; one beyond the window is ignored (the primary re-sends it). Commits come in seq
 * order from the DECISION commit, or from the primary's last committed seq carried by each BATCH and
 * HEARTBEAT (so a lost decision costs nothing): the primary commits a batch only on this backup's
 * matching token for its current execution, so whatever it says committed is what this backup
 * holds. Rounds: every open batch belongs to the backup's current round; a BATCH, DECISION or
 * RECORDS of an older round is stale; a re-execution decision of a newer round for batch s rolls
 * back s and every later open batch (the primary discarded them; it re-ships them once s commits);
 * any other message of a newer round rolls back the open batches above the primary's last committed
 * seq. Messages of an older epoch are dropped (and answered with a heartbeat of this epoch, which
 * fences an old primary); a newer epoch is adopted (the primary that sends it is the current one).
 * <p>
 * Joining: a backup that does not know it holds the primary's state ({@link Phase#JOINING}) says
 * HELLO with its last committed batch and root until the primary answers. Equal: paired. Otherwise
 * it syncs: it sends its page digests a range at a time (SYNC_REQUEST), imports the primary's
 * complete records of the pages that differ, adopts the primary's batch number and says HELLO again.
 * <p>
 * Failover: once paired, {@link #primaryLost()} turns true after {@code peerTimeoutNs} without a
 * word from the primary (the primary sends heartbeats when idle); {@link #promote()} then makes this
 * replica the primary of the next epoch.
 */
public final class BackupReplicator implements Link.MessageHandler
{
    /** Where this backup stands with its primary. */
    public enum Phase
    {
        /** Saying HELLO until the primary answers. */
        JOINING,
        /** Copying the primary's differing pages. */
        SYNCING,
        /** Holds the primary's state; executes its batches. */
        PAIRED,
        /** Promoted: this object is done, its replica is now a primary. */
        PROMOTED
    }

    /**
     * A slot of the window: an open batch (its entry, for a sequential re-execution, and the token
     * last sent for it), or a batch received ahead of an earlier one, kept until that one arrives.
     */
    private static final class Open
    {
        ExpandableDirectByteBuffer entry = new ExpandableDirectByteBuffer(1 << 16);
        final UnsafeBuffer entryView = new UnsafeBuffer(0, 0);
        long seq;
        int entryLength;
        int attempt;
        boolean tokenReady;
        long root;
        long replyDigest;
        /** Received ahead, not executed; executed once every earlier batch is, if still of this round. */
        boolean ahead;
        int aheadRound;
    }

    private final Link link;
    private final ReplicaExecution execution;
    private final BatchDecoder decoder = new BatchDecoder();
    private final CRC32C crc = new CRC32C();
    private final UnsafeBuffer receivedView = new UnsafeBuffer(0, 0);
    /** A BATCH's entry as received, checked before the message is acted on; then swapped into its slot. */
    private ExpandableDirectByteBuffer received = new ExpandableDirectByteBuffer(1 << 16);
    private final Open[] open;
    private final ExpandableDirectByteBuffer out = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer control = new ExpandableDirectByteBuffer(1 << 12);
    private final Counters counters = new Counters();
    private final ReplicationSettings settings;
    private final long incarnation = ThreadLocalRandom.current().nextLong() | 1;
    private Phase phase;
    private long nowNs;
    private long lastHeardNs;
    private long lastWorkNs;
    private long lastControlNs;
    private int lastControlLength;
    private boolean clockStarted;
    private int pairing;
    private long syncSeq;
    private long syncRequests;
    private int syncCursor;
    private boolean catchingUp;
    private long epoch;
    private int head;
    private int openCount;
    private int round;
    private int keyCount;
    private boolean holding;
    /** A BATCH was received in this poll: executed once the poll returned (see {@link #doWork}). */
    private boolean batchesArrived;
    private String failure;
    private String syncRefusal;

    /**
     * A backup already paired (it starts in the primary's state), default settings.
     *
     * @param link      to the primary.
     * @param execution this replica's state.
     * @param epoch     the epoch this backup knows (it adopts newer ones).
     */
    public BackupReplicator(final Link link, final ReplicaExecution execution, final long epoch)
    {
        this(link, execution, epoch, new ReplicationSettings(), Phase.PAIRED);
    }

    /**
     * @param link      to the primary.
     * @param execution this replica's state.
     * @param epoch     the epoch this backup knows (it adopts newer ones).
     * @param settings  timing and sizing (validated here).
     * @param phase     {@link Phase#JOINING} (says HELLO; the usual start) or {@link Phase#PAIRED}
     *                  (known to start in the primary's state).
     */
    public BackupReplicator(
        final Link link,
        final ReplicaExecution execution,
        final long epoch,
        final ReplicationSettings settings,
        final Phase phase)
    {
        if (Phase.JOINING != phase && Phase.PAIRED != phase)
        {
            throw new IllegalArgumentException("a backup starts JOINING or PAIRED, not " + phase);
        }
        this.link = link;
        this.execution = execution;
        this.epoch = epoch;
        this.settings = settings.conclude();
        this.phase = phase;
        this.open = new Open[settings.maxInFlightBatches()];
        for (int i = 0; i < open.length; i++)
        {
            open[i] = new Open();
        }
    }

    /**
     * Polls the link, acts on what arrived, and re-sends HELLO or the sync request in hand when the
     * primary is silent. No clock: for tests whose backup never times out.
     *
     * @return messages handled.
     */
    public int doWork()
    {
        return doWork(nowNs);
    }

    /**
     * As {@link #doWork()} at time {@code nowNs}.
     *
     * @return messages handled + re-sends.
     */
    public int doWork(final long nowNs)
    {
        this.nowNs = nowNs;
        if (!clockStarted)
        {
            clockStarted = true;
            lastHeardNs = nowNs;
            lastWorkNs = nowNs;
            if (Phase.JOINING == phase)
            {
                sendHello();
                return 1 + link.poll(this, 16);
            }
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
        if (batchesArrived)
        {
            // executed after the poll, not in its handler, and one per duty cycle: the transport counts
            // the messages consumed (and, over UDP, opens its flow-control window to the primary) when
            // the poll returns, so the next batches and the primary's decisions travel while this one
            // executes, and a decision waits behind at most one execution
            batchesArrived = executeAhead(1);
            work++;
        }
        if ((Phase.JOINING == phase || Phase.SYNCING == phase) && nowNs - lastControlNs >= settings.retransmitNs())
        {
            if (catchingUp && Phase.SYNCING == phase)
            {
                sendCatchUp(); // from the first batch still missing
            }
            else
            {
                resendControl();
            }
            work++;
        }
        return work;
    }

    /**
     * @return true when this backup is paired and the primary has been silent for
     * {@code peerTimeoutNs}: it may {@link #promote()} (see docs/ARCHITECTURE.md, "Failover": a
     * pair cannot tell a crash from a partition).
     */
    public boolean primaryLost()
    {
        return Phase.PAIRED == phase && clockStarted && nowNs - lastHeardNs > settings.peerTimeoutNs();
    }

    /**
     * Makes this replica the primary of the next epoch, alone until its peer rejoins. Of the open
     * batches, the longest prefix this backup answered with a token for its current execution is
     * committed: the old primary commits in seq order and only on a matching token, so every batch
     * it may have committed (and released replies of) is in that prefix; when
     * {@code soloSequential}, from the first one whose token came from a parallel run on, they are
     * executed again sequentially first (the parallel run may have raced and the old primary may
     * have seen it; for a correctly mixed batch it is the same state and replies). The open batches
     * after the prefix are rolled back: the old primary cannot have committed them.
     *
     * @return the new primary (its {@link PrimaryReplicator#epoch()} is this backup's epoch + 1).
     */
    public PrimaryReplicator promote()
    {
        if (Phase.PAIRED != phase)
        {
            throw new IllegalStateException("only a paired backup may be promoted; this one is " + phase +
                " (its state is not the primary's)");
        }
        int prefix = 0;
        while (prefix < openCount && open(prefix).tokenReady)
        {
            prefix++;
        }
        int keep = 0;
        while (keep < prefix && (!settings.soloSequential() || 0 != open(keep).attempt))
        {
            keep++;
        }
        for (int i = 0; i < keep; i++)
        {
            commit(open(i));
        }
        if (keep < openCount)
        {
            execution.rollback(open(keep).seq);
        }
        for (int i = keep; i < prefix; i++)
        {
            final Open batch = open(i);
            execute(batch, true);
            counters.reexecutions++;
            commit(batch);
        }
        counters.discarded += openCount - prefix;
        openCount = 0;
        phase = Phase.PROMOTED;
        return new PrimaryReplicator(link, execution, epoch + 1, settings, PrimaryReplicator.Peer.LOST);
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
                failure = "refused the primary: " + problem;
            }
            return;
        }
        if (Phase.PROMOTED == phase)
        {
            return;
        }
        final long messageEpoch = Messages.epoch(buffer, offset);
        if (messageEpoch < epoch)
        {
            counters.stale++;
            if (Phase.PAIRED == phase && nowNs - lastControlNs >= settings.retransmitNs())
            {
                sendControl(Messages.heartbeat(control, 0, epoch, nowNs, execution.lastCommittedSeq(), true, pairing));
            }
            return;
        }
        if (messageEpoch > epoch)
        {
            // a primary of a newer epoch never verified what this backup holds open
            discardOpen();
            round = 0;
            epoch = messageEpoch;
        }
        lastHeardNs = nowNs;
        final short type = Messages.type(buffer, offset);
        if (Phase.PAIRED != phase && (Messages.BATCH == type || Messages.DECISION == type ||
            Messages.RECORDS == type))
        {
            counters.notPaired++;
            return;
        }
        switch (type)
        {
            case Messages.BATCH:
                onBatch(buffer, offset, length);
                break;
            case Messages.DECISION:
                onDecision(buffer, offset);
                break;
            case Messages.RECORDS:
                onRecords(buffer, offset, length);
                break;
            case Messages.HEARTBEAT:
                if (Phase.PAIRED == phase)
                {
                    if (Messages.heartbeatPairing(buffer, offset) < pairing)
                    {
                        counters.stale++; // sent before this backup paired
                    }
                    else if (Messages.heartbeatPaired(buffer, offset))
                    {
                        commitThrough(Messages.lastCommittedSeq(buffer, offset));
                        sendControl(
                            Messages.heartbeat(control, 0, epoch, nowNs, execution.lastCommittedSeq(), true, pairing));
                    }
                    else
                    {
                        dropped(); // the primary went on without this backup (it thought it crashed)
                    }
                }
                break;
            case Messages.HELLO:
                onHello(buffer, offset);
                break;
            case Messages.SYNC_RECORDS:
                onSyncRecords(buffer, offset, length);
                break;
            case Messages.CATCH_UP_BATCH:
                onCatchUpBatch(buffer, offset, length);
                break;
            default:
                break;
        }
    }

    /**
     * The primary no longer verifies with this backup: forget the batch in hand and rejoin.
     */
    private void dropped()
    {
        discardOpen();
        counters.dropped++;
        phase = Phase.JOINING;
        catchingUp = false;
        sendHello();
    }

    private void onHello(final DirectBuffer buffer, final int offset)
    {
        if (Phase.JOINING != phase || Messages.ROLE_PRIMARY != Messages.helloRole(buffer, offset))
        {
            counters.stale++;
            return;
        }
        if (Messages.helloPageCount(buffer, offset) != execution.pageCount())
        {
            failure = "the primary has " + Messages.helloPageCount(buffer, offset) + " digest pages, this backup " +
                execution.pageCount() + " (size both stores the same)";
            return;
        }
        if (Messages.helloConfigurationDigest(buffer, offset) != execution.configurationDigest())
        {
            failure = "the primary's configuration digest is " +
                Long.toHexString(Messages.helloConfigurationDigest(buffer, offset)) + ", this backup's " +
                Long.toHexString(execution.configurationDigest()) + " (start both replicas with the same " +
                "transaction types and request deduplication setting)";
            return;
        }
        final long primarySeq = Messages.lastCommittedSeq(buffer, offset);
        if (primarySeq == execution.lastCommittedSeq() && Messages.helloRoot(buffer, offset) == execution.root())
        {
            phase = Phase.PAIRED;
            pairing = (int)Messages.helloIncarnation(buffer, offset);
            counters.pairings++;
            return;
        }
        phase = Phase.SYNCING;
        syncSeq = primarySeq;
        syncRequests = Messages.helloRequests(buffer, offset);
        final long lastCommitted = execution.lastCommittedSeq();
        if (primarySeq > lastCommitted && lastCommitted >= 0 &&
            primarySeq - lastCommitted <= settings.maxCatchUpBatches())
        {
            // behind on the same history, by little: ask for the committed batches from the journal
            catchingUp = true;
            counters.catchUps++;
            sendCatchUp();
            return;
        }
        startPageSync();
    }

    private void startPageSync()
    {
        catchingUp = false;
        syncCursor = 0;
        counters.syncs++;
        sendSyncRequest();
    }

    private void sendCatchUp()
    {
        sendControl(Messages.catchUp(control, 0, epoch, execution.lastCommittedSeq() + 1, execution.root()));
    }

    /**
     * A committed batch from the primary's journal (or its refusal, seq -1): executed sequentially
     * and committed when its root is the primary's; another root, or a refusal, falls back to the
     * page sync. After the primary's last committed batch this backup says HELLO again.
     */
    private void onCatchUpBatch(final DirectBuffer buffer, final int offset, final int length)
    {
        if (Phase.SYNCING != phase || !catchingUp)
        {
            counters.stale++;
            return;
        }
        final long seq = Messages.seq(buffer, offset);
        if (-1 == seq)
        {
            counters.catchUpsRefused++;
            startPageSync();
            return;
        }
        if (seq != execution.lastCommittedSeq() + 1 || seq > syncSeq)
        {
            counters.stale++; // a duplicate, or after a lost one: the retransmit asks again from the gap
            return;
        }
        final int entryOffset = offset + Messages.CATCH_UP_FRAME_OFFSET;
        if (null != checkEntry(buffer, entryOffset, length - Messages.CATCH_UP_FRAME_OFFSET))
        {
            counters.malformed++; // the retransmitted CATCH_UP asks for it again
            return;
        }
        execution.execute(seq, decoder, true);
        if (execution.root() != Messages.catchUpRoot(buffer, offset))
        {
            execution.rollback(seq);
            counters.catchUpMismatches++;
            startPageSync();
            return;
        }
        execution.commit(seq);
        counters.caughtUpBatches++;
        if (seq == syncSeq)
        {
            catchingUp = false;
            phase = Phase.JOINING; // the primary's answer to this HELLO pairs us
            sendHello();
        }
        else if (0 != (Messages.catchUpFlags(buffer, offset) & Messages.CATCH_UP_LAST))
        {
            sendCatchUp();
        }
    }

    private void onSyncRecords(final DirectBuffer buffer, final int offset, final int length)
    {
        final int endPage = Messages.syncCountOrEnd(buffer, offset);
        if (Phase.SYNCING != phase || Messages.seq(buffer, offset) != syncSeq ||
            Messages.syncFirstPage(buffer, offset) != syncCursor)
        {
            counters.stale++;
            return;
        }
        if (endPage <= syncCursor || endPage > execution.pageCount())
        {
            counters.malformed++;
            return;
        }
        final int frameLength = length - Messages.SYNC_HEADER_LENGTH;
        if (frameLength > 0)
        {
            try
            {
                execution.importPages(buffer, offset + Messages.SYNC_HEADER_LENGTH, frameLength);
            }
            catch (final RuntimeException ex)
            {
                // nothing was written: start over with a new HELLO (not a failure: the sync goes on)
                counters.syncFailures++;
                syncRefusal = "a sync frame was refused: " + ex.getMessage();
                phase = Phase.JOINING;
                sendHello();
                return;
            }
        }
        syncCursor = endPage;
        if (syncCursor == execution.pageCount())
        {
            execution.adoptCommittedSeq(syncSeq, syncRequests);
            phase = Phase.JOINING; // the primary's answer to this HELLO pairs us
            sendHello();
        }
        else
        {
            sendSyncRequest();
        }
    }

    private void sendHello()
    {
        sendControl(Messages.hello(control, 0, epoch, Messages.ROLE_BACKUP, execution.pageCount(),
            execution.lastCommittedSeq(), execution.root(), execution.requestsInState(), incarnation,
            execution.configurationDigest()));
    }

    private void sendSyncRequest()
    {
        final int count = Math.min(execution.pageCount() - syncCursor, settings.syncPagesPerRequest());
        final int length = Messages.syncRequest(control, 0, epoch, syncSeq, syncCursor, count);
        control.checkLimit(length);
        for (int i = 0; i < count; i++)
        {
            Messages.syncDigest(control, 0, i, execution.pageDigest(syncCursor + i));
        }
        sendControl(length);
    }

    private void sendControl(final int length)
    {
        lastControlLength = length;
        resendControl();
    }

    private void resendControl()
    {
        lastControlNs = nowNs;
        if (lastControlLength > 0 && !link.offer(control, 0, lastControlLength))
        {
            counters.backPressured++;
        }
    }

    private void onBatch(final DirectBuffer buffer, final int offset, final int length)
    {
        final int entryLength = length - Messages.BATCH_FRAME_OFFSET;
        if (null != checkEntry(buffer, offset + Messages.BATCH_FRAME_OFFSET, entryLength))
        {
            counters.malformed++; // damaged in transit: acting on any of its fields could commit or discard
            return;
        }
        final long seq = Messages.seq(buffer, offset);
        final int messageRound = Messages.round(buffer, offset);
        if (messageRound < round)
        {
            counters.stale++;
            return;
        }
        commitThrough(Messages.batchLastCommittedSeq(buffer, offset));
        if (messageRound > round)
        {
            // not after a re-execution decision (that comes first): what is open above the primary's
            // last committed seq belongs to an abandoned round
            discardOpen();
            round = messageRound;
        }
        final long index = seq - (execution.lastCommittedSeq() + 1);
        if (index < openCount)
        {
            if (index >= 0)
            {
                resendAnswer(open((int)index)); // a duplicate
            }
            else
            {
                counters.stale++; // committed already
            }
            return;
        }
        if (index >= open.length)
        {
            counters.outOfOrder++;
            return;
        }
        final Open batch = open((int)index);
        final ExpandableDirectByteBuffer entry = received;
        received = batch.entry;
        batch.entry = entry;
        batch.entryView.wrap(batch.entry, 0, entryLength);
        decoder.wrap(batch.entryView, entryLength); // checked by checkEntry
        batch.seq = seq;
        batch.entryLength = entryLength;
        batch.ahead = true;
        batch.aheadRound = round;
        CrashPoints.hit(CrashPoint.BACKUP_RECEIVED);
        if (index > openCount)
        {
            counters.aheadOfOrder++;
            return;
        }
        if (holding)
        {
            counters.held++;
            return;
        }
        batchesArrived = true;
    }

    /**
     * Copies a BATCH's journal entry into {@link #received} and checks it whole, as the journal's reader
     * would: length, checksum, format version, type and structure.
     *
     * @return null if it may be executed, else what is wrong.
     */
    private String checkEntry(final DirectBuffer buffer, final int offset, final int entryLength)
    {
        received.putBytes(0, buffer, offset, entryLength);
        receivedView.wrap(received, 0, entryLength);
        final String damage = JournalFormat.damage(crc, received.byteBuffer(), receivedView, entryLength);
        if (null != damage)
        {
            return damage;
        }
        if (JournalFormat.FORMAT_VERSION != receivedView.getShort(JournalFormat.VERSION_OFFSET) ||
            JournalFormat.TYPE_BATCH != receivedView.getShort(JournalFormat.TYPE_OFFSET))
        {
            return "not a batch entry of journal format version " + JournalFormat.FORMAT_VERSION;
        }
        return decoder.wrap(receivedView, entryLength);
    }

    /**
     * Executes, in seq order, the batches received that follow the newest open one.
     */
    private void executeAhead()
    {
        executeAhead(Integer.MAX_VALUE);
    }

    /**
     * @param most the most batches to execute.
     * @return whether a received batch is still ready to execute.
     */
    private boolean executeAhead(final int most)
    {
        for (int executed = 0; !holding && openCount < open.length; executed++)
        {
            final Open batch = open(openCount);
            if (!batch.ahead || batch.aheadRound != round ||
                batch.seq != execution.lastCommittedSeq() + 1 + openCount)
            {
                return false;
            }
            if (executed == most)
            {
                return true;
            }
            batch.ahead = false;
            batch.attempt = 0;
            openCount++;
            execute(batch, false);
            sendToken(batch);
        }
        return false;
    }

    private void onDecision(final DirectBuffer buffer, final int offset)
    {
        final int messageRound = Messages.round(buffer, offset);
        final Open batch = find(Messages.seq(buffer, offset));
        if (messageRound < round || null == batch)
        {
            counters.stale++;
            return;
        }
        final int decidedAttempt = Messages.attempt(buffer, offset);
        switch (Messages.decision(buffer, offset))
        {
            case Messages.DECISION_COMMIT:
                if (messageRound == round && decidedAttempt == batch.attempt && batch.tokenReady)
                {
                    commitThrough(batch.seq);
                }
                else
                {
                    counters.stale++;
                }
                break;
            case Messages.DECISION_REEXECUTE:
                if (messageRound > round)
                {
                    reexecute(batch, messageRound, decidedAttempt);
                }
                else if (messageRound == round && decidedAttempt == batch.attempt)
                {
                    resendAnswer(batch);
                }
                else
                {
                    counters.stale++;
                }
                break;
            case Messages.DECISION_TRANSFER:
                if (messageRound == round && decidedAttempt > batch.attempt && batch == open(openCount - 1))
                {
                    batch.attempt = decidedAttempt;
                    batch.tokenReady = false;
                    sendKeys(batch);
                }
                else if (messageRound == round && decidedAttempt == batch.attempt)
                {
                    resendAnswer(batch);
                }
                else
                {
                    counters.stale++;
                }
                break;
            default:
                counters.malformed++;
                break;
        }
    }

    /**
     * The primary's tokens for {@code batch} differed and it is the oldest batch in flight there:
     * every earlier open batch committed there; roll back this one and every later one (a new round),
     * re-execute this one sequentially.
     */
    private void reexecute(final Open batch, final int newRound, final int decidedAttempt)
    {
        commitThrough(batch.seq - 1);
        if (batch != open(0))
        {
            counters.stale++; // an earlier batch has no token: not the decision of this pairing
            return;
        }
        round = newRound;
        counters.discarded += openCount - 1;
        execution.rollback(batch.seq);
        CrashPoints.hit(CrashPoint.BACKUP_MID_ROLLBACK);
        openCount = 1;
        forgetAhead();
        batch.attempt = decidedAttempt;
        execute(batch, true);
        counters.reexecutions++;
        sendToken(batch);
    }

    private void onRecords(final DirectBuffer buffer, final int offset, final int length)
    {
        final Open batch = find(Messages.seq(buffer, offset));
        if (null == batch || Messages.round(buffer, offset) != round || 2 != batch.attempt ||
            batch != open(openCount - 1))
        {
            counters.stale++;
            return;
        }
        if (batch.tokenReady)
        {
            resendAnswer(batch);
            return;
        }
        execution.importRecords(batch.seq, buffer, offset + Messages.RECORDS_FRAME_OFFSET,
            length - Messages.RECORDS_FRAME_OFFSET);
        batch.root = execution.root();
        batch.replyDigest = execution.replyDigest();
        counters.transfers++;
        sendToken(batch);
    }

    private Open open(final int index)
    {
        return open[(head + index) % open.length];
    }

    /** @return the open batch {@code seq}, or null. */
    private Open find(final long seq)
    {
        final long index = seq - (execution.lastCommittedSeq() + 1);
        return index >= 0 && index < openCount ? open((int)index) : null;
    }

    private void execute(final Open batch, final boolean sequential)
    {
        decoder.wrap(batch.entryView, batch.entryLength);
        execution.execute(batch.seq, decoder, sequential);
        batch.root = execution.root();
        batch.replyDigest = execution.replyDigest();
        CrashPoints.hit(CrashPoint.BACKUP_SEALED);
    }

    /**
     * Commits the open batches up to {@code seq}, oldest first: the primary committed them, each on
     * this backup's token for its current execution. Stops at a batch without a token (which the
     * primary cannot have committed: the message is from another pairing).
     */
    private void commitThrough(final long seq)
    {
        while (openCount > 0 && open(0).seq <= seq && open(0).tokenReady)
        {
            commit(open(0));
            head = (head + 1) % open.length;
            openCount--;
        }
    }

    private void commit(final Open batch)
    {
        CrashPoints.hit(CrashPoint.BACKUP_VERIFIED);
        execution.commit(batch.seq);
        batch.tokenReady = false;
        counters.committed++;
    }

    /**
     * Rolls back every open batch: the primary will not commit them on the tokens sent.
     */
    private void discardOpen()
    {
        if (openCount > 0)
        {
            execution.rollback(open(0).seq);
            counters.discarded += openCount;
            openCount = 0;
        }
        forgetAhead();
    }

    private void forgetAhead()
    {
        for (final Open batch : open)
        {
            batch.ahead = false;
        }
    }

    private void sendToken(final Open batch)
    {
        batch.tokenReady = true;
        send(Messages.token(out, 0, epoch, batch.seq, round, batch.attempt,
            CrashPoints.tokenRoot(batch.seq, batch.attempt, batch.root), batch.replyDigest));
        CrashPoints.hit(CrashPoint.BACKUP_TOKEN_SENT);
    }

    private void sendKeys(final Open batch)
    {
        keyCount = 0;
        execution.forEachWrittenKey(batch.seq, (key, pageDigest) ->
        {
            Messages.keyEntry(out, 0, keyCount, key, pageDigest);
            keyCount++;
        });
        send(Messages.keys(out, 0, epoch, batch.seq, round, keyCount));
    }

    private void resendAnswer(final Open batch)
    {
        if (batch.tokenReady)
        {
            sendToken(batch);
        }
        else if (2 == batch.attempt)
        {
            sendKeys(batch);
        }
    }

    private void send(final int length)
    {
        if (!link.offer(out, 0, length))
        {
            counters.backPressured++;
        }
    }

    /**
     * @return why this backup refused its primary (another protocol version), or null.
     */
    public String failure()
    {
        return failure;
    }

    /**
     * @return why the last sync frame was refused (nothing written, the sync started over), or null.
     */
    public String syncRefusal()
    {
        return syncRefusal;
    }

    public long epoch()
    {
        return epoch;
    }

    public Phase phase()
    {
        return phase;
    }

    /**
     * Holds new batches (they are kept, not executed) while {@code hold}, so that the open ones
     * commit and no batch is open (a checkpoint needs a batch boundary); releasing executes those
     * kept. Open batches are still verified, repaired and committed.
     */
    public void holdBatches(final boolean hold)
    {
        if (holding != hold)
        {
            holding = hold;
            if (!hold && Phase.PAIRED == phase)
            {
                executeAhead();
            }
        }
    }

    /** @return the oldest batch executed but not yet committed, or -1. */
    public long openSeq()
    {
        return openCount > 0 ? open(0).seq : -1;
    }

    /** @return batches executed but not yet committed. */
    public int openBatches()
    {
        return openCount;
    }

    /** @return the primary's round this backup follows. */
    public int round()
    {
        return round;
    }

    public Counters counters()
    {
        return counters;
    }

    /**
     * What the backup saw.
     */
    public static final class Counters
    {
        long committed;
        long reexecutions;
        long transfers;
        long outOfOrder;
        long malformed;
        long stale;
        long backPressured;
        long notPaired;
        long pairings;
        long syncs;
        long stalls;
        long syncFailures;
        long catchUps;
        long caughtUpBatches;
        long catchUpsRefused;
        long catchUpMismatches;
        long dropped;
        long discarded;
        long aheadOfOrder;
        long held;

        public long committed()
        {
            return committed;
        }

        public long reexecutions()
        {
            return reexecutions;
        }

        public long transfers()
        {
            return transfers;
        }

        /** @return batches ignored because they were beyond the window. */
        public long outOfOrder()
        {
            return outOfOrder;
        }

        /** @return batches kept unexecuted while new batches were held (a checkpoint waited). */
        public long held()
        {
            return held;
        }

        /** @return batches received ahead of an earlier one and kept until it arrived. */
        public long aheadOfOrder()
        {
            return aheadOfOrder;
        }

        public long malformed()
        {
            return malformed;
        }

        public long stale()
        {
            return stale;
        }

        public long backPressured()
        {
            return backPressured;
        }

        /** @return batch-protocol messages ignored while joining or syncing. */
        public long notPaired()
        {
            return notPaired;
        }

        public long pairings()
        {
            return pairings;
        }

        /** @return journal catch-ups started (CATCH_UP sent after a HELLO showed this backup behind). */
        public long catchUps()
        {
            return catchUps;
        }

        /** @return committed batches received from the primary's journal, executed and committed. */
        public long caughtUpBatches()
        {
            return caughtUpBatches;
        }

        /** @return catch-ups the primary could not serve (page sync instead). */
        public long catchUpsRefused()
        {
            return catchUpsRefused;
        }

        /** @return caught-up batches whose sequential execution gave another root (page sync instead). */
        public long catchUpMismatches()
        {
            return catchUpMismatches;
        }

        /**
         * @return times this replica itself had not run for over half the peer timeout (a pause): the
         * peer's silence is then judged again from the resume, not acted on.
         */
        public long stalls()
        {
            return stalls;
        }

        /** @return state transfers started. */
        public long syncs()
        {
            return syncs;
        }

        /** @return times the primary went on without this backup while it was paired (it rejoined). */
        public long dropped()
        {
            return dropped;
        }

        /** @return open batches rolled back because the primary discarded or never verified them. */
        public long discarded()
        {
            return discarded;
        }

        /** @return sync frames refused (nothing written; the sync started over). */
        public long syncFailures()
        {
            return syncFailures;
        }
    }
}
