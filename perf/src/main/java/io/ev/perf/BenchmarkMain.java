/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Defaults;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.ProfilersFailedException;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Main class of {@code perf/target/benchmarks.jar}: JMH's own command line (-f, -wi, -i, -prof gc,
 * -rf json, -p, benchmark regex, ...) plus the JVM options Chronicle and Agrona need, appended to
 * every forked benchmark JVM.
 * <p>
 * The options come from the classpath resource {@value #JVM_OPTIONS_RESOURCE}, which the build
 * writes from the root pom's {@code ev.jvm.options} (the one definition of those flags). Options
 * given with {@code -jvmArgsAppend} on the command line are appended after them. Benchmarks set
 * their heap with {@code @Fork(jvmArgs = ...)}: JMH ignores {@code @Fork(jvmArgsAppend = ...)} once
 * the options carry an append list, as they always do here.
 * <p>
 * After a run it names the results whose {@code workers} parameter exceeded the available processors
 * ({@link HostCpus}: they ran oversubscribed) and, when JMH wrote a result file ({@code -rf json -rff X.json}),
 * writes {@code X-host.json} next to it: machine, JDK, load average before and after, the command, and every
 * result's parameters with {@code "oversubscribed": true|false}.
 */
public final class BenchmarkMain
{
    /** Classpath resource holding the JVM options, separated by whitespace. */
    public static final String JVM_OPTIONS_RESOURCE = "/io/ev/perf/jvm.options";

    private BenchmarkMain()
    {
    }

    /**
     * Runs JMH like {@code org.openjdk.jmh.Main}, with the store's JVM options in every fork.
     *
     * @param args JMH command-line options.
     * @throws IOException if the help text cannot be printed.
     */
    public static void main(final String[] args) throws IOException
    {
        final CommandLineOptions commandLine;
        try
        {
            commandLine = new CommandLineOptions(args);
        }
        catch (final CommandLineOptionException ex)
        {
            System.err.println("Error parsing command line:");
            System.err.println(" " + ex.getMessage());
            System.exit(1);
            return;
        }

        final Options options = options(commandLine);
        final Runner runner = new Runner(options);
        if (commandLine.shouldHelp())
        {
            commandLine.showHelp();
        }
        else if (commandLine.shouldList())
        {
            runner.list();
        }
        else if (commandLine.shouldListWithParams())
        {
            runner.listWithParams(commandLine);
        }
        else if (commandLine.shouldListProfilers())
        {
            commandLine.listProfilers();
        }
        else if (commandLine.shouldListResultFormats())
        {
            commandLine.listResultFormats();
        }
        else
        {
            run(options, args);
        }
    }

    private static void run(final Options options, final String[] args)
    {
        try
        {
            runAndDescribe(options, args, System.out);
        }
        catch (final NoBenchmarksException ex)
        {
            System.err.println("No matching benchmarks. Misspelled regexp? List them with -l.");
            System.exit(1);
        }
        catch (final ProfilersFailedException ex)
        {
            for (Throwable cause = ex; null != cause; cause = cause.getCause())
            {
                System.err.println(cause.getMessage());
                for (final Throwable suppressed : cause.getSuppressed())
                {
                    System.err.println(suppressed.getMessage());
                }
            }
            System.exit(1);
        }
        catch (final RunnerException ex)
        {
            System.err.print("ERROR: ");
            ex.printStackTrace(System.err);
            System.exit(1);
        }
        catch (final IOException ex)
        {
            System.err.println("ERROR: cannot write the host file: " + ex);
            System.exit(1);
        }
    }

    /**
     * Runs the benchmarks, then says which results ran oversubscribed ({@link HostCpus}) and, when JMH wrote a
     * result file ({@code -rf} or {@code -rff}), writes the host file next to it ({@link #hostFile(String)}):
     * the machine, the load average before and after, the command, and for every result its parameters and
     * whether it was oversubscribed. JMH's own result file is left as JMH wrote it.
     *
     * @param options the runner's options.
     * @param args    the command line, for the host file.
     * @param out     where the oversubscription summary goes.
     * @return JMH's results.
     * @throws RunnerException as {@link Runner#run()}.
     * @throws IOException     if the host file cannot be written.
     */
    static Collection<RunResult> runAndDescribe(final Options options, final String[] args, final PrintStream out)
        throws RunnerException, IOException
    {
        final ZonedDateTime start = ZonedDateTime.now(ZoneOffset.UTC);
        final String loadAtStart = ReportWriter.load();
        final Collection<RunResult> results = new Runner(options).run();
        final int cpus = HostCpus.available();
        final List<String> oversubscribed = new ArrayList<>();
        for (final RunResult result : results)
        {
            if (isOversubscribed(result.getParams(), cpus))
            {
                oversubscribed.add(describe(result.getParams()));
            }
        }
        if (!oversubscribed.isEmpty())
        {
            out.println(HostCpus.LINE_PREFIX + oversubscribed.size() + " result(s) ran with more workers than the " +
                cpus + " available processors (OVERSUBSCRIBED: the workers time-shared the CPUs; not points of a " +
                "scaling curve):");
            for (final String line : oversubscribed)
            {
                out.println(HostCpus.LINE_PREFIX + "  " + line);
            }
        }
        final String resultFile = resultFile(options);
        if (null != resultFile)
        {
            final Path host = Path.of(hostFile(resultFile));
            Files.writeString(host, hostJson(results, cpus, args, start, loadAtStart), StandardCharsets.UTF_8);
            out.println(HostCpus.LINE_PREFIX + "machine, load and oversubscription of these results: " + host);
        }
        return results;
    }

    /**
     * @return the result file JMH writes for these options, or null if it writes none.
     */
    static String resultFile(final Options options)
    {
        if (!options.getResult().hasValue() && !options.getResultFormat().hasValue())
        {
            return null;
        }
        return options.getResult().orElse(Defaults.RESULT_FILE_PREFIX + "." +
            options.getResultFormat().orElse(Defaults.RESULT_FORMAT).toString().toLowerCase(Locale.ROOT));
    }

    /**
     * @param resultFile JMH's result file.
     * @return the host file next to it: {@code x.json} gives {@code x-host.json}, anything else {@code x.host.json}.
     */
    static String hostFile(final String resultFile)
    {
        return resultFile.endsWith(".json") ?
            resultFile.substring(0, resultFile.length() - ".json".length()) + "-host.json" :
            resultFile + ".host.json";
    }

    private static boolean isOversubscribed(final BenchmarkParams params, final int cpus)
    {
        final String workers = params.getParam("workers");
        return null != workers && HostCpus.oversubscribed(Integer.parseInt(workers), cpus);
    }

    private static String describe(final BenchmarkParams params)
    {
        final StringBuilder text = new StringBuilder(params.getBenchmark());
        for (final String key : params.getParamsKeys())
        {
            text.append(' ').append(key).append('=').append(params.getParam(key));
        }
        return text.toString();
    }

    private static String hostJson(
        final Collection<RunResult> results,
        final int cpus,
        final String[] args,
        final ZonedDateTime start,
        final String loadAtStart)
    {
        final StringBuilder json = new StringBuilder(1024);
        json.append("{\"date\":").append(ReportWriter.quote(start.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)))
            .append(",\"command\":").append(ReportWriter.quote("bin/ev bench jmh " + String.join(" ", args)))
            .append(",\"machine\":").append(ReportWriter.quote(ReportWriter.machine()))
            .append(",\"availableProcessors\":").append(cpus)
            .append(",\"jdk\":").append(ReportWriter.quote(ReportWriter.jdk()))
            .append(",\"atStart\":").append(ReportWriter.quote(loadAtStart))
            .append(",\"atEnd\":").append(ReportWriter.quote(ReportWriter.load()))
            .append(",\"results\":[");
        String separator = "";
        for (final RunResult result : results)
        {
            final BenchmarkParams params = result.getParams();
            json.append(separator).append("{\"benchmark\":").append(ReportWriter.quote(params.getBenchmark()))
                .append(",\"mode\":").append(ReportWriter.quote(params.getMode().shortLabel()))
                .append(",\"params\":{");
            String paramSeparator = "";
            for (final String key : params.getParamsKeys())
            {
                json.append(paramSeparator).append(ReportWriter.quote(key)).append(':')
                    .append(ReportWriter.quote(params.getParam(key)));
                paramSeparator = ",";
            }
            json.append("},\"oversubscribed\":").append(isOversubscribed(params, cpus)).append('}');
            separator = ",";
        }
        return json.append("]}\n").toString();
    }

    /**
     * @param args JMH command-line options.
     * @return the options the runner gets: the command line's, with {@link #jvmOptions()} first in
     * the forks' append list.
     * @throws CommandLineOptionException if JMH cannot parse {@code args}.
     */
    public static Options options(final String... args) throws CommandLineOptionException
    {
        return options(new CommandLineOptions(args));
    }

    private static Options options(final CommandLineOptions commandLine)
    {
        final List<String> append = new ArrayList<>(jvmOptions());
        final Collection<String> userAppend = commandLine.getJvmArgsAppend().orElse(Collections.emptyList());
        append.addAll(userAppend);
        return new OptionsBuilder()
            .parent(commandLine)
            .jvmArgsAppend(append.toArray(new String[0]))
            .build();
    }

    /**
     * @return the JVM options of {@value #JVM_OPTIONS_RESOURCE}, split on whitespace, in order.
     * @throws IllegalStateException if the resource is missing, empty or was not filtered.
     */
    public static List<String> jvmOptions()
    {
        final String text = readJvmOptionsResource().trim();
        if (text.isEmpty() || text.contains("${"))
        {
            throw new IllegalStateException(JVM_OPTIONS_RESOURCE + " was not filtered from the root pom's " +
                "ev.jvm.options: \"" + text + "\"; rebuild with mvn");
        }
        final List<String> options = new ArrayList<>();
        Collections.addAll(options, text.split("\\s+"));
        return Collections.unmodifiableList(options);
    }

    /**
     * @return the raw text of {@value #JVM_OPTIONS_RESOURCE}.
     */
    public static String readJvmOptionsResource()
    {
        try (InputStream in = BenchmarkMain.class.getResourceAsStream(JVM_OPTIONS_RESOURCE))
        {
            if (null == in)
            {
                throw new IllegalStateException("classpath resource " + JVM_OPTIONS_RESOURCE + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + JVM_OPTIONS_RESOURCE, ex);
        }
    }

    /**
     * Fails fast in a benchmark JVM that was started without the JVM options: every one of them
     * must be among this JVM's input arguments, and Chronicle's analytics must be off.
     * Called from each benchmark's trial setup, so a fork without the flags stops at once.
     *
     * @throws IllegalStateException naming the missing options.
     */
    public static void requireJvmOptions()
    {
        final List<String> missing = new ArrayList<>(jvmOptions());
        missing.removeAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        if (!missing.isEmpty() || !"true".equals(System.getProperty("chronicle.analytics.disable")))
        {
            throw new IllegalStateException("this JVM lacks the options of " + JVM_OPTIONS_RESOURCE + ": " +
                missing + " (chronicle.analytics.disable=" + System.getProperty("chronicle.analytics.disable") +
                "); run the benchmarks through io.ev.perf.BenchmarkMain (java -jar benchmarks.jar)");
        }
    }
}
