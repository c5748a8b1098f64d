/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/ev overhead}: the throughput cost of replication with one core per replica. Each round
 * runs, in alternating order, (a) a standalone {@code bin/ev node} pinned to core 0 and (b) a primary
 * pinned to core 0 with its backup pinned to core 1, linked over Aeron UDP on loopback; both drive
 * the same SmallBank requests (same seed, closed loop, one worker, journal on) and report the
 * throughput of the drive phase. The ratio replicated / standalone is taken per round (the two runs
 * of a round are next to each other in time, on a noisy host) and the median over rounds is the
 * result. Pinning uses {@code taskset}; without it (or with fewer than 2 CPUs) the runs are unpinned
 * and the summary says so. A status line per run, a summary, {@code --json}.
 * <p>
 * A third run per round (unless {@code --neighbour false}) measures what the replicated pair cannot avoid
 * on the host: two standalone nodes at once, pinned to cores 0 and 1, the one on core 0 reported.
 * Two busy cores share the last-level cache and memory bandwidth (and on a VM perhaps a physical
 * core), so each runs slower than alone; replicated / that is the cost of replication itself, and
 * that / standalone the host's ceiling for any one-core-per-replica ratio.
 */
public final class ReplicationOverhead
{
    private static final Pattern DRIVE_THROUGHPUT = Pattern.compile("\"driveThroughputPerSec\":([0-9.]+)");
    private static final Pattern ALONE = Pattern.compile("\"committedAlone\":([0-9]+)");

    private ReplicationOverhead()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Options options = ToolOptions.parseOrExit("bin/ev overhead", Options.usage(), Options::parse, args);
        if (null == options)
        {
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final Result result = run(options, options.json ? System.err : System.out);
        final double median = result.medianRatio();
        final String neighbourJson = !options.neighbour ? "" : String.format(Locale.ROOT,
            ",\"standaloneBesideNeighbourPerSec\":%s,\"ratiosToStandaloneBesideNeighbour\":%s," +
            "\"medianRatioToStandaloneBesideNeighbour\":%.4f,\"medianHostCeiling\":%.4f",
            Arrays.toString(result.neighboured), Arrays.toString(result.neighbourRatios),
            median(result.neighbourRatios), median(ceilings(result.neighboured, result.standalone)));
        if (options.json)
        {
            System.out.printf(Locale.ROOT, "{\"rounds\":%d,\"requests\":%d,\"warmup\":%d,\"window\":%d," +
                "\"inFlight\":%d,\"mtu\":%d,\"accounts\":%d,\"pinned\":%b,\"dataDirectories\":\"%s\"," +
                "\"standalonePerSec\":%s,\"replicatedPerSec\":%s,\"ratios\":%s,\"medianRatio\":%.4f%s}%n",
                options.rounds, options.requests, options.warmup, options.window, options.inFlight,
                options.mtu, options.accounts, result.pinned, result.dir, Arrays.toString(result.standalone),
                Arrays.toString(result.replicated), Arrays.toString(result.ratios), median, neighbourJson);
        }
        else
        {
            System.out.printf(Locale.ROOT, "%n== summary ==%nreplicated / standalone throughput, %s, %d rounds: " +
                "median %.3f (per round %s)%nsteady state: %d requests per run after %d warm-up requests, window %d, " +
                "%d batches in flight, data directories under %s%nstandalone median %.0f requests/s, " +
                "replicated median %.0f requests/s%n",
                result.pinned ? "one core per replica (taskset)" : "UNPINNED (no taskset or < 2 CPUs)", options.rounds,
                median, Arrays.toString(result.ratios), options.requests, options.warmup, options.window,
                options.inFlight, result.dir, median(result.standalone), median(result.replicated));
            if (options.neighbour)
            {
                System.out.printf(Locale.ROOT, "standalone beside a neighbour on the other core: median %.0f " +
                    "requests/s, host ceiling (it / standalone alone) median %.3f; replicated / it: median %.3f " +
                    "(per round %s)%n", median(result.neighboured),
                    median(ceilings(result.neighboured, result.standalone)), median(result.neighbourRatios),
                    Arrays.toString(result.neighbourRatios));
            }
        }
    }

    /**
     * Runs the rounds, printing a status line per run to {@code progress}.
     *
     * @return every round's throughputs and ratios.
     * @throws IOException          if a node cannot be started or its data directory not made.
     * @throws InterruptedException if interrupted while a node runs.
     */
    static Result run(final Options options, final PrintStream progress)
        throws IOException, InterruptedException
    {
        final boolean pinned = Files.isExecutable(Path.of("/usr/bin/taskset")) &&
            Runtime.getRuntime().availableProcessors() >= 2;
        final Path work = null == options.dir ? Files.createTempDirectory("ev-overhead") :
            Files.createTempDirectory(Files.createDirectories(options.dir), "ev-overhead");
        final double[] standalone = new double[options.rounds];
        final double[] replicated = new double[options.rounds];
        final double[] ratios = new double[options.rounds];
        final double[] neighboured = new double[options.neighbour ? options.rounds : 0];
        final double[] neighbourRatios = new double[neighboured.length];
        try
        {
            for (int round = 0; round < options.rounds; round++)
            {
                final boolean standaloneFirst = round % 2 == 0;
                for (int leg = 0; leg < 2; leg++)
                {
                    final boolean isStandalone = (leg == 0) == standaloneFirst;
                    final Path dir = work.resolve((isStandalone ? "s" : "r") + round);
                    final double throughput = isStandalone ?
                        standalone(options, pinned, dir) : replicated(options, pinned, dir);
                    (isStandalone ? standalone : replicated)[round] = throughput;
                    progress.printf(Locale.ROOT, "round %d %-10s %.0f requests/s%n", round + 1,
                        isStandalone ? "standalone" : "replicated", throughput);
                    progress.flush();
                }
                ratios[round] = replicated[round] / standalone[round];
                progress.printf(Locale.ROOT, "round %d ratio replicated/standalone %.3f%n", round + 1, ratios[round]);
                if (options.neighbour)
                {
                    neighboured[round] = neighboured(options, pinned, work.resolve("n" + round));
                    neighbourRatios[round] = replicated[round] / neighboured[round];
                    progress.printf(Locale.ROOT, "round %d standalone beside a neighbour %.0f requests/s " +
                        "(%.3f of alone); replicated / it %.3f%n", round + 1, neighboured[round],
                        neighboured[round] / standalone[round], neighbourRatios[round]);
                }
                progress.flush();
            }
        }
        finally
        {
            deleteRecursively(work);
        }
        return new Result(pinned, work.getParent(), standalone, replicated, ratios, neighboured, neighbourRatios);
    }

    /**
     * What the rounds measured.
     */
    static final class Result
    {
        final boolean pinned;
        final Path dir;
        final double[] standalone;
        final double[] replicated;
        final double[] ratios;
        final double[] neighboured;
        final double[] neighbourRatios;

        Result(
            final boolean pinned,
            final Path dir,
            final double[] standalone,
            final double[] replicated,
            final double[] ratios,
            final double[] neighboured,
            final double[] neighbourRatios)
        {
            this.pinned = pinned;
            this.dir = dir;
            this.standalone = standalone;
            this.replicated = replicated;
            this.ratios = ratios;
            this.neighboured = neighboured;
            this.neighbourRatios = neighbourRatios;
        }

        double medianRatio()
        {
            return median(ratios);
        }
    }

    private static double[] ceilings(final double[] neighboured, final double[] standalone)
    {
        final double[] ceilings = new double[neighboured.length];
        for (int i = 0; i < ceilings.length; i++)
        {
            ceilings[i] = neighboured[i] / standalone[i];
        }
        return ceilings;
    }

    private static double standalone(final Options options, final boolean pinned, final Path dir)
        throws IOException, InterruptedException
    {
        final Process process = node(options, pinned, "0", dir, "--role", "standalone", "--drive", "smallbank",
            "--requests", Long.toString(options.warmup + options.requests), "--warmup", Long.toString(options.warmup),
            "--window", Integer.toString(options.window), "--json");
        return throughput(process, "standalone");
    }

    /**
     * Two standalone nodes at once, on cores 0 and 1, each driving its own SmallBank requests.
     *
     * @return the throughput of the one on core 0.
     */
    private static double neighboured(final Options options, final boolean pinned, final Path dir)
        throws IOException, InterruptedException
    {
        final String[] args = {"--role", "standalone", "--drive", "smallbank", "--requests",
            Long.toString(options.warmup + options.requests), "--warmup", Long.toString(options.warmup),
            "--window", Integer.toString(options.window), "--json"};
        final Process neighbour = node(options, pinned, "1", dir.resolve("neighbour"), args);
        try
        {
            final Process measured = node(options, pinned, "0", dir.resolve("measured"), args);
            final double throughput = throughput(measured, "standalone beside a neighbour");
            throughput(neighbour, "the neighbour standalone");
            return throughput;
        }
        finally
        {
            neighbour.destroyForcibly();
        }
    }

    private static double replicated(final Options options, final boolean pinned, final Path dir)
        throws IOException, InterruptedException
    {
        final String primaryEndpoint = "127.0.0.1:" + freeUdpPort();
        final String backupEndpoint = "127.0.0.1:" + freeUdpPort();
        final Process backup = node(options, pinned, "1", dir.resolve("backup"), "--role", "backup", "--listen",
            backupEndpoint, "--peer", primaryEndpoint, "--peer-timeout-ms", "10000", "--in-flight",
            Integer.toString(options.inFlight), "--mtu", Integer.toString(options.mtu));
        try
        {
            final Process primary = node(options, pinned, "0", dir.resolve("primary"), "--role", "primary", "--listen",
                primaryEndpoint, "--peer", backupEndpoint, "--peer-timeout-ms", "10000", "--in-flight",
                Integer.toString(options.inFlight), "--mtu", Integer.toString(options.mtu), "--drive", "smallbank",
                "--requests",
                Long.toString(options.warmup + options.requests), "--warmup", Long.toString(options.warmup),
                "--window", Integer.toString(options.window), "--json");
            return throughput(primary, "replicated primary");
        }
        finally
        {
            backup.destroy();
            backup.waitFor(60, TimeUnit.SECONDS);
            backup.destroyForcibly();
        }
    }

    private static double throughput(final Process process, final String what) throws IOException, InterruptedException
    {
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.MINUTES) || 0 != process.exitValue())
        {
            throw new IllegalStateException(what + " node failed: " + output);
        }
        final Matcher alone = ALONE.matcher(output);
        if (alone.find() && Long.parseLong(alone.group(1)) > 0)
        {
            throw new IllegalStateException(what + " lost its backup during the run (batches committed alone): " +
                output);
        }
        final Matcher matcher = DRIVE_THROUGHPUT.matcher(output);
        if (!matcher.find())
        {
            throw new IllegalStateException(what + " node printed no driveThroughputPerSec: " + output);
        }
        return Double.parseDouble(matcher.group(1));
    }

    private static Process node(
        final Options options, final boolean pinned, final String cpu, final Path dir, final String... args)
        throws IOException
    {
        final List<String> command = new ArrayList<>();
        if (pinned)
        {
            command.addAll(List.of("/usr/bin/taskset", "-c", cpu));
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(BenchmarkMain.jvmOptions());
        command.add("-Xmx2g");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("io.ev.engine.cli.EvCli");
        command.add("node");
        command.addAll(List.of("--data", dir.toString(), "--accounts", Integer.toString(options.accounts),
            "--workers", "1", "--seed", "42"));
        command.addAll(List.of(args));
        final ProcessBuilder builder = new ProcessBuilder(command);
        builder.redirectError(ProcessBuilder.Redirect.DISCARD);
        if (Arrays.asList(args).contains("backup"))
        {
            builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        }
        return builder.start();
    }

    /**
     * @param values at least one.
     * @return their median (the mean of the middle two for an even count); {@code values} is not changed.
     */
    static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static int freeUdpPort() throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(final Path root) throws IOException
    {
        try (java.util.stream.Stream<Path> paths = Files.walk(root))
        {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    /**
     * Command-line options.
     */
    static final class Options extends ToolOptions
    {
        int rounds = 5;
        long requests = 1_000_000;
        long warmup = 1_000_000;
        int window = 16_384;
        int inFlight = 8;
        int mtu = 65504;
        int accounts = 100_000;
        boolean neighbour = true;
        Path dir;

        static String usage()
        {
            return "usage: bin/ev overhead [--rounds R] [--requests N] [--warmup N] [--window N] [--in-flight K] " +
                "[--mtu BYTES] [--accounts N] [--neighbour true|false] [--dir DIR] [--json]\n" +
                "  --rounds R     standalone + replicated runs, alternating order (default 5)\n" +
                "  --requests N   SmallBank requests measured per run (default 1000000)\n" +
                "  --warmup N     requests driven first in each run, not measured (JIT warm-up; default 1000000)\n" +
                "  --window N     the client's most outstanding requests, both systems (default 16384)\n" +
                "  --in-flight K  the replicated pair's most batches in flight (default 8)\n" +
                "  --mtu BYTES    the pair's UDP datagram size (default 65504; 0 = Aeron's 1408)\n" +
                "  --accounts N   SmallBank customers (default 100000)\n" +
                "  --neighbour B  true (default): a third run per round, two standalone nodes at once on cores 0\n" +
                "                 and 1 (the host's ceiling for a replicated pair); false: leave it out\n" +
                "  --dir DIR      where the runs' data directories (journals, checkpoints) go, deleted at the end\n" +
                "                 (default the JVM's temp directory); a tmpfs such as /dev/shm keeps the disk's\n" +
                "                 writeback, which the pair's two journals cause twice, off the two busy cores\n" +
                "  --json         summary as one JSON object on stdout (status lines go to stderr)";
        }

        static Options parse(final String[] args)
        {
            return parse(new Options(), args);
        }

        @Override
        protected void set(final String option, final String value)
        {
            switch (option)
            {
                case "--rounds":
                    rounds = parseInt(option, value);
                    break;
                case "--requests":
                    requests = parseInt(option, value);
                    break;
                case "--warmup":
                    warmup = parseInt(option, value);
                    break;
                case "--window":
                    window = parseInt(option, value);
                    break;
                case "--in-flight":
                    inFlight = parseInt(option, value);
                    break;
                case "--mtu":
                    mtu = parseInt(option, value);
                    break;
                case "--accounts":
                    accounts = parseInt(option, value);
                    break;
                case "--neighbour":
                    require("true".equals(value) || "false".equals(value), "--neighbour " + value +
                        " must be true or false");
                    neighbour = Boolean.parseBoolean(value);
                    break;
                case "--dir":
                    dir = Path.of(value);
                    require(!Files.exists(dir) || Files.isDirectory(dir), "--dir " + value + " is not a directory");
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + option);
            }
        }

        @Override
        protected void validate()
        {
            require(rounds >= 1 && rounds <= 100, "--rounds " + rounds + " must be in [1, 100]");
            require(requests >= 1_000 && requests <= 1_000_000_000, "--requests " + requests +
                " must be in [1000, 10^9]");
            require(warmup >= 0 && warmup <= 1_000_000_000, "--warmup " + warmup + " must be in [0, 10^9]");
            require(window >= 1 && window <= 1 << 20, "--window " + window + " must be in [1, 2^20]");
            require(inFlight >= 1 && inFlight <= 64, "--in-flight " + inFlight + " must be in [1, 64]");
            require(accounts >= 2 && accounts <= 50_000_000, "--accounts " + accounts + " must be in [2, 5 x 10^7]");
        }
    }
}
