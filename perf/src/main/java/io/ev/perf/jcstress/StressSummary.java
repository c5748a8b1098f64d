/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.openjdk.jcstress.infra.collectors.DiskReadCollector;
import org.openjdk.jcstress.infra.collectors.InProcessCollector;
import org.openjdk.jcstress.infra.collectors.TestResult;
import org.openjdk.jcstress.infra.grading.GradingResult;

/**
 * What a jcstress run observed, per test: its outcomes with their counts summed over every fork and JVM
 * configuration, each with its declared expectation, and the test's status. A test passes when every run of it
 * ended normally and no outcome graded {@code FORBIDDEN} (or {@code UNKNOWN}: not declared, which the tests
 * forbid with a catch-all {@code @Outcome}) was seen.
 */
final class StressSummary
{
    static final String NORMAL = "NORMAL";
    static final String FORBIDDEN = "FORBIDDEN";
    static final String UNKNOWN = "UNKNOWN";
    /** Status of a test that jcstress selected but that left no result. */
    static final String NO_RESULT = "NO_RESULT";

    private final List<Test> tests;

    StressSummary(final List<Test> tests)
    {
        this.tests = List.copyOf(tests);
    }

    /**
     * One outcome of a test.
     *
     * @param state       the result tuple as jcstress prints it, e.g. {@code "1, 0, 1"}.
     * @param expect      {@code ACCEPTABLE}, {@code ACCEPTABLE_INTERESTING}, {@code FORBIDDEN} or {@code UNKNOWN}.
     * @param count       how many times it was seen.
     * @param description the matching {@code @Outcome}'s description.
     */
    record Outcome(String state, String expect, long count, String description)
    {
        boolean failing()
        {
            return count > 0 && (FORBIDDEN.equals(expect) || UNKNOWN.equals(expect));
        }
    }

    /**
     * One test: its status ({@code NORMAL} or jcstress's error status, {@link #NO_RESULT}), error messages and
     * outcomes (observed ones only, in state order).
     */
    record Test(String name, String status, List<String> messages, List<Outcome> outcomes)
    {
        long samples()
        {
            long samples = 0;
            for (final Outcome outcome : outcomes)
            {
                samples += outcome.count();
            }
            return samples;
        }

        long failingSamples()
        {
            long failing = 0;
            for (final Outcome outcome : outcomes)
            {
                failing += outcome.failing() ? outcome.count() : 0;
            }
            return failing;
        }

        boolean passed()
        {
            return NORMAL.equals(status) && 0 == failingSamples() && samples() > 0;
        }

        String simpleName()
        {
            return name.substring(name.lastIndexOf('.') + 1);
        }
    }

    /**
     * Reads a jcstress result file ({@code jcstress-results-*.bin.gz}) and merges its results per test.
     *
     * @param resultFile the file.
     * @param selected   the tests the run selected: one that left no result is reported as {@link #NO_RESULT}.
     * @return the summary, tests by name.
     * @throws IOException if the file cannot be read.
     */
    static StressSummary read(final String resultFile, final Collection<String> selected) throws IOException
    {
        final InProcessCollector collector = new InProcessCollector();
        final DiskReadCollector reader = new DiskReadCollector(resultFile, collector);
        try
        {
            reader.dump();
        }
        catch (final ClassNotFoundException ex)
        {
            throw new IOException("cannot read " + resultFile + ": " + ex, ex);
        }
        finally
        {
            reader.close();
        }
        final Map<String, Merged> byName = new TreeMap<>();
        for (final String name : selected)
        {
            byName.put(name, new Merged(NO_RESULT));
        }
        for (final TestResult result : collector.getTestResults())
        {
            byName.computeIfAbsent(result.getName(), (name) -> new Merged(NORMAL)).add(result);
        }
        final List<Test> tests = new ArrayList<>();
        byName.forEach((name, merged) -> tests.add(merged.toTest(name)));
        return new StressSummary(tests);
    }

    /**
     * The results of one test over its forks and configurations.
     */
    private static final class Merged
    {
        private final Map<String, Outcome> outcomes = new TreeMap<>();
        private final List<String> messages = new ArrayList<>();
        private String status;

        Merged(final String status)
        {
            this.status = status;
        }

        void add(final TestResult result)
        {
            final String resultStatus = result.status().name();
            if (NO_RESULT.equals(status) || (NORMAL.equals(status) && !NORMAL.equals(resultStatus)))
            {
                status = resultStatus;
            }
            messages.addAll(result.getMessages());
            for (final GradingResult graded : result.grading().gradingResults.values())
            {
                if (graded.count > 0)
                {
                    outcomes.merge(graded.id,
                        new Outcome(graded.id, graded.expect.name(), graded.count, graded.description),
                        (a, b) -> new Outcome(a.state(), a.expect(), a.count() + b.count(), a.description()));
                }
            }
        }

        Test toTest(final String name)
        {
            return new Test(name, status, List.copyOf(messages), List.copyOf(outcomes.values()));
        }
    }

    List<Test> tests()
    {
        return tests;
    }

    /**
     * @return the tests that failed: a forbidden or undeclared outcome seen, an error, no result or no sample.
     */
    List<Test> failed()
    {
        final List<Test> failed = new ArrayList<>();
        for (final Test test : tests)
        {
            if (!test.passed())
            {
                failed.add(test);
            }
        }
        return failed;
    }

    boolean passed()
    {
        return !tests.isEmpty() && failed().isEmpty();
    }

    /**
     * Prints one block per test: verdict, samples, then every observed outcome with its count and expectation.
     */
    void print(final PrintStream out)
    {
        out.printf(Locale.ROOT, "jcstress summary: %d tests, %d passed, %d failed%n",
            tests.size(), tests.size() - failed().size(), failed().size());
        for (final Test test : tests)
        {
            out.printf(Locale.ROOT, "  %-6s %s: %,d samples, %,d forbidden%s%n", test.passed() ? "PASS" : "FAIL",
                test.simpleName(), test.samples(), test.failingSamples(),
                NORMAL.equals(test.status()) ? "" : " (" + test.status() + ")");
            for (final Outcome outcome : test.outcomes())
            {
                out.printf(Locale.ROOT, "         [%s] %,15d %-22s %s%n",
                    outcome.state(), outcome.count(), outcome.expect(), outcome.description());
            }
            for (final String message : test.messages())
            {
                out.println("         " + message);
            }
        }
    }

    /**
     * @param command    the command line, for the record.
     * @param resultDir  where jcstress wrote its reports.
     * @return the summary as one JSON object.
     */
    String toJson(final String command, final String resultDir)
    {
        final StringBuilder json = new StringBuilder(256);
        json.append("{\"command\":").append(quote(command))
            .append(",\"resultDir\":").append(quote(resultDir))
            .append(",\"tests\":").append(tests.size())
            .append(",\"failed\":").append(failed().size())
            .append(",\"passed\":").append(passed())
            .append(",\"results\":[");
        for (int i = 0; i < tests.size(); i++)
        {
            final Test test = tests.get(i);
            json.append(i > 0 ? "," : "")
                .append("{\"test\":").append(quote(test.name()))
                .append(",\"status\":").append(quote(test.status()))
                .append(",\"passed\":").append(test.passed())
                .append(",\"samples\":").append(test.samples())
                .append(",\"forbidden\":").append(test.failingSamples())
                .append(",\"outcomes\":[");
            for (int j = 0; j < test.outcomes().size(); j++)
            {
                final Outcome outcome = test.outcomes().get(j);
                json.append(j > 0 ? "," : "")
                    .append("{\"outcome\":").append(quote(outcome.state()))
                    .append(",\"expect\":").append(quote(outcome.expect()))
                    .append(",\"count\":").append(outcome.count())
                    .append(",\"description\":").append(quote(outcome.description()))
                    .append('}');
            }
            json.append("],\"messages\":[");
            for (int j = 0; j < test.messages().size(); j++)
            {
                json.append(j > 0 ? "," : "").append(quote(test.messages().get(j)));
            }
            json.append("]}");
        }
        return json.append("]}").toString();
    }

    static String quote(final String nullable)
    {
        final String text = null == nullable ? "" : nullable;
        final StringBuilder quoted = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if ('"' == c || '\\' == c)
            {
                quoted.append('\\').append(c);
            }
            else if (c < 0x20)
            {
                quoted.append(String.format(Locale.ROOT, "\\u%04x", (int)c));
            }
            else
            {
                quoted.append(c);
            }
        }
        return quoted.append('"').toString();
    }
}
