/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

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
            run(runner);
        }
    }

    private static void run(final Runner runner)
    {
        try
        {
            runner.run();
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
