/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Helpers for tests that run the CLI in this JVM or start it in a child JVM.
 */
final class CliTestSupport
{
    private CliTestSupport()
    {
    }

    /**
     * @return the build's one list of JVM options (the resource bin/ev reads).
     */
    static List<String> jvmOptions()
    {
        try (InputStream in = CliTestSupport.class.getResourceAsStream("/io/ev/engine/jvm.options"))
        {
            if (null == in)
            {
                throw new IllegalStateException("resource io/ev/engine/jvm.options missing: build the engine module");
            }
            final String options = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!options.contains("-Dchronicle.analytics.disable=true"))
            {
                throw new IllegalStateException("jvm.options lacks -Dchronicle.analytics.disable=true: " + options);
            }
            return Arrays.asList(options.split("\\s+"));
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot read jvm.options: " + ex, ex);
        }
    }

    /**
     * Runs {@code bin/ev} in this JVM with its standard output and error captured.
     *
     * @return exit code, stdout, stderr.
     */
    static String[] run(final String... args)
    {
        final PrintStream out = System.out;
        final PrintStream err = System.err;
        final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        final int exit;
        System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        try
        {
            exit = EvCli.run(args);
        }
        finally
        {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {Integer.toString(exit), stdout.toString(StandardCharsets.UTF_8),
            stderr.toString(StandardCharsets.UTF_8)};
    }

    /**
     * {@link #run} on another thread, bounded in time: a command that should have been refused but runs (a node
     * serving, a long demo) fails the test instead of hanging it.
     *
     * @return exit code, stdout, stderr.
     */
    static String[] runWithin(final long timeoutS, final String... args)
    {
        final FutureTask<String[]> task = new FutureTask<>(() -> run(args));
        final Thread thread = new Thread(task, "ev-cli-test");
        thread.setDaemon(true);
        thread.start();
        try
        {
            return task.get(timeoutS, TimeUnit.SECONDS);
        }
        catch (final TimeoutException ex)
        {
            task.cancel(true);
            throw new AssertionError("bin/ev " + String.join(" ", args) + " did not end within " + timeoutS + " s", ex);
        }
        catch (final InterruptedException | ExecutionException ex)
        {
            throw new AssertionError("bin/ev " + String.join(" ", args) + ": " + ex, ex);
        }
    }

    /**
     * @return the value of a field of a one-line JSON object (quotes stripped).
     */
    static String field(final String json, final String name)
    {
        final int at = json.indexOf("\"" + name + "\":");
        assertTrue(at >= 0, name + " missing: " + json);
        int start = at + name.length() + 3;
        if (json.charAt(start) == '"')
        {
            start++;
        }
        int end = start;
        while (end < json.length() && ",}\"".indexOf(json.charAt(end)) < 0)
        {
            end++;
        }
        return json.substring(start, end);
    }
}
