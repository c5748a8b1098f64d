/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.HdrHistogram.Histogram;

/**
 * Baseline 1 of {@code bin/ev report}: the same SmallBank load as {@code bin/ev load}, on {@link RawSequential}
 * (one thread executing straight on the store, batches of {@code --batch}), with the same options and the same
 * open-loop method. {@code --rate max}: the closed-loop maximum, in steps of {@link LoadGenerator#CLOSED_LOOP_STEP}
 * requests. A fixed {@code --rate R}: request i is scheduled at {@code t0 + i / R}; the one thread executes, as one
 * batch, every request whose time has come (up to {@code --batch}), and each request's latency is the batch's
 * commit time minus its scheduled time (coordinated-omission corrected: a request that waited behind a long batch
 * is charged for it). There is no client/server hand-off, no second thread and no reply delivery: the lower
 * bound of a single-threaded state machine. Status line every second, like the others.
 */
final class RawLoad
{
    private RawLoad()
    {
    }

    /**
     * @param options  {@code bin/ev load} options: rate (max or fixed), seconds, warm-up, accounts, profile, batch.
     * @param progress where the status lines go.
     * @return what the run measured.
     */
    static Measurement run(final LoadGenerator.Options options, final PrintStream progress)
    {
        if (LoadOptions.RATE_PERCENT == options.mode)
        {
            throw new IllegalArgumentException("the raw baseline takes --rate max or a fixed rate, not " +
                options.rateText);
        }
        try (RawSequential raw = new RawSequential(options.accounts, options.profile, options.maxBatchRequests))
        {
            return LoadOptions.RATE_MAX == options.mode ?
                closedLoop(raw, options, progress) : openLoop(raw, options, progress);
        }
    }

    private static Measurement closedLoop(
        final RawSequential raw, final LoadGenerator.Options options, final PrintStream progress)
    {
        final long warmupEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.warmupSeconds);
        while (System.nanoTime() - warmupEndNs < 0)
        {
            raw.execute(LoadGenerator.CLOSED_LOOP_STEP);
        }
        final ResourceMeter meter = new ResourceMeter();
        meter.start();
        final long startNs = System.nanoTime();
        final long endNs = startNs + TimeUnit.SECONDS.toNanos(options.seconds);
        long executed = 0;
        long lastExecuted = 0;
        long lastStatusNs = startNs;
        long nowNs = startNs;
        while (nowNs - endNs < 0)
        {
            raw.execute(LoadGenerator.CLOSED_LOOP_STEP);
            executed += LoadGenerator.CLOSED_LOOP_STEP;
            nowNs = System.nanoTime();
            if (nowNs - lastStatusNs >= TimeUnit.SECONDS.toNanos(1))
            {
                progress.printf(Locale.ROOT, "closed loop: %.0f requests/s (raw sequential)%n",
                    (executed - lastExecuted) * 1e9 / (nowNs - lastStatusNs));
                lastExecuted = executed;
                lastStatusNs = nowNs;
            }
        }
        final ResourceMeter.Usage usage = meter.stop(executed);
        final double rate = executed * 1e9 / (nowNs - startNs);
        progress.printf(Locale.ROOT, "closed-loop maximum: %.0f requests/s over %.1f s, %s%n", rate,
            (nowNs - startNs) / 1e9, usage);
        return new Measurement(rate, usage, Double.NaN, Double.NaN, null, ResourceMeter.Usage.NONE);
    }

    private static Measurement openLoop(
        final RawSequential raw, final LoadGenerator.Options options, final PrintStream progress)
    {
        final double periodNs = 1e9 / options.ratePerSec;
        final long firstMeasured = (long)Math.ceil(options.warmupSeconds * options.ratePerSec);
        final long end = (long)Math.ceil((options.warmupSeconds + options.seconds) * options.ratePerSec);
        final Histogram measured = LoadOptions.latencyHistogram();
        final Histogram interval = LoadOptions.latencyHistogram();
        final ResourceMeter meter = new ResourceMeter();
        final long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
        long nextStatusNs = t0 + TimeUnit.SECONDS.toNanos(1);
        long lastStatusNs = t0;
        long lastExecuted = 0;
        long lastCommitNs = t0;
        long i = 0;
        while (i < end)
        {
            final long nowNs = System.nanoTime();
            final long due = nowNs - t0 < 0 ? 0 : Math.min(end, (long)((nowNs - t0) / periodNs) + 1);
            final int count = (int)Math.min(options.maxBatchRequests, due - i);
            if (count > 0)
            {
                if (i <= firstMeasured && i + count > firstMeasured)
                {
                    meter.start();
                }
                raw.execute(count);
                lastCommitNs = System.nanoTime();
                for (long request = i; request < i + count; request++)
                {
                    final long latencyNs = LoadOptions.latencyNs(lastCommitNs, t0 + (long)(request * periodNs));
                    interval.recordValue(latencyNs);
                    if (request >= firstMeasured)
                    {
                        measured.recordValue(latencyNs);
                    }
                }
                i += count;
            }
            else
            {
                Thread.yield();
            }
            if (nowNs - nextStatusNs >= 0)
            {
                final double seconds = (nowNs - lastStatusNs) / 1e9;
                progress.printf(Locale.ROOT, "t=%5.1fs offered=%.0f/s executed=%.0f/s p99=%.1fus max=%.1fus%s%n",
                    (nowNs - t0) / 1e9, options.ratePerSec, (i - lastExecuted) / seconds,
                    interval.getValueAtPercentile(99) / 1e3, interval.getMaxValue() / 1e3,
                    i <= firstMeasured ? " (warm-up)" : "");
                interval.reset();
                lastExecuted = i;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        final long completed = measured.getTotalCount();
        final ResourceMeter.Usage usage = meter.stop(completed);
        final long measureStartNs = t0 + (long)(firstMeasured * periodNs);
        final double achieved = completed * 1e9 / Math.max(1, lastCommitNs - measureStartNs);
        return new Measurement(Double.NaN, ResourceMeter.Usage.NONE, options.ratePerSec, achieved, measured, usage);
    }
}
