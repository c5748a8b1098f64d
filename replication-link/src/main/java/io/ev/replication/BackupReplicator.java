/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.ev.journal.BatchDecoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The backup's side of Execute-Verify (see {@link PrimaryReplicator}): executes each batch the
 * primary ships with its own threads, answers with its token, and follows the primary's decisions.
 * Purely reactive and idempotent: a duplicate BATCH or DECISION gets the same answer again; the
 * next batch commits the previous one (so a lost commit decision costs nothing); batches that do
 * not follow the last committed one are ignored (catch-up arrives with failover). Messages of an
 * older epoch are dropped; a newer epoch is adopted (the primary that sends it is the current one).
 */
public final class BackupReplicator implements Link.MessageHandler
{
    private final Link link;
    private final ReplicaExecution execution;
    private final BatchDecoder decoder = new BatchDecoder();
    private final ExpandableDirectByteBuffer entry = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer out = new ExpandableDirectByteBuffer(1 << 16);
    private final UnsafeBuffer entryView = new UnsafeBuffer(0, 0);
    private final Counters counters = new Counters();
    private long epoch;
    private long openSeq = -1;
    private int attempt;
    private boolean tokenReady;
    private int keyCount;
    private String failure;

    /**
     * @param link      to the primary.
     * @param execution this replica's state.
     * @param epoch     the epoch this backup knows (it adopts newer ones).
     */
    public BackupReplicator(final Link link, final ReplicaExecution execution, final long epoch)
    {
        this.link = link;
        this.execution = execution;
        this.epoch = epoch;
    }

    /**
     * Polls the link and acts on what arrived.
     *
     * @return messages handled.
     */
    public int doWork()
    {
        return link.poll(this, 16);
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
        final long messageEpoch = Messages.epoch(buffer, offset);
        if (messageEpoch < epoch)
        {
            counters.stale++;
            return;
        }
        epoch = messageEpoch;
        switch (Messages.type(buffer, offset))
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
            default:
                break;
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
    }
}
