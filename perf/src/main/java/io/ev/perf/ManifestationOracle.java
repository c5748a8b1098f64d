/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

import io.ev.journal.BatchDecoder;
import io.ev.replication.ReplicaExecution;

/**
 * The per-batch manifestation oracle of the concurrency-bug experiment ({@link DetectionExperiment}): a
 * decorator of one replica's {@link ReplicaExecution} that, on every <b>parallel</b> execution of a batch,
 * first executes the batch <b>sequentially in batch order</b> from the same pre-state, records that result
 * (state root, reply digest), rolls it back, and only then executes it in parallel as asked. The parallel
 * result is what the replica keeps, reports to the protocol and commits; the batch "manifested" on this
 * replica when its parallel (root, reply digest) differs from the sequential one.
 * Sequential executions asked by the protocol (re-execution after a detected divergence) and every other
 * call pass straight through.
 * <pre>
 *   execute(seq, batch, parallel):  probe.before(seq)
 *                                   delegate.execute(seq, batch, sequential)  -> record root, reply digest
 *                                   probe.after(seq, true)
 *                                   delegate.rollback(seq); batch.rewind()
 *                                   delegate.execute(seq, batch, parallel)    -> record, compare
 *                                   probe.after(seq, false)
 * </pre>
 * The optional {@link Probe} looks at the replica's state around the two runs (the experiment checks
 * that each run conserved money, which tells a lost update from a mere reordering).
 * The sequential pre-run costs time and warms caches before the parallel run; the experiment counts
 * outcomes, not time. Not thread safe: called on the protocol's thread, like the replica.
 * <p>
 * The decorated replica is a {@link Proxy} ({@link #execution()}) that intercepts
 * {@link ReplicaExecution#execute} and forwards every other method of the interface unchanged, so the
 * oracle keeps working while the SPI grows (failover and rejoin add methods to it) without listing them.
 */
final class ManifestationOracle implements InvocationHandler
{
    private static final Method EXECUTE = executeMethod();

    private final ReplicaExecution delegate;
    private final Probe probe;
    private final ReplicaExecution execution;

    private long seq = -1;
    private boolean manifested;
    private long sequentialRoot;
    private long sequentialReplyDigest;
    private long parallelRoot;
    private long parallelReplyDigest;

    private long parallelExecutions;
    private long protocolSequentialExecutions;
    private long manifestations;
    private long stateManifestations;

    /**
     * @param delegate the replica's execution.
     * @param probe    called around the two runs of each batch, or null.
     */
    ManifestationOracle(final ReplicaExecution delegate, final Probe probe)
    {
        this.delegate = delegate;
        this.probe = probe;
        this.execution = (ReplicaExecution)Proxy.newProxyInstance(
            ReplicaExecution.class.getClassLoader(), new Class<?>[] {ReplicaExecution.class}, this);
    }

    private static Method executeMethod()
    {
        try
        {
            return ReplicaExecution.class.getMethod("execute", long.class, BatchDecoder.class, boolean.class);
        }
        catch (final NoSuchMethodException ex)
        {
            throw new IllegalStateException("ReplicaExecution.execute(long, BatchDecoder, boolean) is gone", ex);
        }
    }

    /**
     * @return the decorated replica, to hand to the protocol.
     */
    ReplicaExecution execution()
    {
        return execution;
    }

    public Object invoke(final Object proxy, final Method method, final Object[] args) throws Throwable
    {
        if (EXECUTE.equals(method))
        {
            execute((Long)args[0], (BatchDecoder)args[1], (Boolean)args[2]);
            return null;
        }
        if (Object.class == method.getDeclaringClass())
        {
            switch (method.getName())
            {
                case "equals":
                    return proxy == args[0];
                case "hashCode":
                    return System.identityHashCode(proxy);
                default:
                    return "ManifestationOracle(" + delegate + ")";
            }
        }
        try
        {
            return method.invoke(delegate, args);
        }
        catch (final InvocationTargetException ex)
        {
            throw ex.getCause();
        }
    }

    /**
     * What the decorated {@link ReplicaExecution#execute} does; see the class comment.
     *
     * @param seq        the batch.
     * @param batch      its entry, positioned at the first request.
     * @param sequential true: the protocol's sequential re-execution, passed through.
     */
    void execute(final long seq, final BatchDecoder batch, final boolean sequential)
    {
        if (sequential)
        {
            protocolSequentialExecutions++;
            delegate.execute(seq, batch, true);
            return;
        }
        if (null != probe)
        {
            probe.before(seq);
        }
        delegate.execute(seq, batch, true);
        sequentialRoot = delegate.root();
        sequentialReplyDigest = delegate.replyDigest();
        if (null != probe)
        {
            probe.after(seq, true);
        }
        delegate.rollback(seq);
        batch.rewind();
        delegate.execute(seq, batch, false);
        parallelRoot = delegate.root();
        parallelReplyDigest = delegate.replyDigest();
        if (null != probe)
        {
            probe.after(seq, false);
        }
        this.seq = seq;
        parallelExecutions++;
        manifested = parallelRoot != sequentialRoot || parallelReplyDigest != sequentialReplyDigest;
        if (manifested)
        {
            manifestations++;
        }
        if (parallelRoot != sequentialRoot)
        {
            stateManifestations++;
        }
    }

    /**
     * @return the batch of the last parallel execution, -1 before the first.
     */
    long seq()
    {
        return seq;
    }

    /**
     * @return whether the last parallel execution's (root, reply digest) differed from sequential execution.
     */
    boolean manifested()
    {
        return manifested;
    }

    long sequentialRoot()
    {
        return sequentialRoot;
    }

    long sequentialReplyDigest()
    {
        return sequentialReplyDigest;
    }

    long parallelRoot()
    {
        return parallelRoot;
    }

    long parallelReplyDigest()
    {
        return parallelReplyDigest;
    }

    /**
     * @return parallel executions so far (one per batch this replica received).
     */
    long parallelExecutions()
    {
        return parallelExecutions;
    }

    /**
     * @return sequential executions the protocol asked for (re-executions), not counting the oracle's own.
     */
    long protocolSequentialExecutions()
    {
        return protocolSequentialExecutions;
    }

    /**
     * @return parallel executions whose root or reply digest differed from sequential execution.
     */
    long manifestations()
    {
        return manifestations;
    }

    /**
     * @return parallel executions whose state root differed (the rest of {@link #manifestations()} differed
     * only in replies).
     */
    long stateManifestations()
    {
        return stateManifestations;
    }

    /**
     * Looks at a replica's state around the oracle's two runs of a batch.
     */
    interface Probe
    {
        /**
         * Called at the batch's pre-state, before the sequential run.
         *
         * @param seq the batch.
         */
        void before(long seq);

        /**
         * Called right after a run of the batch, sealed and still open.
         *
         * @param seq        the batch.
         * @param sequential true after the sequential run, false after the parallel one.
         */
        void after(long seq, boolean sequential);
    }
}
