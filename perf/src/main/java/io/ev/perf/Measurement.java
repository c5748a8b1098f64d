/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import org.HdrHistogram.Histogram;

/**
 * What one load run of one system measured, as {@code bin/ev report} compares the systems: the closed-loop
 * maximum and its cost, and/or the open-loop latency at an offered rate and its cost.
 *
 * @param maxRatePerSec     closed-loop requests/s (NaN: no closed loop ran).
 * @param closedLoop        CPU and allocation per request of the measured closed loop.
 * @param offeredRatePerSec open-loop requests/s offered (NaN: no open loop ran).
 * @param achievedPerSec    open-loop requests/s replied.
 * @param latency           open-loop CO-corrected latencies in nanoseconds, scheduled to reply (null: none).
 * @param openLoop          CPU and allocation per request of the measured open loop.
 */
public record Measurement(
    double maxRatePerSec,
    ResourceMeter.Usage closedLoop,
    double offeredRatePerSec,
    double achievedPerSec,
    Histogram latency,
    ResourceMeter.Usage openLoop)
{
}
