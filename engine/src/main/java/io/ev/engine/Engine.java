/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

import io.ev.journal.BatchEncoder;
import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
import io.ev.journal.Journal;
import io.ev.replication.BackupReplicator;
import io.ev.replication.Link;
import io.ev.replication.PrimaryReplicator;
import io.ev.replication.ReplicationSettings;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.Mixer;
import io.ev.pipeline.ParallelExecutor;
import io.ev.pipeline.PhaseExecutor;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestRing;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

/**
 * The engine on one node (standalone role): requests enter a multi-producer ring; the batcher
 * thread cuts a batch (up to {@code maxBatchRequests}, or fewer at the end of what is waiting),
 * mixes it into phases, runs the phases on the workers, seals, commits, and only then releases
 * the replies to each client's {@link ReplyListener}.
 * <pre>
 *  submit (any thread) -> RequestRing -> [ev-batcher] drain -> mix -> execute (ev-worker-*) ->
 *                                        seal -> commit -> CommitListener -> replies
 * </pre>
 * Life cycle: {@link #launch(Context)} opens the store, runs the {@link StoreInitializer}, starts
 * the threads; {@link #close()} refuses new requests, finishes what was accepted, stops.
 */
public final class Engine implements AutoCloseable
{
    /** Submit result: accepted; the reply follows on the client's listener after commit. */
    public static final int SUBMITTED = RequestRing.OFFERED;
    /** Submit result: the ring stayed full (immediately, or until the back-pressure timeout). */
    public static final int REJECTED_RING_FULL = RequestRing.RING_FULL;
    /** Submit result: payload longer than the largest registered type accepts. */
    public static final int REJECTED_PAYLOAD_TOO_LARGE = RequestRing.PAYLOAD_TOO_LARGE;
    /** Submit result: the engine is closed or failed. */
    public static final int REJECTED_CLOSED = RequestRing.CLOSED;
    /** Submit result: client id outside [0, maxClients) or without a registered listener. */
    public static final int REJECTED_UNKNOWN_CLIENT = 4;
    private static final long VERIFY_LATENCY_MAX_NS = TimeUnit.MINUTES.toNanos(10);

    /** Submit result: this engine is a backup; submit to the primary. */
    public static final int REJECTED_NOT_PRIMARY = 5;

    private final Context ctx;
    private final StateStore store;
    private final StoreWriter reader;
    private final RequestRing ring;
    private final PhaseExecutor executor;
    private final AtomicReferenceArray<ReplyListener> clients;
    private final Batcher batcher;
    private final AgentRunner batcherRunner;
    private final CountersFile countersFile;
    private final EngineCounters counters;
    private final Journal journal;
    private final Recovery.Report recoveryReport;
    private final long requestBase;
    private final EngineReplica replica;
    private volatile PrimaryReplicator primary;
    private volatile BackupReplicator backup;
    private final Recorder verifyLatency = new Recorder(VERIFY_LATENCY_MAX_NS, 3);
    private volatile boolean closed;

    private Engine(final Context ctx)
    {
        this.ctx = ctx;
        this.countersFile = CountersFile.create(ctx.countersFile());
        this.counters = new EngineCounters(countersFile.manager());
        this.store = StateStore.open(ctx.store().writers(ctx.workers() + 2));
        Journal openedJournal = null;
        try
        {
            this.reader = store.newWriter();
            if (null != ctx.journal())
            {
                openedJournal = Journal.open(ctx.journal());
            }
            this.journal = openedJournal;
            this.recoveryReport = startState();
            if (null != journal)
            {
                journal.checkpoints().crashPoint(Role.PRIMARY == ctx.role() ? CrashPoint.PRIMARY_MID_CHECKPOINT :
                    Role.BACKUP == ctx.role() ? CrashPoint.BACKUP_MID_CHECKPOINT : null);
            }
            this.requestBase = null == recoveryReport ? 0 : recoveryReport.requestsInState();
            this.ring = new RequestRing(ctx.ringCapacity(), ctx.registry().maxPayloadBytes());
            this.executor = ctx.workers() == 1 ? new SequentialExecutor(store) :
                new ParallelExecutor(store, new ParallelExecutor.Context()
                    .workers(ctx.workers())
                    .idleStrategy(ctx.idleStrategy())
                    .pinCpus(ctx.pinCpus())
                    .scheduleSeed(Role.BACKUP == ctx.role() && ctx.scheduleDiversity() ? 0x9E3779B97F4A7C15L : 0));
            this.replica = Role.STANDALONE == ctx.role() ? null :
                new EngineReplica(store, reader, ctx.registry(), executor, ctx.maxBatchRequests());
            if (null != replica)
            {
                replica.requestsInState(requestBase);
                replica.catchUpJournal(journal);
                replica.crashPointsOf(Role.PRIMARY == ctx.role());
                if (Role.BACKUP == ctx.role())
                {
                    replica.journalAsBackup(journal);
                }
            }
            // both start unpaired: the backup says HELLO and the primary pairs or syncs it
            this.primary = Role.PRIMARY == ctx.role() ? new PrimaryReplicator(ctx.link(), replica, ctx.epoch(),
                ctx.replication(), PrimaryReplicator.Peer.LOST) : null;
            this.backup = Role.BACKUP == ctx.role() ? new BackupReplicator(ctx.link(), replica, ctx.epoch(),
                ctx.replication(), BackupReplicator.Phase.JOINING) : null;
        }
        catch (final RuntimeException ex)
        {
            if (null != openedJournal)
            {
                openedJournal.close();
            }
            store.close();
            countersFile.close();
            throw ex;
        }
        this.clients = new AtomicReferenceArray<>(ctx.maxClients());
        this.batcher = new Batcher(store.lastCommittedSeq() + 1);
        this.batcherRunner = new AgentRunner(ctx.idleStrategy().get(), this::onBatcherError, null, batcher);
        AgentRunner.startOnThread(batcherRunner);
    }

    /**
     * Brings the store to its starting state: without a journal, or for a new data directory, the
     * initializer (then, with a journal, the initial checkpoint); otherwise recovery.
     */
    private Recovery.Report startState()
    {
        if (null == journal || Recovery.isFresh(journal))
        {
            if (null != ctx.initializer())
            {
                ctx.initializer().initialize(store, reader);
            }
            if (null != journal)
            {
                journal.checkpoints().take(store, 0, false);
            }
            return null;
        }
        final Recovery recovery = new Recovery(store, reader, journal, ctx.registry(), ctx.maxBatchRequests(),
            ctx.commitListener());
        final Recovery.Report report = recovery.recover();
        recovery.commitUncommitted();
        counters.recoveredBatches.setOrdered(report.batchesReplayed());
        counters.recoveredRequests.setOrdered(report.requestsReplayed());
        return report;
    }

    /**
     * Validates the context, opens the store, loads initial state and starts the threads.
     */
    public static Engine launch(final Context ctx)
    {
        ctx.conclude();
        return new Engine(ctx);
    }

    /**
     * Registers the listener that receives client {@code clientId}'s replies. Register before the
     * client submits; a later registration replaces the listener.
     */
    public void registerClient(final int clientId, final ReplyListener listener)
    {
        if (clientId < 0 || clientId >= ctx.maxClients())
        {
            throw new IllegalArgumentException("clientId " + clientId + " outside [0, " + ctx.maxClients() +
                ") (setting maxClients)");
        }
        clients.set(clientId, listener);
    }

    /**
     * @return a client whose submits return futures (the convenience form), registered as
     * {@code clientId}'s listener.
     */
    public FutureClient newFutureClient(final int clientId)
    {
        return new FutureClient(this, clientId);
    }

    /**
     * Offers a request. Zero allocation. With back pressure {@link BackPressure#BLOCK} it waits up
     * to {@code submitTimeoutNs} for room in the ring; with {@link BackPressure#REJECT} it fails
     * at once when the ring is full.
     *
     * @return {@link #SUBMITTED} or one of the {@code REJECTED_*} reason codes.
     * @throws IndexOutOfBoundsException naming offset and length if they lie outside {@code payload} (a
     *                                   caller's bug; nothing is submitted).
     */
    public int submit(
        final int clientId,
        final long requestId,
        final int type,
        final DirectBuffer payload,
        final int offset,
        final int length)
    {
        if (null != backup)
        {
            counters.onRejected(REJECTED_NOT_PRIMARY);
            return REJECTED_NOT_PRIMARY;
        }
        if (clientId < 0 || clientId >= clients.length() || null == clients.get(clientId))
        {
            counters.onRejected(REJECTED_UNKNOWN_CLIENT);
            return REJECTED_UNKNOWN_CLIENT;
        }
        final int result = BackPressure.BLOCK == ctx.backPressure() ?
            ring.offer(clientId, requestId, type, payload, offset, length, ctx.submitTimeoutNs(),
                YieldingIdleStrategy.INSTANCE) :
            ring.offer(clientId, requestId, type, payload, offset, length);
        if (SUBMITTED == result)
        {
            counters.submitted.increment();
        }
        else
        {
            counters.onRejected(result);
        }
        return result;
    }

    /**
     * @return a readable description of a submit result code.
     */
    public static String describeSubmit(final int result)
    {
        switch (result)
        {
            case SUBMITTED:
                return "submitted";
            case REJECTED_RING_FULL:
                return "rejected: input ring full (back pressure)";
            case REJECTED_PAYLOAD_TOO_LARGE:
                return "rejected: payload larger than any registered type accepts";
            case REJECTED_CLOSED:
                return "rejected: engine closed";
            case REJECTED_UNKNOWN_CLIENT:
                return "rejected: unknown client id";
            case REJECTED_NOT_PRIMARY:
                return "rejected: this engine is a backup; submit to the primary";
            default:
                return "unknown submit result " + result;
        }
    }

    public EngineCounters counters()
    {
        return counters;
    }

    /**
     * PRIMARY: the distribution of the time from shipping a batch to its verification, since the
     * last call (HdrHistogram interval; allocates the histogram: not for the hot path).
     */
    public Histogram verifyLatencySinceLastCall()
    {
        return verifyLatency.getIntervalHistogram();
    }

    /**
     * Asks the batcher to take a checkpoint before its next batch (execution pauses while it is
     * written; see {@link Journal}). No effect without a journal.
     */
    public void requestCheckpoint()
    {
        batcher.checkpointRequested = true;
    }

    /**
     * @return the role now: a backup becomes PRIMARY when it promotes itself.
     */
    public Role role()
    {
        return null != primary ? Role.PRIMARY : null != backup ? Role.BACKUP : Role.STANDALONE;
    }

    /**
     * @return true when this replica and its peer hold the same state and verify batches together
     * (always false for STANDALONE).
     */
    public boolean isPaired()
    {
        final PrimaryReplicator p = primary;
        final BackupReplicator b = backup;
        return null != p ? PrimaryReplicator.Peer.PAIRED == p.peer() :
            null != b && BackupReplicator.Phase.PAIRED == b.phase();
    }

    /**
     * Waits until {@link #isPaired()}, the engine failed, or {@code timeoutNs} passed.
     *
     * @return whether it is paired.
     */
    public boolean awaitPaired(final long timeoutNs)
    {
        final long deadlineNs = System.nanoTime() + timeoutNs;
        final IdleStrategy idle = new BackoffIdleStrategy();
        while (!isPaired() && null == batcher.failure && System.nanoTime() - deadlineNs < 0)
        {
            idle.idle();
        }
        return isPaired();
    }

    /**
     * @return the replication epoch this replica is at (0 for STANDALONE).
     */
    public long epoch()
    {
        final PrimaryReplicator p = primary;
        final BackupReplicator b = backup;
        return null != p ? p.epoch() : null != b ? b.epoch() : 0;
    }

    /**
     * @return requests executed into the committed state, recovered ones included (replicas: as
     * counted by the replication protocol, transfers included).
     */
    public long requestsInState()
    {
        return null != replica ? replica.requestsInState() : requestBase + counters.committed();
    }

    /**
     * @return what recovery did at launch, or null when the engine started from the initializer
     * (no journal, or a new data directory).
     */
    public Recovery.Report recoveryReport()
    {
        return recoveryReport;
    }

    /**
     * @return the journal, or null when journaling is off.
     */
    public Journal journal()
    {
        return journal;
    }

    /**
     * @return the state root after the last committed batch.
     */
    public long root()
    {
        // a backup's: published before it tells its primary (HELLO) that it holds this state
        return null != backup ? replica.committedRoot() : batcher.lastRoot;
    }

    /**
     * Read access for oracles and tools: use only while the engine is idle (every submitted
     * request replied) and from one thread at a time.
     */
    public StoreWriter reader()
    {
        return reader;
    }

    /**
     * @return true when every accepted request has been executed and replied to.
     */
    public boolean isIdle()
    {
        return ring.size() == 0 && counters.committed() == counters.submitted();
    }

    public Context context()
    {
        return ctx;
    }

    /**
     * @return the failure that stopped the batcher, or null.
     */
    public Throwable failure()
    {
        return batcher.failure;
    }

    /**
     * Refuses new requests, lets the batcher finish every accepted one (bounded by
     * {@code closeTimeoutNs}), then stops the threads and closes the store. Idempotent.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        ring.close();
        final long deadlineNs = System.nanoTime() + ctx.closeTimeoutNs();
        final IdleStrategy idle = new BackoffIdleStrategy();
        // every accepted request answered: the ring drained and the batches in flight committed
        while ((ring.size() > 0 || counters.committed.get() + counters.failedByStop.get() < counters.submitted.get()) &&
            null == batcher.failure && System.nanoTime() - deadlineNs < 0)
        {
            idle.idle();
        }
        try
        {
            batcherRunner.close();
            if (null == batcher.failure)
            {
                batcher.failPending(); // closeTimeoutNs passed: answer what is left
            }
            executor.close();
        }
        finally
        {
            if (null != journal)
            {
                journal.checkpoints().abort(store);
                journal.close();
            }
            store.close();
            countersFile.close();
        }
    }

    /**
     * @return the memory-mapped counters file `bin/ev stat` reads.
     */
    public Path countersFile()
    {
        return countersFile.path();
    }

    private void onBatcherError(final Throwable throwable)
    {
        if (null == batcher.failure)
        {
            batcher.failure = throwable;
        }
        ring.close();
        try
        {
            batcher.failPending();
        }
        catch (final RuntimeException ex)
        {
            throwable.addSuppressed(ex);
        }
    }

    /**
     * The batcher agent: one batch per duty cycle. A primary keeps up to
     * {@code maxInFlightBatches} batches in flight (begun, not yet committed) and releases each
     * batch's replies, in seq order, as it commits.
     */
    final class Batcher implements Agent
    {
        /** One per batch in flight ({@code seq % length}): its requests, for failure replies. */
        private final Batch[] slots;
        private final long[] startNs;
        private final Mixer mixer;
        private final boolean sequential = ctx.workers() == 1;
        private final BatchRunner runner = new BatchRunner(store, executor, reader, ctx.maxBatchRequests());
        private final Request request = new Request();
        private final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
        private final BatchEncoder encoder = null != journal || null != replica ? new BatchEncoder() : null;
        private long nextSeq;
        /** The oldest batch begun whose replies are not released: [oldestUnreleased, nextSeq) are in flight. */
        private long oldestUnreleased;
        private long requestsSinceCheckpoint;
        private long requestsAtLastCheckpoint;
        /** The role of the batcher's crash points (a plain field: unarmed, the hooks cost nothing). */
        private boolean primaryRole = Role.PRIMARY == ctx.role();
        volatile boolean checkpointRequested;
        volatile long lastRoot;
        volatile Throwable failure;

        Batcher(final long firstSeq)
        {
            this.nextSeq = firstSeq;
            this.oldestUnreleased = firstSeq;
            final int inFlight = null != replica ? ctx.replication().maxInFlightBatches() : 1;
            this.slots = new Batch[inFlight];
            this.startNs = new long[inFlight];
            for (int i = 0; i < inFlight; i++)
            {
                slots[i] = new Batch(ctx.maxBatchRequests(), ctx.registry().maxPayloadBytes(),
                    ctx.registry().maxReplyBytes());
            }
            this.mixer = null != ctx.mixer() ? ctx.mixer() : new KeyConflictMixer(ctx.maxBatchRequests());
            this.lastRoot = store.root();
        }

        private Batch slot(final long seq)
        {
            return slots[(int)(seq % slots.length)];
        }

        public int doWork()
        {
            if (null != failure)
            {
                return 0;
            }
            if (null != backup)
            {
                return backupWork();
            }
            try
            {
                return null != primary ? primaryWork() : standaloneWork();
            }
            catch (final RuntimeException ex)
            {
                // every batch begun and not answered: journaled ones may be recovered and executed
                stopBeforeReplying(ex);
                replyInFlight(null != journal ? ReplyCodes.OUTCOME_UNKNOWN : ReplyCodes.UNAVAILABLE);
                throw ex;
            }
        }

        private int standaloneWork()
        {
            checkpointIfDue();
            final long seq = nextSeq;
            final Batch batch = drainAndMix(seq);
            if (null == batch)
            {
                return 0;
            }
            final int count = batch.count();
            nextSeq = seq + 1;
            final long root = runner.executeAndSeal(batch, ctx.registry());
            if (0 != runner.reexecutions())
            {
                counters.rollbacks.getAndAddOrdered(runner.reexecutions());
            }
            store.commit(seq);
            onCommitted(batch, seq, root, null != journal ? ReplyDigest.of(batch, reply) : 0);
            return count;
        }

        /**
         * Polls the replication protocol, releases the replies of the batches that committed (in
         * order), and begins the next batch when the window has room.
         */
        private int primaryWork()
        {
            final long nowNs = System.nanoTime();
            int work = primary.doWork(nowNs);
            work += releaseCommitted();
            publishReplicationCounters();
            if (null != primary.failure())
            {
                throw new IllegalStateException("replication stopped: " + primary.failure());
            }
            if (oldestUnreleased < nextSeq && nowNs - startNs[(int)(oldestUnreleased % slots.length)] >
                ctx.verifyTimeoutNs())
            {
                throw new IllegalStateException("batch " + oldestUnreleased + " was not committed within " +
                    ctx.verifyTimeoutNs() / 1_000_000 + " ms (setting verifyTimeoutNs; a lost backup is " +
                    "given up after peerTimeoutNs " + ctx.replication().peerTimeoutNs() / 1_000_000 + " ms)");
            }
            if (!primary.readyForBatch())
            {
                return work; // the window is full, or a backup is copying this primary's state
            }
            if (oldestUnreleased == nextSeq)
            {
                checkpointIfDue(); // a batch boundary: nothing open
            }
            else if (null != journal && checkpointWaitsForBoundary(checkpointDue()))
            {
                return work; // a checkpoint needs a batch boundary: let the batches in flight commit first
            }
            final long seq = nextSeq;
            final Batch batch = drainAndMix(seq);
            if (null == batch)
            {
                return work;
            }
            final int count = batch.count();
            final int length = null != journal ? encoder.finish() : EngineReplica.encode(batch, encoder, request);
            nextSeq = seq + 1;
            startNs[(int)(seq % slots.length)] = System.nanoTime();
            counters.phases.getAndAddOrdered(batch.phaseCount());
            replica.mixed(seq, batch); // executed as it is, not decoded from the entry again
            primary.begin(seq, encoder.buffer(), 0, length, startNs[(int)(seq % slots.length)]);
            if (nextSeq - oldestUnreleased > counters.mostBatchesInFlight.get())
            {
                counters.mostBatchesInFlight.setOrdered(nextSeq - oldestUnreleased);
            }
            return work + count + releaseCommitted(); // alone, it committed at once
        }

        /**
         * Releases, in seq order, the replies of every batch the protocol reports committed.
         *
         * @return the requests released.
         */
        private int releaseCommitted()
        {
            int released = 0;
            for (long seq = primary.pollCommitted(); -1 != seq; seq = primary.pollCommitted())
            {
                if (seq != oldestUnreleased)
                {
                    throw new IllegalStateException("batch " + seq + " committed, " + oldestUnreleased +
                        " was expected next");
                }
                final Batch executed = replica.batch(seq);
                released += executed.count();
                final long verifyNs = System.nanoTime() - startNs[(int)(seq % slots.length)];
                counters.verifyNs.getAndAddOrdered(verifyNs);
                verifyLatency.recordValue(Math.min(Math.max(1, verifyNs), VERIFY_LATENCY_MAX_NS));
                onCommitted(executed, seq, replica.rootOf(seq), replica.replyDigestOf(seq));
            }
            return released;
        }

        /**
         * Batch {@code seq} committed: journal its commit marker, tell the commit listener, release
         * its replies.
         */
        private void onCommitted(final Batch executed, final long seq, final long root, final long replyDigest)
        {
            final int count = executed.count();
            lastRoot = root;
            if (null != journal)
            {
                journal.appendCommit(seq, root, replyDigest, count);
            }
            if (null != ctx.commitListener())
            {
                ctx.commitListener().onCommit(executed, root);
            }
            oldestUnreleased = seq + 1;
            // counted before the replies go out: a client that saw every reply reads every batch
            counters.batches.incrementOrdered();
            releaseReplies(executed, seq, count);
            CrashPoints.hit(primaryRole ? CrashPoint.PRIMARY_REPLY_RELEASED : null);
            requestsSinceCheckpoint += count;
        }

        private void checkpointIfDue()
        {
            if (null != journal)
            {
                pollCheckpoint();
                if (checkpointDue())
                {
                    takeCheckpoint(requestsInState());
                }
            }
        }

        /**
         * Drains the ring into batch {@code seq}'s slot, mixes it and journals it.
         *
         * @return the batch, or null when the ring was empty.
         */
        private Batch drainAndMix(final long seq)
        {
            final Batch batch = slot(seq);
            batch.reset(seq);
            final int count = ring.drainTo(batch, ctx.maxBatchRequests());
            if (0 == count)
            {
                return null;
            }
            CrashPoints.hit(primaryRole ? CrashPoint.PRIMARY_RECEIVED : null);
            if (sequential)
            {
                // one worker executes in batch order: phases would be ignored, so do not compute them
                batch.groupPhases();
            }
            else
            {
                mixer.mix(batch, ctx.registry());
            }
            if (null != journal)
            {
                journalBatch(batch, seq, count);
            }
            if (null == primary)
            {
                counters.phases.getAndAddOrdered(batch.phaseCount());
            }
            return batch;
        }

        private void journalBatch(final Batch batch, final long seq, final int count)
        {
            EngineReplica.encode(batch, encoder, request);
            try
            {
                final long index = journal.append(encoder);
                if (null != replica)
                {
                    replica.journaled(seq, index);
                }
            }
            catch (final RuntimeException ex)
            {
                // not journaled, not executed: tell each client it had no effect
                stopBeforeReplying(ex);
                replyAll(batch, seq, count, ReplyCodes.UNAVAILABLE);
                throw ex;
            }
            CrashPoints.hit(primaryRole ? CrashPoint.PRIMARY_JOURNALED : null);
        }

        /**
         * Answers every request of the batches in flight with {@code code} (the engine is stopping).
         */
        private void replyInFlight(final int code)
        {
            for (long seq = oldestUnreleased; seq < nextSeq; seq++)
            {
                final Batch batch = slot(seq);
                replyAll(batch, seq, batch.count(), code);
            }
            oldestUnreleased = nextSeq;
        }

        private void publishReplicationCounters()
        {
            final PrimaryReplicator.Counters replication = primary.counters();
            counters.divergencesDetected.setOrdered(replication.detected());
            counters.repairedByReexecution.setOrdered(replication.repairedByReexecution());
            counters.repairedByTransfer.setOrdered(replication.repairedByTransfer());
            counters.rollbacks.setOrdered(replication.detected() + replication.repairedByTransfer());
            counters.committedAlone.setOrdered(replication.committedAlone());
            counters.batchesReshipped.setOrdered(replication.discarded());
            counters.catchUpBatches.setOrdered(replication.catchUpBatches());
            counters.linkRetransmits.setOrdered(replication.retransmits());
            counters.linkBackPressured.setOrdered(replication.backPressured());
        }

        private int backupWork()
        {
            final BackupReplicator b = backup;
            final int work = b.doWork(System.nanoTime());
            if (null != b.failure())
            {
                throw new IllegalStateException(b.failure());
            }
            if (0 != work)
            {
                lastRoot = replica.committedRoot();
                counters.batches.setOrdered(b.counters().committed());
                counters.catchUpBatches.setOrdered(b.counters().caughtUpBatches());
                counters.linkBackPressured.setOrdered(b.counters().backPressured());
            }
            if (null != journal && BackupReplicator.Phase.PAIRED == b.phase())
            {
                // a checkpoint needs a batch boundary: hold new batches until the open ones committed
                if (0 == b.openBatches())
                {
                    pollCheckpoint();
                    if (backupCheckpointDue())
                    {
                        requestsAtLastCheckpoint = replica.requestsInState();
                        takeCheckpoint(requestsAtLastCheckpoint);
                    }
                }
                b.holdBatches(checkpointWaitsForBoundary(backupCheckpointDue()));
            }
            if (ctx.promoteOnPrimaryLoss() && b.primaryLost())
            {
                promote(b);
                return work + 1;
            }
            return work;
        }

        /**
         * @return whether a checkpoint (due, or in progress) needs a batch boundary now: new batches
         * wait until the open ones committed.
         */
        private boolean checkpointWaitsForBoundary(final boolean due)
        {
            return (due && !journal.checkpoints().inProgress()) || journal.checkpoints().awaitsBoundary();
        }

        private boolean backupCheckpointDue()
        {
            return checkpointRequested || (ctx.checkpointIntervalRequests() > 0 &&
                replica.requestsInState() - requestsAtLastCheckpoint >= ctx.checkpointIntervalRequests());
        }

        /**
         * The primary fell silent: this backup becomes the primary of the next epoch, alone until the
         * old primary rejoins as a backup, and starts accepting requests.
         */
        private void promote(final BackupReplicator b)
        {
            if (null != journal && journal.checkpoints().inProgress())
            {
                journal.checkpoints().abort(store);
            }
            final PrimaryReplicator promoted = b.promote();
            replica.journalAsBackup(null); // the batcher journals from now on
            replica.crashPointsOf(true);
            primaryRole = true;
            if (null != journal)
            {
                journal.checkpoints().crashPoint(CrashPoint.PRIMARY_MID_CHECKPOINT);
            }
            nextSeq = store.lastCommittedSeq() + 1;
            oldestUnreleased = nextSeq;
            lastRoot = replica.committedRoot();
            requestsSinceCheckpoint = 0;
            primary = promoted;
            backup = null;
            counters.promotions.incrementOrdered();
        }

        /**
         * Records the failure and refuses new requests before any client hears of it.
         */
        private void stopBeforeReplying(final RuntimeException ex)
        {
            if (null == failure)
            {
                failure = ex;
            }
            ring.close();
        }

        private boolean checkpointDue()
        {
            return checkpointRequested ||
                (ctx.checkpointIntervalRequests() > 0 && requestsSinceCheckpoint >= ctx.checkpointIntervalRequests());
        }

        private void pollCheckpoint()
        {
            if (journal.checkpoints().inProgress())
            {
                try
                {
                    if (journal.checkpoints().poll(store))
                    {
                        onCheckpointDone();
                    }
                }
                finally
                {
                    // a checkpoint the disk refused throws (the journal stopped): counted all the same
                    counters.checkpointsFailed.setOrdered(journal.checkpoints().failures());
                }
            }
        }

        private void takeCheckpoint(final long requests)
        {
            if (journal.checkpoints().inProgress())
            {
                return; // due again once the running one completed
            }
            checkpointRequested = false;
            requestsSinceCheckpoint = 0;
            if (CheckpointMode.PAUSE == ctx.checkpointMode())
            {
                try
                {
                    journal.checkpoints().take(store, requests);
                }
                finally
                {
                    counters.checkpointsFailed.setOrdered(journal.checkpoints().failures());
                }
                onCheckpointDone();
            }
            else
            {
                journal.checkpoints().start(store, requests, ctx.checkpointMaxCaptureBytes());
                counters.checkpointMaxPauseUs.setOrdered(journal.checkpoints().maxPauseNs() / 1000);
            }
        }

        private void onCheckpointDone()
        {
            counters.checkpoints.incrementOrdered();
            counters.checkpointMaxPauseUs.setOrdered(journal.checkpoints().maxPauseNs() / 1000);
            counters.checkpointLastPauseUs.setOrdered(journal.checkpoints().lastPauseNs() / 1000);
            counters.checkpointLastDurationMs.setOrdered(journal.checkpoints().lastDurationNs() / 1_000_000);
        }

        /**
         * Answers every request of the batch in hand with {@code code} (the engine is stopping).
         */
        void replyAll(final Batch batch, final long seq, final int count, final int code)
        {
            for (int i = 0; i < count; i++)
            {
                batch.wrap(request, i);
                batch.wrapReply(reply, i);
                reply.putInt(ReplyCodes.CODE_OFFSET, code, ReplyCodes.BYTE_ORDER);
                final ReplyListener listener = clients.get((int)request.clientId());
                if (null != listener)
                {
                    listener.onReply(request.clientId(), request.requestId(), request.type(), seq, reply, 0,
                        ReplyCodes.CODE_LENGTH);
                }
            }
            counters.failedByStop.getAndAddOrdered(count);
        }

        /**
         * After a failure: answers every request still in the ring with {@link ReplyCodes#UNAVAILABLE}.
         */
        void failPending()
        {
            replyInFlight(null != journal ? ReplyCodes.OUTCOME_UNKNOWN : ReplyCodes.UNAVAILABLE);
            final Batch batch = slot(nextSeq);
            int count;
            do
            {
                batch.reset(nextSeq);
                count = ring.drainTo(batch, ctx.maxBatchRequests());
                replyAll(batch, nextSeq, count, ReplyCodes.UNAVAILABLE);
            }
            while (count > 0);
        }

        private void releaseReplies(final Batch executed, final long seq, final int count)
        {
            long aborted = 0;
            for (int i = 0; i < count; i++)
            {
                executed.wrap(request, i);
                executed.wrapReply(reply, i);
                final int length = executed.replyLength(i);
                if (length < ReplyCodes.CODE_LENGTH || ReplyCodes.OK != ReplyCodes.code(reply, 0))
                {
                    aborted++;
                }
                final ReplyListener listener = clients.get((int)request.clientId());
                if (null != listener)
                {
                    listener.onReply(request.clientId(), request.requestId(), request.type(), seq, reply, 0, length);
                }
            }
            counters.aborted.getAndAddOrdered(aborted);
            counters.committed.getAndAddOrdered(count);
        }

        public String roleName()
        {
            return "ev-batcher";
        }
    }

    /**
     * What happens to a submit when the input ring is full.
     */
    public enum BackPressure
    {
        /** Wait up to {@code submitTimeoutNs} for room, then reject with {@link #REJECTED_RING_FULL}. */
        BLOCK,
        /** Reject at once with {@link #REJECTED_RING_FULL}. */
        REJECT
    }

    /**
     * How a periodic checkpoint is taken.
     */
    public enum CheckpointMode
    {
        /** Execution goes on while the checkpoint is written; records modified meanwhile are copied on write. */
        CONCURRENT,
        /** Execution waits while the checkpoint is written (simplest; the pause grows with the state). */
        PAUSE
    }

    /**
     * The replica role. Primary and backup arrive with replication (replication-link).
     */
    public enum Role
    {
        /** One node, no replication: commit right after the seal. */
        STANDALONE,
        /** Executes, journals, ships batches and verifies tokens with a backup. */
        PRIMARY,
        /** Executes the primary's batches with its own threads and returns tokens. */
        BACKUP
    }

    /**
     * Engine settings, validated once by {@link #conclude()}: each error names the setting and
     * its allowed range.
     */
    public static final class Context
    {
        public static final int MAX_WORKERS = ParallelExecutor.MAX_WORKERS;
        public static final int MAX_BATCH_REQUESTS_DEFAULT = 1024;
        public static final int MAX_BATCH_REQUESTS_LIMIT = 1 << 16;
        public static final int RING_CAPACITY_DEFAULT = 1 << 16;
        public static final int MAX_CLIENTS_DEFAULT = 1024;
        public static final long SUBMIT_TIMEOUT_NS_DEFAULT = TimeUnit.SECONDS.toNanos(1);
        public static final long CLOSE_TIMEOUT_NS_DEFAULT = TimeUnit.SECONDS.toNanos(10);
        public static final long CHECKPOINT_INTERVAL_REQUESTS_DEFAULT = 10_000_000L;
        public static final long CHECKPOINT_MAX_CAPTURE_BYTES_DEFAULT = 1L << 30;
        public static final long RETRANSMIT_NS_DEFAULT = TimeUnit.MILLISECONDS.toNanos(20);
        public static final long VERIFY_TIMEOUT_NS_DEFAULT = TimeUnit.SECONDS.toNanos(10);

        private StateStore.Context store;
        private TransactionRegistry registry;
        private int workers = 1;
        private Mixer mixer;
        private int maxBatchRequests = MAX_BATCH_REQUESTS_DEFAULT;
        private int ringCapacity = RING_CAPACITY_DEFAULT;
        private int maxClients = MAX_CLIENTS_DEFAULT;
        private Supplier<IdleStrategy> idleStrategy = Context::defaultIdleStrategy;
        private BackPressure backPressure = BackPressure.BLOCK;
        private long submitTimeoutNs = SUBMIT_TIMEOUT_NS_DEFAULT;
        private long closeTimeoutNs = CLOSE_TIMEOUT_NS_DEFAULT;
        private boolean pinCpus;
        private Role role = Role.STANDALONE;
        private StoreInitializer initializer;
        private CommitListener commitListener;
        private Path countersFile;
        private Journal.Context journal;
        private long checkpointIntervalRequests = CHECKPOINT_INTERVAL_REQUESTS_DEFAULT;
        private CheckpointMode checkpointMode = CheckpointMode.CONCURRENT;
        private Link link;
        private long epoch = 1;
        private ReplicationSettings replication = new ReplicationSettings();
        private boolean promoteOnPrimaryLoss = true;
        private long verifyTimeoutNs = VERIFY_TIMEOUT_NS_DEFAULT;
        private boolean scheduleDiversity = true;
        private long checkpointMaxCaptureBytes = CHECKPOINT_MAX_CAPTURE_BYTES_DEFAULT;
        private boolean concluded;

        /**
         * @param journal journal settings (data directory, durability); null (default) runs without a
         * journal: nothing survives a crash.
         */
        public Context journal(final Journal.Context journal)
        {
            this.journal = journal;
            return this;
        }

        public Journal.Context journal()
        {
            return journal;
        }

        /**
         * @param checkpointIntervalRequests take a checkpoint once this many requests committed
         * since the last one, in [0, 2^40] (0: only the initial one and {@link #requestCheckpoint()});
         * default 10 million. Execution pauses while a checkpoint is written.
         */
        public Context checkpointIntervalRequests(final long checkpointIntervalRequests)
        {
            this.checkpointIntervalRequests = checkpointIntervalRequests;
            return this;
        }

        public long checkpointIntervalRequests()
        {
            return checkpointIntervalRequests;
        }

        /**
         * @param link PRIMARY and BACKUP: the link to the peer replica (required for them; the caller
         *             owns and closes it, e.g. from {@code AeronTransport}).
         */
        public Context link(final Link link)
        {
            this.link = link;
            return this;
        }

        public Link link()
        {
            return link;
        }

        /** @param epoch the replication epoch (fencing), >= 1; default 1. */
        public Context epoch(final long epoch)
        {
            this.epoch = epoch;
            return this;
        }

        public long epoch()
        {
            return epoch;
        }

        /** @param retransmitNs re-send after this silence, in [100 us, 10 s]; default 20 ms ({@link #replication}). */
        public Context retransmitNs(final long retransmitNs)
        {
            replication.retransmitNs(retransmitNs);
            return this;
        }

        public long retransmitNs()
        {
            return replication.retransmitNs();
        }

        /**
         * @param replication PRIMARY and BACKUP: retransmission, heartbeats, the peer timeout that
         *                    triggers failover, solo execution and sync chunking; see
         *                    {@link ReplicationSettings}.
         */
        public Context replication(final ReplicationSettings replication)
        {
            this.replication = replication;
            return this;
        }

        public ReplicationSettings replication()
        {
            return replication;
        }

        /**
         * @param promoteOnPrimaryLoss BACKUP: promote to primary when the primary is silent for the
         *                             peer timeout (default true); false leaves promotion to an operator
         *                             who restarts this node as primary (a pair cannot tell a crash from a
         *                             partition: docs/ARCHITECTURE.md, "Failover").
         */
        public Context promoteOnPrimaryLoss(final boolean promoteOnPrimaryLoss)
        {
            this.promoteOnPrimaryLoss = promoteOnPrimaryLoss;
            return this;
        }

        public boolean promoteOnPrimaryLoss()
        {
            return promoteOnPrimaryLoss;
        }

        /**
         * @param verifyTimeoutNs PRIMARY: how long the oldest batch in flight may wait for its commit
         *                        before this primary stops, in [1 ms, 10 min]; default 10 s (a lost
         *                        backup is given up sooner, after the replication peerTimeoutNs).
         */
        public Context verifyTimeoutNs(final long verifyTimeoutNs)
        {
            this.verifyTimeoutNs = verifyTimeoutNs;
            return this;
        }

        public long verifyTimeoutNs()
        {
            return verifyTimeoutNs;
        }

        /**
         * @param scheduleDiversity BACKUP: execute each phase with a worker assignment and order other
         *                          than the primary's (default true), so a race rarely corrupts both alike.
         */
        public Context scheduleDiversity(final boolean scheduleDiversity)
        {
            this.scheduleDiversity = scheduleDiversity;
            return this;
        }

        public boolean scheduleDiversity()
        {
            return scheduleDiversity;
        }

        /**
         * @param checkpointMode CONCURRENT (default: execution goes on, modified records are copied
         * on write) or PAUSE (execution waits while the checkpoint is written).
         */
        public Context checkpointMode(final CheckpointMode checkpointMode)
        {
            this.checkpointMode = checkpointMode;
            return this;
        }

        public CheckpointMode checkpointMode()
        {
            return checkpointMode;
        }

        /**
         * @param checkpointMaxCaptureBytes CONCURRENT mode: most bytes of pre-images kept for records
         * modified while a checkpoint scans, in [1 MiB, 2^40]; beyond it that checkpoint fails (counted;
         * the next interval tries again). Default 1 GiB.
         */
        public Context checkpointMaxCaptureBytes(final long checkpointMaxCaptureBytes)
        {
            this.checkpointMaxCaptureBytes = checkpointMaxCaptureBytes;
            return this;
        }

        public long checkpointMaxCaptureBytes()
        {
            return checkpointMaxCaptureBytes;
        }

        /** @param store required: the store's bounds; the engine sets its writer count (workers + 2). */
        public Context store(final StateStore.Context store)
        {
            this.store = store;
            return this;
        }

        public StateStore.Context store()
        {
            return store;
        }

        /** @param registry required: the application's transaction types. */
        public Context registry(final TransactionRegistry registry)
        {
            this.registry = registry;
            return this;
        }

        public TransactionRegistry registry()
        {
            return registry;
        }

        /** @param workers executing threads in [1, 256]; 1 executes on the batcher thread. */
        public Context workers(final int workers)
        {
            this.workers = workers;
            return this;
        }

        public int workers()
        {
            return workers;
        }

        /** @param mixer how batches are split into phases; default {@link KeyConflictMixer}. */
        public Context mixer(final Mixer mixer)
        {
            this.mixer = mixer;
            return this;
        }

        public Mixer mixer()
        {
            return mixer;
        }

        /** @param maxBatchRequests largest batch, in [1, 65536]; default 1024. */
        public Context maxBatchRequests(final int maxBatchRequests)
        {
            this.maxBatchRequests = maxBatchRequests;
            return this;
        }

        public int maxBatchRequests()
        {
            return maxBatchRequests;
        }

        /** @param ringCapacity input ring slots, a power of two in [2, 2^24]; default 65536. */
        public Context ringCapacity(final int ringCapacity)
        {
            this.ringCapacity = ringCapacity;
            return this;
        }

        public int ringCapacity()
        {
            return ringCapacity;
        }

        /** @param maxClients client ids in [0, maxClients), maxClients in [1, 2^20]; default 1024. */
        public Context maxClients(final int maxClients)
        {
            this.maxClients = maxClients;
            return this;
        }

        public int maxClients()
        {
            return maxClients;
        }

        /**
         * The default idle strategy: spin, yield, then park from 1 us up to 100 us. Agrona's own
         * default parks up to 1 ms, which shows up as phase-barrier latency; busy-spinning
         * ({@code BusySpinIdleStrategy::new}) is lowest latency when each thread has its own core.
         */
        public static IdleStrategy defaultIdleStrategy()
        {
            return new BackoffIdleStrategy(
                64, 64, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
        }

        /** @param idleStrategy one new idle strategy per thread; default {@link #defaultIdleStrategy()}. */
        public Context idleStrategy(final Supplier<IdleStrategy> idleStrategy)
        {
            this.idleStrategy = idleStrategy;
            return this;
        }

        public Supplier<IdleStrategy> idleStrategy()
        {
            return idleStrategy;
        }

        /** @param backPressure what a submit does when the ring is full; default BLOCK. */
        public Context backPressure(final BackPressure backPressure)
        {
            this.backPressure = backPressure;
            return this;
        }

        public BackPressure backPressure()
        {
            return backPressure;
        }

        /** @param submitTimeoutNs how long a BLOCK submit waits, in [0, 60 s]; default 1 s. */
        public Context submitTimeoutNs(final long submitTimeoutNs)
        {
            this.submitTimeoutNs = submitTimeoutNs;
            return this;
        }

        public long submitTimeoutNs()
        {
            return submitTimeoutNs;
        }

        /** @param closeTimeoutNs how long close() lets accepted requests finish, in [0, 10 min]. */
        public Context closeTimeoutNs(final long closeTimeoutNs)
        {
            this.closeTimeoutNs = closeTimeoutNs;
            return this;
        }

        public long closeTimeoutNs()
        {
            return closeTimeoutNs;
        }

        /** @param pinCpus pin worker threads to CPUs (best effort); default false. */
        public Context pinCpus(final boolean pinCpus)
        {
            this.pinCpus = pinCpus;
            return this;
        }

        public boolean pinCpus()
        {
            return pinCpus;
        }

        /**
         * @param role STANDALONE (default), PRIMARY (ships each batch to the backup over {@link #link}
         *             and commits once the replicas agree) or BACKUP (executes the primary's batches;
         *             refuses submits).
         */
        public Context role(final Role role)
        {
            this.role = role;
            return this;
        }

        public Role role()
        {
            return role;
        }

        /** @param initializer loads initial state before requests are accepted; optional. */
        public Context initializer(final StoreInitializer initializer)
        {
            this.initializer = initializer;
            return this;
        }

        public StoreInitializer initializer()
        {
            return initializer;
        }

        /** @param commitListener observes committed batches; optional. */
        public Context commitListener(final CommitListener commitListener)
        {
            this.commitListener = commitListener;
            return this;
        }

        public CommitListener commitListener()
        {
            return commitListener;
        }

        /** @param countersFile where the live counters go; default {@link CountersFile#defaultPath()}. */
        public Context countersFile(final Path countersFile)
        {
            this.countersFile = countersFile;
            return this;
        }

        public Path countersFile()
        {
            return countersFile;
        }

        /**
         * Validates every setting once.
         */
        public Context conclude()
        {
            if (concluded)
            {
                return this;
            }
            require(null != store, "store", "a StateStore.Context (required)");
            require(null != registry && registry.typeCount() > 0, "registry",
                "a TransactionRegistry with at least one type (required)");
            require(workers >= 1 && workers <= MAX_WORKERS, "workers", workers, "[1, " + MAX_WORKERS + "]");
            require(maxBatchRequests >= 1 && maxBatchRequests <= MAX_BATCH_REQUESTS_LIMIT, "maxBatchRequests",
                maxBatchRequests, "[1, " + MAX_BATCH_REQUESTS_LIMIT + "]");
            require(
                ringCapacity >= 2 && ringCapacity <= RequestRing.MAX_CAPACITY && Integer.bitCount(ringCapacity) == 1,
                "ringCapacity", ringCapacity, "a power of two in [2, " + RequestRing.MAX_CAPACITY + "]");
            require(maxClients >= 1 && maxClients <= 1 << 20, "maxClients", maxClients, "[1, 2^20]");
            require(null != idleStrategy, "idleStrategy", "a supplier of idle strategies");
            require(null != backPressure, "backPressure", "BLOCK or REJECT");
            require(submitTimeoutNs >= 0 && submitTimeoutNs <= TimeUnit.SECONDS.toNanos(60), "submitTimeoutNs",
                submitTimeoutNs, "[0, 60 s]");
            require(closeTimeoutNs >= 0 && closeTimeoutNs <= TimeUnit.MINUTES.toNanos(10), "closeTimeoutNs",
                closeTimeoutNs, "[0, 10 min]");
            require(null != role, "role", "STANDALONE, PRIMARY or BACKUP");
            require(Role.STANDALONE == role || null != link, "link", "set for role " + role);
            require(epoch >= 1, "epoch", epoch, "[1, 2^63)");
            require(null != replication, "replication", "replication settings");
            replication.conclude();
            if (Role.STANDALONE != role && store.maxOpenBatches() < replication.maxInFlightBatches())
            {
                throw new IllegalArgumentException("replication setting maxInFlightBatches = " +
                    replication.maxInFlightBatches() + " needs the store's maxOpenBatches >= it (it is " +
                    store.maxOpenBatches() + "): raise StateStore.Context.maxOpenBatches or lower maxInFlightBatches");
            }
            require(verifyTimeoutNs >= TimeUnit.MILLISECONDS.toNanos(1) &&
                verifyTimeoutNs <= TimeUnit.MINUTES.toNanos(10), "verifyTimeoutNs", verifyTimeoutNs, "[1 ms, 10 min]");
            require(checkpointIntervalRequests >= 0 && checkpointIntervalRequests <= 1L << 40,
                "checkpointIntervalRequests", checkpointIntervalRequests, "[0, 2^40]");
            require(null != checkpointMode, "checkpointMode", "CONCURRENT or PAUSE");
            require(checkpointMaxCaptureBytes >= 1 << 20 && checkpointMaxCaptureBytes <= 1L << 40,
                "checkpointMaxCaptureBytes", checkpointMaxCaptureBytes, "[1 MiB, 2^40]");
            if (null != journal)
            {
                journal.conclude();
            }
            if (null == countersFile)
            {
                countersFile = CountersFile.defaultPath();
            }
            concluded = true;
            return this;
        }

        private static void require(final boolean valid, final String setting, final long value, final String range)
        {
            if (!valid)
            {
                throw new IllegalArgumentException(
                    "engine setting " + setting + " = " + value + " must be in " + range);
            }
        }

        private static void require(final boolean valid, final String setting, final String expected)
        {
            if (!valid)
            {
                throw new IllegalArgumentException("engine setting " + setting + " must be " + expected);
            }
        }
    }

    /**
     * Live counts of the engine, in the memory-mapped counters file ({@link CountersFile}) that
     * {@code bin/ev stat} reads from another process. Counters written by the batcher alone use
     * ordered (single-writer) adds; those written by submitting threads use atomic adds.
     */
    public static final class EngineCounters
    {
        final AtomicCounter submitted;
        final AtomicCounter rejected;
        final AtomicCounter rejectedRingFull;
        final AtomicCounter rejectedPayloadTooLarge;
        final AtomicCounter rejectedClosed;
        final AtomicCounter rejectedUnknownClient;
        final AtomicCounter committed;
        final AtomicCounter aborted;
        final AtomicCounter batches;
        final AtomicCounter phases;
        final AtomicCounter rollbacks;
        final AtomicCounter failedByStop;
        final AtomicCounter recoveredBatches;
        final AtomicCounter recoveredRequests;
        final AtomicCounter checkpoints;
        final AtomicCounter checkpointMaxPauseUs;
        final AtomicCounter checkpointLastPauseUs;
        final AtomicCounter checkpointLastDurationMs;
        final AtomicCounter checkpointsFailed;
        final AtomicCounter divergencesDetected;
        final AtomicCounter repairedByReexecution;
        final AtomicCounter repairedByTransfer;
        final AtomicCounter verifyNs;
        final AtomicCounter committedAlone;
        final AtomicCounter promotions;
        final AtomicCounter catchUpBatches;
        final AtomicCounter mostBatchesInFlight;
        final AtomicCounter batchesReshipped;
        final AtomicCounter linkRetransmits;
        final AtomicCounter linkBackPressured;

        EngineCounters(final CountersManager manager)
        {
            submitted = manager.newCounter("requests submitted");
            rejected = manager.newCounter("requests rejected (all reasons)");
            rejectedRingFull = manager.newCounter("requests rejected: ring full");
            rejectedPayloadTooLarge = manager.newCounter("requests rejected: payload too large");
            rejectedClosed = manager.newCounter("requests rejected: engine closed");
            rejectedUnknownClient = manager.newCounter("requests rejected: unknown client");
            committed = manager.newCounter("requests committed");
            aborted = manager.newCounter("requests committed with an abort reply");
            batches = manager.newCounter("batches committed");
            phases = manager.newCounter("phases executed");
            rollbacks = manager.newCounter("batch rollbacks");
            failedByStop = manager.newCounter("requests answered UNAVAILABLE/OUTCOME_UNKNOWN at a stop");
            recoveredBatches = manager.newCounter("batches replayed by recovery");
            recoveredRequests = manager.newCounter("requests replayed by recovery");
            checkpoints = manager.newCounter("checkpoints taken");
            checkpointMaxPauseUs = manager.newCounter("checkpoint max pause (us)");
            checkpointLastPauseUs = manager.newCounter("checkpoint last pause (us)");
            checkpointLastDurationMs = manager.newCounter("checkpoint last duration (ms)");
            checkpointsFailed = manager.newCounter("checkpoints failed");
            divergencesDetected = manager.newCounter("divergences detected (tokens differed)");
            repairedByReexecution = manager.newCounter("divergences repaired by sequential re-execution");
            repairedByTransfer = manager.newCounter("divergences repaired by record transfer");
            verifyNs = manager.newCounter("primary: ns from shipping to verified, summed");
            committedAlone = manager.newCounter("primary: batches committed without a backup");
            promotions = manager.newCounter("promotions of this backup to primary");
            catchUpBatches = manager.newCounter("journal catch-up: batches shipped (primary) / applied (backup)");
            mostBatchesInFlight = manager.newCounter("primary: most batches in flight at once");
            batchesReshipped = manager.newCounter("primary: batches rolled back with an earlier one, re-shipped");
            linkRetransmits = manager.newCounter("link: messages re-sent after retransmitNs without an answer");
            linkBackPressured =
                manager.newCounter("link: offers refused by the transport (back pressure, not connected)");
        }

        void onRejected(final int reason)
        {
            rejected.increment();
            switch (reason)
            {
                case REJECTED_RING_FULL:
                    rejectedRingFull.increment();
                    break;
                case REJECTED_PAYLOAD_TOO_LARGE:
                    rejectedPayloadTooLarge.increment();
                    break;
                case REJECTED_CLOSED:
                case REJECTED_NOT_PRIMARY:
                    rejectedClosed.increment();
                    break;
                default:
                    rejectedUnknownClient.increment();
                    break;
            }
        }

        public long submitted()
        {
            return submitted.get();
        }

        public long rejected()
        {
            return rejected.get();
        }

        /** @return requests whose batch committed (including those whose reply is an abort code). */
        public long committed()
        {
            return committed.get();
        }

        /** @return committed requests whose reply code is not OK. */
        public long aborted()
        {
            return aborted.get();
        }

        public long batches()
        {
            return batches.get();
        }

        /** @return phases summed over batches. */
        public long phases()
        {
            return phases.get();
        }

        public long rollbacks()
        {
            return rollbacks.get();
        }

        /** @return requests answered UNAVAILABLE or OUTCOME_UNKNOWN because the engine stopped. */
        public long failedByStop()
        {
            return failedByStop.get();
        }

        public long checkpoints()
        {
            return checkpoints.get();
        }

        public long checkpointMaxPauseUs()
        {
            return checkpointMaxPauseUs.get();
        }

        /** @return wall time of the last completed checkpoint (start to journaled), in ms. */
        public long checkpointLastDurationMs()
        {
            return checkpointLastDurationMs.get();
        }

        public long checkpointsFailed()
        {
            return checkpointsFailed.get();
        }

        public long divergencesDetected()
        {
            return divergencesDetected.get();
        }

        public long repairedByReexecution()
        {
            return repairedByReexecution.get();
        }

        public long repairedByTransfer()
        {
            return repairedByTransfer.get();
        }

        /** @return nanoseconds the primary spent from shipping batches to their verification, summed. */
        public long verifyNs()
        {
            return verifyNs.get();
        }

        /** @return batches this primary committed without a backup (unverified). */
        public long committedAlone()
        {
            return committedAlone.get();
        }

        /**
         * @return committed batches this primary shipped from its journal to rejoining backups, or this
         * backup received, executed and committed that way (journal catch-up).
         */
        public long catchUpBatches()
        {
            return catchUpBatches.get();
        }

        /** @return 1 once this backup promoted itself to primary. */
        public long promotions()
        {
            return promotions.get();
        }

        /** @return the most batches this primary had begun and not committed at once (pipelining). */
        public long mostBatchesInFlight()
        {
            return mostBatchesInFlight.get();
        }

        /**
         * @return executions of batches rolled back because an earlier batch in flight differed (each
         * executed again and re-shipped once that batch committed).
         */
        public long batchesReshipped()
        {
            return batchesReshipped.get();
        }

        /** @return messages this replica re-sent because no answer came within the retransmit interval. */
        public long linkRetransmits()
        {
            return linkRetransmits.get();
        }

        /**
         * @return messages the transport refused to take (back pressure, peer not connected, admin action);
         * each is sent again by the retransmit timer.
         */
        public long linkBackPressured()
        {
            return linkBackPressured.get();
        }
    }
}
