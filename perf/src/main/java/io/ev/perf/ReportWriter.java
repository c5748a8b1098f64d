/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.HdrHistogram.Histogram;

/**
 * The files and the summary of {@code bin/ev report} ({@link PerformanceReport}): results.json, report.md (a
 * markdown fragment for docs/PERFORMANCE.md), one HdrHistogram percentile distribution per system and the two PNG
 * charts.
 */
final class ReportWriter
{
    static final String RESULTS_JSON = "results.json";
    static final String REPORT_MD = "report.md";
    static final String LATENCY_PNG = "latency-percentiles.png";
    static final String THROUGHPUT_PNG = "throughput-vs-workers.png";
    /** The percentile plot's x axis ends at 99.999% (5 nines) or where the data ends. */
    private static final double MAX_NINES = 5;

    private ReportWriter()
    {
    }

    static void write(final PerformanceReport.Report report) throws IOException
    {
        final Path out = report.options.out;
        Files.writeString(out.resolve(RESULTS_JSON), json(report) + "\n", StandardCharsets.UTF_8);
        for (final PerformanceReport.Subject subject : report.subjects)
        {
            if (null != subject.latency && null != subject.latency.latency())
            {
                try (PrintStream hgrm = new PrintStream(out.resolve("latency-" + subject.key + ".hgrm").toFile(),
                    StandardCharsets.UTF_8))
                {
                    subject.latency.latency().outputPercentileDistribution(hgrm, 1000.0);
                }
            }
        }
        latencyChart(report, out.resolve(LATENCY_PNG));
        throughputChart(report, out.resolve(THROUGHPUT_PNG));
        Files.writeString(out.resolve(REPORT_MD), markdown(report), StandardCharsets.UTF_8);
    }

    private static void latencyChart(final PerformanceReport.Report report, final Path file) throws IOException
    {
        final List<ChartWriter.Series> series = new ArrayList<>();
        for (final PerformanceReport.Subject subject : report.subjects)
        {
            final Histogram latency = null == subject.latency ? null : subject.latency.latency();
            if (null == latency || 0 == latency.getTotalCount())
            {
                continue;
            }
            final double lastNines = Math.min(MAX_NINES, Math.log10(latency.getTotalCount()));
            final int points = 200;
            final double[] x = new double[points + 1];
            final double[] y = new double[points + 1];
            for (int i = 0; i <= points; i++)
            {
                x[i] = lastNines * i / points;
                y[i] = latency.getValueAtPercentile(100.0 * (1 - Math.pow(10, -x[i]))) / 1e3;
            }
            series.add(new ChartWriter.Series(subject.label, x, y, false));
        }
        ChartWriter.write(file, String.format(Locale.ROOT,
            "Latency at %,.0f requests/s offered (open loop, CO-corrected), %s", report.commonRatePerSec,
            report.date.format(DateTimeFormatter.ISO_LOCAL_DATE)),
            "percentile", "latency, microseconds (log scale)", ReportWriter::percentileLabel, true, true, series);
    }

    private static String percentileLabel(final double nines)
    {
        if (nines < 0.5)
        {
            return "0%";
        }
        final String percent = String.format(Locale.ROOT, "%." + Math.max(0, (int)Math.round(nines) - 2) + "f",
            100.0 * (1 - Math.pow(10, -nines)));
        return percent + "%";
    }

    private static void throughputChart(final PerformanceReport.Report report, final Path file) throws IOException
    {
        final List<PerformanceReport.Subject> sweep = new ArrayList<>();
        for (final PerformanceReport.Subject subject : report.subjects)
        {
            if (subject.isEngineSweep())
            {
                sweep.add(subject);
            }
        }
        final double[] workers = new double[sweep.size()];
        final double[] rates = new double[sweep.size()];
        for (int i = 0; i < sweep.size(); i++)
        {
            workers[i] = sweep.get(i).workers;
            rates[i] = sweep.get(i).max.maxRatePerSec();
        }
        final double[] span = {1, Math.max(2, report.options.maxWorkers)};
        final List<ChartWriter.Series> series = new ArrayList<>();
        series.add(new ChartWriter.Series("engine, unreplicated", workers, rates, false));
        for (final String key : new String[] {PerformanceReport.Subject.RAW, PerformanceReport.Subject.REPLICATED,
            PerformanceReport.Subject.CLUSTER})
        {
            final PerformanceReport.Subject subject = report.subject(key);
            if (null != subject)
            {
                final double rate = subject.max.maxRatePerSec();
                series.add(new ChartWriter.Series(subject.label, span, new double[] {rate, rate}, true));
            }
        }
        ChartWriter.write(file, String.format(Locale.ROOT, "Closed-loop throughput vs engine workers (%d CPUs), %s",
            Runtime.getRuntime().availableProcessors(), report.date.format(DateTimeFormatter.ISO_LOCAL_DATE)),
            "engine workers", "requests/s", x -> Integer.toString((int)Math.round(x)), false, false, series);
    }

    /**
     * @return the report as one JSON object: the run's settings and machine, every measurement, the targets.
     */
    static String json(final PerformanceReport.Report report)
    {
        final PerformanceReport.Options options = report.options;
        final StringBuilder json = new StringBuilder(4096);
        json.append(String.format(Locale.ROOT,
            "{\"date\":\"%s\",\"command\":%s,\"machine\":%s,\"atStart\":%s,\"jdk\":%s,\"jvmOptions\":%s," +
            "\"accounts\":%d,\"profile\":\"%s\",\"seconds\":%d,\"maxSeconds\":%d," +
            "\"warmupSeconds\":%d,\"percent\":%.1f,\"commonRatePerSec\":%.1f,\"systems\":[",
            report.date.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME), quote(report.command), quote(machine()),
            quote(report.loadAtStart), quote(jdk()),
            quote(String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments())),
            options.accounts, options.profile, options.seconds, options.maxSeconds, options.warmupSeconds,
            options.percent, report.commonRatePerSec));
        for (int i = 0; i < report.subjects.size(); i++)
        {
            final PerformanceReport.Subject subject = report.subjects.get(i);
            json.append(0 == i ? "" : ",").append(String.format(Locale.ROOT,
                "{\"system\":\"%s\",\"label\":%s,\"workers\":%d,\"maxRatePerSec\":%.1f,\"maxRatesPerSec\":%s," +
                "\"closedLoop\":{%s}", subject.key, quote(subject.label), subject.workers, subject.max.maxRatePerSec(),
                subject.maxRounds.stream().map(m -> String.format(Locale.ROOT, "%.1f", m.maxRatePerSec()))
                    .collect(Collectors.joining(",", "[", "]")), subject.max.closedLoop().jsonFields()));
            if (null != subject.latency)
            {
                json.append(String.format(Locale.ROOT,
                    ",\"offeredRatePerSec\":%.1f,\"achievedPerSec\":%.1f,\"openLoop\":{%s},\"latencyNs\":%s",
                    subject.latency.offeredRatePerSec(), subject.latency.achievedPerSec(),
                    subject.latency.openLoop().jsonFields(), ToolOptions.latencyJson(subject.latency.latency())));
            }
            json.append('}');
        }
        json.append(']');
        if (null != report.overhead)
        {
            final ReplicationOverhead.Result overhead = report.overhead;
            json.append(String.format(Locale.ROOT, ",\"overhead\":{\"pinned\":%b,\"dataDirectories\":%s," +
                "\"standalonePerSec\":%s,\"replicatedPerSec\":%s,\"ratios\":%s,\"medianRatio\":%.4f}",
                overhead.pinned, quote(overhead.dir.toString()), Arrays.toString(overhead.standalone),
                Arrays.toString(overhead.replicated), Arrays.toString(overhead.ratios),
                overhead.medianRatio()));
        }
        json.append(",\"targets\":[");
        final List<Target> targets = Target.evaluate(report);
        for (int i = 0; i < targets.size(); i++)
        {
            final Target target = targets.get(i);
            json.append(0 == i ? "" : ",").append(String.format(Locale.ROOT,
                "{\"target\":%s,\"measured\":%s,\"met\":%s}", quote(target.name()), quote(target.measured()),
                null == target.met() ? "null" : target.met().toString()));
        }
        return json.append("]}").toString();
    }

    /**
     * @return the text summary: the markdown tables, which read as text too.
     */
    static String summary(final PerformanceReport.Report report)
    {
        return String.format(Locale.ROOT, "%n== summary (files in %s) ==%n%n", report.options.out) + tables(report);
    }

    private static String markdown(final PerformanceReport.Report report)
    {
        final PerformanceReport.Options options = report.options;
        final StringBuilder md = new StringBuilder(4096);
        md.append(String.format(Locale.ROOT, "### Report of %s%n%n",
            report.date.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)));
        md.append(String.format(Locale.ROOT, "* Machine: %s; at the start: %s; at the end: %s%n* JDK: %s%n" +
            "* JVM options: `%s`%n* Command: `%s`%n", machine(), report.loadAtStart, load(), jdk(),
            String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()), report.command));
        md.append(String.format(Locale.ROOT, "* Workload: SmallBank, %,d customers, %s profile, the same 65,536 " +
            "requests (seed 42) for every system; each closed-loop maximum %d s after %d s warm-up, %d rounds over " +
            "all systems in alternating order; then every " +
            "system open-loop at %,.0f requests/s (%.0f%% of the replicated engine's maximum) for %d s after %d s " +
            "warm-up. Latency: CO-corrected, scheduled time to reply (raw: to the batch's commit). CPU: process " +
            "CPU time over the measured interval per request; allocation: heap bytes allocated by all threads over " +
            "the measured interval per request.%n%n", options.accounts, options.profile, options.maxSeconds,
            options.warmupSeconds, options.rounds, report.commonRatePerSec, options.percent, options.seconds,
            options.warmupSeconds));
        md.append(tables(report));
        md.append(String.format(Locale.ROOT, "%n![latency percentiles](%s)%n%n![throughput vs workers](%s)%n",
            LATENCY_PNG, THROUGHPUT_PNG));
        return md.toString();
    }

    private static String tables(final PerformanceReport.Report report)
    {
        final StringBuilder md = new StringBuilder(4096);
        final PerformanceReport.Subject raw = report.subject(PerformanceReport.Subject.RAW);
        final PerformanceReport.Subject engine = report.subject(PerformanceReport.Subject.ENGINE);
        final PerformanceReport.Subject replicated = report.subject(PerformanceReport.Subject.REPLICATED);
        final PerformanceReport.Subject cluster = report.subject(PerformanceReport.Subject.CLUSTER);
        md.append(String.format(Locale.ROOT, "#### Throughput (closed loop, median of %d rounds; ratios: median of " +
            "the per-round ratios)%n%n| system | requests/s | rounds | vs raw | vs engine 1 worker | vs replicated | " +
            "vs Aeron Cluster | CPU us/request | allocated B/request |%n" +
            "|---|---:|---|---:|---:|---:|---:|---:|---:|%n", report.options.rounds));
        for (final PerformanceReport.Subject subject : report.subjects)
        {
            final double rate = subject.max.maxRatePerSec();
            md.append(String.format(Locale.ROOT, "| %s | %,.0f | %s | %s | %s | %s | %s | %.2f | %.1f |%n",
                subject.label, rate, subject.maxRounds.stream().map(m -> ChartWriter.number(m.maxRatePerSec()))
                    .collect(Collectors.joining(" ")), ratio(subject, raw), ratio(subject, engine),
                ratio(subject, replicated), ratio(subject, cluster),
                subject.max.closedLoop().cpuNsPerRequest() / 1e3, subject.max.closedLoop().allocatedBytesPerRequest()));
        }
        md.append(String.format(Locale.ROOT, "%n#### Latency at %,.0f requests/s offered (open loop, CO-corrected)%n%n",
            report.commonRatePerSec));
        md.append("| system | achieved/s | p50 us | p90 us | p99 us | p99.9 us | max us | p99 vs replicated | " +
            "CPU us/request | allocated B/request |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (final PerformanceReport.Subject subject : report.subjects)
        {
            if (null == subject.latency)
            {
                continue;
            }
            final Histogram latency = subject.latency.latency();
            final Histogram replicatedLatency = null == replicated ? null : replicated.latency.latency();
            md.append(String.format(Locale.ROOT,
                "| %s | %,.0f | %,.1f | %,.1f | %,.1f | %,.1f | %,.1f | %s | %.2f | %.1f |%n", subject.label,
                subject.latency.achievedPerSec(), latency.getValueAtPercentile(50) / 1e3,
                latency.getValueAtPercentile(90) / 1e3, latency.getValueAtPercentile(99) / 1e3,
                latency.getValueAtPercentile(99.9) / 1e3, latency.getMaxValue() / 1e3,
                null == replicatedLatency ? "-" : String.format(Locale.ROOT, "%.2f",
                    (double)latency.getValueAtPercentile(99) / replicatedLatency.getValueAtPercentile(99)),
                subject.latency.openLoop().cpuNsPerRequest() / 1e3,
                subject.latency.openLoop().allocatedBytesPerRequest()));
        }
        final ReplicationOverhead.Result overhead = report.overhead;
        if (null != overhead)
        {
            md.append(String.format(Locale.ROOT, "%n#### Replication overhead, one core per replica (separate " +
                "processes, %s; data directories under %s)%n%n| round | standalone req/s | replicated req/s | " +
                "ratio |%n|---|---:|---:|---:|%n", overhead.pinned ? "taskset: standalone and primary on CPU 0, " +
                "backup on CPU 1" : "UNPINNED: no taskset or < 2 CPUs", overhead.dir));
            for (int round = 0; round < overhead.ratios.length; round++)
            {
                md.append(String.format(Locale.ROOT, "| %d | %,.0f | %,.0f | %.3f |%n", round + 1,
                    overhead.standalone[round], overhead.replicated[round], overhead.ratios[round]));
            }
            md.append(String.format(Locale.ROOT, "| **median** | %,.0f | %,.0f | **%.3f** |%n",
                ReplicationOverhead.median(overhead.standalone), ReplicationOverhead.median(overhead.replicated),
                overhead.medianRatio()));
        }
        md.append("\n#### Targets\n\n| target | measured | met |\n|---|---|---|\n");
        for (final Target target : Target.evaluate(report))
        {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", target.name(), target.measured(),
                null == target.met() ? "n/a" : target.met() ? "yes" : "**no**"));
        }
        return md.toString();
    }

    private static String ratio(final PerformanceReport.Subject subject, final PerformanceReport.Subject base)
    {
        return null == base ? "-" : String.format(Locale.ROOT, "%.2f", subject.medianRatio(base));
    }

    /**
     * @return CPU model, CPUs, memory, OS, load average now.
     */
    static String machine()
    {
        String model = "unknown CPU";
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8))
            {
                if (line.startsWith("model name"))
                {
                    model = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        }
        catch (final IOException ex)
        {
            model = "unknown CPU (" + ex.getMessage() + ")";
        }
        final java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        final long memoryBytes = os instanceof com.sun.management.OperatingSystemMXBean ?
            ((com.sun.management.OperatingSystemMXBean)os).getTotalMemorySize() : -1;
        return String.format(Locale.ROOT, "%s, %d CPUs, %.1f GiB, %s %s %s", model,
            Runtime.getRuntime().availableProcessors(), memoryBytes / (double)(1L << 30), os.getName(),
            os.getVersion(), os.getArch());
    }

    /**
     * @return how busy the machine is and how this process runs: the load average, this process's nice value.
     */
    static String load()
    {
        String nice = "unknown";
        try
        {
            final String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.UTF_8);
            nice = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]; // field 19 of proc(5)
        }
        catch (final IOException | RuntimeException ex)
        {
            nice = "unknown (" + ex.getMessage() + ")";
        }
        return String.format(Locale.ROOT, "load average %.2f, this JVM at nice %s",
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), nice);
    }

    static String jdk()
    {
        return System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " (" +
            System.getProperty("java.vm.vendor") + ")";
    }

    static String quote(final String text)
    {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /**
     * One of the targets, evaluated on one report.
     *
     * @param name     the target.
     * @param measured what this report measured.
     * @param met      whether it is met; null where a system it needs did not run.
     */
    record Target(String name, String measured, Boolean met)
    {
        static List<Target> evaluate(final PerformanceReport.Report report)
        {
            final PerformanceReport.Subject raw = report.subject(PerformanceReport.Subject.RAW);
            final PerformanceReport.Subject engine = report.subject(PerformanceReport.Subject.ENGINE);
            final PerformanceReport.Subject replicated = report.subject(PerformanceReport.Subject.REPLICATED);
            final PerformanceReport.Subject cluster = report.subject(PerformanceReport.Subject.CLUSTER);
            final List<Target> targets = new ArrayList<>();
            final double engineRatio = engine.medianRatio(raw);
            targets.add(new Target(String.format(Locale.ROOT, "engine, 1 worker >= %.2f x raw sequential",
                PerformanceReport.ENGINE_TARGET), String.format(Locale.ROOT, "%.3f", engineRatio),
                engineRatio >= PerformanceReport.ENGINE_TARGET));
            final ReplicationOverhead.Result overhead = report.overhead;
            if (null != overhead)
            {
                final double ratio = overhead.medianRatio();
                targets.add(new Target(String.format(Locale.ROOT, "replicated >= %.2f x standalone, one core per " +
                    "replica (separate processes%s, journals under %s)", PerformanceReport.REPLICATED_TARGET,
                    overhead.pinned ? ", taskset" : ", NOT pinned", overhead.dir),
                    String.format(Locale.ROOT, "%.3f (median; rounds: %d)", ratio, overhead.ratios.length),
                    overhead.pinned ? ratio >= PerformanceReport.REPLICATED_TARGET : null));
            }
            final double replicatedRatio = replicated.medianRatio(engine);
            targets.add(new Target(String.format(Locale.ROOT, "replicated >= %.2f x standalone (1 worker; " +
                "in one process, NOT one core per replica%s)", PerformanceReport.REPLICATED_TARGET,
                null != overhead ? ": for information, the row above is the target's setup" : ": see bin/ev overhead"),
                String.format(Locale.ROOT, "%.3f", replicatedRatio),
                null != overhead ? null : replicatedRatio >= PerformanceReport.REPLICATED_TARGET));
            if (null == cluster)
            {
                targets.add(new Target("replicated p99 < Aeron Cluster p99 at the same offered load",
                    "Aeron Cluster not run", null));
            }
            else
            {
                final long replicatedP99 = replicated.latency.latency().getValueAtPercentile(99);
                final long clusterP99 = cluster.latency.latency().getValueAtPercentile(99);
                targets.add(new Target(String.format(Locale.ROOT,
                    "replicated p99 < Aeron Cluster p99 at %,.0f requests/s", report.commonRatePerSec),
                    String.format(Locale.ROOT, "%,.1f us vs %,.1f us (%.2f x)", replicatedP99 / 1e3, clusterP99 / 1e3,
                        (double)replicatedP99 / clusterP99), replicatedP99 < clusterP99));
            }
            for (final PerformanceReport.Subject subject : new PerformanceReport.Subject[] {engine, replicated})
            {
                final double bytes = subject.max.closedLoop().allocatedBytesPerRequest();
                targets.add(new Target(String.format(Locale.ROOT,
                    "zero allocation per request in steady state, %s (<= %.0f B/request, closed loop, all threads)",
                    subject.label, PerformanceReport.ALLOCATION_TARGET_BYTES),
                    String.format(Locale.ROOT, "%.1f B/request", bytes),
                    Double.isNaN(bytes) ? null : bytes <= PerformanceReport.ALLOCATION_TARGET_BYTES));
            }
            return targets;
        }
    }
}
