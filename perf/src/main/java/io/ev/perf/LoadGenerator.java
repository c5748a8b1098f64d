/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import io.ev.engine.Engine;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * Open-loop load generator for the engine, with coordinated-omission correction ({@code bin/ev load}).
 * <p>
 * <b>Open loop.</b> Request i is scheduled at {@code t0 + i / rate}; the client thread submits it at
 * {@code max(now, scheduled)}, never waiting for replies, so a slow engine cannot slow the offered
 * load down. Its latency is {@code reply time - scheduled time}: a request that could only be
 * submitted late (the client was held up by a full ring or a descheduled thread) is charged for the
 * delay, as a real client arriving on schedule would be (Gil Tene's coordinated-omission
 * correction). Latencies go into an HdrHistogram {@link Recorder} on the engine's batcher thread,
 * only for requests scheduled after the warm-up. Waiting for the next scheduled time yields, never
 * sleeps.
 * <p>
 * <b>Rate.</b> {@code --rate R} offers R requests/s; {@code --rate max} runs closed-loop instead
 * (2 x maxBatchRequests outstanding) and reports the throughput, with submit-to-reply latencies that
 * are NOT corrected (closed loop); {@code --rate P%} first probes the closed-loop maximum for
 * {@code --probe-seconds}, then offers P% of it open-loop.
 * <p>
 * Output: a status line every second (offered and replied rate, p99 of the last second, outstanding)
 * on stdout, or stderr with {@code --json}; then a summary (p50, p90, p99, p99.9, max, achieved
 * throughput), with {@code --json} as one JSON object on stdout.
 */
public final class LoadGenerator
{
    /** The client id of the open-loop run (the closed-loop probe uses {@link EngineDriver#CLIENT_ID}). */
    static final int OPEN_LOOP_CLIENT_ID = 1;
    /** How long the end of a run waits for the last replies. */
    static final long DRAIN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    /** Requests per closed-loop step of {@code --rate max} (a fraction of a second at any rate seen). */
    static final int CLOSED_LOOP_STEP = 10_000;

    private LoadGenerator()
    {
    }

    /**
     * @param args see {@link Options#usage()}.
     */
    public static void main(final String[] args)
    {
        final Options options = ToolOptions.parseOrExit("bin/ev load", Options.usage(), Options::parse, args);
        if (null == options)
        {
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final Result result = run(options);
        if (options.json)
        {
            System.out.println(result.toJson(options));
        }
        else
        {
            result.print(System.out);
        }
    }

    /**
     * Launches the engine, runs the load the options describe, closes the engine.
     *
     * @param options parsed options.
     * @return the measurement.
     */
    static Result run(final Options options)
    {
        final PrintStream progress = options.json ? System.err : System.out;
        final OpenLoopListener listener = new OpenLoopListener();
        try (EngineDriver driver =
            new EngineDriver(options.workers, options.maxBatchRequests, options.accounts, options.profile, null,
                options.idleStrategy(), null, 2 == options.replicas ? options.transport : null))
        {
            driver.engine().registerClient(OPEN_LOOP_CLIENT_ID, listener::onReply);
            final Result result = new Result();
            if (Options.RATE_MAX == options.mode || Options.RATE_PERCENT == options.mode)
            {
                closedLoop(driver, options.warmupSeconds, options.closedLoopSeconds(), result, progress);
            }
            if (Options.RATE_MAX == options.mode)
            {
                result.offeredRatePerSec = result.maxRatePerSec;
                result.achievedPerSec = result.maxRatePerSec;
                result.latency = null;
            }
            else
            {
                result.offeredRatePerSec = options.offeredRatePerSec(result.maxRatePerSec);
                progress.printf(Locale.ROOT, "open loop at %.0f requests/s for %d s (+%d s warm-up)%n",
                    result.offeredRatePerSec, options.seconds, options.warmupSeconds);
                openLoop(driver, listener, result, options, progress);
            }
            final Engine.EngineCounters counters = driver.engine().counters();
            result.batches = counters.batches();
            result.phasesPerBatch = (double)counters.phases() / Math.max(1, counters.batches());
            result.aborted = counters.aborted();
            return result;
        }
    }

    /**
     * Closed loop for warm-up + {@code seconds}, in steps of {@link #CLOSED_LOOP_STEP} requests; sets the
     * result's requests/s and CPU and allocation per request over the measured seconds.
     */
    private static void closedLoop(
        final EngineDriver driver, final int warmupSeconds, final int seconds, final Result result,
        final PrintStream progress)
    {
        final long warmupEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
        while (System.nanoTime() - warmupEndNs < 0)
        {
            driver.run(CLOSED_LOOP_STEP);
        }
        final ResourceMeter meter = new ResourceMeter();
        meter.start();
        final long startNs = System.nanoTime();
        final long endNs = startNs + TimeUnit.SECONDS.toNanos(seconds);
        final long startReplied = driver.replied();
        long nextStatusNs = startNs + TimeUnit.SECONDS.toNanos(1);
        long lastReplied = startReplied;
        long lastStatusNs = startNs;
        long nowNs = startNs;
        while (nowNs - endNs < 0)
        {
            driver.run(CLOSED_LOOP_STEP);
            nowNs = System.nanoTime();
            if (nowNs - nextStatusNs >= 0)
            {
                final long replied = driver.replied();
                progress.printf(Locale.ROOT, "closed loop: %.0f requests/s (window %d)%n",
                    (replied - lastReplied) * 1e9 / (nowNs - lastStatusNs), driver.window());
                lastReplied = replied;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        final long measured = driver.replied() - startReplied;
        result.closedLoopUsage = meter.stop(measured);
        result.maxRatePerSec = measured * 1e9 / (nowNs - startNs);
        progress.printf(Locale.ROOT, "closed-loop maximum: %.0f requests/s over %.1f s, %s%n",
            result.maxRatePerSec, (nowNs - startNs) / 1e9, result.closedLoopUsage);
    }

    private static void openLoop(
        final EngineDriver driver,
        final OpenLoopListener listener,
        final Result result,
        final Options options,
        final PrintStream progress)
    {
        final double periodNs = 1e9 / result.offeredRatePerSec;
        final long firstMeasured = (long)Math.ceil(options.warmupSeconds * result.offeredRatePerSec);
        final long end = (long)Math.ceil((options.warmupSeconds + options.seconds) * result.offeredRatePerSec);
        final long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
        listener.start(t0, periodNs, firstMeasured);
        final long sequenceBase = driver.requests().count() / 2; // not the probe's position: another part
        final Histogram interval = LoadOptions.latencyHistogram();
        final Recorder status = listener.status;
        long nextStatusNs = t0 + TimeUnit.SECONDS.toNanos(1);
        long lastStatusNs = t0;
        long lastSubmitted = 0;
        long lastReplied = 0;
        long lateSubmits = 0;
        long rejected = 0;
        long i = 0;
        final ResourceMeter meter = new ResourceMeter();
        while (i < end)
        {
            final long scheduledNs = t0 + (long)(i * periodNs);
            final long nowNs = System.nanoTime();
            if (nowNs - scheduledNs >= 0)
            {
                if (i == firstMeasured)
                {
                    meter.start();
                }
                final int submitResult = driver.trySubmit(OPEN_LOOP_CLIENT_ID, i, sequenceBase + i);
                if (Engine.SUBMITTED != submitResult)
                {
                    rejected++;
                    failIfEngineFailed(driver, submitResult);
                }
                if (nowNs - scheduledNs > periodNs && i >= firstMeasured)
                {
                    lateSubmits++;
                }
                i++;
            }
            else
            {
                Thread.yield();
            }
            if (nowNs - nextStatusNs >= 0)
            {
                status.getIntervalHistogramInto(interval);
                final long replied = listener.replied.get();
                final double seconds = (nowNs - lastStatusNs) / 1e9;
                progress.printf(Locale.ROOT,
                    "t=%5.1fs offered=%.0f/s replied=%.0f/s p99=%.1fus max=%.1fus outstanding=%d%s%n",
                    (nowNs - t0) / 1e9, (i - lastSubmitted) / seconds, (replied - lastReplied) / seconds,
                    interval.getValueAtPercentile(99) / 1e3, interval.getMaxValue() / 1e3, i - replied,
                    i <= firstMeasured ? " (warm-up)" : "");
                lastSubmitted = i;
                lastReplied = replied;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        final long drainDeadlineNs = System.nanoTime() + DRAIN_TIMEOUT_NS;
        while (listener.replied.get() < end - rejected && System.nanoTime() - drainDeadlineNs < 0)
        {
            Thread.yield();
        }
        result.submitted = end - firstMeasured;
        result.completed = listener.measuredReplied.get();
        result.openLoopUsage = meter.stop(result.completed);
        result.lateSubmits = lateSubmits;
        result.rejected = rejected;
        result.latency = listener.measured.getIntervalHistogram();
        final long measureStartNs = t0 + (long)(firstMeasured * periodNs);
        result.achievedPerSec = result.completed * 1e9 / Math.max(1, listener.lastReplyNs - measureStartNs);
    }

    private static void failIfEngineFailed(final EngineDriver driver, final int submitResult)
    {
        if (Engine.REJECTED_RING_FULL != submitResult)
        {
            throw new IllegalStateException("open-loop submit " + Engine.describeSubmit(submitResult) +
                (null == driver.engine().failure() ? "" : ": " + driver.engine().failure()));
        }
    }

    /**
     * Records the CO-corrected latency of every open-loop reply; runs on the batcher thread.
     */
    static final class OpenLoopListener
    {
        final Recorder measured = new Recorder(LoadOptions.LATENCY_NS_MAX, 3);
        final Recorder status = new Recorder(LoadOptions.LATENCY_NS_MAX, 3);
        final AtomicLong replied = new AtomicLong();
        final AtomicLong measuredReplied = new AtomicLong();
        volatile long lastReplyNs;
        private long t0;
        private double periodNs;
        private long firstMeasured;

        /**
         * Set before the first open-loop submit; the ring publishes them to the batcher thread.
         */
        void start(final long t0, final double periodNs, final long firstMeasured)
        {
            this.t0 = t0;
            this.periodNs = periodNs;
            this.firstMeasured = firstMeasured;
        }

        void onReply(
            final long clientId,
            final long requestId,
            final int type,
            final long batchSeq,
            final DirectBuffer reply,
            final int offset,
            final int length)
        {
            final long nowNs = System.nanoTime();
            final long latencyNs = LoadOptions.latencyNs(nowNs, t0 + (long)(requestId * periodNs));
            status.recordValue(latencyNs);
            if (requestId >= firstMeasured)
            {
                measured.recordValue(latencyNs);
                measuredReplied.lazySet(measuredReplied.get() + 1);
                lastReplyNs = nowNs;
            }
            replied.lazySet(replied.get() + 1);
        }
    }

    /**
     * What a run measured.
     */
    static final class Result
    {
        double maxRatePerSec = Double.NaN;
        double offeredRatePerSec;
        double achievedPerSec;
        long submitted;
        long completed;
        long lateSubmits;
        long rejected;
        long batches;
        double phasesPerBatch;
        long aborted;
        Histogram latency;
        ResourceMeter.Usage closedLoopUsage = ResourceMeter.Usage.NONE;
        ResourceMeter.Usage openLoopUsage = ResourceMeter.Usage.NONE;

        Measurement measurement()
        {
            return new Measurement(maxRatePerSec, closedLoopUsage, null == latency ? Double.NaN : offeredRatePerSec,
                achievedPerSec, latency, openLoopUsage);
        }

        void print(final PrintStream out)
        {
            out.printf(Locale.ROOT, "%n== summary ==%n");
            if (!Double.isNaN(maxRatePerSec))
            {
                out.printf(Locale.ROOT, "closed-loop max   %.0f requests/s, %s%n", maxRatePerSec, closedLoopUsage);
            }
            if (null == latency)
            {
                return;
            }
            out.printf(Locale.ROOT, "offered           %.0f requests/s (open loop)%n", offeredRatePerSec);
            out.printf(Locale.ROOT, "achieved          %.0f requests/s, %d of %d measured requests replied%n",
                achievedPerSec, completed, submitted);
            out.printf(Locale.ROOT,
                "submitted late    %d measured requests (more than one period after their scheduled time)%n",
                lateSubmits);
            out.printf(Locale.ROOT, "rejected          %d (input ring full for the whole submit timeout)%n",
                rejected);
            out.printf(Locale.ROOT, "latency (CO-corrected, scheduled to reply) %s%n",
                ToolOptions.percentilesUs(latency));
            out.printf(Locale.ROOT, "cost              %s (measured open loop)%n", openLoopUsage);
            out.printf(Locale.ROOT, "batches           %d, %.2f phases per batch, %d aborted by the application%n",
                batches, phasesPerBatch, aborted);
        }

        String toJson(final Options options)
        {
            final StringBuilder json = new StringBuilder(512);
            json.append(String.format(Locale.ROOT,
                "{\"replicas\":%d,\"transport\":%s," +
                "\"workers\":%d,\"accounts\":%d,\"profile\":\"%s\",\"maxBatchRequests\":%d,\"rate\":\"%s\"," +
                "\"idle\":\"%s\",\"seconds\":%d,\"warmupSeconds\":%d,\"maxRatePerSec\":%s,\"offeredRatePerSec\":%.1f," +
                "\"achievedPerSec\":%.1f,\"submitted\":%d,\"completed\":%d,\"lateSubmits\":%d,\"rejected\":%d," +
                "\"batches\":%d,\"phasesPerBatch\":%.3f,\"aborted\":%d",
                options.replicas, 2 == options.replicas ? "\"" + options.transport + "\"" : "null",
                options.workers, options.accounts, options.profile, options.maxBatchRequests, options.rateText,
                options.idle, options.seconds, options.warmupSeconds,
                Double.isNaN(maxRatePerSec) ? "null" : String.format(Locale.ROOT, "%.1f", maxRatePerSec),
                offeredRatePerSec, achievedPerSec, submitted, completed, lateSubmits, rejected, batches, phasesPerBatch,
                aborted));
            json.append(",\"closedLoop\":{").append(closedLoopUsage.jsonFields()).append("},\"openLoop\":{")
                .append(openLoopUsage.jsonFields()).append('}');
            if (null != latency)
            {
                json.append(",\"latencyNs\":").append(ToolOptions.latencyJson(latency));
            }
            return json.append('}').toString();
        }
    }

    /**
     * Command-line options; each error names the option and its allowed values.
     */
    static final class Options extends LoadOptions
    {
        int workers = 1;
        int maxBatchRequests = Engine.Context.MAX_BATCH_REQUESTS_DEFAULT;
        String idle = "backoff";
        int replicas = 1;
        String transport = "udp";

        Options()
        {
            super(50_000_000);
        }

        static String usage()
        {
            return "usage: bin/ev load [--rate R|max|P%] [--seconds S] [--warmup-seconds W] [--probe-seconds P]\n" +
                "                   [--workers N] [--accounts N] [--batch N] [--profile uniform|contended]\n" +
                "                   [--idle backoff|yield|busy-spin] [--replicas 1|2] [--transport udp|ipc]\n" +
                "                   [--json]\n" +
                USAGE_LINES +
                "  --workers N     engine workers (default 1); --batch N max requests per batch (default 1024)\n" +
                "  --idle I        engine idle strategy: backoff (the engine default: spin, yield, park up to\n" +
                "                  100 us), yield or busy-spin (default backoff)\n" +
                "  --replicas 2    a primary + backup pair in this process (Execute-Verify; latency = until the\n" +
                "                  batch is verified and committed), linked by --transport udp (loopback, one\n" +
                "                  media driver per replica; default) or ipc (shared memory)\n" +
                "  --json          summary as one JSON object on stdout (status lines go to stderr)";
        }

        static Options parse(final String[] args)
        {
            return parse(new Options(), args);
        }

        @Override
        protected boolean setOwn(final String option, final String value)
        {
            switch (option)
            {
                case "--workers":
                    workers = parseInt(option, value);
                    return true;
                case "--batch":
                    maxBatchRequests = parseInt(option, value);
                    return true;
                case "--idle":
                    idle = value;
                    return true;
                case "--replicas":
                    replicas = parseInt(option, value);
                    return true;
                case "--transport":
                    transport = value;
                    return true;
                default:
                    return false;
            }
        }

        @Override
        protected void validateOwn()
        {
            require(workers >= 1 && workers <= Engine.Context.MAX_WORKERS,
                "--workers " + workers + " must be in [1, " + Engine.Context.MAX_WORKERS + "]");
            require(maxBatchRequests >= 1 && maxBatchRequests <= Engine.Context.MAX_BATCH_REQUESTS_LIMIT,
                "--batch " + maxBatchRequests + " must be in [1, " + Engine.Context.MAX_BATCH_REQUESTS_LIMIT + "]");
            require("backoff".equals(idle) || "yield".equals(idle) || "busy-spin".equals(idle),
                "--idle " + idle + " must be backoff, yield or busy-spin");
            require(1 == replicas || 2 == replicas, "--replicas " + replicas + " must be 1 or 2");
            require("udp".equals(transport) || "ipc".equals(transport),
                "--transport " + transport + " must be udp or ipc");
        }

        /**
         * @return the engine's idle strategies for {@code --idle}; null for the engine default.
         */
        Supplier<IdleStrategy> idleStrategy()
        {
            switch (idle)
            {
                case "yield":
                    return YieldingIdleStrategy::new;
                case "busy-spin":
                    return BusySpinIdleStrategy::new;
                default:
                    return null;
            }
        }
    }
}
