/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Comparator;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

import org.agrona.CloseHelper;

/**
 * A loopback UDP proxy between the two replicas of a pair (real processes over Aeron UDP) that drops, delays,
 * duplicates, reorders and cuts their datagrams, per direction, with seeded choices.
 * <p>
 * <b>Wiring.</b> Node A listens on {@code endpointA} ({@code --listen}), node B on {@code endpointB}. The proxy
 * binds two ports on 127.0.0.1: {@link #endpointTowardB()}, given to A as its peer ({@code --peer}), and
 * {@link #endpointTowardA()}, given to B as its peer. What A sends to its peer address arrives on the proxy's
 * public socket toward B and leaves through a second, relay socket of the proxy to {@code endpointB}.
 * Aeron's unicast receiver answers (status messages, NAKs, RTT measurements) to the source address of the data
 * it receives, here the relay socket; the proxy relays those control frames back through the public socket to
 * the address A's datagrams last came from (A's publication socket, which Aeron connects to its endpoint: the
 * answers must come from the port A sent to, and do). So each direction of the pair uses one public and one
 * relay socket, four in all, and a restarted node (a new source port) is followed at its first datagram.
 * <p>
 * <b>Faults</b> apply by {@link Direction}: the way a datagram travels between the nodes, whatever it carries
 * (A's data frames to B and A's control frames about B's stream both travel {@link Direction#A_TO_B}), as on a
 * real network path. Per direction ({@link #faults(Direction, Faults)}, changeable at any time):
 * <ul>
 *     <li>drop probability: the datagram is lost;</li>
 *     <li>duplicate probability: a second copy is sent too (with its own delay);</li>
 *     <li>delay: each copy is held for a time drawn uniformly from {@code [minDelay, maxDelay]} (different
 *     delays reorder);</li>
 *     <li>reorder probability: the copy is held back an extra 1 to {@value #REORDER_HOLD_MAX_MS} ms, so that
 *     datagrams sent after it overtake it;</li>
 *     <li>cut (a one-way partition; both directions cut is a full partition): every datagram is lost, including
 *     those held for delay when they fall due.</li>
 * </ul>
 * Every choice comes from one {@link SplittableRandom} seeded at launch and drawn in the order the datagrams
 * arrive, so a seed fixes the choices for a given arrival order (arrival timing is the processes', not the
 * proxy's). Aeron recovers from loss (NAK and retransmission), duplication and reordering by itself; the
 * replication protocol sees only delay, and silence when a cut lasts.
 * <p>
 * <b>Threads.</b> One thread ({@code ev-udp-fault-proxy}) receives, decides and sends, blocking in a selector
 * until a datagram arrives or a held one falls due. Counters ({@link #counters(Direction)}) and settings may be
 * read and changed from any thread. Only loopback endpoints are accepted.
 */
public final class UdpFaultProxy implements AutoCloseable
{
    /** Longest extra hold of a reordered datagram, in milliseconds. */
    public static final int REORDER_HOLD_MAX_MS = 5;
    /** Longest delay a {@link Faults} may set, in milliseconds. */
    public static final long MAX_DELAY_MS = 10_000;

    private static final int MAX_DATAGRAM = 65_536;
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;
    private static final long IDLE_SELECT_MS = 100;

    private static final int RECEIVED = 0;
    private static final int FORWARDED = 1;
    private static final int DROPPED = 2;
    private static final int DUPLICATED = 3;
    private static final int DELAYED = 4;
    private static final int REORDERED = 5;
    private static final int CUT = 6;
    private static final int UNROUTABLE = 7;
    private static final int SEND_FAILED = 8;
    private static final int COUNTERS = 9;

    private static final Comparator<Held> RELEASE_ORDER = (a, b) ->
    {
        final int byTime = Long.compare(a.releaseNs, b.releaseNs);
        return 0 != byTime ? byTime : Long.compare(a.sequence, b.sequence);
    };

    /**
     * The way a datagram travels between the two nodes.
     */
    public enum Direction
    {
        /** Sent by node A (its data, and its control frames about B's stream), toward node B. */
        A_TO_B,
        /** Sent by node B, toward node A. */
        B_TO_A
    }

    private final long seed;
    private final SplittableRandom random;
    private final InetSocketAddress addressA;
    private final InetSocketAddress addressB;
    private final Selector selector;
    private final DatagramChannel publicTowardB;
    private final DatagramChannel relayTowardB;
    private final DatagramChannel publicTowardA;
    private final DatagramChannel relayTowardA;
    private final AtomicLongArray counters = new AtomicLongArray(2 * COUNTERS);
    private final Faults[] faults = {Faults.NONE, Faults.NONE};
    private final PriorityQueue<Held> held = new PriorityQueue<>(RELEASE_ORDER);
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(MAX_DATAGRAM);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;
    private SocketAddress sourceOfA;
    private SocketAddress sourceOfB;
    private long nextSequence;

    private UdpFaultProxy(final String endpointA, final String endpointB, final long seed) throws IOException
    {
        AeronTransport.Context.checkEndpoint("endpointA", endpointA, false);
        AeronTransport.Context.checkEndpoint("endpointB", endpointB, false);
        if (endpointA.equals(endpointB))
        {
            throw new IllegalArgumentException("UdpFaultProxy: endpointA = endpointB = " + endpointA +
                ": the two nodes must listen on different ports");
        }
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        this.addressA = address(endpointA);
        this.addressB = address(endpointB);
        Selector openedSelector = null;
        final DatagramChannel[] channels = new DatagramChannel[4];
        try
        {
            openedSelector = Selector.open();
            for (int i = 0; i < channels.length; i++)
            {
                channels[i] = DatagramChannel.open();
                channels[i].setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
                channels[i].setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
                channels[i].bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                channels[i].configureBlocking(false);
                channels[i].register(openedSelector, SelectionKey.OP_READ, i);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            CloseHelper.quietCloseAll(channels);
            CloseHelper.quietClose(openedSelector);
            throw ex;
        }
        selector = openedSelector;
        publicTowardB = channels[0];
        relayTowardB = channels[1];
        publicTowardA = channels[2];
        relayTowardA = channels[3];
        thread = new Thread(this::run, "ev-udp-fault-proxy");
        thread.setDaemon(true);
    }

    /**
     * Binds the proxy's four sockets on 127.0.0.1 and starts its thread, with no faults.
     *
     * @param endpointA {@code host:port} node A listens on (loopback).
     * @param endpointB {@code host:port} node B listens on (loopback).
     * @param seed      of every fault choice.
     * @throws IllegalArgumentException naming the endpoint when one is malformed or off loopback.
     * @throws UncheckedIOException     when a socket cannot be opened.
     */
    public static UdpFaultProxy launch(final String endpointA, final String endpointB, final long seed)
    {
        final UdpFaultProxy proxy;
        try
        {
            proxy = new UdpFaultProxy(endpointA, endpointB, seed);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("UdpFaultProxy: cannot open its sockets on 127.0.0.1: " + ex, ex);
        }
        proxy.thread.start();
        return proxy;
    }

    /**
     * @return {@code 127.0.0.1:port} node A sends to: A's peer endpoint.
     */
    public String endpointTowardB()
    {
        return endpoint(publicTowardB);
    }

    /**
     * @return {@code 127.0.0.1:port} node B sends to: B's peer endpoint.
     */
    public String endpointTowardA()
    {
        return endpoint(publicTowardA);
    }

    /**
     * @return the seed of the fault choices.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * Sets the faults of one direction, from the next datagram on (datagrams already held keep their release
     * time; a cut loses them when they fall due).
     */
    public void faults(final Direction direction, final Faults faults)
    {
        if (null == faults)
        {
            throw new IllegalArgumentException("faults must not be null (Faults.NONE heals)");
        }
        synchronized (this.faults)
        {
            this.faults[direction.ordinal()] = faults;
        }
    }

    /**
     * Sets the same faults on both directions.
     */
    public void faults(final Faults faults)
    {
        faults(Direction.A_TO_B, faults);
        faults(Direction.B_TO_A, faults);
    }

    /**
     * @return the faults of one direction now.
     */
    public Faults faults(final Direction direction)
    {
        synchronized (faults)
        {
            return faults[direction.ordinal()];
        }
    }

    /**
     * Removes every fault, both ways.
     */
    public void heal()
    {
        faults(Faults.NONE);
    }

    /**
     * @return what happened to the datagrams of one direction so far.
     */
    public Counters counters(final Direction direction)
    {
        final int base = direction.ordinal() * COUNTERS;
        return new Counters(counters.get(base + RECEIVED), counters.get(base + FORWARDED),
            counters.get(base + DROPPED), counters.get(base + DUPLICATED), counters.get(base + DELAYED),
            counters.get(base + REORDERED), counters.get(base + CUT), counters.get(base + UNROUTABLE),
            counters.get(base + SEND_FAILED));
    }

    /**
     * @return the exception that stopped the proxy's thread, or null while it runs (or after a clean close).
     */
    public Throwable failure()
    {
        return failure;
    }

    /**
     * Stops the thread and closes the sockets; datagrams still held are lost. Idempotent.
     */
    @Override
    public void close()
    {
        running = false;
        selector.wakeup();
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        CloseHelper.quietCloseAll(publicTowardB, relayTowardB, publicTowardA, relayTowardA, selector);
    }

    @Override
    public String toString()
    {
        return "UdpFaultProxy{seed=" + seed + ", A=" + addressA + " <- " + endpointTowardA() + ", B=" + addressB +
            " <- " + endpointTowardB() + ", A_TO_B " + faults(Direction.A_TO_B) + ", B_TO_A " +
            faults(Direction.B_TO_A) + '}';
    }

    private void run()
    {
        try
        {
            while (running)
            {
                final long nowNs = System.nanoTime();
                final Held next = held.peek();
                final long waitMs = null == next ? IDLE_SELECT_MS :
                    Math.min(IDLE_SELECT_MS, Math.max(0, TimeUnit.NANOSECONDS.toMillis(next.releaseNs - nowNs)));
                if (0 == waitMs)
                {
                    selector.selectNow();
                }
                else
                {
                    selector.select(waitMs);
                }
                for (final SelectionKey key : selector.selectedKeys())
                {
                    drain((Integer)key.attachment());
                }
                selector.selectedKeys().clear();
                release(System.nanoTime());
            }
        }
        catch (final ClosedSelectorException ex)
        {
            // closed while running: stop
        }
        catch (final IOException | RuntimeException ex)
        {
            if (running)
            {
                failure = ex;
            }
        }
    }

    /**
     * Receives every datagram waiting on one socket and routes it.
     */
    private void drain(final int channel) throws IOException
    {
        final DatagramChannel from = 0 == channel ? publicTowardB : 1 == channel ? relayTowardB :
            2 == channel ? publicTowardA : relayTowardA;
        while (true)
        {
            buffer.clear();
            final SocketAddress source = from.receive(buffer);
            if (null == source)
            {
                return;
            }
            buffer.flip();
            switch (channel)
            {
                case 0: // A's data toward B
                    sourceOfA = source;
                    route(Direction.A_TO_B, relayTowardB, addressB);
                    break;
                case 1: // B's control frames about A's stream, back to A's publication
                    route(Direction.B_TO_A, publicTowardB, sourceOfA);
                    break;
                case 2: // B's data toward A
                    sourceOfB = source;
                    route(Direction.B_TO_A, relayTowardA, addressA);
                    break;
                default: // A's control frames about B's stream, back to B's publication
                    route(Direction.A_TO_B, publicTowardA, sourceOfB);
                    break;
            }
        }
    }

    /**
     * Decides the fate of the datagram in {@link #buffer} (position 0 to limit).
     */
    private void route(final Direction direction, final DatagramChannel out, final SocketAddress target)
        throws IOException
    {
        final int base = direction.ordinal() * COUNTERS;
        counters.incrementAndGet(base + RECEIVED);
        if (null == target)
        {
            counters.incrementAndGet(base + UNROUTABLE); // an answer before its sender's first datagram
            return;
        }
        final Faults f = faults(direction);
        if (f.cut)
        {
            counters.incrementAndGet(base + CUT);
            return;
        }
        if (f.drop > 0 && random.nextDouble() < f.drop)
        {
            counters.incrementAndGet(base + DROPPED);
            return;
        }
        final int copies = f.duplicate > 0 && random.nextDouble() < f.duplicate ? 2 : 1;
        if (2 == copies)
        {
            counters.incrementAndGet(base + DUPLICATED);
        }
        for (int copy = 0; copy < copies; copy++)
        {
            long delayNs = f.minDelayNs == f.maxDelayNs ? f.minDelayNs :
                f.minDelayNs + random.nextLong(f.maxDelayNs - f.minDelayNs + 1);
            if (f.reorder > 0 && random.nextDouble() < f.reorder)
            {
                counters.incrementAndGet(base + REORDERED);
                delayNs += TimeUnit.MICROSECONDS.toNanos(1_000 + random.nextInt(REORDER_HOLD_MAX_MS * 1_000 - 999));
            }
            if (0 == delayNs)
            {
                send(direction, out, target, buffer.duplicate());
            }
            else
            {
                counters.incrementAndGet(base + DELAYED);
                final byte[] bytes = new byte[buffer.remaining()];
                buffer.duplicate().get(bytes);
                held.add(new Held(System.nanoTime() + delayNs, nextSequence++, direction, out, target, bytes));
            }
        }
    }

    private void release(final long nowNs) throws IOException
    {
        Held next;
        while (null != (next = held.peek()) && next.releaseNs - nowNs <= 0)
        {
            held.poll();
            if (faults(next.direction).cut)
            {
                counters.incrementAndGet(next.direction.ordinal() * COUNTERS + CUT);
            }
            else
            {
                send(next.direction, next.out, next.target, ByteBuffer.wrap(next.bytes));
            }
        }
    }

    private void send(final Direction direction, final DatagramChannel out, final SocketAddress target,
        final ByteBuffer datagram) throws IOException
    {
        final int base = direction.ordinal() * COUNTERS;
        try
        {
            if (0 == out.send(datagram, target))
            {
                counters.incrementAndGet(base + SEND_FAILED); // the socket's send buffer is full: lost, as UDP may
            }
            else
            {
                counters.incrementAndGet(base + FORWARDED);
            }
        }
        catch (final java.net.PortUnreachableException ex)
        {
            counters.incrementAndGet(base + SEND_FAILED); // the node is down: lost
        }
    }

    private static String endpoint(final DatagramChannel channel)
    {
        try
        {
            final InetSocketAddress local = (InetSocketAddress)channel.getLocalAddress();
            return local.getAddress().getHostAddress() + ":" + local.getPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static InetSocketAddress address(final String endpoint)
    {
        final int colon = endpoint.lastIndexOf(':');
        String host = endpoint.substring(0, colon);
        final int port = Integer.parseInt(endpoint.substring(colon + 1));
        if (host.startsWith("["))
        {
            host = host.substring(1, host.length() - 1);
        }
        try
        {
            // checkEndpoint admitted only localhost and loopback literals: nothing is looked up
            return new InetSocketAddress("localhost".equalsIgnoreCase(host) ? InetAddress.getLoopbackAddress() :
                InetAddress.getByName(host), port);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException("UdpFaultProxy: endpoint " + endpoint + ": " + ex, ex);
        }
    }

    /**
     * A datagram held for delay or reordering.
     */
    private static final class Held
    {
        final long releaseNs;
        final long sequence;
        final Direction direction;
        final DatagramChannel out;
        final SocketAddress target;
        final byte[] bytes;

        Held(
            final long releaseNs,
            final long sequence,
            final Direction direction,
            final DatagramChannel out,
            final SocketAddress target,
            final byte[] bytes)
        {
            this.releaseNs = releaseNs;
            this.sequence = sequence;
            this.direction = direction;
            this.out = out;
            this.target = target;
            this.bytes = bytes;
        }
    }

    /**
     * The faults of one direction: immutable, built from {@link #NONE} with the {@code with} methods, each of
     * which validates its value.
     */
    public static final class Faults
    {
        /** No fault: every datagram is forwarded at once. */
        public static final Faults NONE = new Faults(0, 0, 0, 0, 0, false);
        /** Every datagram is lost. */
        public static final Faults CUT_OFF = NONE.withCut(true);

        private final double drop;
        private final double duplicate;
        private final double reorder;
        private final long minDelayNs;
        private final long maxDelayNs;
        private final boolean cut;

        private Faults(
            final double drop,
            final double duplicate,
            final double reorder,
            final long minDelayNs,
            final long maxDelayNs,
            final boolean cut)
        {
            this.drop = drop;
            this.duplicate = duplicate;
            this.reorder = reorder;
            this.minDelayNs = minDelayNs;
            this.maxDelayNs = maxDelayNs;
            this.cut = cut;
        }

        /**
         * @param drop probability in [0, 1] that a datagram is lost.
         */
        public Faults withDrop(final double drop)
        {
            return new Faults(probability("drop", drop), duplicate, reorder, minDelayNs, maxDelayNs, cut);
        }

        /**
         * @param duplicate probability in [0, 1] that a datagram is sent twice.
         */
        public Faults withDuplicate(final double duplicate)
        {
            return new Faults(drop, probability("duplicate", duplicate), reorder, minDelayNs, maxDelayNs, cut);
        }

        /**
         * @param reorder probability in [0, 1] that a datagram is held back 1 to {@value #REORDER_HOLD_MAX_MS} ms.
         */
        public Faults withReorder(final double reorder)
        {
            return new Faults(drop, duplicate, probability("reorder", reorder), minDelayNs, maxDelayNs, cut);
        }

        /**
         * @param minDelayMs shortest delay, in [0, maxDelayMs].
         * @param maxDelayMs longest delay, in [minDelayMs, {@value UdpFaultProxy#MAX_DELAY_MS}].
         */
        public Faults withDelayMs(final long minDelayMs, final long maxDelayMs)
        {
            if (minDelayMs < 0 || maxDelayMs < minDelayMs || maxDelayMs > MAX_DELAY_MS)
            {
                throw new IllegalArgumentException("delay " + minDelayMs + "-" + maxDelayMs + " ms must satisfy " +
                    "0 <= min <= max <= " + MAX_DELAY_MS);
            }
            return new Faults(drop, duplicate, reorder, TimeUnit.MILLISECONDS.toNanos(minDelayMs),
                TimeUnit.MILLISECONDS.toNanos(maxDelayMs), cut);
        }

        /**
         * @param cut true: every datagram of the direction is lost.
         */
        public Faults withCut(final boolean cut)
        {
            return new Faults(drop, duplicate, reorder, minDelayNs, maxDelayNs, cut);
        }

        public double drop()
        {
            return drop;
        }

        public double duplicate()
        {
            return duplicate;
        }

        public double reorder()
        {
            return reorder;
        }

        public long minDelayNs()
        {
            return minDelayNs;
        }

        public long maxDelayNs()
        {
            return maxDelayNs;
        }

        public boolean cut()
        {
            return cut;
        }

        /**
         * @return whether any fault is set.
         */
        public boolean any()
        {
            return cut || drop > 0 || duplicate > 0 || reorder > 0 || maxDelayNs > 0;
        }

        @Override
        public String toString()
        {
            if (cut)
            {
                return "cut";
            }
            if (!any())
            {
                return "none";
            }
            final StringBuilder text = new StringBuilder();
            if (drop > 0)
            {
                text.append(String.format(Locale.ROOT, "drop %.1f%% ", drop * 100));
            }
            if (duplicate > 0)
            {
                text.append(String.format(Locale.ROOT, "duplicate %.1f%% ", duplicate * 100));
            }
            if (reorder > 0)
            {
                text.append(String.format(Locale.ROOT, "reorder %.1f%% ", reorder * 100));
            }
            if (maxDelayNs > 0)
            {
                text.append(String.format(Locale.ROOT, "delay %d-%d ms ", TimeUnit.NANOSECONDS.toMillis(minDelayNs),
                    TimeUnit.NANOSECONDS.toMillis(maxDelayNs)));
            }
            return text.toString().trim();
        }

        private static double probability(final String name, final double value)
        {
            if (!(value >= 0 && value <= 1))
            {
                throw new IllegalArgumentException(name + " probability " + value + " must be in [0, 1]");
            }
            return value;
        }
    }

    /**
     * What happened to the datagrams of one direction: {@code received + duplicated = forwarded + dropped + cut +
     * unroutable + sendFailed + (held now)}.
     *
     * @param received   datagrams that arrived at the proxy.
     * @param forwarded  copies sent on.
     * @param dropped    lost by the drop probability.
     * @param duplicated second copies made.
     * @param delayed    copies held (delay or reorder) before sending.
     * @param reordered  copies held back to be overtaken.
     * @param cut        lost to a cut (on arrival, or held when it fell due).
     * @param unroutable answers that arrived before the node they answer had sent anything (lost).
     * @param sendFailed copies the socket refused (full send buffer, node down): lost.
     */
    public record Counters(
        long received,
        long forwarded,
        long dropped,
        long duplicated,
        long delayed,
        long reordered,
        long cut,
        long unroutable,
        long sendFailed)
    {
    }
}
