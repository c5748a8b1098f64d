/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * CPU time and heap allocation of this process over a measured interval, per request: {@link #start()} at the
 * start of the interval, {@link #stop(long)} at its end. CPU is the process's CPU time (all threads, user and
 * system: {@code com.sun.management.OperatingSystemMXBean#getProcessCpuTime}); allocation is the sum of
 * {@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes} over the threads alive at both ends (a thread
 * that ends inside the interval is not counted, one that starts inside it is counted whole). Each snapshot
 * allocates a few hundred bytes itself. Both are NaN where the JVM does not support them. One thread uses a meter.
 */
public final class ResourceMeter
{
    private static final com.sun.management.OperatingSystemMXBean OS = operatingSystem();
    private static final com.sun.management.ThreadMXBean THREADS = threads();

    private final Map<Long, Long> allocatedAtStart = new HashMap<>();
    private long cpuNsStart;

    /**
     * Takes the start snapshot.
     */
    public void start()
    {
        cpuNsStart = processCpuNs();
        allocatedAtStart.clear();
        if (null != THREADS)
        {
            final long[] ids = THREADS.getAllThreadIds();
            final long[] bytes = THREADS.getThreadAllocatedBytes(ids);
            for (int i = 0; i < ids.length; i++)
            {
                if (bytes[i] >= 0) // -1 for a thread that ended meanwhile
                {
                    allocatedAtStart.put(ids[i], bytes[i]);
                }
            }
        }
    }

    /**
     * Takes the end snapshot.
     *
     * @param requests the requests completed in the interval.
     * @return CPU and allocation per request since {@link #start()}.
     */
    public Usage stop(final long requests)
    {
        final long cpuNs = processCpuNs();
        final long allocated = allocatedSinceStart();
        final double perRequest = 1.0 / Math.max(1, requests);
        return new Usage(
            cpuNs < 0 || cpuNsStart < 0 ? Double.NaN : (cpuNs - cpuNsStart) * perRequest,
            allocated < 0 ? Double.NaN : allocated * perRequest);
    }

    /**
     * @return this process's CPU time in nanoseconds; -1 if unknown.
     */
    public static long processCpuNs()
    {
        return null == OS ? -1 : OS.getProcessCpuTime();
    }

    /**
     * @return the bytes allocated since {@link #start()} by the threads alive now: the growth of those alive at
     * the start, all of those started since (a thread that ended in between is not counted, so the sum never
     * shrinks); -1 if unknown.
     */
    private long allocatedSinceStart()
    {
        if (null == THREADS)
        {
            return -1;
        }
        final long[] ids = THREADS.getAllThreadIds();
        final long[] bytes = THREADS.getThreadAllocatedBytes(ids);
        long total = 0;
        for (int i = 0; i < ids.length; i++)
        {
            if (bytes[i] >= 0) // -1 for a thread that ended meanwhile
            {
                final Long atStart = allocatedAtStart.get(ids[i]);
                total += null == atStart ? bytes[i] : bytes[i] - atStart;
            }
        }
        return total;
    }

    private static com.sun.management.OperatingSystemMXBean operatingSystem()
    {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean ?
            (com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean() : null;
    }

    private static com.sun.management.ThreadMXBean threads()
    {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean)
        {
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
            if (threads.isThreadAllocatedMemorySupported())
            {
                threads.setThreadAllocatedMemoryEnabled(true);
                return threads;
            }
        }
        return null;
    }

    /**
     * What an interval cost per request.
     *
     * @param cpuNsPerRequest          process CPU nanoseconds per request (NaN: unknown).
     * @param allocatedBytesPerRequest heap bytes allocated per request, all threads (NaN: unknown).
     */
    public record Usage(double cpuNsPerRequest, double allocatedBytesPerRequest)
    {
        /** Not measured. */
        public static final Usage NONE = new Usage(Double.NaN, Double.NaN);

        /**
         * @return {@code "cpuNsPerRequest":..,"allocatedBytesPerRequest":..} (null for NaN), for a JSON object.
         */
        public String jsonFields()
        {
            return "\"cpuNsPerRequest\":" + number(cpuNsPerRequest) + ",\"allocatedBytesPerRequest\":" +
                number(allocatedBytesPerRequest);
        }

        /**
         * @return e.g. {@code "CPU 3.2 us/request, 0.0 B/request allocated"}.
         */
        @Override
        public String toString()
        {
            return String.format(Locale.ROOT, "CPU %.2f us/request, %.1f B/request allocated",
                cpuNsPerRequest / 1e3, allocatedBytesPerRequest);
        }

        private static String number(final double value)
        {
            return Double.isNaN(value) ? "null" : String.format(Locale.ROOT, "%.2f", value);
        }
    }
}
