/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.Options;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JvmOptionsTest
{
    private static final String[] REQUIRED_OPTIONS =
    {
        "-Dchronicle.analytics.disable=true",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
        "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    };

    @Test
    void shouldShipJvmOptionsResourceFilteredFromRootPom()
    {
        final String text = BenchmarkMain.readJvmOptionsResource();
        assertNotNull(text);
        assertFalse(text.contains("${"), "resource not filtered: " + text);
        final List<String> tokens = tokens(text);
        for (final String option : REQUIRED_OPTIONS)
        {
            assertTrue(tokens.contains(option), option + " missing from " + tokens);
        }
    }

    @Test
    void shouldEqualRootPomPropertyPassedBySurefire()
    {
        final String expected = System.getProperty("ev.expected.jvm.options");
        assertNotNull(expected, "surefire sets ev.expected.jvm.options from the root pom");
        assertEquals(tokens(expected), tokens(BenchmarkMain.readJvmOptionsResource()));
    }

    @Test
    void shouldParseResourceIntoItsTokensInOrder()
    {
        assertEquals(tokens(BenchmarkMain.readJvmOptionsResource()), BenchmarkMain.jvmOptions());
    }

    @Test
    void shouldAppendJvmOptionsToEveryForkAndKeepJmhOptions() throws CommandLineOptionException
    {
        final Options options = BenchmarkMain.options(
            "-f", "1", "-wi", "2", "-i", "3", "-prof", "gc", "-rf", "json", "-rff", "out.json",
            "-p", "recordCount=100000", "StoreOpsBenchmark");

        assertEquals(BenchmarkMain.jvmOptions(), new ArrayList<>(options.getJvmArgsAppend().get()));
        assertEquals(1, options.getForkCount().get());
        assertEquals(2, options.getWarmupIterations().get());
        assertEquals(3, options.getMeasurementIterations().get());
        assertEquals("out.json", options.getResult().get());
        assertEquals(List.of("StoreOpsBenchmark"), options.getIncludes());
        assertEquals(List.of("100000"), new ArrayList<>(options.getParameter("recordCount").get()));
        assertEquals(1, options.getProfilers().size());
    }

    @Test
    void shouldKeepUserJvmArgsAppendAfterJvmOptions() throws CommandLineOptionException
    {
        final Options options = BenchmarkMain.options("-jvmArgsAppend", "-Dev.test=1 -XX:+UseParallelGC");

        final List<String> expected = new ArrayList<>(BenchmarkMain.jvmOptions());
        expected.add("-Dev.test=1");
        expected.add("-XX:+UseParallelGC");
        final Collection<String> append = options.getJvmArgsAppend().get();
        assertEquals(expected, new ArrayList<>(append));
    }

    @Test
    void shouldAcceptThisJvmStartedWithTheOptions()
    {
        BenchmarkMain.requireJvmOptions();
        assertEquals("true", System.getProperty("chronicle.analytics.disable"));
    }

    /**
     * End to end: a real forked benchmark JVM, whose trial setup calls
     * {@link BenchmarkMain#requireJvmOptions()} and fails the run (-foe) if a flag is missing; run the way
     * {@code bin/ev bench jmh} runs it, so the JSON result file gets its host file.
     */
    @Test
    void shouldRunForkedBenchmarkJvmWithTheOptions(@TempDir final Path dir) throws Exception
    {
        final String results = dir.resolve("results.json").toString();
        final String[] args = {"-f", "1", "-wi", "0", "-i", "1", "-r", "100ms", "-foe", "true", "-v", "SILENT",
            "-p", "workers=2", "-rf", "json", "-rff", results, RollbackBenchmark.class.getSimpleName()};
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        final Collection<RunResult> runResults = BenchmarkMain.runAndDescribe(
            BenchmarkMain.options(args), args, new PrintStream(out, true, StandardCharsets.UTF_8));

        assertEquals(1, runResults.size());
        final double nsPerWrite = runResults.iterator().next().getPrimaryResult().getScore();
        assertTrue(nsPerWrite > 0, "score " + nsPerWrite);
        assertTrue(Files.readString(Path.of(results), StandardCharsets.UTF_8).contains("\"workers\" : \"2\""));
        final String host = Files.readString(dir.resolve("results-host.json"), StandardCharsets.UTF_8);
        final boolean oversubscribed = HostCpus.oversubscribed(2, HostCpus.available());
        assertTrue(host.startsWith("{\"date\":") && host.contains("\"availableProcessors\":" + HostCpus.available()) &&
            host.contains("\"benchmark\":\"io.ev.perf.RollbackBenchmark.rollback\"") &&
            host.contains("\"params\":{\"workers\":\"2\"},\"oversubscribed\":" + oversubscribed + "}"), host);
        assertEquals(oversubscribed, out.toString(StandardCharsets.UTF_8).contains("OVERSUBSCRIBED"), out::toString);
    }

    @Test
    void shouldNameTheHostFileAfterTheResultFile() throws CommandLineOptionException
    {
        assertEquals("out/store-host.json", BenchmarkMain.hostFile("out/store.json"));
        assertEquals("store.csv.host.json", BenchmarkMain.hostFile("store.csv"));
        assertEquals("jmh-result.json", BenchmarkMain.resultFile(BenchmarkMain.options("-rf", "json")));
        assertEquals("x.txt", BenchmarkMain.resultFile(BenchmarkMain.options("-rff", "x.txt")));
        assertNull(BenchmarkMain.resultFile(BenchmarkMain.options("-f", "1")));
    }

    @Test
    void shouldMarkMoreWorkersThanProcessorsOversubscribed()
    {
        assertTrue(HostCpus.describe("EngineBenchmark", 16, false, 2).endsWith(
            "EngineBenchmark workers=16 on 2 available processors: OVERSUBSCRIBED (the workers time-share the " +
            "CPUs; not a point of a scaling curve)"));
        assertFalse(HostCpus.describe("EngineBenchmark", 2, true, 2).contains("OVERSUBSCRIBED"));
        assertFalse(HostCpus.oversubscribed(16, 16));
        assertTrue(HostCpus.oversubscribed(17, 16));
    }

    private static List<String> tokens(final String text)
    {
        return Arrays.asList(text.trim().split("\\s+"));
    }
}
