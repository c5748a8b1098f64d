/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import io.ev.perf.BenchmarkMain;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StressMainTest
{
    private static final String JVM_OPTIONS = String.join(" ", BenchmarkMain.jvmOptions());

    @Test
    void shouldPrependTheJvmOptionsToEveryFork()
    {
        assertEquals(List.of("-t", "Ring", "-jvmArgsPrepend", JVM_OPTIONS),
            Arrays.asList(StressMain.arguments(false, List.of("-t", "Ring"))));
    }

    @Test
    void shouldPutTheCommandLinesPrependListAfterTheJvmOptions()
    {
        assertEquals(List.of("-f", "1", "-jvmArgsPrepend", JVM_OPTIONS + " -Dx=1"),
            Arrays.asList(StressMain.arguments(false, List.of("-jvmArgsPrepend", "-Dx=1", "-f", "1"))));
    }

    @Test
    void shouldFillInQuickDefaultsTheCommandLineDoesNotSet()
    {
        final List<String> arguments = Arrays.asList(StressMain.arguments(true, List.of("-time", "500")));

        assertEquals(List.of("-time", "500", "-f", "1", "-iters", "1", "-sc", "false", "-pth", "false",
            "-jvmArgs", StressMain.QUICK_MARK, "-jvmArgsPrepend", JVM_OPTIONS), arguments);
    }

    @Test
    void shouldFailATestWithAForbiddenOutcomeAnErrorOrNoSample()
    {
        final StressSummary.Outcome seen = new StressSummary.Outcome("0, 1", "ACCEPTABLE", 10, "fine");
        final StressSummary.Outcome interesting =
            new StressSummary.Outcome("0, 0", "ACCEPTABLE_INTERESTING", 1, "rare");
        final StressSummary.Outcome forbidden = new StressSummary.Outcome("1, 0", "FORBIDDEN", 1, "bad");
        final StressSummary.Outcome undeclared = new StressSummary.Outcome("2, 2", "UNKNOWN", 1, null);
        final StressSummary.Test passed = test("a.Passed", "NORMAL", seen, interesting);
        final StressSummary summary = new StressSummary(List.of(
            passed,
            test("a.Forbidden", "NORMAL", seen, forbidden),
            test("a.Undeclared", "NORMAL", seen, undeclared),
            test("a.Error", "TEST_ERROR", seen),
            test("a.Empty", "NORMAL"),
            test("a.Missing", StressSummary.NO_RESULT)));

        assertTrue(passed.passed());
        assertEquals(11, passed.samples());
        assertEquals(List.of("Forbidden", "Undeclared", "Error", "Empty", "Missing"),
            summary.failed().stream().map(StressSummary.Test::simpleName).toList());
        assertFalse(summary.passed());
        assertTrue(new StressSummary(List.of(passed)).passed());
        assertFalse(new StressSummary(List.of()).passed());
    }

    @Test
    void shouldPrintEveryOutcomeAndTheSameSummaryAsJson()
    {
        final StressSummary summary = new StressSummary(List.of(test("a.Racy", "NORMAL",
            new StressSummary.Outcome("0, 1", "ACCEPTABLE", 10, "fine \"quoted\""),
            new StressSummary.Outcome("1, 0", "FORBIDDEN", 2, "bad"))));
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        summary.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        final String text = bytes.toString(StandardCharsets.UTF_8);

        assertTrue(text.contains("1 tests, 0 passed, 1 failed"), text);
        assertTrue(text.contains("FAIL   Racy: 12 samples, 2 forbidden"), text);
        assertTrue(text.contains("[1, 0]               2 FORBIDDEN              bad"), text);
        assertEquals("{\"command\":\"bin/ev jcstress\",\"resultDir\":\"results/\",\"tests\":1,\"failed\":1," +
            "\"passed\":false,\"results\":[{\"test\":\"a.Racy\",\"status\":\"NORMAL\",\"passed\":false," +
            "\"samples\":12,\"forbidden\":2,\"outcomes\":[{\"outcome\":\"0, 1\",\"expect\":\"ACCEPTABLE\"," +
            "\"count\":10,\"description\":\"fine \\\"quoted\\\"\"},{\"outcome\":\"1, 0\",\"expect\":\"FORBIDDEN\"," +
            "\"count\":2,\"description\":\"bad\"}],\"messages\":[]}]}",
            summary.toJson("bin/ev jcstress", "results/"));
    }

    @Test
    void shouldPrintUsageForHelp() throws Exception
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final int status = StressMain.run(new String[]{"--help"},
            new PrintStream(bytes, true, StandardCharsets.UTF_8), System.err);

        assertEquals(0, status);
        assertTrue(bytes.toString(StandardCharsets.UTF_8).startsWith("usage: bin/ev jcstress"));
    }

    @Test
    void shouldRefuseABadOptionWithStatus2() throws Exception
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = StressMain.run(new String[]{"-nosuchoption"}, System.out,
            new PrintStream(err, true, StandardCharsets.UTF_8));

        assertEquals(2, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("bad jcstress option"), err.toString());
    }

    private static StressSummary.Test test(
        final String name, final String status, final StressSummary.Outcome... outcomes)
    {
        return new StressSummary.Test(name, status, List.of(), List.of(outcomes));
    }
}
