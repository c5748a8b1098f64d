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
 * dropped; a newer epoch means this primary was fenced. Not thread-safe: call from the thread that
 * runs the batches; {@link #doWork(long)} until {@link #isCommitted()}.
 */
public final class PrimaryReplicator implements Link.MessageHandler
{
    /** What a batch's verification came to. */
    public enum State
    {
        IDLE, AWAITING_TOKEN, AWAITING_KEYS, COMMITTED, FAILED
    }

    private final Link link;
    private final ReplicaExecution execution;
    private final long epoch;
    private final long retransmitNs;
    private final BatchDecoder decoder = new BatchDecoder();
    private final ExpandableDirectByteBuffer entry = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer lastSent = new ExpandableDirectByteBuffer(1 << 16);
    private final ExpandableDirectByteBuffer records = new ExpandableDirectByteBuffer(1 << 16);
    private final UnsafeBuffer entryView = new UnsafeBuffer(0, 0);
    private final LongHashSet keysToShip = new LongHashSet();
    private final LongArrayList keyList = new LongArrayList();
    private final Counters counters = new Counters();
    private long[] keyArray = new long[1024];
    private State state = State.IDLE;
    private long seq = -1;
    private int attempt;
    private long localRoot;
    private long localReplyDigest;
    private int lastSentLength;
    private long lastSentNs;
    private long nowNs;
    private String failure;

    /**
     * @param link         to the backup.
     * @param execution    this replica's state.
     * @param epoch        this primary's epoch (fencing).
     * @param retransmitNs how long to wait for an answer before re-sending.
     */
    public PrimaryReplicator(
        final Link link, final ReplicaExecution execution, final long epoch, final long retransmitNs)
    {
        this.link = link;
        this.execution = execution;
        this.epoch = epoch;
        this.retransmitNs = retransmitNs;
    }

    /**
     * Starts batch {@code seq}: keeps a copy of its journal entry, ships it and executes it here
     * (in parallel).
     */
    public void begin(
        final long seq, final DirectBuffer batchEntry, final int offset, final int length, final long nowNs)
    {
        if (State.IDLE != state && State.COMMITTED != state)
        {
            throw new IllegalStateException("begin(" + seq + "): batch " + this.seq + " is " + state);
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
        state = State.AWAITING_TOKEN;
        send(Messages.framed(lastSent, 0, Messages.BATCH, epoch, seq, entryView, 0, length));
        decoder.rewind();
        execution.execute(seq, decoder, false);
        localRoot = execution.root();
        localReplyDigest = execution.replyDigest();
    }

    /**
     * Polls the link and re-sends on timeout.
     *
     * @return work done (messages handled + re-sends).
     */
    public int doWork(final long nowNs)
    {
        this.nowNs = nowNs;
        int work = link.poll(this, 16);
        if ((State.AWAITING_TOKEN == state || State.AWAITING_KEYS == state) && nowNs - lastSentNs >= retransmitNs)
        {
            resend();
            counters.retransmits++;
            work++;
        }
        return work;
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
        final long messageEpoch = Messages.epoch(buffer, offset);
        if (messageEpoch < epoch)
        {
            counters.stale++;
            return;
        }
        if (messageEpoch > epoch)
        {
            fail("fenced: the backup is at epoch " + messageEpoch + ", this primary at " + epoch);
            return;
        }
        switch (Messages.type(buffer, offset))
        {
            case Messages.TOKEN:
                onToken(buffer, offset);
                break;
            case Messages.KEYS:
                onKeys(buffer, offset);
                break;
            default:
                break;
        }
    }

    private void onToken(final DirectBuffer buffer, final int offset)
    {
        if (State.AWAITING_TOKEN != state || Messages.seq(buffer, offset) != seq ||
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
        if (State.AWAITING_KEYS != state || Messages.seq(buffer, offset) != seq)
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
        if (State.COMMITTED == state)
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
    }
}
