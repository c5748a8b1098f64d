/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link AeronLink} over UDP loopback and IPC with embedded drivers. Every address is on 127.0.0.1; driver
 * directories are under {@code @TempDir}. Message k has a length drawn from a seed (printed) and content derived
 * from k, so the receiver checks order and integrity of every byte.
 */
final class AeronLinkTest
{
    private static final int TEST_TERM_BUFFER_LENGTH = 16 << 20;
    private static final int ONE_MIB = 1 << 20;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path tempDir;

    private final List<Throwable> errors = new CopyOnWriteArrayList<>();

    @ParameterizedTest(name = "mtuLength {0}")
    @ValueSource(ints = {0, AeronTransport.Context.MTU_LENGTH_MAX})
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldExchangeTenThousandMessagesEachWayInOrderOverUdpLoopback(final int mtuLength) throws IOException
    {
        final long seed = System.nanoTime();
        System.out.println("shouldExchangeTenThousandMessagesEachWayInOrderOverUdpLoopback mtu=" + mtuLength +
            " seed=" + seed);
        final int portA = freeUdpPort();
        final int portB = freeUdpPort();
        try (AeronTransport transportA = AeronTransport.launch(udpContext("a", portA, portB).mtuLength(mtuLength));
            AeronTransport transportB = AeronTransport.launch(udpContext("b", portB, portA).mtuLength(mtuLength));
            AeronLink linkA = transportA.newLink();
            AeronLink linkB = transportB.newLink())
        {
            assertEquals(2 * ONE_MIB, linkA.maxMessageLength());
            awaitConnected(linkA, linkB);
            exchange(linkA, linkB, 10_000, seed, Duration.ofSeconds(25));
        }
        assertEquals(List.of(), errors);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldExchangeMessagesOverIpcBetweenTwoReplicasSharingOneDriver()
    {
        final long seed = System.nanoTime();
        System.out.println("shouldExchangeMessagesOverIpcBetweenTwoReplicasSharingOneDriver seed=" + seed);
        try (AeronTransport transport = AeronTransport.launch(ipcContext("ipc", TEST_TERM_BUFFER_LENGTH));
            AeronLink primary = transport.newIpcLink(10, 11);
            AeronLink backup = transport.newIpcLink(11, 10))
        {
            awaitConnected(primary, backup);
            exchange(primary, backup, 10_000, seed, Duration.ofSeconds(15));

            final IllegalArgumentException ex =
                assertThrows(IllegalArgumentException.class, () -> transport.newIpcLink(12, 12));
            assertTrue(ex.getMessage().contains("sendStreamId"), ex.getMessage());
        }
        assertEquals(List.of(), errors);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldCarryLinkMaxMessageLengthWithTheDefaultTermBufferLength()
    {
        try (AeronTransport transport = AeronTransport.launch(
            ipcContext("max", AeronTransport.Context.TERM_BUFFER_LENGTH_DEFAULT));
            AeronLink primary = transport.newIpcLink(20, 21);
            AeronLink backup = transport.newIpcLink(21, 20))
        {
            assertEquals(Link.MAX_MESSAGE_LENGTH, transport.maxMessageLength());
            assertEquals(Link.MAX_MESSAGE_LENGTH, primary.maxMessageLength());
            awaitConnected(primary, backup);

            final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(Link.MAX_MESSAGE_LENGTH));
            MessageStream.fill(message, 7, Link.MAX_MESSAGE_LENGTH);
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1))
                .until(() -> primary.offer(message, 0, Link.MAX_MESSAGE_LENGTH));

            final int[] received = new int[1];
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1)).until(() ->
            {
                backup.poll((buffer, offset, length) ->
                {
                    assertEquals(Link.MAX_MESSAGE_LENGTH, length);
                    MessageStream.verify(buffer, offset, length, 7);
                    received[0]++;
                }, 10);
                return received[0] == 1;
            });
        }
        assertEquals(List.of(), errors);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldReturnFalseUnderBackPressureAndRecoverWhenThePeerPolls() throws IOException
    {
        final int portA = freeUdpPort();
        final int portB = freeUdpPort();
        try (AeronTransport transportA = AeronTransport.launch(udpContext("a", portA, portB).termBufferLength(ONE_MIB));
            AeronTransport transportB = AeronTransport.launch(udpContext("b", portB, portA).termBufferLength(ONE_MIB));
            AeronLink linkA = transportA.newLink();
            AeronLink linkB = transportB.newLink())
        {
            awaitConnected(linkA, linkB);
            final int length = 4096;
            final UnsafeBuffer message = new UnsafeBuffer(new byte[length]);
            // Offers are accepted while the sender drains into the receiver's window; once that window is full
            // (B never polls) every offer must return false, promptly, without throwing.
            final int[] accepted = new int[1];
            final int[] refused = new int[1];
            final long[] lastAcceptedNs = { System.nanoTime() };
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1)).until(() ->
            {
                for (int i = 0; i < 64; i++)
                {
                    message.putInt(0, accepted[0]);
                    if (linkA.offer(message, 0, length))
                    {
                        accepted[0]++;
                        lastAcceptedNs[0] = System.nanoTime();
                    }
                    else
                    {
                        refused[0]++;
                    }
                }
                return System.nanoTime() - lastAcceptedNs[0] > TimeUnit.MILLISECONDS.toNanos(200);
            });
            assertTrue(accepted[0] >= 64, "a 1 MiB term holds a 512 KiB window; accepted only " + accepted[0]);
            assertTrue(refused[0] >= 64, "refused " + refused[0]);
            assertFalse(linkA.offer(message, 0, length), "still back pressured while the peer does not poll");

            final int total = accepted[0];
            final int[] next = new int[1];
            final Link.MessageHandler inOrder = (buffer, offset, messageLength) ->
            {
                assertEquals(length, messageLength);
                assertEquals(next[0], buffer.getInt(offset));
                next[0]++;
            };
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1)).until(() ->
            {
                linkB.poll(inOrder, 100);
                return next[0] == total;
            });
            message.putInt(0, total);
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1))
                .until(() -> linkA.offer(message, 0, length));
        }
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldReturnFalseWhileNoPeerListens() throws IOException
    {
        final int portA = freeUdpPort();
        final int nobody = freeUdpPort();
        try (AeronTransport transport = AeronTransport.launch(udpContext("a", portA, nobody));
            AeronLink link = transport.newLink())
        {
            final UnsafeBuffer message = new UnsafeBuffer(new byte[64]);
            for (int i = 0; i < 1_000; i++)
            {
                assertFalse(link.offer(message, 0, message.capacity()));
            }
            assertFalse(link.isConnected());
            assertEquals(0, link.poll((buffer, offset, length) -> fail("nothing was sent"), 10));
        }
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldRefuseOffersOnAClosedLinkNamingTheState()
    {
        final UnsafeBuffer message = new UnsafeBuffer(new byte[64]);
        final AeronLink survivor;
        try (AeronTransport transport = AeronTransport.launch(ipcContext("closed", ONE_MIB)))
        {
            final AeronLink link = transport.newIpcLink(30, 31);
            survivor = transport.newIpcLink(31, 30);
            link.close();
            link.close();

            final IllegalStateException offerEx =
                assertThrows(IllegalStateException.class, () -> link.offer(message, 0, 64));
            assertTrue(offerEx.getMessage().contains("CLOSED"), offerEx.getMessage());
            final IllegalStateException pollEx =
                assertThrows(IllegalStateException.class, () -> link.poll((buffer, offset, length) -> {}, 1));
            assertTrue(pollEx.getMessage().contains("CLOSED"), pollEx.getMessage());
            assertFalse(link.isConnected());
        }

        final IllegalStateException ex =
            assertThrows(IllegalStateException.class, () -> survivor.offer(message, 0, 64));
        assertTrue(ex.getMessage().contains("CLOSED"), ex.getMessage());
        survivor.close();
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldRejectMessagesAboveMaxMessageLengthOrOfNegativeLength()
    {
        try (AeronTransport transport = AeronTransport.launch(ipcContext("length", ONE_MIB));
            AeronLink link = transport.newIpcLink(40, 41))
        {
            assertEquals(ONE_MIB / 8, link.maxMessageLength());
            final UnsafeBuffer message = new UnsafeBuffer(new byte[ONE_MIB]);
            final IllegalArgumentException tooLong = assertThrows(
                IllegalArgumentException.class, () -> link.offer(message, 0, link.maxMessageLength() + 1));
            assertTrue(tooLong.getMessage().contains("maxMessageLength"), tooLong.getMessage());
            assertThrows(IllegalArgumentException.class, () -> link.offer(message, 0, -1));
        }
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldCountPollLimitInMessagesAndPropagateHandlerExceptions()
    {
        try (AeronTransport transport = AeronTransport.launch(ipcContext("limit", TEST_TERM_BUFFER_LENGTH));
            AeronLink primary = transport.newIpcLink(50, 51);
            AeronLink backup = transport.newIpcLink(51, 50))
        {
            awaitConnected(primary, backup);
            final int length = 100_000; // about 73 fragments each
            final UnsafeBuffer message = new UnsafeBuffer(new byte[length]);
            for (int k = 0; k < 10; k++)
            {
                MessageStream.fill(message, k, length);
                assertTrue(primary.offer(message, 0, length));
            }

            final int[] next = new int[1];
            final Link.MessageHandler inOrder = (buffer, offset, messageLength) ->
            {
                MessageStream.verify(buffer, offset, messageLength, next[0]);
                next[0]++;
            };
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1))
                .until(() -> backup.poll(inOrder, 3) > 0);
            assertEquals(3, next[0], "the first poll delivered exactly the limit");

            final IllegalStateException boom = new IllegalStateException("boom");
            final IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> backup.poll((buffer, offset, messageLength) ->
                {
                    throw boom;
                }, 10));
            assertSame(boom, thrown);

            next[0] = 4; // message 3 was consumed by the handler that threw
            await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(1)).until(() ->
            {
                backup.poll(inOrder, 2);
                return next[0] == 10;
            });
        }
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void shouldRejectBadSettingsNamingTheSetting()
    {
        assertInvalid("listenEndpoint = 127.0.0.1 must be host:port",
            new AeronTransport.Context().listenEndpoint("127.0.0.1").peerEndpoint("127.0.0.1:40001"));
        assertInvalid("peerEndpoint = 127.0.0.1:70000: port 70000 must be in [1, 65535]",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("127.0.0.1:70000"));
        assertInvalid("peerEndpoint = 127.0.0.1:0: port 0 must be in [1, 65535]",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("127.0.0.1:0"));
        assertInvalid("listenEndpoint = 127.0.0.1:http: port http is not a number",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:http").peerEndpoint("127.0.0.1:40001"));
        assertInvalid("peerEndpoint = 192.0.2.1:40001 is not on loopback",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("192.0.2.1:40001"));
        assertInvalid("allowNonLoopback(true)",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("peer.invalid:40001"));
        assertInvalid("peerEndpoint = 127.0.0.256:40001 is not on loopback",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("127.0.0.256:40001"));
        assertInvalid("IPv6 host must be in brackets",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("::1:40001"));
        assertInvalid("must be set together",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000"));
        assertInvalid("peerEndpoint = 127.0.0.1:40000 must differ from listenEndpoint",
            new AeronTransport.Context().listenEndpoint("127.0.0.1:40000").peerEndpoint("127.0.0.1:40000"));
        assertInvalid("termBufferLength = 3000 must be a power of two in [65536, 1073741824]",
            new AeronTransport.Context().termBufferLength(3000));
        assertInvalid("termBufferLength = 32768 must be a power of two",
            new AeronTransport.Context().termBufferLength(32 << 10));
        assertInvalid("threading must be", new AeronTransport.Context().threading(null));
        assertInvalid("idleStrategy must be set", new AeronTransport.Context().idleStrategy(null));
        assertInvalid("mtuLength = 1000 must be 0 (Aeron's default) or a multiple of 32 in [64, 65504]",
            new AeronTransport.Context().mtuLength(1000));
        assertInvalid("mtuLength = 65536 must be", new AeronTransport.Context().mtuLength(65536));
        assertInvalid("receiverWindowLength = 1000 must be 0 (Aeron's default) or in [65536, termBufferLength / 2",
            new AeronTransport.Context().receiverWindowLength(1000));
        assertInvalid("receiverWindowLength = 8388608 must be 0 (Aeron's default) or in [65536, " +
            "termBufferLength / 2 = 4194304]",
            new AeronTransport.Context().termBufferLength(8 << 20).receiverWindowLength(8 << 20));
        assertEquals(0, new AeronTransport.Context().receiverWindowLength(0).conclude().receiverWindowLength());
        final long hostCapped = Math.min(AeronTransport.Context.RECEIVER_WINDOW_LENGTH_DEFAULT,
            AeronTransport.Context.hostMaxReceiveBuffer());
        assertEquals(hostCapped < AeronTransport.Context.RECEIVER_WINDOW_LENGTH_MIN ? 0 : hostCapped,
            new AeronTransport.Context().conclude().receiverWindowLength(), "the default, capped by the host");
        assertEquals(0, new AeronTransport.Context().termBufferLength(64 << 10).conclude().receiverWindowLength(),
            "a term too small for the smallest window leaves Aeron's default");

        new AeronTransport.Context().listenEndpoint("localhost:40000").peerEndpoint("127.0.0.2:1").conclude();
        new AeronTransport.Context().listenEndpoint("[::1]:40000").peerEndpoint("127.255.255.254:65535").conclude();
        new AeronTransport.Context().allowNonLoopback(true)
            .listenEndpoint("0.0.0.0:40000").peerEndpoint("peer.invalid:40001").conclude();
        assertEquals(Link.MAX_MESSAGE_LENGTH, new AeronTransport.Context().conclude().maxMessageLength());
        assertEquals(2 * ONE_MIB,
            new AeronTransport.Context().termBufferLength(16 << 20).conclude().maxMessageLength());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldReconnectWhenOneSideRestartsWithTheSameDirectory() throws IOException
    {
        final long seed = System.nanoTime();
        System.out.println("shouldReconnectWhenOneSideRestartsWithTheSameDirectory seed=" + seed);
        final int portA = freeUdpPort();
        final int portB = freeUdpPort();
        final Path dirB = tempDir.resolve("b");
        try (AeronTransport transportA = AeronTransport.launch(udpContext("a", portA, portB));
            AeronLink linkA = transportA.newLink())
        {
            final AeronTransport firstB =
                AeronTransport.launch(udpContext("b", portB, portA).dirDeleteOnShutdown(false));
            final AeronLink firstLinkB = firstB.newLink();
            awaitConnected(linkA, firstLinkB);
            exchange(linkA, firstLinkB, 200, seed, Duration.ofSeconds(10));

            // A crash leaves the driver's files behind: close without deleting them.
            firstLinkB.close();
            firstB.close();
            assertTrue(Files.exists(dirB.resolve("cnc.dat")), "the stopped driver left its files");

            try (AeronTransport transportB = AeronTransport.launch(udpContext("b", portB, portA));
                AeronLink linkB = transportB.newLink())
            {
                final MessageStream fromA = new MessageStream(seed, 4);
                final MessageStream fromB = new MessageStream(seed + 1, 4);
                final MessageReceiver atB = new MessageReceiver(seed, 4, true);
                final MessageReceiver atA = new MessageReceiver(seed + 1, 4, true);
                final long deadlineNs = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (atA.count() < 1_000 || atB.count() < 1_000)
                {
                    fromA.offer(linkA, Integer.MAX_VALUE);
                    fromB.offer(linkB, Integer.MAX_VALUE);
                    linkA.poll(atA, 64);
                    linkB.poll(atB, 64);
                    if (System.nanoTime() > deadlineNs)
                    {
                        fail("no exchange after restart: received at A " + atA.count() + ", at B " + atB.count());
                    }
                }
            }
        }
    }

    private static void assertInvalid(final String expected, final AeronTransport.Context ctx)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, ctx::conclude);
        assertTrue(ex.getMessage().contains(expected), "expected <" + expected + "> in <" + ex.getMessage() + ">");
    }

    private AeronTransport.Context udpContext(final String name, final int listenPort, final int peerPort)
    {
        return new AeronTransport.Context()
            .aeronDir(tempDir.resolve(name))
            .termBufferLength(TEST_TERM_BUFFER_LENGTH)
            .listenEndpoint("127.0.0.1:" + listenPort)
            .peerEndpoint("127.0.0.1:" + peerPort)
            .errorHandler(errors::add);
    }

    private AeronTransport.Context ipcContext(final String name, final int termBufferLength)
    {
        return new AeronTransport.Context()
            .aeronDir(tempDir.resolve(name))
            .termBufferLength(termBufferLength)
            .errorHandler(errors::add);
    }

    private static int freeUdpPort() throws IOException
    {
        final InetAddress loopback = InetAddress.getByAddress(new byte[]{ 127, 0, 0, 1 });
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(loopback, 0)))
        {
            return socket.getLocalPort();
        }
    }

    private static void awaitConnected(final Link a, final Link b)
    {
        await().atMost(CONNECT_TIMEOUT).pollInSameThread().pollInterval(Duration.ofMillis(5))
            .until(() -> a.isConnected() && b.isConnected());
    }

    /**
     * Sends {@code count} messages each way from one thread, polling both sides, until all arrived in order.
     */
    private static void exchange(
        final Link a, final Link b, final int count, final long seed, final Duration timeout)
    {
        final MessageStream fromA = new MessageStream(seed, 0);
        final MessageStream fromB = new MessageStream(seed + 1, 0);
        final MessageReceiver atB = new MessageReceiver(seed, 0, false);
        final MessageReceiver atA = new MessageReceiver(seed + 1, 0, false);
        final long deadlineNs = System.nanoTime() + timeout.toNanos();
        while (atA.count() < count || atB.count() < count)
        {
            fromA.offer(a, count);
            fromB.offer(b, count);
            a.poll(atA, 64);
            b.poll(atB, 64);
            if (System.nanoTime() > deadlineNs)
            {
                fail("seed " + seed + ": sent " + fromA.sent() + "/" + fromB.sent() + ", received at B " +
                    atB.count() + ", at A " + atA.count());
            }
        }
        assertEquals(count, fromA.sent());
        assertEquals(count, fromB.sent());
    }

    /**
     * Message k: length {@link #lengthOf}, an int k at offset 0 when it fits, then bytes {@code (byte)(k + i)}.
     */
    static final class MessageStream
    {
        private final long seed;
        private final int minLength;
        private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(ONE_MIB));
        private int next;
        private int filled = -1;

        MessageStream(final long seed, final int minLength)
        {
            this.seed = seed;
            this.minLength = minLength;
        }

        int sent()
        {
            return next;
        }

        void offer(final Link link, final int count)
        {
            for (int i = 0; i < 16 && next < count; i++)
            {
                final int length = lengthOf(seed, next, minLength);
                if (filled != next)
                {
                    fill(buffer, next, length);
                    filled = next;
                }
                if (!link.offer(buffer, 0, length))
                {
                    return;
                }
                next++;
            }
        }

        /**
         * Sizes from 0 bytes to 1 MiB: mostly small, every 10th at the MTU payload edge, every 100th above the
         * MTU, every 1000th about 1 MiB. Bounded volume (~15 MB per 10,000) keeps the test fast on 2 cores.
         */
        static int lengthOf(final long seed, final int k, final int minLength)
        {
            final long random = mix(seed + k * 0x9E3779B97F4A7C15L) >>> 1;
            final int length;
            if (k == 0)
            {
                length = 0;
            }
            else if (k % 1000 == 500)
            {
                length = ONE_MIB - (int)(random % 8);
            }
            else if (k % 100 == 1)
            {
                length = 1377 + (int)(random % 64_000);
            }
            else if (k % 10 == 3)
            {
                length = 1375 + (int)(random % 3); // payload of a 1408-byte MTU frame is 1376
            }
            else
            {
                length = (int)(random % 300);
            }
            return Math.max(length, minLength);
        }

        static void fill(final UnsafeBuffer buffer, final int k, final int length)
        {
            int i = 0;
            if (length >= Integer.BYTES)
            {
                buffer.putInt(0, k);
                i = Integer.BYTES;
            }
            for (; i < length; i++)
            {
                buffer.putByte(i, (byte)(k + i));
            }
        }

        static void verify(final DirectBuffer buffer, final int offset, final int length, final int k)
        {
            int i = 0;
            if (length >= Integer.BYTES)
            {
                assertEquals(k, buffer.getInt(offset), "sequence number");
                i = Integer.BYTES;
            }
            for (; i < length; i++)
            {
                if (buffer.getByte(offset + i) != (byte)(k + i))
                {
                    fail("message " + k + " of length " + length + " differs at byte " + i);
                }
            }
        }

        private static long mix(final long z)
        {
            long x = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
            return x ^ (x >>> 31);
        }
    }

    /**
     * Checks that messages arrive complete and in order; with {@code joinAnywhere} the first message sets the
     * expected sequence (for a peer that joined a stream already running).
     */
    static final class MessageReceiver implements Link.MessageHandler
    {
        private final long seed;
        private final int minLength;
        private final boolean joinAnywhere;
        private int expected = -1;
        private int count;

        MessageReceiver(final long seed, final int minLength, final boolean joinAnywhere)
        {
            this.seed = seed;
            this.minLength = minLength;
            this.joinAnywhere = joinAnywhere;
        }

        int count()
        {
            return count;
        }

        @Override
        public void onMessage(final DirectBuffer buffer, final int offset, final int length)
        {
            if (expected < 0)
            {
                expected = joinAnywhere ? buffer.getInt(offset) : 0;
            }
            assertEquals(MessageStream.lengthOf(seed, expected, minLength), length, "length of message " + expected);
            MessageStream.verify(buffer, offset, length, expected);
            expected++;
            count++;
        }
    }
}
