/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.awaitility.core.ConditionTimeoutException;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Helpers for tests that run the CLI in this JVM or start it in a child JVM.
 */
final class CliTestSupport
{
    /** SmallBank customers of the replicated nodes the process tests start. */
    static final int NODE_ACCOUNTS = 500;
    /** Their largest batch. */
    static final int NODE_BATCH = 64;

    private CliTestSupport()
    {
    }

    /**
     * Starts {@code bin/ev node} (the same main class) in a child JVM as one replica of a pair over UDP on
     * loopback ({@link #NODE_ACCOUNTS} customers, batches of {@link #NODE_BATCH}, two workers, peer timeout
     * 2 s). Its output goes to {@code <dir>-<role>-<n>.log} beside {@code dir} unless it is a driving
     * primary (then the caller reads {@link Process#getInputStream()}).
     *
     * @param properties system properties for the child ({@code -Dname=value}), e.g. crash points.
     * @param extra      more node options.
     */
    static Process startNode(
        final List<Process> processes,
        final Path dir,
        final List<String> properties,
        final String role,
        final String listen,
        final String peer,
        final long seed,
        final String... extra) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions());
        command.add("-Xmx256m");
        command.addAll(properties);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(EvCli.class.getName());
        command.addAll(List.of("node", "--role", role, "--data", dir.toString(), "--listen", listen, "--peer", peer,
            "--accounts", Integer.toString(NODE_ACCOUNTS), "--batch", Integer.toString(NODE_BATCH), "--seed",
            Long.toString(seed), "--workers", "2", "--peer-timeout-ms", "2000"));
        command.addAll(List.of(extra));
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        if (!"primary".equals(role) || !command.contains("--drive"))
        {
            builder.redirectOutput(dir.resolveSibling(dir.getFileName() + "-" + role + "-" + processes.size() +
                ".log").toFile());
        }
        final Process process = builder.start();
        processes.add(process);
        return process;
    }

    /**
     * @return the node's {@code ev-node.status} (empty if there is none yet).
     */
    static Properties status(final Path dir)
    {
        final Properties status = new Properties();
        final Path file = dir.resolve(NodeCommand.STATUS);
        if (Files.isRegularFile(file))
        {
            try (InputStream in = Files.newInputStream(file))
            {
                status.load(in);
            }
            catch (final IOException ex)
            {
                // replaced while being read: the next poll reads the new one
            }
        }
        return status;
    }

    /**
     * Waits for {@code condition}; on time-out fails with {@code what} and the given diagnostics.
     */
    static void awaitOrFail(
        final Callable<Boolean> condition, final int seconds, final String what, final Supplier<String> diagnostics)
    {
        try
        {
            await().atMost(seconds, TimeUnit.SECONDS).until(condition);
        }
        catch (final ConditionTimeoutException ex)
        {
            throw new AssertionError(what + " within " + seconds + " s; " + diagnostics.get(), ex);
        }
    }

    /**
     * @return whether {@code rejoined} is the paired backup of {@code primary} at {@code epoch}, with the same
     * state digest and request count; at epoch 1 (a bounded drive) also every one of {@code driveRequests}
     * acknowledged and held.
     */
    static boolean converged(final Path rejoined, final Path primary, final String epoch, final long driveRequests)
    {
        final Properties r = status(rejoined);
        final Properties p = status(primary);
        final String drive = String.valueOf(driveRequests);
        return "BACKUP".equals(r.getProperty("role")) && "PRIMARY".equals(p.getProperty("role")) &&
            "true".equals(r.getProperty("paired")) && "true".equals(p.getProperty("paired")) &&
            epoch.equals(r.getProperty("epoch")) && epoch.equals(p.getProperty("epoch")) &&
            (!"1".equals(epoch) ||
            (drive.equals(p.getProperty("acknowledged")) && drive.equals(p.getProperty("requestsInState")))) &&
            String.valueOf(p.getProperty("stateDigest")).equals(r.getProperty("stateDigest")) &&
            String.valueOf(p.getProperty("requestsInState")).equals(r.getProperty("requestsInState"));
    }

    /**
     * Stops replicas with SIGTERM (not {@code Process.destroy()}: that closes a driving primary's output first)
     * and checks each stopped cleanly (exit status 0, or 143 for the signal).
     */
    static void stopCleanly(final Supplier<String> diagnostics, final Process... replicas)
        throws IOException, InterruptedException
    {
        for (final Process process : replicas)
        {
            signal(process, "TERM");
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "a replica did not stop on SIGTERM");
            assertTrue(0 == process.exitValue() || 143 == process.exitValue(),
                "a replica failed (" + process.exitValue() + "): " + diagnostics.get());
        }
    }

    /**
     * @return the text of every {@code *.log} file in {@code dir} (the nodes' outputs), for failure messages.
     */
    static String logs(final Path dir)
    {
        try (java.util.stream.Stream<Path> logs = Files.list(dir))
        {
            final StringBuilder text = new StringBuilder("logs: ");
            logs.filter(file -> file.toString().endsWith(".log")).sorted().forEach(file ->
            {
                try
                {
                    text.append(file.getFileName()).append(": ").append(Files.readString(file)).append('\n');
                }
                catch (final IOException ex)
                {
                    text.append(file).append(": ").append(ex).append('\n');
                }
            });
            return text.toString();
        }
        catch (final IOException ex)
        {
            return ex.toString();
        }
    }

    /**
     * The cases a process test runs: {@code -D<property>=all}, a comma-separated list of names, or by
     * default one of {@code all} chosen by {@code seed} (so that successive runs cover them).
     */
    static <E> Stream<E> chosen(final String property, final E[] all, final Function<String, E> parse,
        final long seed)
    {
        final String chosen = System.getProperty(property, "");
        if ("all".equals(chosen))
        {
            return Arrays.stream(all);
        }
        if (!chosen.isEmpty())
        {
            return Arrays.stream(chosen.split(",")).map(name -> parse.apply(name.trim()));
        }
        return Stream.of(all[new SplittableRandom(seed).nextInt(all.length)]);
    }

    /**
     * Sends {@code kill -<signal>} to a child process and checks that it was delivered.
     */
    static void signal(final Process process, final String signal) throws IOException, InterruptedException
    {
        final Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
            .redirectErrorStream(true).start();
        assertTrue(kill.waitFor(30, TimeUnit.SECONDS), "kill -" + signal + " did not end");
        final String output = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(0 == kill.exitValue(), "kill -" + signal + " " + process.pid() + ": " + output);
    }

    static int freeUdpPort() throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
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
     * Asserts that what each stopped replica left in its data directory recovers on its own: a verified replay
     * (every commit marker checked) reaches the state digest the node reported, conserves money, and holds every
     * request exactly once.
     */
    static void assertReplaysConverge(final Path... dirs)
    {
        for (final Path dir : dirs)
        {
            final String reported = status(dir).getProperty("stateDigest");
            final ReplayCommand.Replayed replayed = ReplayCommand.replay(dir);
            assertEquals(reported, String.format("%016x", replayed.report().root()),
                "the replay of " + dir + " gives the digest the node reported");
            assertTrue(replayed.conservation(), "conservation over the replay of " + dir);
            assertEquals(replayed.report().requestsInState(), replayed.lastRequestId() + 1,
                "every request of " + dir + " once");
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

    /**
     * The standard output of a driving primary, read on a thread of its own by {@link CrashRecoveryTest#drain}: the
     * requests acknowledged so far (its status lines) while it runs, and its first 100 and last 200 lines once the
     * output ended.
     */
    static final class PrimaryOutput
    {
        private final AtomicLong acknowledged = new AtomicLong();
        private final List<String> lines = new ArrayList<>();
        private final CountDownLatch reached = new CountDownLatch(1);
        private final long threshold;
        private final Thread reader;

        /**
         * Starts reading {@code primary}'s standard output.
         *
         * @param threshold what {@link #awaitThreshold} waits for: this many requests acknowledged.
         */
        PrimaryOutput(final Process primary, final long threshold)
        {
            this.threshold = threshold;
            reader = new Thread(() ->
            {
                final List<String> read = CrashRecoveryTest.drain(primary.getInputStream(), threshold, reached,
                    acknowledged);
                synchronized (lines)
                {
                    lines.addAll(read);
                }
            }, "primary-output");
            reader.start();
        }

        /**
         * Waits at most 120 s until the primary acknowledged the threshold, else fails naming {@code diagnostics}.
         */
        void awaitThreshold(final Supplier<String> diagnostics) throws InterruptedException
        {
            final boolean reachedInTime = reached.await(120, TimeUnit.SECONDS);
            assertTrue(reachedInTime, () -> "the primary never acknowledged " + threshold + ": " + diagnostics.get());
        }

        /**
         * @return the requests acknowledged by the last status line read.
         */
        long acknowledged()
        {
            return acknowledged.get();
        }

        /**
         * Waits at most 60 s for the output to end (the process exited or closed it).
         */
        void join() throws InterruptedException
        {
            reader.join(TimeUnit.SECONDS.toMillis(60));
        }

        /**
         * @return the lines kept (all of them once the output ended), one per line.
         */
        String text()
        {
            synchronized (lines)
            {
                return String.join("\n", lines);
            }
        }
    }
}
