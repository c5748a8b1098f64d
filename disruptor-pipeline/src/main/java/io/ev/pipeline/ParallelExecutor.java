/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import com.lmax.disruptor.Sequence;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import net.openhft.affinity.AffinityLock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * Executes a mixed batch phase by phase on N worker threads, each an Agrona {@link Agent} on its
 * own {@link AgentRunner} thread named {@code ev-worker-<i>}, with its own {@link StoreWriter}
 * and its own {@link IdleStrategy}.
 * <p>
 * <b>Phase barrier.</b> The coordinator (the thread calling {@link #execute}) does not execute
 * requests itself; for each phase it stores the batch, handler and phase number in plain fields,
 * then publishes a new ticket (a monotonic phase counter, padded {@link Sequence}) with a release
 * store. Each worker polls the ticket with an acquire load, executes its share of the phase,
 * then release-stores the ticket into its own padded "done" sequence. The coordinator waits,
 * idling with its own instance of the idle strategy, until every worker's done sequence (acquire
 * load) has reached the ticket, then publishes the next phase. Hence the coordinator's writes
 * (batch contents, mixer output) happen-before the workers read them, every write of phase k
 * (store, reply slots, reply lengths) happens-before any request of phase k + 1 starts, and all
 * writes happen-before {@link #execute} returns, so the caller may seal the store batch.
 * <p>
 * <b>Work split.</b> Round-robin within a phase: the request at position {@code q} of the phase
 * ({@code batch.member(phaseStart + q)}) runs on worker {@code q % N}, each worker in increasing
 * q. Round-robin balances phases of similar requests and small phases without a chunk-size
 * rule. With a non-zero schedule seed (schedule diversity, used by the backup) position
 * {@code q} is replaced by {@code (a * q + b) mod size}, where {@code a} (coprime with the phase
 * size) and {@code b} come from a SplitMix64 hash of (seed, batch seq, phase): a different but
 * reproducible assignment of requests to workers and order on each worker. Allocation-free.
 * <p>
 * <b>Claimed split</b> ({@link Context#claimPositions(boolean)}, off by default): instead of a fixed share, each
 * worker claims the next schedule slot of the phase from a shared counter (one padded {@link Sequence}, reset by
 * the coordinator before it publishes the phase, {@code getAndAdd(1)} per request) until the phase is used up.
 * Slot order is still the (possibly permuted) schedule above, but which worker runs a slot depends on timing, so
 * the assignment is no longer reproducible. A worker that runs alone (the others parked or descheduled) executes
 * the phase in schedule order, which for seed 0 is batch order: with a permissive mixer, a race can then only
 * reorder requests that truly ran at the same time. One contended atomic add per request: measure before using it
 * on many cores ({@code PhaseExecutionBenchmark -p claim=false,true} over the {@code workers} axis).
 * <p>
 * <b>Failures.</b> A handler exception (or a reply longer than the batch allows) stops that
 * worker's share of the phase; the other workers finish theirs (with the claimed split: claim the
 * rest of the phase), the barrier completes, no later
 * phase starts, and {@link #execute} throws an {@link IllegalStateException} naming the lowest
 * failed request index and the batch seq, with the handler's exception as cause. The executor
 * stays usable (the caller rolls the store batch back). A worker thread that stops (it should
 * not) fails every later {@link #execute} rather than hanging it.
 * <p>
 * <b>Pinning.</b> With {@link Context#pinCpus(boolean)} worker i asks OpenHFT
 * {@link AffinityLock#acquireLock(int)} for CPU i when it starts. Best effort: the library binds
 * CPU i if it is free and not reserved, otherwise any free CPU it may hand out (by default it
 * reserves CPU 0 for the OS, so worker 0 usually lands elsewhere), otherwise none; the worker
 * then runs unpinned. {@link #pinnedCpu(int)} tells which CPU each worker got. The lock is
 * released when the worker stops.
 */
public final class ParallelExecutor implements PhaseExecutor
{
    /** Most worker threads. */
    public static final int MAX_WORKERS = 256;
    /** Default of {@link Context#closeTimeoutMs(long)}. */
    public static final long CLOSE_TIMEOUT_MS_DEFAULT = 5_000;
    /** Largest {@link Context#closeTimeoutMs(long)}. */
    public static final long MAX_CLOSE_TIMEOUT_MS = 60_000;
    /** {@link #pinnedCpu(int)} of a worker not pinned. */
    public static final int NOT_PINNED = -1;
    /** Role name prefix of the worker threads. */
    public static final String WORKER_NAME_PREFIX = "ev-worker-";

    static final int NO_FAILURE = -1;

    private final Worker[] workers;
    private final AgentRunner[] runners;
    private final Thread[] threads;
    private final IdleStrategy coordinatorIdle;
    private final long scheduleSeed;
    private final boolean claimPositions;
    private final long closeTimeoutMs;
    /** Next schedule slot of the current phase to claim ({@link Context#claimPositions(boolean)}). */
    private final Sequence claimed = new Sequence(0);
    /** Ticket of the newest published phase; workers acquire-load it. */
    private final Sequence published = new Sequence(0);
    private final AtomicReference<Throwable> agentError = new AtomicReference<>();
    private long ticket;
    private volatile boolean closed;
    private volatile boolean running = true;

    // written by the coordinator before the release store of `published`, read by workers after it
    private Batch batch;
    private RequestHandler handler;
    private int phase;

    /**
     * Bounds and options of a parallel executor, validated once by {@link #conclude()}.
     */
    public static final class Context
    {
        /** Default number of workers. */
        public static final int WORKERS_DEFAULT = 1;

        private int workers = WORKERS_DEFAULT;
        private Supplier<IdleStrategy> idleStrategy = BackoffIdleStrategy::new;
        private boolean pinCpus;
        private long scheduleSeed;
        private boolean claimPositions;
        private long closeTimeoutMs = CLOSE_TIMEOUT_MS_DEFAULT;

        /**
         * @param workers worker threads, in [1, {@value ParallelExecutor#MAX_WORKERS}]; default 1. More
         *                than the host's cores works but wastes barrier time.
         */
        public Context workers(final int workers)
        {
            this.workers = workers;
            return this;
        }

        public int workers()
        {
            return workers;
        }

        /**
         * @param idleStrategy makes one idle strategy per thread (each worker and the coordinator),
         *                     e.g. {@code BusySpinIdleStrategy::new} for latency on dedicated cores,
         *                     {@code BackoffIdleStrategy::new} (default) or a sleeping strategy on
         *                     shared machines. It must return a new instance per call unless the
         *                     strategy is stateless.
         */
        public Context idleStrategy(final Supplier<IdleStrategy> idleStrategy)
        {
            this.idleStrategy = idleStrategy;
            return this;
        }

        public Supplier<IdleStrategy> idleStrategy()
        {
            return idleStrategy;
        }

        /**
         * @param pinCpus try to pin worker i to CPU i (best effort); default false.
         */
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
         * @param scheduleSeed 0 (default) for the identity schedule, anything else for a
         *                     deterministic permuted schedule per (seed, batch seq, phase).
         */
        public Context scheduleSeed(final long scheduleSeed)
        {
            this.scheduleSeed = scheduleSeed;
            return this;
        }

        public long scheduleSeed()
        {
            return scheduleSeed;
        }

        /**
         * @param claimPositions true: workers claim a phase's schedule slots one at a time from a shared counter
         *                       (the "claimed split" of the class comment); false (default): fixed round-robin
         *                       shares.
         */
        public Context claimPositions(final boolean claimPositions)
        {
            this.claimPositions = claimPositions;
            return this;
        }

        public boolean claimPositions()
        {
            return claimPositions;
        }

        /**
         * @param closeTimeoutMs how long {@link ParallelExecutor#close()} waits in total for the workers
         *                       to stop, in [1, {@value ParallelExecutor#MAX_CLOSE_TIMEOUT_MS}]; default
         *                       {@value ParallelExecutor#CLOSE_TIMEOUT_MS_DEFAULT}.
         */
        public Context closeTimeoutMs(final long closeTimeoutMs)
        {
            this.closeTimeoutMs = closeTimeoutMs;
            return this;
        }

        public long closeTimeoutMs()
        {
            return closeTimeoutMs;
        }

        /**
         * Validates every setting; each error names the setting and its allowed range.
         *
         * @return this.
         */
        public Context conclude()
        {
            if (workers < 1 || workers > MAX_WORKERS)
            {
                throw new IllegalArgumentException("workers = " + workers + " must be in [1, " + MAX_WORKERS + "]");
            }
            if (null == idleStrategy)
            {
                throw new IllegalArgumentException("idleStrategy must be set (a supplier of one strategy per thread)");
            }
            if (closeTimeoutMs < 1 || closeTimeoutMs > MAX_CLOSE_TIMEOUT_MS)
            {
                throw new IllegalArgumentException(
                    "closeTimeoutMs = " + closeTimeoutMs + " must be in [1, " + MAX_CLOSE_TIMEOUT_MS + "]");
            }
            return this;
        }
    }

    /**
     * @param store        the store; {@code workers} writers are taken from it for good.
     * @param workers      worker threads, in [1, {@value #MAX_WORKERS}].
     * @param idleStrategy makes one idle strategy per thread.
     */
    public ParallelExecutor(final StateStore store, final int workers, final Supplier<IdleStrategy> idleStrategy)
    {
        this(store, new Context().workers(workers).idleStrategy(idleStrategy));
    }

    /**
     * Creates the writers, then starts the worker threads.
     *
     * @param store the store; {@code ctx.workers()} writers are taken from it for good.
     * @param ctx   options, validated here.
     * @throws IllegalArgumentException for a bad option.
     * @throws io.ev.store.StateStoreException if the store has too few writers left.
     */
    public ParallelExecutor(final StateStore store, final Context ctx)
    {
        this(store, ctx, true);
    }

    /**
     * As {@link #ParallelExecutor(StateStore, Context)}; with {@code startThreads} false no worker thread
     * starts and the caller steps the workers itself: {@link #publishPhase}, then {@link #worker(int)}'s
     * {@link Worker#doWork()} on a thread per worker, then {@link #workerDone}: {@link SteppedExecutor}, with
     * which the jcstress tests of the phase hand-off drive the real coordinator and worker code.
     */
    ParallelExecutor(final StateStore store, final Context ctx, final boolean startThreads)
    {
        ctx.conclude();
        final int count = ctx.workers();
        this.scheduleSeed = ctx.scheduleSeed();
        this.claimPositions = ctx.claimPositions() && count > 1;
        this.closeTimeoutMs = ctx.closeTimeoutMs();
        this.workers = new Worker[count];
        this.runners = new AgentRunner[count];
        this.threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            workers[i] = new Worker(this, i, count, store.newWriter(), ctx.pinCpus());
        }
        this.coordinatorIdle = newIdleStrategy(ctx);
        for (int i = 0; i < count; i++)
        {
            runners[i] = new AgentRunner(newIdleStrategy(ctx), this::onAgentError, null, workers[i]);
        }
        final ThreadFactory daemonThreads = (runnable) ->
        {
            final Thread thread = new Thread(runnable);
            thread.setDaemon(true);
            return thread;
        };
        try
        {
            for (int i = 0; i < count && startThreads; i++)
            {
                threads[i] = AgentRunner.startOnThread(runners[i], daemonThreads);
            }
        }
        catch (final RuntimeException | Error ex)
        {
            close();
            throw ex;
        }
    }

    private static IdleStrategy newIdleStrategy(final Context ctx)
    {
        final IdleStrategy idle = ctx.idleStrategy().get();
        if (null == idle)
        {
            throw new IllegalArgumentException("idleStrategy supplier returned null");
        }
        return idle;
    }

    private void onAgentError(final Throwable error)
    {
        if (!(error instanceof AgentTerminationException))
        {
            agentError.compareAndSet(null, error);
        }
    }

    /**
     * Executes {@code batch} phase by phase; see the class comment for the barrier and ordering.
     *
     * @param batch   filled and grouped into phases ({@link Batch#groupPhases()}, done by a mixer).
     * @param handler executes each request.
     * @throws IllegalArgumentException if the batch is not grouped into phases.
     * @throws IllegalStateException    if a request failed, a worker stopped, or the executor is closed.
     */
    public void execute(final Batch batch, final RequestHandler handler)
    {
        if (closed)
        {
            throw new IllegalStateException("parallel executor is closed");
        }
        final int count = batch.count();
        final int phases = batch.phaseCount();
        if (0 == phases ? 0 != count : batch.phaseEnd(phases - 1) != count)
        {
            throw new IllegalArgumentException("batch " + batch.seq() + " of " + count + " requests is not grouped " +
                "into phases: call Batch.groupPhases() (a Mixer does) after the last add");
        }
        try
        {
            for (int phase = 0; phase < phases; phase++)
            {
                awaitWorkers(publishPhase(batch, handler, phase));
                checkFailures(batch, phase);
            }
        }
        finally
        {
            this.batch = null;
            this.handler = null;
        }
    }

    /**
     * Coordinator: hands phase {@code phase} of {@code batch} to the workers. The plain stores of the
     * batch, handler and phase happen-before the release store of the new ticket that workers acquire.
     *
     * @return the phase's ticket.
     */
    long publishPhase(final Batch batch, final RequestHandler handler, final int phase)
    {
        this.batch = batch;
        this.handler = handler;
        this.phase = phase;
        if (claimPositions)
        {
            claimed.set(0); // every worker finished the previous phase: nobody claims until the ticket below
        }
        final long ticket = ++this.ticket;
        published.set(ticket);
        return ticket;
    }

    /**
     * Coordinator: whether worker {@code worker} has finished phase {@code ticket} (acquire load of its
     * done sequence, so every write of its share happens-before what the caller reads next).
     */
    boolean workerDone(final int worker, final long ticket)
    {
        return workers[worker].done.get() >= ticket;
    }

    /**
     * @return worker {@code worker}, whose {@link Worker#doWork()} a {@link SteppedExecutor} calls.
     */
    Worker worker(final int worker)
    {
        return workers[worker];
    }

    /**
     * Waits until every live worker has finished phase {@code ticket}, then fails if one has stopped.
     */
    private void awaitWorkers(final long ticket)
    {
        final IdleStrategy idle = coordinatorIdle;
        idle.reset();
        int stopped = NO_FAILURE;
        for (int i = 0; i < workers.length; i++)
        {
            while (!workerDone(i, ticket))
            {
                if (runners[i].isClosed())
                {
                    stopped = i;
                    break;
                }
                idle.idle();
            }
        }
        if (NO_FAILURE != stopped)
        {
            throw new IllegalStateException(
                WORKER_NAME_PREFIX + stopped + " has stopped; the executor cannot run batches", agentError.get());
        }
    }

    void checkFailures(final Batch batch, final int phase)
    {
        Worker failed = null;
        for (final Worker worker : workers)
        {
            if (NO_FAILURE != worker.failedIndex && (null == failed || worker.failedIndex < failed.failedIndex))
            {
                failed = worker;
            }
        }
        if (null != failed)
        {
            throw new IllegalStateException("request " + failed.failedIndex + " of batch " + batch.seq() +
                " (phase " + phase + ") failed on " + failed.roleName, failed.failure);
        }
    }

    /**
     * @return the number of worker threads.
     */
    public int workers()
    {
        return workers.length;
    }

    public long scheduleSeed()
    {
        return scheduleSeed;
    }

    /**
     * @return whether workers claim schedule slots from a shared counter (with more than one worker).
     */
    public boolean claimPositions()
    {
        return claimPositions;
    }

    /**
     * @param worker a worker index.
     * @return the CPU the worker is pinned to, or {@link #NOT_PINNED} (not asked, not yet started,
     * or pinning failed).
     */
    public int pinnedCpu(final int worker)
    {
        return workers[worker].pinnedCpu;
    }

    /**
     * Stops the workers and joins them, waiting at most {@link Context#closeTimeoutMs(long)} in
     * total; a worker still running after that (a handler that never returns) is interrupted and
     * named in the exception. Idempotent. Normally called after the last {@link #execute}; it may
     * also be called from another thread to shut down while {@link #execute} waits on a stuck
     * handler: that call then fails with an {@link IllegalStateException} once the interrupted
     * handler returns or throws.
     *
     * @throws IllegalStateException if a worker did not stop in time.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        running = false;
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(closeTimeoutMs);
        boolean interrupted = false;
        StringBuilder stuck = null;
        for (final Thread thread : threads)
        {
            if (null == thread)
            {
                continue;
            }
            long remainingNs = deadlineNs - System.nanoTime();
            while (!interrupted && remainingNs > 0 && thread.isAlive())
            {
                try
                {
                    TimeUnit.NANOSECONDS.timedJoin(thread, remainingNs);
                }
                catch (final InterruptedException ex)
                {
                    interrupted = true;
                }
                remainingNs = deadlineNs - System.nanoTime();
            }
            if (thread.isAlive())
            {
                thread.interrupt();
                stuck = (null == stuck ? new StringBuilder() : stuck.append(", ")).append(thread.getName());
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
        if (null != stuck)
        {
            throw new IllegalStateException(
                "workers did not stop within " + closeTimeoutMs + " ms and were interrupted: " + stuck);
        }
    }

    /**
     * @return the SplitMix64 hash of (seed, seq, phase) that picks a phase's schedule.
     */
    static long scheduleHash(final long seed, final long seq, final int phase)
    {
        long hash = seed ^ (seq * 0x9E37_79B9_7F4A_7C15L) ^ (phase * 0xC2B2_AE3D_27D4_EB4FL);
        hash = (hash ^ (hash >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        hash = (hash ^ (hash >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return hash ^ (hash >>> 31);
    }

    /**
     * @return a multiplier in [1, size) coprime with {@code size} (1 for seed 0 or size <= 2).
     */
    static int scheduleMultiplier(final long seed, final long hash, final int size)
    {
        if (0 == seed || size <= 2)
        {
            return 1;
        }
        int multiplier = 1 + (int)Long.remainderUnsigned(hash >>> 32, size - 1);
        while (gcd(multiplier, size) != 1)
        {
            multiplier = multiplier == size - 1 ? 1 : multiplier + 1;
        }
        return multiplier;
    }

    /**
     * @return an offset in [0, size) (0 for seed 0).
     */
    static int scheduleOffset(final long seed, final long hash, final int size)
    {
        return 0 == seed ? 0 : (int)Long.remainderUnsigned(hash, size);
    }

    /**
     * @return the phase position that schedule slot {@code k} executes: a permutation of [0, size).
     */
    static int scheduledPosition(final int k, final int multiplier, final int offset, final int size)
    {
        return (int)(((long)multiplier * k + offset) % size);
    }

    private static int gcd(final int a, final int b)
    {
        int x = a;
        int y = b;
        while (0 != y)
        {
            final int remainder = x % y;
            x = y;
            y = remainder;
        }
        return x;
    }

    /**
     * One worker: waits for a new phase ticket, executes its share, publishes its done ticket.
     */
    static final class Worker implements Agent
    {
        /** This worker's finished ticket, release-stored after its share; padded against false sharing. */
        final Sequence done = new Sequence(0);
        final String roleName;
        // failure of the current phase: plain, written before the release of `done`
        int failedIndex = NO_FAILURE;
        Throwable failure;
        volatile int pinnedCpu = NOT_PINNED;

        private final ParallelExecutor executor;
        private final int index;
        private final int workerCount;
        private final StoreWriter writer;
        private final boolean pin;
        private final Request request = new Request();
        private final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
        private long doneTicket;
        private AffinityLock affinityLock;

        Worker(
            final ParallelExecutor executor, final int index, final int workerCount, final StoreWriter writer,
            final boolean pin)
        {
            this.executor = executor;
            this.index = index;
            this.workerCount = workerCount;
            this.writer = writer;
            this.pin = pin;
            this.roleName = WORKER_NAME_PREFIX + index;
        }

        public void onStart()
        {
            if (pin)
            {
                try
                {
                    final AffinityLock lock = AffinityLock.acquireLock(index);
                    if (lock.isBound())
                    {
                        affinityLock = lock;
                        pinnedCpu = lock.cpuId();
                    }
                    else
                    {
                        lock.release();
                    }
                }
                catch (final RuntimeException | LinkageError ex)
                {
                    pinnedCpu = NOT_PINNED;
                }
            }
        }

        public int doWork()
        {
            final long ticket = executor.published.get();
            if (ticket == doneTicket)
            {
                if (!executor.running)
                {
                    throw new AgentTerminationException("executor closed");
                }
                return 0;
            }
            final int executed = executeShare(executor.batch, executor.handler, executor.phase);
            // a handler must not leave the interrupt flag set: the runner would stop this worker
            Thread.interrupted();
            doneTicket = ticket;
            done.set(ticket);
            return executed + 1;
        }

        private int executeShare(final Batch batch, final RequestHandler handler, final int phase)
        {
            failedIndex = NO_FAILURE;
            failure = null;
            final int start = batch.phaseStart(phase);
            final int size = batch.phaseEnd(phase) - start;
            final boolean claim = executor.claimPositions;
            if (!claim && index >= size)
            {
                return 0;
            }
            final long seq = batch.seq();
            final long seed = executor.scheduleSeed;
            final long hash = 0 == seed ? 0 : scheduleHash(seed, seq, phase);
            final int multiplier = scheduleMultiplier(seed, hash, size);
            final int offset = scheduleOffset(seed, hash, size);
            final Request request = this.request;
            final Sequence claimed = executor.claimed;
            int executed = 0;
            for (int k = claim ? (int)claimed.getAndAdd(1) : index; k < size;
                k = claim ? (int)claimed.getAndAdd(1) : k + workerCount)
            {
                final int requestIndex = batch.member(start + scheduledPosition(k, multiplier, offset, size));
                batch.wrap(request, requestIndex);
                batch.wrapReply(reply, requestIndex);
                try
                {
                    final int length = handler.execute(request, seq, writer, reply, 0);
                    batch.replyLength(requestIndex, length);
                }
                catch (final Throwable ex)
                {
                    failedIndex = requestIndex;
                    failure = ex;
                    break;
                }
                executed++;
            }
            return executed;
        }

        public void onClose()
        {
            final AffinityLock lock = affinityLock;
            if (null != lock)
            {
                affinityLock = null;
                pinnedCpu = NOT_PINNED;
                lock.release();
            }
        }

        public String roleName()
        {
            return roleName;
        }
    }
}
