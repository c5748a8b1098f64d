/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Fault injection at the named steps of the commit protocol ({@link CrashPoint}), for crash tests.
 * Armed by system properties read once, when this class loads:
 * <ul>
 *   <li>{@code -Dev.crash.point=NAME -Dev.crash.hit=N} (N default 1): the N-th time this process
 *   reaches point NAME it prints one line to stderr and halts ({@link Runtime#halt}, no shutdown
 *   hooks, nothing flushed) with exit status {@link CrashPoint#exitStatus()};</li>
 *   <li>{@code -Dev.fault.mismatch.every=M}: a backup reports a wrong root in its token for the
 *   parallel execution (attempt 0) of every batch whose seq is a multiple of M, so that the primary
 *   sees a divergence and both replicas roll back and re-execute it (its state is not changed);</li>
 *   <li>{@code -Dev.crash.simulate=true}: hooks call the {@link Handler} a test installs (an
 *   in-process simulation crashes a replica by throwing from it).</li>
 * </ul>
 * Unarmed, {@link #ENABLED} is a {@code static final} false: each hook is a call to a tiny static
 * method whose body the JIT removes, so the hooks cost nothing in production.
 */
public final class CrashPoints
{
    /** Exit status of a halt at the point of ordinal 0; the others follow (below 128, the signals'). */
    public static final int EXIT_STATUS_BASE = 90;
    /** The point named by {@code ev.crash.point}, or null. */
    private static final CrashPoint ARMED = parse(System.getProperty("ev.crash.point"));
    private static final long HIT = Long.getLong("ev.crash.hit", 1);
    private static final long MISMATCH_EVERY = Long.getLong("ev.fault.mismatch.every", 0);
    /** Whether any hook does anything in this process. */
    public static final boolean ENABLED =
        null != ARMED || MISMATCH_EVERY > 0 || Boolean.getBoolean("ev.crash.simulate");
    private static final AtomicLong HITS = new AtomicLong();
    private static volatile Handler handler;

    private CrashPoints()
    {
    }

    /**
     * What a simulation does at the crash points (installed with {@link #handler(Handler)}; only
     * called when the process runs with {@code -Dev.crash.simulate=true}).
     */
    public interface Handler
    {
        /**
         * A hook reached {@code point}: return to go on, or throw to crash the replica that reached it.
         */
        void onHit(CrashPoint point);

        /**
         * @return the root a backup reports in its token for batch {@code seq} (attempt {@code attempt}),
         * whose true root is {@code root}: anything else makes the primary see a divergence.
         */
        default long tokenRoot(final long seq, final int attempt, final long root)
        {
            return root;
        }
    }

    /**
     * The hook: called by the code at each step (a null point, for a role without this step, does nothing).
     */
    public static void hit(final CrashPoint point)
    {
        if (ENABLED && null != point)
        {
            onHit(point);
        }
    }

    /**
     * @return the root a backup reports in its token (see {@code ev.fault.mismatch.every}).
     */
    public static long tokenRoot(final long seq, final int attempt, final long root)
    {
        return ENABLED ? injectMismatch(seq, attempt, root) : root;
    }

    /**
     * Installs (or, with null, removes) the simulation's handler; it replaces the armed halt.
     *
     * @throws IllegalStateException if the process does not run with {@code -Dev.crash.simulate=true}.
     */
    public static void handler(final Handler newHandler)
    {
        if (!ENABLED && null != newHandler)
        {
            throw new IllegalStateException("crash points are disabled in this process: run it with " +
                "-Dev.crash.simulate=true to install a handler");
        }
        handler = newHandler;
    }

    /**
     * @return the point named {@code name}, or null for null.
     * @throws IllegalArgumentException naming the known points if there is none of that name.
     */
    public static CrashPoint parse(final String name)
    {
        if (null == name)
        {
            return null;
        }
        for (final CrashPoint point : CrashPoint.values())
        {
            if (point.name().equals(name))
            {
                return point;
            }
        }
        throw new IllegalArgumentException("ev.crash.point " + name + " is not a crash point; known: " +
            java.util.Arrays.toString(CrashPoint.values()));
    }

    private static void onHit(final CrashPoint point)
    {
        final Handler installed = handler;
        if (null != installed)
        {
            installed.onHit(point);
        }
        else if (point == ARMED && HITS.incrementAndGet() == HIT)
        {
            System.err.println("ev: crash point " + point + " reached " + HIT + " times: halting with status " +
                point.exitStatus());
            Runtime.getRuntime().halt(point.exitStatus());
        }
    }

    private static long injectMismatch(final long seq, final int attempt, final long root)
    {
        final Handler installed = handler;
        if (null != installed)
        {
            return installed.tokenRoot(seq, attempt, root);
        }
        return MISMATCH_EVERY > 0 && 0 == attempt && 0 == seq % MISMATCH_EVERY ? ~root : root;
    }
}
