/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import io.ev.replication.Link;
import org.HdrHistogram.Histogram;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * Ping-pong round trip over the replication link ({@code bin/ev link}, issue 5).
 * <p>
 * One message at a time: the ping thread (this one) offers a message of {@code --size} bytes, then
 * polls until the pong thread's echo of it arrives; the time from just before the offer to the
 * echo's arrival is one round trip, recorded in an HdrHistogram after {@code --warmup} round trips.
 * The first 8 bytes carry the sequence number, which the echo must return (a mismatch is an error).
 * <ul>
 *   <li>udp: two {@link AeronTransport}s, each with its own embedded media driver (two nodes), linked
 *       by {@link AeronTransport#newLink()} over free UDP ports on 127.0.0.1;</li>
 *   <li>ipc: one transport and two {@link AeronTransport#newIpcLink(int, int)} links over shared
 *       memory (the data path needs no driver thread).</li>
 * </ul>
 * Threads: ping and pong, plus for each driver its shared conductor/sender/receiver thread (the
 * driver runs {@code AeronTransport.Threading.SHARED}) and the Aeron client's conductor. {@code --idle}
 * is how the ping and pong threads wait; {@code --driver-idle} (default: the same) how the drivers do.
 * <p>
 * Output: a status line every second (round trips/s, p50/p99/max of the last second) on stdout, or
 * stderr with {@code --json}; then a summary per transport (p50, p90, p99, p99.9, max, mean, round
 * trips/s), with {@code --json} as one JSON object on stdout.
 */
public final class LinkRoundTrip
{
    /** Term buffer length of the benchmark's transports: carries messages up to 2 MiB. */
    static final int TERM_BUFFER_LENGTH = 16 << 20;
    /** Largest {@code --size}. */
    static final int MAX_SIZE = 1 << 20;
    /** Smallest {@code --size}: the sequence number. */
    static final int MIN_SIZE = Long.BYTES;
    /** Stream ids of the IPC link's two directions. */
    static final int PING_STREAM_ID = 1001;
    static final int PONG_STREAM_ID = 1002;
    /** How long to wait for the links to connect, for an echo, and for the pong thread to stop. */
    static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    /** Largest round trip the histograms hold; longer ones are recorded as this. */
    static final long HIGHEST_TRACKABLE_NS = TimeUnit.SECONDS.toNanos(60);

    private LinkRoundTrip()
    {
    }

    /**
     * @param args see {@link Options#usage()}.
     */
    public static void main(final String[] args)
    {
        final Options options = ToolOptions.parseOrExit("bin/ev link", Options.usage(), Options::parse, args);
        if (null == options)
        {
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final PrintStream progress = options.json ? System.err : System.out;
        final List<Result> results = new ArrayList<>();
        for (final String transport : options.transports())
        {
            final Result result = run(transport, options, progress);
            results.add(result);
            if (!options.json)
            {
                result.print(System.out);
            }
        }
        if (options.json)
        {
            System.out.println(toJson(options, results));
        }
    }

    /**
     * Launches the transport(s), runs warm-up + measured round trips, closes everything.
     *
     * @param transport "udp" or "ipc".
     * @param options   parsed options.
     * @param progress  where the status lines go.
     * @return the measurement.
     */
    static Result run(final String transport, final Options options, final PrintStream progress)
    {
        progress.printf(Locale.ROOT, "%s: %d round trips of %d bytes after %d warm-up, idle %s, driver idle %s%n",
            transport, options.messages, options.size, options.warmup, options.idle, options.driverIdle());
        if ("udp".equals(transport))
        {
            final int pingPort = freeUdpPort();
            int pongPort = freeUdpPort();
            while (pongPort == pingPort)
            {
                pongPort = freeUdpPort();
            }
            try (AeronTransport pingTransport = AeronTransport.launch(context(options)
                    .listenEndpoint("127.0.0.1:" + pingPort).peerEndpoint("127.0.0.1:" + pongPort));
                AeronTransport pongTransport = AeronTransport.launch(context(options)
                    .listenEndpoint("127.0.0.1:" + pongPort).peerEndpoint("127.0.0.1:" + pingPort));
                AeronLink ping = pingTransport.newLink();
                AeronLink pong = pongTransport.newLink())
            {
                final Result result = pingPong(transport, ping, pong, options, progress);
                result.transportErrors = pingTransport.errorCount() + pongTransport.errorCount();
                return result;
            }
        }
        try (AeronTransport ipcTransport = AeronTransport.launch(context(options));
            AeronLink ping = ipcTransport.newIpcLink(PING_STREAM_ID, PONG_STREAM_ID);
            AeronLink pong = ipcTransport.newIpcLink(PONG_STREAM_ID, PING_STREAM_ID))
        {
            final Result result = pingPong(transport, ping, pong, options, progress);
            result.transportErrors = ipcTransport.errorCount();
            return result;
        }
    }

    private static AeronTransport.Context context(final Options options)
    {
        return new AeronTransport.Context()
            .termBufferLength(TERM_BUFFER_LENGTH)
            .idleStrategy(Options.idleStrategy(options.driverIdle()));
    }

    /**
     * @return a UDP port on 127.0.0.1 that was free a moment ago.
     */
    static int freeUdpPort()
    {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot find a free UDP port on 127.0.0.1", ex);
        }
    }

    private static Result pingPong(
        final String transport,
        final Link ping,
        final Link pong,
        final Options options,
        final PrintStream progress)
    {
        awaitConnected(transport, ping, pong);
        final Echo echo = new Echo(pong, options.size, Options.idleStrategy(options.idle).get());
        final Thread pongThread = new Thread(echo, "link-pong-" + transport);
        pongThread.setDaemon(true);
        pongThread.start();
        try
        {
            return measure(transport, ping, echo, options, progress);
        }
        finally
        {
            echo.running = false;
            try
            {
                pongThread.join(TimeUnit.NANOSECONDS.toMillis(TIMEOUT_NS));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void awaitConnected(final String transport, final Link ping, final Link pong)
    {
        final long deadlineNs = System.nanoTime() + TIMEOUT_NS;
        while (!(ping.isConnected() && pong.isConnected()))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new IllegalStateException(transport + " link not connected after " +
                    TimeUnit.NANOSECONDS.toSeconds(TIMEOUT_NS) + " s (ping connected " + ping.isConnected() +
                    ", pong connected " + pong.isConnected() + ")");
            }
            sleepMillis(1);
        }
    }

    private static Result measure(
        final String transport,
        final Link ping,
        final Echo echo,
        final Options options,
        final PrintStream progress)
    {
        final IdleStrategy idle = Options.idleStrategy(options.idle).get();
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(options.size));
        final Reply reply = new Reply();
        final Histogram measured = new Histogram(HIGHEST_TRACKABLE_NS, 3);
        final Histogram interval = new Histogram(HIGHEST_TRACKABLE_NS, 3);
        final long total = (long)options.warmup + options.messages;
        final long startNs = System.nanoTime();
        long measureStartNs = startNs;
        long nextStatusNs = startNs + TimeUnit.SECONDS.toNanos(1);
        long lastStatusNs = startNs;
        long lastStatusCount = 0;
        for (long i = 0; i < total; i++)
        {
            if (i == options.warmup)
            {
                measureStartNs = System.nanoTime();
            }
            message.putLong(0, i);
            final long t0 = System.nanoTime();
            while (!ping.offer(message, 0, options.size))
            {
                checkAlive(transport, echo, t0, i, "offer");
                idle.idle();
            }
            idle.reset();
            reply.received = false;
            while (!reply.received)
            {
                final int work = ping.poll(reply, 1);
                if (0 == work)
                {
                    checkAlive(transport, echo, t0, i, "echo");
                }
                idle.idle(work);
            }
            final long nowNs = System.nanoTime();
            if (reply.sequence != i || reply.length != options.size)
            {
                throw new IllegalStateException(transport + ": echo of message " + i + " carried sequence " +
                    reply.sequence + " and " + reply.length + " bytes (expected " + options.size + ")");
            }
            final long rttNs = Math.min(HIGHEST_TRACKABLE_NS, nowNs - t0);
            interval.recordValue(rttNs);
            if (i >= options.warmup)
            {
                measured.recordValue(rttNs);
            }
            if (nowNs - nextStatusNs >= 0)
            {
                progress.printf(Locale.ROOT, "%s t=%5.1fs %9.0f round trips/s p50=%.1fus p99=%.1fus max=%.1fus%s%n",
                    transport, (nowNs - startNs) / 1e9, (i + 1 - lastStatusCount) * 1e9 / (nowNs - lastStatusNs),
                    interval.getValueAtPercentile(50) / 1e3, interval.getValueAtPercentile(99) / 1e3,
                    interval.getMaxValue() / 1e3, i < options.warmup ? " (warm-up)" : "");
                interval.reset();
                lastStatusCount = i + 1;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        final long endNs = System.nanoTime();
        final Result result = new Result();
        result.transport = transport;
        result.latency = measured;
        result.measuredSeconds = (endNs - measureStartNs) / 1e9;
        result.roundTripsPerSec = options.messages / Math.max(1e-9, result.measuredSeconds);
        return result;
    }

    private static void checkAlive(
        final String transport, final Echo echo, final long t0, final long sequence, final String waitingFor)
    {
        if (null != echo.failure)
        {
            throw new IllegalStateException(transport + ": the pong thread failed: " + echo.failure, echo.failure);
        }
        if (System.nanoTime() - t0 > TIMEOUT_NS)
        {
            throw new IllegalStateException(transport + ": no " + waitingFor + " of message " + sequence + " within " +
                TimeUnit.NANOSECONDS.toSeconds(TIMEOUT_NS) + " s");
        }
    }

    private static void sleepMillis(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ex);
        }
    }

    static String toJson(final Options options, final List<Result> results)
    {
        final StringBuilder json = new StringBuilder(512);
        json.append(String.format(Locale.ROOT,
            "{\"messages\":%d,\"warmup\":%d,\"size\":%d,\"idle\":\"%s\",\"driverIdle\":\"%s\"," +
            "\"termBufferLength\":%d,\"availableProcessors\":%d,\"results\":[",
            options.messages, options.warmup, options.size, options.idle, options.driverIdle(), TERM_BUFFER_LENGTH,
            Runtime.getRuntime().availableProcessors()));
        for (int i = 0; i < results.size(); i++)
        {
            if (i > 0)
            {
                json.append(',');
            }
            results.get(i).appendJson(json);
        }
        return json.append("]}").toString();
    }

    /**
     * The ping side's handler: keeps the echo's sequence number and length.
     */
    static final class Reply implements Link.MessageHandler
    {
        boolean received;
        long sequence;
        int length;

        @Override
        public void onMessage(final DirectBuffer buffer, final int offset, final int length)
        {
            this.received = true;
            this.length = length;
            this.sequence = length >= Long.BYTES ? buffer.getLong(offset) : -1;
        }
    }

    /**
     * The pong thread: echoes every message back until told to stop.
     */
    static final class Echo implements Runnable, Link.MessageHandler
    {
        volatile boolean running = true;
        volatile Throwable failure;
        private final Link link;
        private final UnsafeBuffer copy;
        private final IdleStrategy idle;
        private int pendingLength = -1;

        Echo(final Link link, final int size, final IdleStrategy idle)
        {
            this.link = link;
            this.copy = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
            this.idle = idle;
        }

        @Override
        public void run()
        {
            try
            {
                while (running)
                {
                    final int work = link.poll(this, 1);
                    if (work > 0)
                    {
                        while (!link.offer(copy, 0, pendingLength))
                        {
                            if (!running)
                            {
                                return;
                            }
                            idle.idle();
                        }
                    }
                    idle.idle(work);
                }
            }
            catch (final RuntimeException | Error ex)
            {
                failure = ex;
            }
        }

        @Override
        public void onMessage(final DirectBuffer buffer, final int offset, final int length)
        {
            if (length > copy.capacity())
            {
                throw new IllegalStateException("echo got " + length + " bytes, more than " + copy.capacity());
            }
            copy.putBytes(0, buffer, offset, length);
            pendingLength = length;
        }
    }

    /**
     * What one transport measured.
     */
    static final class Result
    {
        String transport;
        Histogram latency;
        double measuredSeconds;
        double roundTripsPerSec;
        long transportErrors;

        void print(final PrintStream out)
        {
            out.printf(Locale.ROOT, "%n== summary: %s ==%n", transport);
            out.printf(Locale.ROOT, "round trips       %d measured in %.2f s, %.0f round trips/s%n",
                latency.getTotalCount(), measuredSeconds, roundTripsPerSec);
            out.printf(Locale.ROOT, "round trip        %s, mean %.1f us%n",
                ToolOptions.percentilesUs(latency), latency.getMean() / 1e3);
            out.printf(Locale.ROOT, "transport errors  %d%n", transportErrors);
        }

        void appendJson(final StringBuilder json)
        {
            json.append(String.format(Locale.ROOT,
                "{\"transport\":\"%s\",\"count\":%d,\"measuredSeconds\":%.3f,\"roundTripsPerSec\":%.1f," +
                "\"p50Us\":%.3f,\"p90Us\":%.3f,\"p99Us\":%.3f,\"p999Us\":%.3f,\"maxUs\":%.3f,\"meanUs\":%.3f," +
                "\"transportErrors\":%d}",
                transport, latency.getTotalCount(), measuredSeconds, roundTripsPerSec,
                latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(90) / 1e3,
                latency.getValueAtPercentile(99) / 1e3, latency.getValueAtPercentile(99.9) / 1e3,
                latency.getMaxValue() / 1e3, latency.getMean() / 1e3, transportErrors));
        }
    }

    /**
     * Command-line options; each error names the option and its allowed values.
     */
    static final class Options extends ToolOptions
    {
        static final String IDLES = "backoff, yield or spin";

        String transport = "both";
        int messages = 100_000;
        int warmup = 20_000;
        int size = 64;
        String idle = "backoff";
        String driverIdle;

        static String usage()
        {
            return "usage: bin/ev link [--transport udp|ipc|both] [--messages N] [--warmup N] [--size B]\n" +
                "                   [--idle backoff|yield|spin] [--driver-idle backoff|yield|spin] [--json]\n" +
                "  ping-pong round trips over the replication link (Aeron, embedded media drivers)\n" +
                "  --transport T   udp: two drivers, free UDP ports on 127.0.0.1; ipc: one driver, shared\n" +
                "                  memory; both: udp, then ipc (default both)\n" +
                "  --messages N    measured round trips (default 100000); --warmup N before them (default 20000)\n" +
                "  --size B        message size in bytes, in [" + MIN_SIZE + ", " + MAX_SIZE + "] (default 64)\n" +
                "  --idle I        how the ping and pong threads wait: backoff (spin, yield, park 1 us to 1 ms),\n" +
                "                  yield or spin (default backoff)\n" +
                "  --driver-idle I how the media drivers wait (default: the same as --idle)\n" +
                "  --json          summary as one JSON object on stdout (status lines go to stderr)";
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
                case "--transport":
                    transport = value;
                    break;
                case "--messages":
                    messages = parseInt(option, value);
                    break;
                case "--warmup":
                    warmup = parseInt(option, value);
                    break;
                case "--size":
                    size = parseInt(option, value);
                    break;
                case "--idle":
                    idle = value;
                    break;
                case "--driver-idle":
                    driverIdle = value;
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + option);
            }
        }

        @Override
        protected void validate()
        {
            require("udp".equals(transport) || "ipc".equals(transport) || "both".equals(transport),
                "--transport " + transport + " must be udp, ipc or both");
            require(messages >= 1 && messages <= 1_000_000_000, "--messages " + messages + " must be in [1, 10^9]");
            require(warmup >= 0 && warmup <= 1_000_000_000, "--warmup " + warmup + " must be in [0, 10^9]");
            require(size >= MIN_SIZE && size <= MAX_SIZE,
                "--size " + size + " must be in [" + MIN_SIZE + ", " + MAX_SIZE + "] bytes");
            require(isIdle(idle), "--idle " + idle + " must be " + IDLES);
            require(null == driverIdle || isIdle(driverIdle), "--driver-idle " + driverIdle + " must be " + IDLES);
        }

        String driverIdle()
        {
            return null == driverIdle ? idle : driverIdle;
        }

        List<String> transports()
        {
            return "both".equals(transport) ? List.of("udp", "ipc") : List.of(transport);
        }

        private static boolean isIdle(final String name)
        {
            return "backoff".equals(name) || "yield".equals(name) || "spin".equals(name);
        }

        /**
         * @return a supplier of the idle strategy {@code name} (one of {@link #IDLES}).
         */
        static Supplier<IdleStrategy> idleStrategy(final String name)
        {
            switch (name)
            {
                case "spin":
                    return BusySpinIdleStrategy::new;
                case "yield":
                    return YieldingIdleStrategy::new;
                case "backoff":
                    return BackoffIdleStrategy::new;
                default:
                    throw new IllegalArgumentException("idle strategy " + name + " must be " + IDLES);
            }
        }
    }
}
