/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

import io.ev.perf.BenchmarkMain;
import org.openjdk.jcstress.JCStress;
import org.openjdk.jcstress.Options;

/**
 * {@code bin/ev jcstress}: runs the jcstress tests of this package with jcstress's own command line (-t, -m, -f,
 * -iters, -time, -jvmArgs, -r, -l, -p, ...), then prints a summary: per test, every observed outcome with its count
 * and declared expectation. Exit status 0 when every selected test ran and saw no forbidden (or undeclared) outcome
 * and no error, 1 otherwise, 2 for a bad command line.
 * <p>
 * Every forked test JVM gets the JVM options Chronicle and Agrona need ({@link BenchmarkMain#jvmOptions()}, the
 * root pom's {@code ev.jvm.options}) first ({@code -jvmArgsPrepend}), whatever JVM configurations jcstress picks or
 * {@code -jvmArgs} names. {@code --quick} is the bounded mode of the build's test: one JVM configuration (the
 * default JIT, marked {@code -Dev.jcstress.quick=true}), one fork, one iteration of 100 ms, no split compilation
 * and no heap pre-touch, except where the command line says otherwise. {@code --json} prints the summary as one
 * JSON object on stdout and jcstress's own progress on stderr. jcstress writes its HTML report to {@code -r}
 * (default {@code results/}) and its result blob to the working directory; the blob is moved next to the report
 * ({@code -p <blob>} summarizes it again).
 */
public final class StressMain
{
    /** JVM option naming the forks of {@code --quick}; jcstress runs one configuration when {@code -jvmArgs} is set. */
    static final String QUICK_MARK = "-Dev.jcstress.quick=true";
    /** What {@code --quick} sets unless the command line sets it: option, value. */
    static final List<String> QUICK = List.of(
        "-f", "1", "-iters", "1", "-time", "100", "-sc", "false", "-pth", "false", "-jvmArgs", QUICK_MARK);

    private static final String USAGE = String.join(System.lineSeparator(),
        "usage: bin/ev jcstress [--quick] [--json] [jcstress options]",
        "",
        "Runs the jcstress tests of the off-heap publication paths (io.ev.perf.jcstress) in forked JVMs that get",
        "the root pom's ev.jvm.options, then prints each test's outcomes with their counts. Exit status 0: no",
        "forbidden outcome and no error; 1: a test failed; 2: bad command line.",
        "",
        "  --quick            bounded mode of the build's test: " + String.join(" ", QUICK),
        "                     (each one unless given on the command line)",
        "  --json             the summary as one JSON object on stdout; jcstress's progress on stderr",
        "  -h, --help         this text",
        "",
        "jcstress options (jcstress 0.16), the usual ones:",
        "  -t <regexp>        tests to run, e.g. -t Ring",
        "  -l                 list the tests",
        "  -m <mode>          preset: sanity, quick, default, tough, stress",
        "  -f <n>             forks per test and JVM configuration",
        "  -iters <n>         iterations per fork; -time <ms> time per iteration",
        "  -c <n>             CPUs to use",
        "  -jvmArgs <string>  run only this JVM configuration (no auto-detected ones)",
        "  -sc <bool>         split per-actor compilation modes (more forks)",
        "  -r <dir>           report directory (default results/)",
        "  -p <file>          summarize a result blob of an earlier run, run nothing",
        "  -v                 verbose: print every test's results as it ends",
        "",
        "examples:",
        "  nice -n 19 bin/ev jcstress --quick",
        "  nice -n 19 bin/ev jcstress -f 2 -iters 3 -time 1000 -sc false -t 'Ring|Phase' -r target/jcstress");

    private StressMain()
    {
    }

    /**
     * @param args {@code --quick}, {@code --json}, {@code --help}, jcstress options.
     * @throws Exception as jcstress.
     */
    public static void main(final String[] args) throws Exception
    {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs jcstress and prints the summary on {@code out}.
     *
     * @return the exit status: 0 passed, 1 failed, 2 bad command line.
     * @throws Exception as jcstress.
     */
    static int run(final String[] args, final PrintStream out, final PrintStream err) throws Exception
    {
        boolean json = false;
        boolean quick = false;
        final List<String> rest = new ArrayList<>();
        for (final String arg : args)
        {
            if ("--json".equals(arg))
            {
                json = true;
            }
            else if ("--quick".equals(arg))
            {
                quick = true;
            }
            else if ("--help".equals(arg) || "-h".equals(arg))
            {
                out.println(USAGE);
                return 0;
            }
            else
            {
                rest.add(arg);
            }
        }
        final String[] jcstressArgs = arguments(quick, rest);
        final PrintStream stdout = System.out;
        final StressSummary summary;
        final Options options = new Options(jcstressArgs);
        try
        {
            if (json)
            {
                System.setOut(err); // jcstress prints its progress and reports on System.out
            }
            if (!parse(options))
            {
                err.println("bin/ev jcstress: bad jcstress option (see the ERROR line above): " + rest +
                    "; bin/ev jcstress --help lists the options");
                return 2;
            }
            if (options.shouldParse())
            {
                summary = StressSummary.read(options.getResultFile(), List.of());
            }
            else
            {
                if (options.shouldList())
                {
                    new JCStress(options).getTests().forEach(out::println);
                    return 0;
                }
                summary = runSelected(options, err);
                if (null == summary)
                {
                    err.println("bin/ev jcstress: no test matches -t " + options.getTestFilter() +
                        "; bin/ev jcstress -l lists them");
                    return 2;
                }
            }
        }
        finally
        {
            System.setOut(stdout);
        }
        if (json)
        {
            out.println(summary.toJson("bin/ev jcstress " + String.join(" ", args), options.getResultDest()));
        }
        else
        {
            summary.print(out);
            if (!options.shouldParse())
            {
                out.println("report: " + options.getResultDest() + "index.html");
            }
        }
        return summary.passed() ? 0 : 1;
    }

    /**
     * @return {@code rest} with the {@code --quick} defaults it lacks and {@code -jvmArgsPrepend} = the JVM
     * options, then the command line's own prepend list, if any.
     */
    static String[] arguments(final boolean quick, final List<String> rest)
    {
        final List<String> arguments = new ArrayList<>();
        String prepend = String.join(" ", BenchmarkMain.jvmOptions());
        for (int i = 0; i < rest.size(); i++)
        {
            if ("-jvmArgsPrepend".equals(rest.get(i)) && i + 1 < rest.size())
            {
                prepend += " " + rest.get(++i);
            }
            else
            {
                arguments.add(rest.get(i));
            }
        }
        for (int i = 0; quick && i < QUICK.size(); i += 2)
        {
            if (!rest.contains(QUICK.get(i)))
            {
                arguments.add(QUICK.get(i));
                arguments.add(QUICK.get(i + 1));
            }
        }
        arguments.add("-jvmArgsPrepend");
        arguments.add(prepend);
        return arguments.toArray(new String[0]);
    }

    private static boolean parse(final Options options) throws IOException
    {
        try
        {
            return options.parse();
        }
        catch (final LinkageError ex)
        {
            // a bad option: jcstress printed its ERROR line, then could not print its help (it was built against
            // jopt-simple 4, JMH on this classpath needs 5)
            return false;
        }
    }

    /**
     * Runs the tests {@code options} select (parsed), moves the result blob next to the report and reads what the
     * tests observed from it.
     *
     * @param err where to say that the blob could not be moved.
     * @return the summary, or null if no test matches.
     * @throws Exception as jcstress.
     */
    static StressSummary runSelected(final Options options, final PrintStream err) throws Exception
    {
        final JCStress jcstress = new JCStress(options);
        final SortedSet<String> selected = new TreeSet<>(jcstress.getTests());
        if (selected.isEmpty())
        {
            return null;
        }
        try
        {
            jcstress.run();
        }
        catch (final AssertionError ex)
        {
            // jcstress's own verdict after its report ("TEST FAILURES: ..."); the summary says which and why
        }
        return StressSummary.read(keepResultFile(options, err).toString(), selected);
    }

    /**
     * Moves the result blob jcstress wrote to the working directory into the report directory.
     *
     * @return where the blob is now.
     */
    private static Path keepResultFile(final Options options, final PrintStream err)
    {
        final Path blob = Path.of(options.getResultFile());
        try
        {
            final Path directory = Files.createDirectories(Path.of(options.getResultDest()));
            return Files.move(blob, directory.resolve(blob.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            err.println("bin/ev jcstress: the result blob stays at " + blob.toAbsolutePath() + ": " + ex);
            return blob;
        }
    }
}
