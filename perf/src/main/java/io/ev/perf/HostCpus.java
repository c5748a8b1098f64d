/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.Locale;

/**
 * How a benchmark's worker count relates to the CPUs this JVM may run on, in one place for the benchmarks'
 * trial setups and for {@link BenchmarkMain}'s host file. A {@code workers} value above
 * {@link Runtime#availableProcessors()} (which honours {@code taskset} and cgroup limits) still runs: the
 * workers then time-share the CPUs, the result is marked <b>oversubscribed</b> (a line in the fork's output,
 * and {@code "oversubscribed": true} in the host file next to the JSON results), and it is not a point of a
 * scaling curve. The rule counts the workers only: the engine's client and batcher threads need two more
 * CPUs (so {@code EngineBenchmark} scales cleanly up to {@code cores - 2} workers), and the coordinator of
 * {@code PhaseExecutionBenchmark} one more.
 */
final class HostCpus
{
    /** Prefix of the lines the benchmarks print, so that they are easy to find in JMH's output. */
    static final String LINE_PREFIX = "# ev-perf: ";

    private HostCpus()
    {
    }

    /**
     * @return the CPUs this JVM may run on.
     */
    static int available()
    {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * @param workers worker threads of a benchmark.
     * @param cpus    CPUs available.
     * @return whether the workers alone are more than the CPUs.
     */
    static boolean oversubscribed(final int workers, final int cpus)
    {
        return workers > cpus;
    }

    /**
     * @param benchmark the benchmark's name.
     * @param workers   its worker threads.
     * @param pin       whether CPU pinning of the workers was asked for.
     * @param cpus      CPUs available.
     * @return the line a benchmark prints in its trial setup.
     */
    static String describe(final String benchmark, final int workers, final boolean pin, final int cpus)
    {
        final String pinning;
        if (!pin)
        {
            pinning = "";
        }
        else if (workers > 1)
        {
            pinning = ", pinning asked (best effort, see ParallelExecutor)";
        }
        else
        {
            pinning = ", pin ignored (one worker executes on the calling thread)";
        }
        return String.format(Locale.ROOT, "%s%s workers=%d on %d available processors%s%s", LINE_PREFIX, benchmark,
            workers, cpus, pinning, oversubscribed(workers, cpus) ?
            ": OVERSUBSCRIBED (the workers time-share the CPUs; not a point of a scaling curve)" : "");
    }

    /**
     * Prints {@link #describe} for this JVM on stdout (JMH shows a fork's stdout in its log).
     */
    static void announce(final String benchmark, final int workers, final boolean pin)
    {
        System.out.println(describe(benchmark, workers, pin, available()));
    }
}
