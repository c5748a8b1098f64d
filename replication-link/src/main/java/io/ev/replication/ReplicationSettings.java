/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.concurrent.TimeUnit;

/**
 * Timing and sizing of the replication protocol, shared by {@link PrimaryReplicator} and
 * {@link BackupReplicator}. Validated by {@link #conclude()}: each error names the setting, the
 * value and the allowed range.
 * <ul>
 *   <li>{@code retransmitNs}: the side waiting for an answer re-sends after this silence;</li>
 *   <li>{@code heartbeatNs}: an idle primary sends a heartbeat this often (the backup answers);</li>
 *   <li>{@code peerTimeoutNs}: silence after which the peer is presumed crashed: the primary goes on
 *   alone, the backup may promote itself. Must exceed several heartbeats and retransmits. A pair
 *   cannot tell a crashed peer from a partition (docs/ARCHITECTURE.md, "Failover");</li>
 *   <li>{@code soloSequential}: a primary without a backup executes each batch sequentially in batch
 *   order (nothing to compare with, so it runs no race it could not detect); false runs phases in
 *   parallel, unverified;</li>
 *   <li>{@code maxSyncFrameBytes} and {@code syncPagesPerRequest}: the chunking of the page transfer
 *   that brings a rejoining backup to the primary's state;</li>
 *   <li>{@code maxInFlightBatches}: pipelining depth, in [1, 64], default 4: the primary keeps up to
 *   this many batches begun and not yet reported committed ({@link PrimaryReplicator#pollCommitted()}),
 *   executing batch s + 1 on top of s's unverified state; a backup holds up to this many open
 *   batches. Each replica's store must allow as many open batches (the state store's
 *   {@code maxOpenBatches}, default 4). 1 is Eve's synchronous protocol.</li>
 *   <li>{@code maxCatchUpBatches} and {@code catchUpBatchesPerAnswer}: a rejoining backup at most
 *   {@code maxCatchUpBatches} committed batches behind (default 4096; 0 turns catch-up off) is sent
 *   them from the primary's journal, {@code catchUpBatchesPerAnswer} (default 16) per CATCH_UP, and
 *   executes them sequentially, checking each root; a longer gap, a primary without them, or a root
 *   that differs falls back to the page sync.</li>
 * </ul>
 */
public final class ReplicationSettings
{
    /** The largest {@code maxInFlightBatches}: the state store's largest {@code maxOpenBatches}. */
    public static final int MAX_IN_FLIGHT_BATCHES = 64;
    /** Default {@code maxInFlightBatches}: the state store's default {@code maxOpenBatches}. */
    public static final int MAX_IN_FLIGHT_BATCHES_DEFAULT = 4;
    /** Default {@code maxCatchUpBatches}: a longer gap is closed by the page sync. */
    public static final int MAX_CATCH_UP_BATCHES_DEFAULT = 4096;
    /** Default {@code catchUpBatchesPerAnswer}. */
    public static final int CATCH_UP_BATCHES_PER_ANSWER_DEFAULT = 16;
    public static final long RETRANSMIT_NS_DEFAULT = TimeUnit.MILLISECONDS.toNanos(20);
    public static final long HEARTBEAT_NS_DEFAULT = TimeUnit.MILLISECONDS.toNanos(100);
    public static final long PEER_TIMEOUT_NS_DEFAULT = TimeUnit.SECONDS.toNanos(2);

    private long retransmitNs = RETRANSMIT_NS_DEFAULT;
    private long heartbeatNs = HEARTBEAT_NS_DEFAULT;
    private long peerTimeoutNs = PEER_TIMEOUT_NS_DEFAULT;
    private boolean soloSequential = true;
    private int maxSyncFrameBytes = 8 << 20;
    private int syncPagesPerRequest = 1 << 16;
    private int maxInFlightBatches = MAX_IN_FLIGHT_BATCHES_DEFAULT;
    private int maxCatchUpBatches = MAX_CATCH_UP_BATCHES_DEFAULT;
    private int catchUpBatchesPerAnswer = CATCH_UP_BATCHES_PER_ANSWER_DEFAULT;

    public ReplicationSettings retransmitNs(final long retransmitNs)
    {
        this.retransmitNs = retransmitNs;
        return this;
    }

    public long retransmitNs()
    {
        return retransmitNs;
    }

    public ReplicationSettings heartbeatNs(final long heartbeatNs)
    {
        this.heartbeatNs = heartbeatNs;
        return this;
    }

    public long heartbeatNs()
    {
        return heartbeatNs;
    }

    public ReplicationSettings peerTimeoutNs(final long peerTimeoutNs)
    {
        this.peerTimeoutNs = peerTimeoutNs;
        return this;
    }

    public long peerTimeoutNs()
    {
        return peerTimeoutNs;
    }

    public ReplicationSettings soloSequential(final boolean soloSequential)
    {
        this.soloSequential = soloSequential;
        return this;
    }

    public boolean soloSequential()
    {
        return soloSequential;
    }

    public ReplicationSettings maxSyncFrameBytes(final int maxSyncFrameBytes)
    {
        this.maxSyncFrameBytes = maxSyncFrameBytes;
        return this;
    }

    public int maxSyncFrameBytes()
    {
        return maxSyncFrameBytes;
    }

    public ReplicationSettings syncPagesPerRequest(final int syncPagesPerRequest)
    {
        this.syncPagesPerRequest = syncPagesPerRequest;
        return this;
    }

    public int syncPagesPerRequest()
    {
        return syncPagesPerRequest;
    }

    public ReplicationSettings maxCatchUpBatches(final int maxCatchUpBatches)
    {
        this.maxCatchUpBatches = maxCatchUpBatches;
        return this;
    }

    public int maxCatchUpBatches()
    {
        return maxCatchUpBatches;
    }

    public ReplicationSettings catchUpBatchesPerAnswer(final int catchUpBatchesPerAnswer)
    {
        this.catchUpBatchesPerAnswer = catchUpBatchesPerAnswer;
        return this;
    }

    public int catchUpBatchesPerAnswer()
    {
        return catchUpBatchesPerAnswer;
    }

    public ReplicationSettings maxInFlightBatches(final int maxInFlightBatches)
    {
        this.maxInFlightBatches = maxInFlightBatches;
        return this;
    }

    public int maxInFlightBatches()
    {
        return maxInFlightBatches;
    }

    /**
     * Checks every setting.
     *
     * @return this.
     * @throws IllegalArgumentException naming the first wrong setting.
     */
    public ReplicationSettings conclude()
    {
        check("retransmitNs", retransmitNs, TimeUnit.MICROSECONDS.toNanos(100), TimeUnit.SECONDS.toNanos(10));
        check("heartbeatNs", heartbeatNs, TimeUnit.MICROSECONDS.toNanos(100), TimeUnit.SECONDS.toNanos(10));
        check("peerTimeoutNs", peerTimeoutNs, 3 * Math.max(heartbeatNs, retransmitNs), TimeUnit.MINUTES.toNanos(10));
        check("maxSyncFrameBytes", maxSyncFrameBytes, 1 << 16, Link.MAX_MESSAGE_LENGTH - Messages.SYNC_HEADER_LENGTH);
        final long maxPages = (maxSyncFrameBytes - Messages.SYNC_HEADER_LENGTH) / Messages.SYNC_DIGEST_LENGTH;
        check("syncPagesPerRequest", syncPagesPerRequest, 1, maxPages);
        check("maxInFlightBatches", maxInFlightBatches, 1, MAX_IN_FLIGHT_BATCHES);
        check("maxCatchUpBatches", maxCatchUpBatches, 0, 1 << 20);
        check("catchUpBatchesPerAnswer", catchUpBatchesPerAnswer, 1, 1024);
        return this;
    }

    private static void check(final String name, final long value, final long min, final long max)
    {
        if (value < min || value > max)
        {
            throw new IllegalArgumentException("replication setting " + name + " = " + value + " outside [" + min +
                ", " + max + "]");
        }
    }

    public String toString()
    {
        return "ReplicationSettings{retransmitNs=" + retransmitNs + ", heartbeatNs=" + heartbeatNs +
            ", peerTimeoutNs=" + peerTimeoutNs + ", soloSequential=" + soloSequential + ", maxSyncFrameBytes=" +
            maxSyncFrameBytes + ", syncPagesPerRequest=" + syncPagesPerRequest + ", maxInFlightBatches=" +
            maxInFlightBatches + ", maxCatchUpBatches=" + maxCatchUpBatches + ", catchUpBatchesPerAnswer=" +
            catchUpBatchesPerAnswer + "}";
    }
}
