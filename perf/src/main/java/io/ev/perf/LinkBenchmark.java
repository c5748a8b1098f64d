/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Round trip of one message over the replication link's IPC transport (issue 5): the benchmark
 * thread offers a message, a pong thread echoes it, the benchmark thread polls until the echo
 * arrives. SampleTime mode, so the score is a distribution of round trips. {@link LinkRoundTrip}
 * ({@code bin/ev link}) measures the same with HdrHistogram over UDP as well.
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xms512m", "-Xmx512m" })
@State(Scope.Benchmark)
public class LinkBenchmark
{
    @Param({ "64" })
    int size;

    @Param({ "backoff" })
    String idle;

    private AeronTransport transport;
    private AeronLink ping;
    private AeronLink pong;
    private LinkRoundTrip.Echo echo;
    private Thread pongThread;
    private UnsafeBuffer message;
    private LinkRoundTrip.Reply reply;
    private IdleStrategy idleStrategy;
    private long sequence;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException
    {
        BenchmarkMain.requireJvmOptions();
        transport = AeronTransport.launch(new AeronTransport.Context()
            .termBufferLength(LinkRoundTrip.TERM_BUFFER_LENGTH)
            .idleStrategy(LinkRoundTrip.Options.idleStrategy(idle)));
        ping = transport.newIpcLink(LinkRoundTrip.PING_STREAM_ID, LinkRoundTrip.PONG_STREAM_ID);
        pong = transport.newIpcLink(LinkRoundTrip.PONG_STREAM_ID, LinkRoundTrip.PING_STREAM_ID);
        final long deadlineNs = System.nanoTime() + LinkRoundTrip.TIMEOUT_NS;
        while (!(ping.isConnected() && pong.isConnected()))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new IllegalStateException("IPC link not connected: " + ping + ", " + pong);
            }
            Thread.sleep(1);
        }
        echo = new LinkRoundTrip.Echo(pong, size, LinkRoundTrip.Options.idleStrategy(idle).get());
        pongThread = new Thread(echo, "link-pong-jmh");
        pongThread.setDaemon(true);
        pongThread.start();
        message = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
        reply = new LinkRoundTrip.Reply();
        idleStrategy = LinkRoundTrip.Options.idleStrategy(idle).get();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException
    {
        echo.running = false;
        pongThread.join(TimeUnit.NANOSECONDS.toMillis(LinkRoundTrip.TIMEOUT_NS));
        ping.close();
        pong.close();
        transport.close();
        if (null != echo.failure)
        {
            throw new IllegalStateException("the pong thread failed", echo.failure);
        }
    }

    /**
     * @return the echo's sequence number (equal to the message's).
     */
    @Benchmark
    public long roundTripIpc()
    {
        final long seq = sequence++;
        message.putLong(0, seq);
        while (!ping.offer(message, 0, size))
        {
            idleStrategy.idle();
        }
        idleStrategy.reset();
        reply.received = false;
        while (!reply.received)
        {
            idleStrategy.idle(ping.poll(reply, 1));
        }
        if (reply.sequence != seq)
        {
            throw new IllegalStateException("echo of " + seq + " carried " + reply.sequence);
        }
        return reply.sequence;
    }
}
