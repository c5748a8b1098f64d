/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.ev.perf.SmallBankRequests;
import io.ev.engine.ReplyCodes;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.perf.BenchmarkMain;
import io.ev.perf.LoadOptions;
import io.ev.perf.Measurement;
import io.ev.perf.ResourceMeter;
import io.ev.perf.ToolOptions;
import org.HdrHistogram.Histogram;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;

/**
 * The Aeron Cluster baseline ({@code bin/ev cluster}, issue 6): SmallBank as a replicated state machine on a
 * 3-member Aeron Cluster (1.51) in this JVM, on UDP loopback ({@link SmallBankCluster}), loaded like
 * {@code bin/ev load} loads the engine: the same requests (the engine's {@code SmallBankWorkload}, seed 42, uniform
 * or contended, 65,536 requests cycled), the same initial balances, the same open-loop method.
 * <p>
 * <b>Open loop.</b> Request i is scheduled at {@code t0 + i / rate}; the client thread offers it at
 * {@code max(now, scheduled)} (again later if the ingress is back-pressured) and polls the egress in between,
 * never waiting for replies. Latency = reply time - scheduled time (coordinated-omission corrected), in an
 * HdrHistogram, for requests scheduled after the warm-up. A reply is the leader's, sent once the request is
 * committed (appended to the log on a majority of the members' archives) and executed by the leader's service.
 * Unlike {@code bin/ev load}, whose client yields, the client thread idles with the members' {@code --idle}
 * strategy when it has nothing to do: on 2 vCPUs a yielding client keeps one core from the cluster's 13 other
 * threads (at 2,000 requests/s with {@code sleep}: p50 4.3 ms with a yielding client, 1.7 ms with a sleeping one,
 * on a busy 2-vCPU VM); a late wake-up is charged to the latency, as it must be.
 * <p>
 * <b>Rate.</b> {@code --rate R} offers R requests/s; {@code --rate max} runs closed-loop with {@code --window}
 * requests outstanding and reports the throughput only; {@code --rate P%} first probes the closed-loop maximum for
 * {@code --probe-seconds}, then offers P% of it open-loop.
 * <p>
 * <b>Checks</b> after the run: every request got one reply; every member executed every request; each member's
 * total money equals the initial total plus the money deltas of all replies (WORKLOADS.md invariant 1, with the
 * engine's {@link SmallBankOracle}); the three members' balances are identical (digest).
 * <p>
 * Output: a status line every second on stdout (stderr with {@code --json}); then a summary, with {@code --json}
 * one JSON object on stdout. Exits with status 1 if a check failed.
 */
public final class ClusterBaseline
{
    /** How long the end of a phase waits for the last replies. */
    static final long DRAIN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    /** How long the start waits for the first election. */
    static final long ELECTION_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);
    /** How long the checks wait for the followers to execute every request. */
    static final long CATCH_UP_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    private ClusterBaseline()
    {
    }

    /**
     * @param args see {@link Options#usage()}.
     */
    public static void main(final String[] args)
    {
        final Options options = ToolOptions.parseOrExit("bin/ev cluster", Options.usage(), Options::parse, args);
        if (null == options)
        {
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final Result result = run(options);
        if (options.json())
        {
            System.out.println(result.toJson(options));
        }
        else
        {
            result.print(System.out);
        }
        if (!result.checksPassed())
        {
            System.exit(1);
        }
    }

    /**
     * Runs the load of {@code bin/ev cluster} with these options (as on its command line), for {@code bin/ev report};
     * status lines go to stdout, or stderr with {@code --json}.
     *
     * @param args the options of {@link Options#usage()}.
     * @return what the run measured.
     * @throws IllegalArgumentException for a bad option.
     * @throws IllegalStateException if a check of the class comment failed, with the summary.
     */
    public static Measurement measure(final String... args)
    {
        final Result result = run(Options.parse(args));
        if (!result.checksPassed())
        {
            final ByteArrayOutputStream summary = new ByteArrayOutputStream();
            result.print(new PrintStream(summary, true, StandardCharsets.UTF_8));
            throw new IllegalStateException("aeron cluster baseline failed its checks:" +
                summary.toString(StandardCharsets.UTF_8));
        }
        return result.measurement();
    }

    /**
     * Starts the cluster and the client, runs the load the options describe, checks the members, closes all.
     *
     * @param options parsed options.
     * @return the measurement.
     */
    static Result run(final Options options)
    {
        final PrintStream progress = options.json() ? System.err : System.out;
        final SmallBankRequests requests =
            new SmallBankRequests(SmallBankRequests.DEFAULT_COUNT, options.accounts, options.profile,
                SmallBankRequests.SEED);
        final Result result = new Result();
        final long startNs = System.nanoTime();
        try (SmallBankCluster cluster = new SmallBankCluster(options.accounts, SmallBankRequests.SEED, options.idle,
            System.err))
        {
            final Load load = new Load(cluster.service(0).ledger().initialTotalCents(),
                SmallBankCluster.idleStrategy(options.idle).get());
            final int leader = cluster.awaitLeader(ELECTION_TIMEOUT_NS);
            try (ClusterClient client = new ClusterClient(cluster, requests, load::onReply))
            {
                result.startupMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                progress.printf(Locale.ROOT,
                    "aeron cluster: %d members on %s, leader member %d, client connected (%d attempt(s)) after " +
                    "%.1f s, idle %s%n",
                    SmallBankCluster.MEMBERS, SmallBankCluster.HOST, leader, client.connectAttempts(),
                    result.startupMs / 1e3, options.idle);
                if (Options.RATE_MAX == options.mode || Options.RATE_PERCENT == options.mode)
                {
                    closedLoop(client, load, options, result, progress);
                    drain(client, load);
                }
                if (Options.RATE_MAX == options.mode)
                {
                    result.offeredRatePerSec = result.maxRatePerSec;
                    result.achievedPerSec = result.maxRatePerSec;
                }
                else
                {
                    result.offeredRatePerSec = options.offeredRatePerSec(result.maxRatePerSec);
                    progress.printf(Locale.ROOT, "open loop at %.0f requests/s for %d s (+%d s warm-up)%n",
                        result.offeredRatePerSec, options.seconds, options.warmupSeconds);
                    openLoop(client, load, result, options, progress);
                }
                result.leader = client.leaderMemberId();
            }
            check(cluster, load, result);
            result.componentErrors = cluster.errors();
        }
        return result;
    }

    /**
     * Closed loop for warm-up + {@link Options#closedLoopSeconds()}: keeps {@code --window} requests outstanding;
     * sets the result's replies/s and CPU and allocation per request over the measured seconds.
     */
    private static void closedLoop(
        final ClusterClient client, final Load load, final Options options, final Result result,
        final PrintStream progress)
    {
        final int seconds = options.closedLoopSeconds();
        final long warmupEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.warmupSeconds);
        while (System.nanoTime() - warmupEndNs < 0)
        {
            closedLoopStep(client, load, options.window);
        }
        final ResourceMeter meter = new ResourceMeter();
        meter.start();
        final long startNs = System.nanoTime();
        final long endNs = startNs + TimeUnit.SECONDS.toNanos(seconds);
        final long startReplied = load.replied;
        long nextStatusNs = startNs + TimeUnit.SECONDS.toNanos(1);
        long lastReplied = startReplied;
        long lastStatusNs = startNs;
        long nowNs = startNs;
        while (nowNs - endNs < 0)
        {
            closedLoopStep(client, load, options.window);
            nowNs = System.nanoTime();
            if (nowNs - nextStatusNs >= 0)
            {
                progress.printf(Locale.ROOT, "closed loop: %.0f requests/s (window %d)%n",
                    (load.replied - lastReplied) * 1e9 / (nowNs - lastStatusNs), options.window);
                lastReplied = load.replied;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        final long measured = load.replied - startReplied;
        result.closedLoopUsage = meter.stop(measured);
        result.maxRatePerSec = measured * 1e9 / (nowNs - startNs);
        progress.printf(Locale.ROOT, "closed-loop maximum: %.0f requests/s over %.1f s, %s%n", result.maxRatePerSec,
            (nowNs - startNs) / 1e9, result.closedLoopUsage);
    }

    private static void closedLoopStep(final ClusterClient client, final Load load, final int window)
    {
        int work = 0;
        while (load.sent - load.replied < window && client.offer(load.sent))
        {
            load.sent++;
            work++;
        }
        work += client.poll();
        load.idle.idle(work);
    }

    private static void openLoop(
        final ClusterClient client, final Load load, final Result result, final Options options,
        final PrintStream progress)
    {
        final double periodNs = 1e9 / result.offeredRatePerSec;
        final long firstMeasured = (long)Math.ceil(options.warmupSeconds * result.offeredRatePerSec);
        final long end = (long)Math.ceil((options.warmupSeconds + options.seconds) * result.offeredRatePerSec);
        final long base = load.sent;
        final long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
        load.startOpenLoop(base, t0, periodNs, firstMeasured);
        long nextStatusNs = t0 + TimeUnit.SECONDS.toNanos(1);
        long lastStatusNs = t0;
        long lastSubmitted = 0;
        long lastReplied = load.replied;
        long lateSubmits = 0;
        long backPressured = 0;
        long i = 0;
        final ResourceMeter meter = new ResourceMeter();
        boolean metering = false;
        while (i < end)
        {
            final long scheduledNs = t0 + (long)(i * periodNs);
            final long nowNs = System.nanoTime();
            int work = 0;
            if (nowNs - scheduledNs >= 0)
            {
                if (i == firstMeasured && !metering)
                {
                    meter.start();
                    metering = true;
                }
                if (client.offer(base + i))
                {
                    if (nowNs - scheduledNs > periodNs && i >= firstMeasured)
                    {
                        lateSubmits++;
                    }
                    load.sent = base + i + 1;
                    i++;
                    work++;
                }
                else
                {
                    backPressured++;
                }
            }
            work += client.poll();
            load.idle.idle(work);
            if (nowNs - nextStatusNs >= 0)
            {
                final double seconds = (nowNs - lastStatusNs) / 1e9;
                progress.printf(Locale.ROOT,
                    "t=%5.1fs offered=%.0f/s replied=%.0f/s p99=%.1fus max=%.1fus outstanding=%d%s%n",
                    (nowNs - t0) / 1e9, (i - lastSubmitted) / seconds, (load.replied - lastReplied) / seconds,
                    load.interval.getValueAtPercentile(99) / 1e3, load.interval.getMaxValue() / 1e3,
                    load.sent - load.replied, i <= firstMeasured ? " (warm-up)" : "");
                load.interval.reset();
                lastSubmitted = i;
                lastReplied = load.replied;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        drain(client, load);
        result.submitted = end - firstMeasured;
        result.completed = load.measuredReplied;
        result.openLoopUsage = meter.stop(result.completed);
        result.lateSubmits = lateSubmits;
        result.backPressured = backPressured;
        result.latency = load.measured;
        final long measureStartNs = t0 + (long)(firstMeasured * periodNs);
        result.achievedPerSec = result.completed * 1e9 / Math.max(1, load.lastReplyNs - measureStartNs);
    }

    /**
     * Polls until every request sent has its reply, or {@link #DRAIN_TIMEOUT_NS}.
     */
    private static void drain(final ClusterClient client, final Load load)
    {
        final long deadlineNs = System.nanoTime() + DRAIN_TIMEOUT_NS;
        while (load.replied < load.sent && System.nanoTime() - deadlineNs < 0)
        {
            load.idle.idle(client.poll());
        }
    }

    /**
     * The checks of the class comment; the members are quiet once they executed every request.
     */
    private static void check(final SmallBankCluster cluster, final Load load, final Result result)
    {
        result.sent = load.sent;
        result.replied = load.replied;
        result.aborted = load.aborted;
        result.failed = load.failed;
        result.caughtUp = cluster.awaitApplied(load.sent, CATCH_UP_TIMEOUT_NS);
        final long expectedTotal = load.oracle.expectedTotalCents();
        result.expectedTotalCents = expectedTotal;
        result.conserved = true;
        result.membersAgree = true;
        final long leaderDigest = cluster.service(Math.max(0, result.leader)).ledger().digest();
        for (int m = 0; m < SmallBankCluster.MEMBERS; m++)
        {
            final SmallBankClusteredService service = cluster.service(m);
            result.applied[m] = service.applied();
            result.conserved &= service.ledger().totalMoneyCents() == expectedTotal;
            result.membersAgree &= service.ledger().digest() == leaderDigest;
            result.droppedReplies += service.droppedReplies();
        }
    }

    /**
     * The client side's bookkeeping; runs on the client thread only (offers and egress polls).
     */
    static final class Load
    {
        final Histogram measured = LoadOptions.latencyHistogram();
        final Histogram interval = LoadOptions.latencyHistogram();
        final SmallBankOracle oracle;
        final IdleStrategy idle;
        long sent;
        long replied;
        long measuredReplied;
        long aborted;
        long failed;
        long lastReplyNs;
        private long openLoopBase = Long.MAX_VALUE;
        private long t0;
        private double periodNs;
        private long firstMeasured;

        Load(final long initialTotalCents, final IdleStrategy idle)
        {
            this.oracle = new SmallBankOracle(initialTotalCents);
            this.idle = idle;
        }

        void startOpenLoop(final long base, final long t0, final double periodNs, final long firstMeasured)
        {
            this.openLoopBase = base;
            this.t0 = t0;
            this.periodNs = periodNs;
            this.firstMeasured = firstMeasured;
        }

        void onReply(final long requestId, final DirectBuffer buffer, final int offset, final int length)
        {
            final long nowNs = System.nanoTime();
            replied++;
            oracle.onCommittedReply(buffer, offset, length);
            final int code = ReplyCodes.code(buffer, offset);
            if (ReplyCodes.OK != code)
            {
                if (code < ReplyCodes.FIRST_APPLICATION_CODE)
                {
                    failed++;
                }
                else
                {
                    aborted++;
                }
            }
            if (requestId >= openLoopBase)
            {
                final long i = requestId - openLoopBase;
                final long latencyNs = LoadOptions.latencyNs(nowNs, t0 + (long)(i * periodNs));
                interval.recordValue(latencyNs);
                if (i >= firstMeasured)
                {
                    measured.recordValue(latencyNs);
                    measuredReplied++;
                    lastReplyNs = nowNs;
                }
            }
        }
    }

    /**
     * What a run measured and checked.
     */
    static final class Result
    {
        double maxRatePerSec = Double.NaN;
        double offeredRatePerSec;
        double achievedPerSec;
        long startupMs;
        int leader = -1;
        long submitted;
        long completed;
        long lateSubmits;
        long backPressured;
        long sent;
        long replied;
        long aborted;
        long failed;
        long droppedReplies;
        long componentErrors;
        final long[] applied = new long[SmallBankCluster.MEMBERS];
        long expectedTotalCents;
        boolean caughtUp;
        boolean conserved;
        boolean membersAgree;
        Histogram latency;
        ResourceMeter.Usage closedLoopUsage = ResourceMeter.Usage.NONE;
        ResourceMeter.Usage openLoopUsage = ResourceMeter.Usage.NONE;

        Measurement measurement()
        {
            return new Measurement(maxRatePerSec, closedLoopUsage, null == latency ? Double.NaN : offeredRatePerSec,
                achievedPerSec, latency, openLoopUsage);
        }

        boolean checksPassed()
        {
            return replied == sent && 0 == failed && caughtUp && conserved && membersAgree;
        }

        void print(final PrintStream out)
        {
            out.printf(Locale.ROOT, "%n== summary (aeron cluster, %d members) ==%n", SmallBankCluster.MEMBERS);
            if (!Double.isNaN(maxRatePerSec))
            {
                out.printf(Locale.ROOT, "closed-loop max   %.0f requests/s, %s%n", maxRatePerSec, closedLoopUsage);
            }
            if (null != latency)
            {
                out.printf(Locale.ROOT, "offered           %.0f requests/s (open loop)%n", offeredRatePerSec);
                out.printf(Locale.ROOT, "achieved          %.0f requests/s, %d of %d measured requests replied%n",
                    achievedPerSec, completed, submitted);
                out.printf(Locale.ROOT,
                    "submitted late    %d measured requests (more than one period after their scheduled time)%n",
                    lateSubmits);
                out.printf(Locale.ROOT, "back-pressured    %d ingress offers retried%n", backPressured);
                out.printf(Locale.ROOT, "latency (CO-corrected, scheduled to reply) %s%n",
                    ToolOptions.percentilesUs(latency));
                out.printf(Locale.ROOT, "cost              %s (measured open loop)%n", openLoopUsage);
            }
            out.printf(Locale.ROOT, "requests          %d sent, %d replied, %d aborted by the application, %d failed%n",
                sent, replied, aborted, failed);
            out.printf(Locale.ROOT, "members           executed %d / %d / %d, leader member %d, startup %.1f s%n",
                applied[0], applied[1], applied[2], leader, startupMs / 1e3);
            out.printf(Locale.ROOT, "checks            conservation %s (expected total %d cents), members %s%s%n",
                conserved ? "ok" : "VIOLATED", expectedTotalCents, membersAgree ? "agree" : "DIFFER",
                caughtUp ? "" : ", followers did NOT catch up");
            if (0 != droppedReplies || 0 != componentErrors)
            {
                out.printf(Locale.ROOT, "warnings          %d replies dropped, %d component errors%n", droppedReplies,
                    componentErrors);
            }
        }

        String toJson(final Options options)
        {
            final StringBuilder json = new StringBuilder(512);
            json.append(String.format(Locale.ROOT,
                "{\"system\":\"aeron-cluster\",\"members\":%d,\"accounts\":%d,\"profile\":\"%s\",\"rate\":\"%s\"," +
                "\"idle\":\"%s\",\"window\":%d,\"seconds\":%d,\"warmupSeconds\":%d,\"maxRatePerSec\":%s," +
                "\"offeredRatePerSec\":%.1f,\"achievedPerSec\":%.1f,\"submitted\":%d,\"completed\":%d," +
                "\"lateSubmits\":%d,\"backPressured\":%d,\"sent\":%d,\"replied\":%d,\"aborted\":%d,\"failed\":%d," +
                "\"startupMs\":%d,\"leader\":%d,\"conserved\":%b,\"membersAgree\":%b,\"caughtUp\":%b," +
                "\"droppedReplies\":%d,\"componentErrors\":%d",
                SmallBankCluster.MEMBERS, options.accounts, options.profile, options.rateText, options.idle,
                options.window, options.seconds, options.warmupSeconds,
                Double.isNaN(maxRatePerSec) ? "null" : String.format(Locale.ROOT, "%.1f", maxRatePerSec),
                offeredRatePerSec, achievedPerSec, submitted, completed, lateSubmits, backPressured, sent, replied,
                aborted, failed, startupMs, leader, conserved, membersAgree, caughtUp, droppedReplies,
                componentErrors));
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
        String idle = "sleep";
        int window = 1024;

        Options()
        {
            super(10_000_000);
        }

        static String usage()
        {
            return "usage: bin/ev cluster [--rate R|max|P%] [--seconds S] [--warmup-seconds W] [--probe-seconds P]\n" +
                "                      [--accounts N] [--profile uniform|contended] [--idle sleep|backoff|yield]\n" +
                "                      [--window N] [--json]\n" +
                "  SmallBank on a 3-member Aeron Cluster in this process (UDP loopback), the same requests as\n" +
                "  bin/ev load; latency = until the leader's reply (request committed on a majority, executed)\n" +
                USAGE_LINES +
                "  --idle I        idle strategy of the 13 Aeron agents (4 per member, the client's driver) and\n" +
                "                  of the client thread: sleep (10 us requested), backoff (Agrona's default) or\n" +
                "                  yield (default sleep)\n" +
                "  --window N      closed loop: requests outstanding (default 1024)\n" +
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
                case "--idle":
                    idle = value;
                    return true;
                case "--window":
                    window = parseInt(option, value);
                    return true;
                default:
                    return false;
            }
        }

        @Override
        protected void validateOwn()
        {
            require(SmallBankCluster.IDLE_STRATEGIES.contains(idle),
                "--idle " + idle + " must be one of " + SmallBankCluster.IDLE_STRATEGIES);
            require(window >= 1 && window <= 1 << 20, "--window " + window + " must be in [1, 2^20]");
        }
    }
}
