/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.ev.replication.AeronLinkTest.MessageReceiver;
import io.ev.replication.AeronLinkTest.MessageStream;
import io.ev.replication.UdpFaultProxy.Counters;
import io.ev.replication.UdpFaultProxy.Direction;
import io.ev.replication.UdpFaultProxy.Faults;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link UdpFaultProxy} between two Aeron UDP transports on loopback, as between two {@code bin/ev node}
 * processes: Aeron's unicast control frames (status messages, NAKs) travel back through the proxy, so the
 * link connects and delivers every message in order and intact through loss, duplication, delay and
 * reordering both ways (Aeron retransmits), and a cut stops delivery until it heals. The seed is printed.
 */
final class UdpFaultProxyTest
{
    private static final int TERM_BUFFER_LENGTH = 16 << 20;

    @TempDir
    Path tempDir;

    private final List<Throwable> errors = new CopyOnWriteArrayList<>();

    @ParameterizedTest(name = "mtuLength {0}")
    @ValueSource(ints = {0, AeronTransport.Context.MTU_LENGTH_MAX})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldDeliverEveryMessageInOrderThroughLossDuplicationDelayAndReordering(final int mtuLength)
        throws IOException
    {
        final long seed = System.nanoTime();
        System.out.println("UdpFaultProxyTest lossy mtu=" + mtuLength + " seed=" + seed);
        final String endpointA = "127.0.0.1:" + freeUdpPort();
        final String endpointB = "127.0.0.1:" + freeUdpPort();
        try (UdpFaultProxy proxy = UdpFaultProxy.launch(endpointA, endpointB, seed);
            AeronTransport a = AeronTransport.launch(context("a", endpointA, proxy.endpointTowardB(), mtuLength));
            AeronTransport b = AeronTransport.launch(context("b", endpointB, proxy.endpointTowardA(), mtuLength));
            AeronLink linkA = a.newLink();
            AeronLink linkB = b.newLink())
        {
            awaitConnected(linkA, linkB);
            proxy.faults(Faults.NONE.withDrop(0.05).withDuplicate(0.05).withReorder(0.1).withDelayMs(0, 2));
            final MessageStream fromA = new MessageStream(seed, 0);
            final MessageStream fromB = new MessageStream(seed + 1, 0);
            final MessageReceiver atB = new MessageReceiver(seed, 0, false);
            final MessageReceiver atA = new MessageReceiver(seed + 1, 0, false);
            exchange(linkA, linkB, fromA, fromB, atA, atB, 2_000, seed, proxy);
            for (final Direction direction : Direction.values())
            {
                final Counters counters = proxy.counters(direction);
                System.out.println("UdpFaultProxyTest " + direction + ": " + counters);
                assertTrue(counters.dropped() > 0 && counters.duplicated() > 0 && counters.reordered() > 0,
                    "faults were injected " + direction + ": " + counters);
                assertEquals(0, counters.cut());
            }
            assertNull(proxy.failure());
        }
        assertEquals(List.of(), errors);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldDeliverNothingAcrossACutAndEverythingAfterItHeals() throws IOException
    {
        final long seed = System.nanoTime();
        System.out.println("UdpFaultProxyTest cut seed=" + seed);
        final String endpointA = "127.0.0.1:" + freeUdpPort();
        final String endpointB = "127.0.0.1:" + freeUdpPort();
        try (UdpFaultProxy proxy = UdpFaultProxy.launch(endpointA, endpointB, seed);
            AeronTransport a = AeronTransport.launch(context("a", endpointA, proxy.endpointTowardB(), 0));
            AeronTransport b = AeronTransport.launch(context("b", endpointB, proxy.endpointTowardA(), 0));
            AeronLink linkA = a.newLink();
            AeronLink linkB = b.newLink())
        {
            awaitConnected(linkA, linkB);
            final MessageStream fromA = new MessageStream(seed, 0);
            final MessageStream fromB = new MessageStream(seed + 1, 0);
            final MessageReceiver atB = new MessageReceiver(seed, 0, false);
            final MessageReceiver atA = new MessageReceiver(seed + 1, 0, false);
            exchange(linkA, linkB, fromA, fromB, atA, atB, 200, seed, proxy);

            proxy.faults(Direction.A_TO_B, Faults.CUT_OFF);
            final long cutBefore = proxy.counters(Direction.A_TO_B).cut();
            final int receivedAtB = atB.count();
            // A keeps offering (into its term buffer) while B polls: the proxy must swallow A's datagrams
            await().atMost(Duration.ofSeconds(20)).pollInSameThread().pollInterval(Duration.ofMillis(1)).until(() ->
            {
                fromA.offer(linkA, 400);
                linkB.poll(atB, 64);
                return proxy.counters(Direction.A_TO_B).cut() > cutBefore + 20;
            });
            assertEquals(receivedAtB, atB.count(), "nothing crossed the cut from A to B");

            proxy.heal();
            exchange(linkA, linkB, fromA, fromB, atA, atB, 400, seed, proxy);
            assertNull(proxy.failure());
        }
        assertEquals(List.of(), errors);
    }

    @Test
    void shouldRefuseEndpointsOffLoopbackAndBadFaults()
    {
        final IllegalArgumentException offLoopback = assertThrows(IllegalArgumentException.class,
            () -> UdpFaultProxy.launch("10.1.2.3:4000", "127.0.0.1:4001", 1));
        assertTrue(offLoopback.getMessage().contains("endpointA = 10.1.2.3:4000 is not on loopback"),
            offLoopback.getMessage());
        assertThrows(IllegalArgumentException.class, () -> UdpFaultProxy.launch("127.0.0.1:4000", "127.0.0.1:4000", 1));
        assertThrows(IllegalArgumentException.class, () -> Faults.NONE.withDrop(1.5));
        assertThrows(IllegalArgumentException.class, () -> Faults.NONE.withDuplicate(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Faults.NONE.withDelayMs(5, 1));
        assertThrows(IllegalArgumentException.class, () -> Faults.NONE.withDelayMs(0, UdpFaultProxy.MAX_DELAY_MS + 1));
        assertEquals("drop 5.0% delay 1-3 ms", Faults.NONE.withDrop(0.05).withDelayMs(1, 3).toString());
        assertEquals("cut", Faults.CUT_OFF.toString());
        assertEquals("none", Faults.NONE.toString());
    }

    /**
     * Sends {@code count} messages each way (in all, from the streams' start), polling both sides, until all
     * arrived in order; then checks the proxy's accounting.
     */
    private static void exchange(
        final Link a,
        final Link b,
        final MessageStream fromA,
        final MessageStream fromB,
        final MessageReceiver atA,
        final MessageReceiver atB,
        final int count,
        final long seed,
        final UdpFaultProxy proxy)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
        while (atA.count() < count || atB.count() < count)
        {
            fromA.offer(a, count);
            fromB.offer(b, count);
            a.poll(atA, 64);
            b.poll(atB, 64);
            if (System.nanoTime() > deadlineNs)
            {
                fail("seed " + seed + ": sent " + fromA.sent() + "/" + fromB.sent() + ", received at B " +
                    atB.count() + ", at A " + atA.count() + "; " + proxy + " A_TO_B " +
                    proxy.counters(Direction.A_TO_B) + " B_TO_A " + proxy.counters(Direction.B_TO_A));
            }
        }
        for (final Direction direction : Direction.values())
        {
            final Counters c = proxy.counters(direction);
            assertTrue(c.received() + c.duplicated() >= c.forwarded() + c.dropped() + c.cut() + c.unroutable() +
                c.sendFailed(), "accounting " + direction + ": " + c);
            assertTrue(c.forwarded() > 0, "datagrams forwarded " + direction + ": " + c);
        }
    }

    private AeronTransport.Context context(final String name, final String listen, final String peer,
        final int mtuLength)
    {
        return new AeronTransport.Context()
            .aeronDir(tempDir.resolve(name))
            .termBufferLength(TERM_BUFFER_LENGTH)
            .mtuLength(mtuLength)
            .listenEndpoint(listen)
            .peerEndpoint(peer)
            .errorHandler(errors::add);
    }

    private static void awaitConnected(final Link a, final Link b)
    {
        await().atMost(Duration.ofSeconds(20)).pollInSameThread().pollInterval(Duration.ofMillis(5))
            .until(() -> a.isConnected() && b.isConnected());
    }

    private static int freeUdpPort() throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            return socket.getLocalPort();
        }
    }
}
