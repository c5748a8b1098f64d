/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.PrintStream;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code bin/ev bench --rate R[,R2,...]}: the open-loop load generator ({@link LoadGenerator}, the same engine,
 * options and coordinated-omission-corrected HdrHistogram latency as {@code bin/ev load}) at each of several
 * fixed rates in turn, then one summary table (or, with {@code --json}, one JSON object holding every run's
 * {@code bin/ev load --json} summary). Each rate is a run of its own: a fresh engine, its own warm-up, its own
 * measured seconds, so the rates do not inherit each other's queues. Every option but {@code --rate} is passed
 * to each run as given; all of them are checked, for every rate, before the first run starts.
 * <p>
 * Progress: a header line per rate, then the load generator's status line every second (offered and replied
 * rate, p99 and max of the last second, outstanding requests), on stdout, or on stderr with {@code --json}.
 */
public final class RateSweep
{
    /** Most rates in one sweep. */
    static final int MAX_RATES = 32;

    private RateSweep()
    {
    }

    /**
     * @param args see {@link #usage()}.
     */
    public static void main(final String[] args)
    {
        final Sweep sweep;
        try
        {
            sweep = parse(args);
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("bin/ev bench: " + ex.getMessage());
            System.err.println(usage());
            System.exit(2);
            return;
        }
        if (null == sweep)
        {
            System.out.println(usage());
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final List<LoadGenerator.Result> results = run(sweep, sweep.json ? System.err : System.out);
        if (sweep.json)
        {
            System.out.println(json(sweep, results, "bin/ev bench " + String.join(" ", args)));
        }
        else
        {
            print(sweep, results, System.out);
        }
    }

    static String usage()
    {
        return "usage: bin/ev bench --rate R[,R2,...] [--seconds S] [--warmup-seconds W] [--workers N]\n" +
            "                    [--replicas 1|2] [--transport udp|ipc] [--json] [any other bin/ev load option]\n" +
            "       bin/ev bench jmh [JMH options] [benchmark regex]\n" +
            "       (a JMH option, which has one dash, or a benchmark regex first also runs the JMH suite)\n" +
            "  --rate R,R2,... open-loop load at each rate in turn (requests/s; an entry may also be P% of the\n" +
            "                  probed closed-loop maximum, or max), a fresh engine per rate, CO-corrected\n" +
            "                  latency (HdrHistogram: scheduled time to reply); at most " + MAX_RATES + " rates\n" +
            "  other options, as bin/ev load's, applied to every rate:\n" +
            LoadGenerator.Options.usage().substring(LoadGenerator.Options.usage().indexOf("  --seconds"));
    }

    /**
     * @param args the command line.
     * @return the sweep, or null for {@code --help}.
     * @throws IllegalArgumentException naming the bad option or rate.
     */
    static Sweep parse(final String[] args)
    {
        String rates = null;
        final List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++)
        {
            if ("--rate".equals(args[i]))
            {
                if (i + 1 >= args.length)
                {
                    throw new IllegalArgumentException("--rate needs a value: R[,R2,...] requests/s");
                }
                if (null != rates)
                {
                    throw new IllegalArgumentException("--rate given twice: list the rates in one --rate R,R2,...");
                }
                rates = args[++i];
            }
            else
            {
                rest.add(args[i]);
            }
        }
        if (rest.contains("--help") || rest.contains("-h"))
        {
            return null;
        }
        if (null == rates)
        {
            // an unknown or bad other option is the first thing to say
            final List<String> check = new ArrayList<>(rest);
            check.add("--rate");
            check.add("1");
            LoadGenerator.Options.parse(check.toArray(new String[0]));
            throw new IllegalArgumentException("--rate R[,R2,...] is required (or run the JMH suite: bin/ev bench " +
                "jmh [JMH options])");
        }
        final String[] list = rates.split(",", -1);
        if (list.length > MAX_RATES)
        {
            throw new IllegalArgumentException("--rate " + rates + " lists " + list.length + " rates, at most " +
                MAX_RATES);
        }
        final Sweep sweep = new Sweep();
        for (final String rate : list)
        {
            if (rate.isBlank())
            {
                throw new IllegalArgumentException("--rate " + rates + " has an empty entry");
            }
            final List<String> runArgs = new ArrayList<>(rest);
            runArgs.add("--rate");
            runArgs.add(rate.trim());
            sweep.runs.add(LoadGenerator.Options.parse(runArgs.toArray(new String[0])));
        }
        sweep.json = sweep.runs.get(0).json();
        return sweep;
    }

    /**
     * Runs every rate in turn.
     *
     * @param sweep    the parsed sweep.
     * @param progress where the header and status lines go.
     * @return one result per rate, in order.
     */
    static List<LoadGenerator.Result> run(final Sweep sweep, final PrintStream progress)
    {
        final List<LoadGenerator.Result> results = new ArrayList<>();
        for (int i = 0; i < sweep.runs.size(); i++)
        {
            final LoadGenerator.Options options = sweep.runs.get(i);
            progress.printf(Locale.ROOT, "== rate %d of %d: --rate %s, %d worker(s), %d replica(s), %d s " +
                "(+%d s warm-up) ==%n", i + 1, sweep.runs.size(), options.rateText, options.workers,
                options.replicas, options.seconds, options.warmupSeconds);
            final LoadGenerator.Result result = LoadGenerator.run(options);
            progress.printf(Locale.ROOT, "rate %s: achieved %.0f requests/s%s%n", options.rateText,
                result.achievedPerSec, null == result.latency ? "" : ", " + ToolOptions.percentilesUs(result.latency));
            results.add(result);
        }
        return results;
    }

    static void print(final Sweep sweep, final List<LoadGenerator.Result> results, final PrintStream out)
    {
        final LoadGenerator.Options first = sweep.runs.get(0);
        out.printf(Locale.ROOT, "%n== summary: open loop, CO-corrected latency (scheduled time to reply), " +
            "%d worker(s), %d replica(s), %d s per rate ==%n", first.workers, first.replicas, first.seconds);
        out.printf(Locale.ROOT, "%10s %12s %12s %10s %10s %10s %10s %10s %8s %8s%n", "rate", "offered/s",
            "achieved/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "late", "rejected");
        for (int i = 0; i < results.size(); i++)
        {
            final LoadGenerator.Result result = results.get(i);
            final String rate = sweep.runs.get(i).rateText;
            if (null == result.latency)
            {
                out.printf(Locale.ROOT, "%10s %12s %12.0f %s%n", rate, "closed loop", result.achievedPerSec,
                    "(--rate max: throughput only, latency not CO-corrected)");
                continue;
            }
            out.printf(Locale.ROOT, "%10s %12.0f %12.0f %10.1f %10.1f %10.1f %10.1f %10.1f %8d %8d%n", rate,
                result.offeredRatePerSec, result.achievedPerSec, result.latency.getValueAtPercentile(50) / 1e3,
                result.latency.getValueAtPercentile(90) / 1e3, result.latency.getValueAtPercentile(99) / 1e3,
                result.latency.getValueAtPercentile(99.9) / 1e3, result.latency.getMaxValue() / 1e3,
                result.lateSubmits, result.rejected);
        }
        out.println("achieved below offered: the system is saturated at that rate and its percentiles measure a " +
            "queue; \"late\": measured requests the client submitted more than one period late (charged to them)");
    }

    static String json(final Sweep sweep, final List<LoadGenerator.Result> results, final String command)
    {
        final StringBuilder json = new StringBuilder(1024);
        json.append("{\"date\":").append(ReportWriter.quote(
            ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)))
            .append(",\"command\":").append(ReportWriter.quote(command))
            .append(",\"machine\":").append(ReportWriter.quote(ReportWriter.machine()))
            .append(",\"jdk\":").append(ReportWriter.quote(ReportWriter.jdk()))
            .append(",\"atEnd\":").append(ReportWriter.quote(ReportWriter.load()))
            .append(",\"runs\":[");
        for (int i = 0; i < results.size(); i++)
        {
            json.append(0 == i ? "" : ",").append(results.get(i).toJson(sweep.runs.get(i)));
        }
        return json.append("]}").toString();
    }

    /**
     * The parsed command line: the load generator's options of each rate, in order.
     */
    static final class Sweep
    {
        final List<LoadGenerator.Options> runs = new ArrayList<>();
        boolean json;
    }
}
