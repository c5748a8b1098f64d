/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import org.HdrHistogram.Histogram;

/**
 * The options every SmallBank load generator takes ({@code bin/ev load} on the engine, {@code bin/ev cluster} on
 * Aeron Cluster), so that both offer the same load the same way: {@code --rate R|max|P%}, {@code --seconds},
 * {@code --warmup-seconds}, {@code --probe-seconds}, {@code --accounts} and {@code --profile}. A tool's own
 * options go to {@link #setOwn(String, String)} and {@link #validateOwn()}.
 */
public abstract class LoadOptions extends ToolOptions
{
    /** {@code --rate R}: R requests/s open-loop. */
    public static final int RATE_FIXED = 0;
    /** {@code --rate max}: closed-loop maximum. */
    public static final int RATE_MAX = 1;
    /** {@code --rate P%}: probe the closed-loop maximum, then offer P% of it open-loop. */
    public static final int RATE_PERCENT = 2;

    /** The text of each option, for a usage; a tool adds its own lines. */
    public static final String USAGE_LINES =
        "  --rate R        offer R requests/s open-loop (CO-corrected latency); max: closed-loop\n" +
        "                  maximum throughput; P%: probe the maximum, then offer P% of it (default 50%)\n" +
        "  --seconds S     measured seconds (default 10); --warmup-seconds W before them (default 2)\n" +
        "  --probe-seconds closed-loop probe length for P% (default 5)\n" +
        "  --accounts N    SmallBank customers (default 100000); --profile uniform|contended (default uniform)\n";

    /** One of {@link #RATE_FIXED}, {@link #RATE_MAX}, {@link #RATE_PERCENT}. */
    public int mode = RATE_PERCENT;
    /** {@code --rate} as given. */
    public String rateText = "50%";
    /** Offered requests/s of {@link #RATE_FIXED}. */
    public double ratePerSec;
    /** Percentage of the maximum of {@link #RATE_PERCENT}. */
    public double ratePercent = 50;
    /** Measured seconds (of the open loop, or of {@code --rate max}). */
    public int seconds = 10;
    /** Seconds before the measured ones. */
    public int warmupSeconds = 2;
    /** Seconds of the closed-loop probe of {@link #RATE_PERCENT}. */
    public int probeSeconds = 5;
    /** SmallBank customers. */
    public int accounts = 100_000;
    /** WORKLOADS.md profile: uniform or contended. */
    public String profile = "uniform";

    /**
     * The largest latency the load generators' histograms hold, 1 minute; a longer one is recorded as 1 minute.
     * Fixed, so that the histograms never resize (allocate) during a run.
     */
    public static final long LATENCY_NS_MAX = 60_000_000_000L;

    private final int maxAccounts;

    /**
     * @param maxAccounts the largest {@code --accounts} the tool can load.
     */
    protected LoadOptions(final int maxAccounts)
    {
        this.maxAccounts = maxAccounts;
    }

    /**
     * Takes one of the tool's own options.
     *
     * @param option the option.
     * @param value  its value.
     * @return false if the option is not the tool's either (an unknown option).
     */
    protected abstract boolean setOwn(String option, String value);

    /**
     * Checks the tool's own options.
     *
     * @throws IllegalArgumentException naming the first option out of range.
     */
    protected abstract void validateOwn();

    @Override
    protected final void set(final String option, final String value)
    {
        switch (option)
        {
            case "--rate":
                rate(value);
                break;
            case "--seconds":
                seconds = parseInt(option, value);
                break;
            case "--warmup-seconds":
                warmupSeconds = parseInt(option, value);
                break;
            case "--probe-seconds":
                probeSeconds = parseInt(option, value);
                break;
            case "--accounts":
                accounts = parseInt(option, value);
                break;
            case "--profile":
                profile = value;
                break;
            default:
                if (!setOwn(option, value))
                {
                    throw new IllegalArgumentException("unknown option " + option);
                }
        }
    }

    private void rate(final String value)
    {
        rateText = value;
        try
        {
            if ("max".equals(value))
            {
                mode = RATE_MAX;
            }
            else if (value.endsWith("%"))
            {
                mode = RATE_PERCENT;
                ratePercent = Double.parseDouble(value.substring(0, value.length() - 1));
            }
            else
            {
                mode = RATE_FIXED;
                ratePerSec = Double.parseDouble(value);
            }
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("--rate " + value + " must be a number, max or P%", ex);
        }
    }

    @Override
    protected final void validate()
    {
        require(RATE_FIXED != mode || (ratePerSec >= 1 && ratePerSec <= 1e8),
            "--rate " + rateText + " must be in [1, 10^8] requests/s");
        require(RATE_PERCENT != mode || (ratePercent > 0 && ratePercent <= 100),
            "--rate " + rateText + " must be a percentage in (0, 100]");
        require(seconds >= 1 && seconds <= 3600, "--seconds " + seconds + " must be in [1, 3600]");
        require(warmupSeconds >= 0 && warmupSeconds <= 600,
            "--warmup-seconds " + warmupSeconds + " must be in [0, 600]");
        require(probeSeconds >= 1 && probeSeconds <= 600,
            "--probe-seconds " + probeSeconds + " must be in [1, 600]");
        require(accounts >= 2 && accounts <= maxAccounts,
            "--accounts " + accounts + " must be in [2, " + maxAccounts + "]");
        require("uniform".equals(profile) || "contended".equals(profile),
            "--profile " + profile + " must be uniform or contended");
        validateOwn();
    }

    /**
     * @return the seconds of the closed loop: {@link #seconds} for {@code --rate max}, else {@link #probeSeconds}.
     */
    public final int closedLoopSeconds()
    {
        return RATE_MAX == mode ? seconds : probeSeconds;
    }

    /**
     * @return a histogram of latencies in nanoseconds, 3 significant digits, up to {@link #LATENCY_NS_MAX}.
     */
    public static Histogram latencyHistogram()
    {
        return new Histogram(LATENCY_NS_MAX, 3);
    }

    /**
     * @param nowNs       when the reply arrived.
     * @param scheduledNs when the request was scheduled.
     * @return the latency to record: at least 1 ns, at most {@link #LATENCY_NS_MAX}.
     */
    public static long latencyNs(final long nowNs, final long scheduledNs)
    {
        return Math.min(LATENCY_NS_MAX, Math.max(1, nowNs - scheduledNs));
    }

    /**
     * @param maxRatePerSec the closed-loop maximum (NaN if none was probed).
     * @return the open-loop rate: {@link #ratePerSec}, or {@link #ratePercent} of {@code maxRatePerSec}.
     */
    public final double offeredRatePerSec(final double maxRatePerSec)
    {
        return RATE_PERCENT == mode ? maxRatePerSec * ratePercent / 100.0 : ratePerSec;
    }
}
