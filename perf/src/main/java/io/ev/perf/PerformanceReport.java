/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import io.ev.perf.cluster.ClusterBaseline;

/**
 * {@code bin/ev report}: the whole performance report in one command, one JVM, one machine. The same SmallBank
 * requests (seed 42), the same open-loop load generator method (CO-corrected) and the same offered rates for:
 * <ol>
 * <li>raw sequential: one thread straight on the store ({@link RawLoad});</li>
 * <li>the engine unreplicated, 1..N workers ({@link LoadGenerator});</li>
 * <li>the engine replicated: primary + backup over Aeron UDP on loopback, 1 worker each ({@link BackupReplica});
 * </li>
 * <li>Aeron Cluster: SmallBank as a clustered service, 3 members on loopback ({@link ClusterBaseline}).</li>
 * </ol>
 * First the closed-loop maximum of each (and of the engine with each worker count), then every system at the
 * same offered rate, {@code --percent} (default 50%) of the replicated engine's maximum, so that the latency
 * percentiles compare at the same offered load. CPU and heap allocation per request are metered over each
 * measured interval ({@link ResourceMeter}). Writes into {@code --out}: {@code results.json} (everything),
 * {@code report.md} (the tables, the targets, machine, JDK, command, date), {@code latency-<system>.hgrm}
 * (HdrHistogram percentile distributions, microseconds), {@code latency-percentiles.png} and
 * {@code throughput-vs-workers.png}. A header line per step and the tools' status line every second; a summary at
 * the end, with {@code --json} as one JSON object on stdout (status lines on stderr).
 */
public final class PerformanceReport
{
    /** Replicated engine over engine, 1 worker: the target. */
    static final double REPLICATED_TARGET = 0.85;
    /** Engine 1 worker over raw sequential: the target. */
    static final double ENGINE_TARGET = 0.8;
    /** What "zero allocation per request" tolerates: the meters' own snapshots and the status lines. */
    static final double ALLOCATION_TARGET_BYTES = 1.0;

    private PerformanceReport()
    {
    }

    /**
     * @param args see {@link Options#usage()}.
     * @throws IOException if the output cannot be written.
     */
    public static void main(final String[] args) throws IOException
    {
        final Options options = ToolOptions.parseOrExit("bin/ev report", Options.usage(), Options::parse, args);
        if (null == options)
        {
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final Report report = run(options, "bin/ev report" + (args.length == 0 ? "" : " " + String.join(" ", args)));
        if (options.json)
        {
            System.out.println(ReportWriter.json(report));
        }
        else
        {
            System.out.print(ReportWriter.summary(report));
        }
    }

    /**
     * Runs every system and writes the report's files.
     *
     * @param options parsed options.
     * @param command the command line, for the report.
     * @return what was measured.
     * @throws IOException if the output cannot be written.
     */
    static Report run(final Options options, final String command) throws IOException
    {
        final PrintStream progress = options.json ? System.err : System.out;
        final Report report = new Report(options, command, ZonedDateTime.now());
        Files.createDirectories(options.out);
        final List<Subject> subjects = subjects(options, progress);
        final int steps = options.rounds * subjects.size() +
            (int)subjects.stream().filter(s -> s.atCommonRate).count() + (options.overhead ? 1 : 0);
        int step = 0;
        for (int round = 0; round < options.rounds; round++)
        {
            for (int i = 0; i < subjects.size(); i++)
            {
                final Subject subject = subjects.get(round % 2 == 0 ? i : subjects.size() - 1 - i);
                progress.printf(Locale.ROOT, "%n[%d/%d] %s: closed-loop maximum, round %d of %d%n", ++step, steps,
                    subject.label, round + 1, options.rounds);
                subject.maxRounds.add(subject.load.apply("max"));
            }
        }
        for (final Subject subject : subjects)
        {
            subject.max = subject.medianRound();
            report.subjects.add(subject);
        }
        report.commonRatePerSec = Math.max(1, Math.floor(
            report.subject(Subject.REPLICATED).max.maxRatePerSec() * options.percent / 100.0));
        for (final Subject subject : subjects)
        {
            if (subject.atCommonRate)
            {
                progress.printf(Locale.ROOT, "%n[%d/%d] %s: open loop at %.0f requests/s (%.0f%% of the replicated " +
                    "engine's maximum)%n", ++step, steps, subject.label, report.commonRatePerSec, options.percent);
                subject.latency = subject.load.apply(String.format(Locale.ROOT, "%.0f", report.commonRatePerSec));
            }
        }
        if (options.overhead)
        {
            final ReplicationOverhead.Options overhead = overheadOptions(options);
            progress.printf(Locale.ROOT, "%n[%d/%d] replication overhead, one core per replica: a standalone node " +
                "vs a primary + backup, separate processes (bin/ev overhead), %d rounds, data directories under %s%n",
                ++step, steps, overhead.rounds, null == overhead.dir ? "the temp directory" : overhead.dir);
            try
            {
                report.overhead = ReplicationOverhead.run(overhead, progress);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("replication overhead interrupted", ex);
            }
        }
        ReportWriter.write(report);
        return report;
    }

    /**
     * @return {@code bin/ev overhead}'s options for the report: its rounds, the same customers, the default
     * sizes (3 x 10^6 requests measured after 4 x 10^6 of warm-up per run), no neighbour run.
     */
    static ReplicationOverhead.Options overheadOptions(final Options options)
    {
        final ReplicationOverhead.Options overhead = new ReplicationOverhead.Options();
        overhead.rounds = options.rounds;
        overhead.requests = 3_000_000;
        overhead.warmup = 4_000_000;
        overhead.accounts = options.accounts;
        overhead.neighbour = false;
        overhead.dir = options.overheadDir;
        return overhead;
    }

    private static List<Subject> subjects(final Options options, final PrintStream progress)
    {
        final List<Subject> subjects = new ArrayList<>();
        subjects.add(new Subject(Subject.RAW, "raw sequential (1 thread)", 1, true,
            rate -> RawLoad.run(LoadGenerator.Options.parse(engineArgs(options, rate, 1, 1)), progress)));
        for (int workers = 1; workers <= options.maxWorkers; workers++)
        {
            final int w = workers;
            subjects.add(new Subject(1 == w ? Subject.ENGINE : Subject.ENGINE + "-" + w,
                "engine, " + w + (1 == w ? " worker" : " workers"), w, 1 == w,
                rate -> LoadGenerator.run(LoadGenerator.Options.parse(engineArgs(options, rate, w, 1))).measurement()));
        }
        subjects.add(new Subject(Subject.REPLICATED, "engine replicated (primary + backup, UDP)", 1, true,
            rate -> LoadGenerator.run(LoadGenerator.Options.parse(engineArgs(options, rate, 1, 2))).measurement()));
        if (options.cluster)
        {
            subjects.add(new Subject(Subject.CLUSTER, "Aeron Cluster (3 members, UDP)", 1, true,
                rate -> ClusterBaseline.measure(commonArgs(options, rate).toArray(new String[0]))));
        }
        return subjects;
    }

    private static String[] engineArgs(final Options options, final String rate, final int workers, final int replicas)
    {
        final List<String> args = commonArgs(options, rate);
        args.addAll(List.of("--workers", Integer.toString(workers), "--replicas", Integer.toString(replicas),
            "--transport", "udp"));
        return args.toArray(new String[0]);
    }

    private static List<String> commonArgs(final Options options, final String rate)
    {
        final boolean max = "max".equals(rate);
        final List<String> args = new ArrayList<>(List.of("--rate", rate,
            "--seconds", Integer.toString(max ? options.maxSeconds : options.seconds),
            "--warmup-seconds", Integer.toString(options.warmupSeconds),
            "--accounts", Integer.toString(options.accounts), "--profile", options.profile));
        if (options.json)
        {
            args.add("--json");
        }
        return args;
    }

    /**
     * One system (or one worker count of the engine) of the report.
     */
    static final class Subject
    {
        static final String RAW = "raw";
        static final String ENGINE = "engine";
        static final String REPLICATED = "replicated";
        static final String CLUSTER = "aeron-cluster";

        final String key;
        final String label;
        final int workers;
        final boolean atCommonRate;
        final Function<String, Measurement> load;
        final List<Measurement> maxRounds = new ArrayList<>();
        Measurement max;
        Measurement latency;

        Subject(
            final String key,
            final String label,
            final int workers,
            final boolean atCommonRate,
            final Function<String, Measurement> load)
        {
            this.key = key;
            this.label = label;
            this.workers = workers;
            this.atCommonRate = atCommonRate;
            this.load = load;
        }

        /**
         * @return the round with the median closed-loop rate (the lower middle one of an even count).
         */
        Measurement medianRound()
        {
            final List<Measurement> sorted = new ArrayList<>(maxRounds);
            sorted.sort((a, b) -> Double.compare(a.maxRatePerSec(), b.maxRatePerSec()));
            return sorted.get((sorted.size() - 1) / 2);
        }

        /**
         * @param base another subject, measured in the same rounds.
         * @return the median over rounds of this subject's closed-loop rate over {@code base}'s in the same round.
         */
        double medianRatio(final Subject base)
        {
            final double[] ratios = new double[maxRounds.size()];
            for (int i = 0; i < ratios.length; i++)
            {
                ratios[i] = maxRounds.get(i).maxRatePerSec() / base.maxRounds.get(i).maxRatePerSec();
            }
            return ReplicationOverhead.median(ratios);
        }

        boolean isEngineSweep()
        {
            return key.startsWith(ENGINE);
        }
    }

    /**
     * Everything one run measured, with what it ran on.
     */
    static final class Report
    {
        final Options options;
        final String command;
        final ZonedDateTime date;
        final List<Subject> subjects = new ArrayList<>();
        final String loadAtStart = ReportWriter.load();
        double commonRatePerSec;
        ReplicationOverhead.Result overhead;

        Report(final Options options, final String command, final ZonedDateTime date)
        {
            this.options = options;
            this.command = command;
            this.date = date.truncatedTo(ChronoUnit.SECONDS);
        }

        /**
         * @return the subject with this key; null if it did not run.
         */
        Subject subject(final String key)
        {
            for (final Subject subject : subjects)
            {
                if (subject.key.equals(key))
                {
                    return subject;
                }
            }
            return null;
        }
    }

    /**
     * Command-line options; each error names the option and its allowed values.
     */
    static final class Options extends ToolOptions
    {
        static final int MAX_WORKERS = 16;

        Path out;
        int seconds = 20;
        int maxSeconds = 20;
        int rounds = 3;
        int warmupSeconds = 10;
        int accounts = 100_000;
        String profile = "uniform";
        int maxWorkers = Math.min(MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        double percent = 50;
        boolean cluster = true;
        boolean overhead = true;
        Path overheadDir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : null;
        boolean quick;

        static String usage()
        {
            return "usage: bin/ev report [--quick] [--out DIR] [--seconds S] [--max-seconds S] [--rounds R]\n" +
                "                     [--warmup-seconds W] [--accounts N] [--profile uniform|contended]\n" +
                "                     [--max-workers N] [--percent P]\n" +
                "                     [--cluster yes|no] [--overhead yes|no] [--overhead-dir DIR] [--json]\n" +
                "  raw sequential, the engine with 1..N workers, the engine replicated (primary + backup, UDP)\n" +
                "  and Aeron Cluster (3 members, UDP) under the same SmallBank load in this JVM: closed-loop\n" +
                "  maxima, then all at P% of the replicated engine's maximum (open loop, CO-corrected latency)\n" +
                "  --out DIR          where the report goes (default ev-report-<date>-<time>): results.json,\n" +
                "                     report.md, latency-*.hgrm, latency-percentiles.png, throughput-vs-workers.png\n" +
                "  --seconds S        measured seconds at the common rate (default 20)\n" +
                "  --max-seconds S    measured seconds of each closed-loop maximum (default 20)\n" +
                "  --rounds R         closed-loop maxima: R rounds over all systems, alternating order; the\n" +
                "                     median of each, ratios as the median of per-round ratios (default 3)\n" +
                "  --warmup-seconds W before each measurement (default 10)\n" +
                "  --accounts N       SmallBank customers (default 100000); --profile (default uniform)\n" +
                "  --max-workers N    the engine with 1..N workers (default: the cores, at most 16)\n" +
                "  --percent P        the common rate, % of the replicated engine's maximum (default 50)\n" +
                "  --cluster no       leave the Aeron Cluster baseline out (default yes)\n" +
                "  --overhead no      leave out the replication-overhead target's own setup (default yes): a\n" +
                "                     standalone node vs a primary + backup as separate processes pinned one core\n" +
                "                     per replica (bin/ev overhead, R rounds, 3 x 10^6 requests after 4 x 10^6)\n" +
                "  --overhead-dir DIR their data directories (default /dev/shm where it exists, like the\n" +
                "                     in-memory systems above; else the temp directory)\n" +
                "  --quick            a smoke test: 1,000 accounts, 1 s runs, 1 round, no warm-up, <= 2 workers,\n" +
                "                     no --overhead\n" +
                "                     (options after it override it)\n" +
                "  --json             summary as one JSON object on stdout (status lines go to stderr)";
        }

        /**
         * {@code --quick} takes no value: it sets the smoke-test sizes, which the options after it override.
         */
        static Options parse(final String[] args)
        {
            final Options options = new Options();
            final List<String> rest = new ArrayList<>();
            for (final String arg : args)
            {
                if ("--quick".equals(arg))
                {
                    options.quick = true;
                    options.seconds = 1;
                    options.maxSeconds = 1;
                    options.rounds = 1;
                    options.warmupSeconds = 0;
                    options.accounts = 1_000;
                    options.maxWorkers = Math.min(2, options.maxWorkers);
                    options.overhead = false;
                }
                else
                {
                    rest.add(arg);
                }
            }
            parse(options, rest.toArray(new String[0]));
            if (null == options.out)
            {
                options.out = Path.of("ev-report-" +
                    ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)));
            }
            require(!Files.exists(options.out) || Files.isDirectory(options.out),
                "--out " + options.out + " exists and is not a directory");
            return options;
        }

        @Override
        protected void set(final String option, final String value)
        {
            switch (option)
            {
                case "--out":
                    out = Path.of(value);
                    break;
                case "--seconds":
                    seconds = parseInt(option, value);
                    break;
                case "--max-seconds":
                    maxSeconds = parseInt(option, value);
                    break;
                case "--rounds":
                    rounds = parseInt(option, value);
                    break;
                case "--warmup-seconds":
                    warmupSeconds = parseInt(option, value);
                    break;
                case "--accounts":
                    accounts = parseInt(option, value);
                    break;
                case "--profile":
                    profile = value;
                    break;
                case "--max-workers":
                    maxWorkers = parseInt(option, value);
                    break;
                case "--percent":
                    percent = parsePercent(value);
                    break;
                case "--cluster":
                    require("yes".equals(value) || "no".equals(value), "--cluster " + value + " must be yes or no");
                    cluster = "yes".equals(value);
                    break;
                case "--overhead":
                    require("yes".equals(value) || "no".equals(value), "--overhead " + value + " must be yes or no");
                    overhead = "yes".equals(value);
                    break;
                case "--overhead-dir":
                    overheadDir = Path.of(value);
                    require(!Files.exists(overheadDir) || Files.isDirectory(overheadDir),
                        "--overhead-dir " + value + " is not a directory");
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + option);
            }
        }

        private static double parsePercent(final String value)
        {
            try
            {
                return Double.parseDouble(value.endsWith("%") ? value.substring(0, value.length() - 1) : value);
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("--percent " + value + " must be a number", ex);
            }
        }

        @Override
        protected void validate()
        {
            require(seconds >= 1 && seconds <= 3600, "--seconds " + seconds + " must be in [1, 3600]");
            require(maxSeconds >= 1 && maxSeconds <= 3600, "--max-seconds " + maxSeconds + " must be in [1, 3600]");
            require(rounds >= 1 && rounds <= 99, "--rounds " + rounds + " must be in [1, 99]");
            require(warmupSeconds >= 0 && warmupSeconds <= 600,
                "--warmup-seconds " + warmupSeconds + " must be in [0, 600]");
            require(accounts >= 2 && accounts <= 10_000_000, "--accounts " + accounts + " must be in [2, 10^7]");
            require("uniform".equals(profile) || "contended".equals(profile),
                "--profile " + profile + " must be uniform or contended");
            require(maxWorkers >= 1 && maxWorkers <= MAX_WORKERS,
                "--max-workers " + maxWorkers + " must be in [1, " + MAX_WORKERS + "]");
            require(percent > 0 && percent <= 100, "--percent " + percent + " must be in (0, 100]");
        }
    }
}
