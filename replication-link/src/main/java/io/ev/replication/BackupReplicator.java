/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.concurrent.ThreadLocalRandom;

import io.ev.journal.BatchDecoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The backup's side of Execute-Verify (see {@link PrimaryReplicator}): executes each batch the
 * primary ships with its own threads, answers with its token, and follows the primary's decisions.
 * Purely reactive and idempotent: a duplicate BATCH or DECISION gets the same answer again; the
 * next batch commits the previous one (so a lost commit decision costs nothing); batches that do
 * not follow the last committed one are ignored. Messages of an older epoch are dropped (and
 * answered with a heartbeat of this epoch, which fences an old primary); a newer epoch is adopted
 * (the primary that sends it is the current one).
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

    private final Link link;
    private final ReplicaExecution execution;
    private final BatchDecoder decoder = new BatchDecoder();
    private final ExpandableDirectByteBuffer entry = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer out = new ExpandableDirectByteBuffer(1 << 16);
    private final UnsafeBuffer entryView = new UnsafeBuffer(0, 0);
    private final ExpandableDirectByteBuffer control = new ExpandableDirectByteBuffer(1 << 12);
    private final Counters counters = new Counters();
    private final ReplicationSettings settings;
    private final long incarnation = ThreadLocalRandom.current().nextLong() | 1;
    private Phase phase;
    private long nowNs;
    private long lastHeardNs;
    private long lastControlNs;
    private int lastControlLength;
    private boolean clockStarted;
    private int pairing;
    private long syncSeq;
    private long syncRequests;
    private int syncCursor;
    private long epoch;
    private long openSeq = -1;
    private int attempt;
    private boolean tokenReady;
    private int keyCount;
    private String failure;

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
            if (Phase.JOINING == phase)
            {
                sendHello();
                return 1 + link.poll(this, 16);
            }
        }
        int work = link.poll(this, 16);
        if ((Phase.JOINING == phase || Phase.SYNCING == phase) && nowNs - lastControlNs >= settings.retransmitNs())
        {
            resendControl();
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
     * Makes this replica the primary of the next epoch, alone until its peer rejoins. The batch in
     * hand is committed when this backup already answered it with a token (the old primary may have
     * committed it and released its replies: it commits only on a matching token), after executing
     * it again sequentially if that token came from a parallel run ({@code soloSequential}); else it
     * is rolled back (the old primary cannot have committed it).
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
        if (-1 != openSeq)
        {
            if (tokenReady)
            {
                if (0 == attempt && settings.soloSequential())
                {
                    // the parallel run the token came from may have raced (the old primary may have seen
                    // that and decided to re-execute): commit the batch's sequential execution instead;
                    // for a correctly mixed batch it is the same state and replies
                    execution.rollback(openSeq);
                    decoder.rewind();
                    execution.execute(openSeq, decoder, true);
                    counters.reexecutions++;
                }
                commitOpen();
            }
            else
            {
                execution.rollback(openSeq);
                openSeq = -1;
            }
        }
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
        epoch = messageEpoch;
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
            default:
                break;
        }
    }

    /**
     * The primary no longer verifies with this backup: forget the batch in hand and rejoin.
     */
    private void dropped()
    {
        if (-1 != openSeq)
        {
            execution.rollback(openSeq);
            openSeq = -1;
        }
        tokenReady = false;
        counters.dropped++;
        phase = Phase.JOINING;
        sendHello();
    }

    private void onHello(final DirectBuffer buffer, final int offset)
    {
        if (Phase.JOINING != phase || Messages.ROLE_PRIMARY != Messages.helloRole(buffer, offset))
        {
            counters.stale++;
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
        if (Messages.helloPageCount(buffer, offset) != execution.pageCount())
        {
            failure = "the primary has " + Messages.helloPageCount(buffer, offset) + " digest pages, this backup " +
                execution.pageCount() + " (size both stores the same)";
            return;
        }
        phase = Phase.SYNCING;
        syncSeq = primarySeq;
        syncRequests = Messages.helloRequests(buffer, offset);
        syncCursor = 0;
        counters.syncs++;
        sendSyncRequest();
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
                // nothing was written: start over with a new HELLO
                counters.syncFailures++;
                failure = "a sync frame was refused: " + ex.getMessage();
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
            execution.lastCommittedSeq(), execution.root(), execution.requestsInState(), incarnation));
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
        final long seq = Messages.seq(buffer, offset);
        if (seq == openSeq)
        {
            resendAnswer();
            return;
        }
        if (-1 != openSeq && seq == openSeq + 1)
        {
            commitOpen(); // the primary moved on: it committed the open batch
        }
        if (-1 != openSeq || seq != execution.lastCommittedSeq() + 1)
        {
            counters.outOfOrder++;
            return;
        }
        final int entryLength = length - Messages.FRAME_OFFSET;
        entry.putBytes(0, buffer, offset + Messages.FRAME_OFFSET, entryLength);
        entryView.wrap(entry, 0, entryLength);
        final String problem = decoder.wrap(entryView, entryLength);
        if (null != problem)
        {
            counters.malformed++;
            return;
        }
        openSeq = seq;
        attempt = 0;
        execution.execute(seq, decoder, false);
        sendToken();
    }

    private void onDecision(final DirectBuffer buffer, final int offset)
    {
        final long seq = Messages.seq(buffer, offset);
        if (seq != openSeq)
        {
            counters.stale++;
            return;
        }
        final int decidedAttempt = Messages.attempt(buffer, offset);
        switch (Messages.decision(buffer, offset))
        {
            case Messages.DECISION_COMMIT:
                commitOpen();
                break;
            case Messages.DECISION_REEXECUTE:
                if (attempt < decidedAttempt)
                {
                    attempt = decidedAttempt;
                    execution.rollback(seq);
                    decoder.rewind();
                    execution.execute(seq, decoder, true);
                    counters.reexecutions++;
                    sendToken();
                }
                else
                {
                    resendAnswer();
                }
                break;
            case Messages.DECISION_TRANSFER:
                if (attempt < decidedAttempt)
                {
                    attempt = decidedAttempt;
                    tokenReady = false;
                    sendKeys();
                }
                else
                {
                    resendAnswer();
                }
                break;
            default:
                counters.malformed++;
                break;
        }
    }

    private void onRecords(final DirectBuffer buffer, final int offset, final int length)
    {
        final long seq = Messages.seq(buffer, offset);
        if (seq != openSeq || 2 != attempt)
        {
            counters.stale++;
            return;
        }
        if (tokenReady)
        {
            resendAnswer();
            return;
        }
        execution.importRecords(seq, buffer, offset + Messages.FRAME_OFFSET, length - Messages.FRAME_OFFSET);
        counters.transfers++;
        sendToken();
    }

    private void commitOpen()
    {
        execution.commit(openSeq);
        counters.committed++;
        openSeq = -1;
        tokenReady = false;
    }

    private void sendToken()
    {
        tokenReady = true;
        send(Messages.token(out, 0, epoch, openSeq, attempt, execution.root(), execution.replyDigest()));
    }

    private void sendKeys()
    {
        keyCount = 0;
        execution.forEachWrittenKey(openSeq, (key, pageDigest) ->
        {
            Messages.keyEntry(out, 0, keyCount, key, pageDigest);
            keyCount++;
        });
        send(Messages.keys(out, 0, epoch, openSeq, keyCount));
    }

    private void resendAnswer()
    {
        if (tokenReady)
        {
            sendToken();
        }
        else if (2 == attempt)
        {
            sendKeys();
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

    public long epoch()
    {
        return epoch;
    }

    public Phase phase()
    {
        return phase;
    }

    /** @return the batch executed but not yet committed, or -1. */
    public long openSeq()
    {
        return openSeq;
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
        long syncFailures;
        long dropped;

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

        /** @return batches ignored because they did not follow the last committed one. */
        public long outOfOrder()
        {
            return outOfOrder;
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

        /** @return sync frames refused (nothing written; the sync started over). */
        public long syncFailures()
        {
            return syncFailures;
        }
    }
}
