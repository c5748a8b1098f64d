/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.FrameDescriptor;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * One node's Aeron transport: an embedded media driver launched and owned by this object, an Aeron
 * client connected to it, and the {@link AeronLink}s made from them.
 * <p>
 * <b>Links.</b> {@link #newLink()} makes the node's UDP link: an exclusive publication to
 * {@code aeron:udp?endpoint=<peerEndpoint>} and a subscription on {@code aeron:udp?endpoint=<listenEndpoint>},
 * both on the same {@link Context#streamId(int)}: the two directions are told apart by their endpoints, so
 * both nodes use one stream id. {@link #newIpcLink(int, int)} makes a link over {@code aeron:ipc} for two
 * replicas sharing this driver; IPC has one address, so each direction needs its own stream id.
 * <p>
 * <b>Message size.</b> Aeron carries messages up to {@code termBufferLength / 8} (and never more than 16 MiB).
 * The default term length, 128 MiB, carries {@link Link#MAX_MESSAGE_LENGTH}; a smaller term lowers the
 * maximum to {@link #maxMessageLength()}, which {@link AeronLink#offer} enforces. Each publication log is
 * three terms, and each node maps one log per direction (its publication and the image of the peer's), so
 * the default needs about 768 MiB of (sparse by default) file space under the aeron directory.
 * <p>
 * <b>Directory.</b> The driver's files live in {@link Context#aeronDir(Path)} (for example
 * {@code <dataDir>/aeron}), or by default in a fresh unique directory under {@code /dev/shm} (when it has room)
 * or {@code java.io.tmpdir}. The directory is deleted on start, so the files of a node that crashed do not block
 * its restart, and by default on close. It must belong to one node: the node's data directory lock provides that.
 * <p>
 * <b>Threads.</b> {@link Threading#SHARED} (default) runs the driver's conductor, sender and receiver in one
 * thread; the Aeron client adds a mostly sleeping conductor thread. On small machines pick the idle strategy
 * by how many threads compete for how many cores: the default backs off from spinning to parking up to 1 ms.
 * <p>
 * <b>Addresses.</b> Endpoints must be on loopback ({@code 127.0.0.0/8}, {@code [::1]} or {@code localhost})
 * unless {@link Context#allowNonLoopback(boolean)} is set: nothing leaves the machine by default, and no
 * name is resolved during validation.
 * <p>
 * Thread safety: {@link #newLink()}, {@link #newIpcLink(int, int)} and {@link #close()} may be called from any
 * thread; each link is used by one thread. Closing the transport closes every link made from it (their offers
 * then throw).
 */
public final class AeronTransport implements AutoCloseable
{
    private final Context ctx;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final Path tempDir;
    private boolean closed;

    private AeronTransport(final Context ctx)
    {
        this.ctx = ctx;
        Path createdTempDir = null;
        MediaDriver launchedDriver = null;
        try
        {
            Path aeronDir = ctx.aeronDir();
            if (null == aeronDir)
            {
                createdTempDir = Files.createTempDirectory(ctx.tempParentDir(), "ev-aeron-");
                aeronDir = createdTempDir;
            }
            launchedDriver = MediaDriver.launch(driverContext(ctx, aeronDir));
            aeron = Aeron.connect(new Aeron.Context()
                .aeronDirectoryName(launchedDriver.aeronDirectoryName())
                .errorHandler(ctx.errorHandler())
                .subscriberErrorHandler(ctx.errorHandler()));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create a temporary aeron directory under " +
                ctx.tempParentDir(), ex);
        }
        catch (final RuntimeException | Error ex)
        {
            CloseHelper.quietClose(launchedDriver);
            deleteQuietly(createdTempDir);
            throw ex;
        }
        driver = launchedDriver;
        tempDir = createdTempDir;
    }

    /**
     * Launches the driver and connects the client.
     *
     * @param ctx settings, validated here ({@link Context#conclude()}).
     * @return the running transport; close it to stop the driver.
     * @throws IllegalArgumentException naming the setting when a setting is invalid.
     */
    public static AeronTransport launch(final Context ctx)
    {
        return new AeronTransport(ctx.conclude());
    }

    /**
     * The node's UDP link to its peer, per {@link Context#listenEndpoint(String)},
     * {@link Context#peerEndpoint(String)} and {@link Context#streamId(int)}.
     *
     * @throws IllegalStateException if the endpoints were not set or the transport is closed.
     */
    public synchronized AeronLink newLink()
    {
        ensureOpen();
        if (null == ctx.listenEndpoint() || null == ctx.peerEndpoint())
        {
            throw new IllegalStateException("newLink needs listenEndpoint and peerEndpoint in the Context " +
                "(use newIpcLink for replicas sharing one driver)");
        }
        final String publicationChannel = "aeron:udp?endpoint=" + ctx.peerEndpoint() +
            (0 == ctx.mtuLength() ? "" : "|mtu=" + ctx.mtuLength());
        final int window = ctx.receiverWindowLength();
        final String subscriptionChannel = "aeron:udp?endpoint=" + ctx.listenEndpoint() +
            (0 == window ? "" : "|rcv-wnd=" + window + "|so-rcvbuf=" + window);
        return new AeronLink(aeron, publicationChannel, ctx.streamId(), subscriptionChannel, ctx.streamId(),
            maxMessageLength());
    }

    /**
     * A link over shared memory to another replica using this same transport: that replica's link swaps the
     * two stream ids.
     *
     * @param sendStreamId    stream id this replica publishes on.
     * @param receiveStreamId stream id this replica subscribes to; must differ from {@code sendStreamId}.
     * @throws IllegalArgumentException if the stream ids are equal.
     */
    public synchronized AeronLink newIpcLink(final int sendStreamId, final int receiveStreamId)
    {
        ensureOpen();
        if (sendStreamId == receiveStreamId)
        {
            throw new IllegalArgumentException("sendStreamId = receiveStreamId = " + sendStreamId +
                ": an IPC link needs one stream id per direction");
        }
        return new AeronLink(aeron, "aeron:ipc", sendStreamId, "aeron:ipc", receiveStreamId, maxMessageLength());
    }

    /**
     * @return the largest message a link of this transport sends: {@code min(termBufferLength / 8,
     * Link.MAX_MESSAGE_LENGTH)}.
     */
    public int maxMessageLength()
    {
        return ctx.maxMessageLength();
    }

    /**
     * @return the media driver's directory.
     */
    public String aeronDirectoryName()
    {
        return driver.aeronDirectoryName();
    }

    /**
     * @return errors the driver and the client reported (each also went to the Context's error handler).
     */
    public long errorCount()
    {
        return ctx.errorCount.get();
    }

    /**
     * Closes the client (and with it every link), then the driver. Idempotent.
     */
    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            CloseHelper.closeAll(aeron, driver);
            deleteQuietly(tempDir);
        }
    }

    @Override
    public String toString()
    {
        return "AeronTransport{aeronDir=" + driver.aeronDirectoryName() + ", listenEndpoint=" +
            ctx.listenEndpoint() + ", peerEndpoint=" + ctx.peerEndpoint() + ", closed=" + closed + '}';
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("AeronTransport is CLOSED");
        }
    }

    private static MediaDriver.Context driverContext(final Context ctx, final Path aeronDir)
    {
        final MediaDriver.Context driverCtx = new MediaDriver.Context()
            .aeronDirectoryName(aeronDir.toString())
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(ctx.dirDeleteOnShutdown())
            .warnIfDirectoryExists(false)
            .printConfigurationOnStart(false)
            .publicationTermBufferLength(ctx.termBufferLength())
            .ipcTermBufferLength(ctx.termBufferLength())
            .termBufferSparseFile(ctx.termBufferSparseFile())
            // the driver's async executor thread (name resolution) polls about once a millisecond; our
            // endpoints are literal addresses, so its tasks run on the conductor and the thread is not started
            .asyncExecutorEnabled(false)
            .errorHandler(ctx.errorHandler());
        final Supplier<IdleStrategy> idle = ctx.idleStrategy();
        switch (ctx.threading())
        {
            case SHARED:
                driverCtx.threadingMode(ThreadingMode.SHARED).sharedIdleStrategy(idle.get());
                break;
            case SHARED_NETWORK:
                driverCtx.threadingMode(ThreadingMode.SHARED_NETWORK)
                    .conductorIdleStrategy(idle.get())
                    .sharedNetworkIdleStrategy(idle.get());
                break;
            case DEDICATED:
                driverCtx.threadingMode(ThreadingMode.DEDICATED)
                    .conductorIdleStrategy(idle.get())
                    .senderIdleStrategy(idle.get())
                    .receiverIdleStrategy(idle.get());
                break;
            default:
                throw new IllegalStateException("unknown threading " + ctx.threading());
        }
        return driverCtx;
    }

    private static void deleteQuietly(final Path dir)
    {
        if (null != dir)
        {
            IoUtil.delete(dir.toFile(), true);
        }
    }

    /**
     * How the media driver spreads its work over threads (Aeron's threading modes).
     */
    public enum Threading
    {
        /** Conductor, sender and receiver in one thread: fewest threads, for small machines. */
        SHARED,
        /** Conductor in one thread, sender and receiver in another. */
        SHARED_NETWORK,
        /** Conductor, sender and receiver each in its own thread: lowest latency given spare cores. */
        DEDICATED
    }

    /**
     * Settings of an {@link AeronTransport}: a documented default each, validated once by {@link #conclude()}.
     */
    public static final class Context
    {
        /** Default term buffer length: 128 MiB, the smallest that carries {@link Link#MAX_MESSAGE_LENGTH}. */
        public static final int TERM_BUFFER_LENGTH_DEFAULT = 128 << 20;
        /** Smallest term buffer length (Aeron's minimum). */
        public static final int TERM_BUFFER_LENGTH_MIN = 64 << 10;
        /** Largest term buffer length (Aeron's maximum). */
        public static final int TERM_BUFFER_LENGTH_MAX = 1 << 30;
        /** Smallest {@link #mtuLength(int)} (Aeron's minimum). */
        public static final int MTU_LENGTH_MIN = 32 + 32;
        /** Largest {@link #mtuLength(int)}: Aeron's maximum, the largest UDP datagram it sends. */
        public static final int MTU_LENGTH_MAX = 65504;
        /**
         * Default {@link #receiverWindowLength(int)}, where the host's socket buffers allow it: the data of
         * several batches in flight (a SmallBank batch of 1,024 requests is ~44 KiB).
         */
        public static final int RECEIVER_WINDOW_LENGTH_DEFAULT = 2 << 20;
        /** Smallest non-zero {@link #receiverWindowLength(int)}. */
        public static final int RECEIVER_WINDOW_LENGTH_MIN = 64 << 10;
        /** Default stream id of a UDP link. */
        public static final int STREAM_ID_DEFAULT = 1001;

        private static final Path DEV_SHM = Paths.get("/dev/shm");
        private static final Path RMEM_MAX = Paths.get("/proc/sys/net/core/rmem_max");

        private Path aeronDir;
        private Threading threading = Threading.SHARED;
        private Supplier<IdleStrategy> idleStrategy = () -> new BackoffIdleStrategy();
        private int termBufferLength = TERM_BUFFER_LENGTH_DEFAULT;
        private boolean termBufferSparseFile = true;
        private boolean dirDeleteOnShutdown = true;
        private String listenEndpoint;
        private String peerEndpoint;
        private int streamId = STREAM_ID_DEFAULT;
        private boolean allowNonLoopback;
        private int mtuLength;
        private int receiverWindowLength = -1;
        private ErrorHandler errorHandler = Throwable::printStackTrace;
        private final AtomicLong errorCount = new AtomicLong();
        private ErrorHandler countingErrorHandler;
        private Path tempParentDir;
        private int maxMessageLength;
        private boolean concluded;

        /**
         * @param aeronDir the media driver's directory, deleted on start (and on close unless
         *                 {@link #dirDeleteOnShutdown(boolean)} is false), e.g. {@code <dataDir>/aeron}; default
         *                 null: a fresh unique directory under {@code /dev/shm} or {@code java.io.tmpdir}.
         */
        public Context aeronDir(final Path aeronDir)
        {
            this.aeronDir = aeronDir;
            return this;
        }

        public Path aeronDir()
        {
            return aeronDir;
        }

        /** @param threading the driver's threads; default {@link Threading#SHARED}. */
        public Context threading(final Threading threading)
        {
            this.threading = threading;
            return this;
        }

        public Threading threading()
        {
            return threading;
        }

        /**
         * @param idleStrategy makes the idle strategy of each driver thread (called once per thread); default
         *                     a {@link BackoffIdleStrategy} (spin, yield, then park from 1 µs up to 1 ms).
         */
        public Context idleStrategy(final Supplier<IdleStrategy> idleStrategy)
        {
            this.idleStrategy = idleStrategy;
            return this;
        }

        public Supplier<IdleStrategy> idleStrategy()
        {
            return idleStrategy;
        }

        /**
         * @param termBufferLength length of one of the three terms of each publication log, a power of two in
         *                         [64 KiB, 1 GiB]; messages up to an eighth of it are carried. Default 128 MiB.
         */
        public Context termBufferLength(final int termBufferLength)
        {
            this.termBufferLength = termBufferLength;
            return this;
        }

        public int termBufferLength()
        {
            return termBufferLength;
        }

        /**
         * @param termBufferSparseFile true: log files are sparse and pages are allocated on first use; false: the
         *                             driver writes them out when a publication or image starts. Default true.
         */
        public Context termBufferSparseFile(final boolean termBufferSparseFile)
        {
            this.termBufferSparseFile = termBufferSparseFile;
            return this;
        }

        public boolean termBufferSparseFile()
        {
            return termBufferSparseFile;
        }

        /**
         * @param dirDeleteOnShutdown whether close deletes the aeron directory; default true. Tests set false to
         *                            leave the files a crash would leave.
         */
        public Context dirDeleteOnShutdown(final boolean dirDeleteOnShutdown)
        {
            this.dirDeleteOnShutdown = dirDeleteOnShutdown;
            return this;
        }

        public boolean dirDeleteOnShutdown()
        {
            return dirDeleteOnShutdown;
        }

        /** @param listenEndpoint {@code host:port} this node receives on (UDP); required by {@code newLink}. */
        public Context listenEndpoint(final String listenEndpoint)
        {
            this.listenEndpoint = listenEndpoint;
            return this;
        }

        public String listenEndpoint()
        {
            return listenEndpoint;
        }

        /** @param peerEndpoint {@code host:port} the peer receives on (UDP); required by {@code newLink}. */
        public Context peerEndpoint(final String peerEndpoint)
        {
            this.peerEndpoint = peerEndpoint;
            return this;
        }

        public String peerEndpoint()
        {
            return peerEndpoint;
        }

        /** @param streamId stream id of the UDP link, the same on both nodes; default 1001. */
        public Context streamId(final int streamId)
        {
            this.streamId = streamId;
            return this;
        }

        public int streamId()
        {
            return streamId;
        }

        /**
         * @param mtuLength the UDP link's datagram size (Aeron's {@code mtu} channel parameter): a multiple of 32
         *                  in [{@value #MTU_LENGTH_MIN}, {@value #MTU_LENGTH_MAX}], or 0 for Aeron's default (1408,
         *                  an Ethernet frame). On loopback the largest, {@value #MTU_LENGTH_MAX}, ships a batch in a
         *                  few datagrams instead of dozens (fewer send and receive system calls per batch).
         */
        public Context mtuLength(final int mtuLength)
        {
            this.mtuLength = mtuLength;
            return this;
        }

        public int mtuLength()
        {
            return mtuLength;
        }

        /**
         * @param receiverWindowLength how many bytes the peer may send ahead of what this node's link has
         *                             polled (Aeron's {@code rcv-wnd} flow-control window), and this node's UDP
         *                             receive socket buffer ({@code so-rcvbuf}), so that a full window is never
         *                             dropped by the kernel: in [{@value #RECEIVER_WINDOW_LENGTH_MIN},
         *                             termBufferLength / 2], or 0 for Aeron's defaults (128 KiB and the host's
         *                             default socket buffer). Aeron's default holds about three SmallBank batches:
         *                             with more batches in flight the primary's later messages (decisions
         *                             included) waited for the backup to poll the earlier ones. Default: {@value
         *                             #RECEIVER_WINDOW_LENGTH_DEFAULT}, lowered to the host's largest socket buffer
         *                             ({@code /proc/sys/net/core/rmem_max}) and to termBufferLength / 2; 0 when
         *                             that is under the minimum.
         */
        public Context receiverWindowLength(final int receiverWindowLength)
        {
            this.receiverWindowLength = receiverWindowLength;
            return this;
        }

        /** @return the receiver window, resolved by {@link #conclude()} when left at its default. */
        public int receiverWindowLength()
        {
            return receiverWindowLength;
        }

        /** @param allowNonLoopback allow endpoints off loopback (and host names); default false. */
        public Context allowNonLoopback(final boolean allowNonLoopback)
        {
            this.allowNonLoopback = allowNonLoopback;
            return this;
        }

        public boolean allowNonLoopback()
        {
            return allowNonLoopback;
        }

        /**
         * @param errorHandler receives the errors of the driver's and the client's threads (must not throw);
         *                     default prints the stack trace. Every error is also counted.
         */
        public Context errorHandler(final ErrorHandler errorHandler)
        {
            this.errorHandler = errorHandler;
            return this;
        }

        /**
         * @return the handler given to Aeron once concluded: counts, then calls the configured handler.
         */
        public ErrorHandler errorHandler()
        {
            return null != countingErrorHandler ? countingErrorHandler : errorHandler;
        }

        /**
         * @return {@code min(termBufferLength / 8, Link.MAX_MESSAGE_LENGTH)}, set by {@link #conclude()}.
         */
        public int maxMessageLength()
        {
            return maxMessageLength;
        }

        Path tempParentDir()
        {
            return tempParentDir;
        }

        /**
         * Validates every setting once.
         *
         * @return this.
         * @throws IllegalArgumentException naming the first invalid setting and its allowed values.
         */
        public Context conclude()
        {
            if (concluded)
            {
                return this;
            }
            if (null == threading)
            {
                throw invalid("threading must be SHARED, SHARED_NETWORK or DEDICATED");
            }
            if (null == idleStrategy)
            {
                throw invalid("idleStrategy must be set");
            }
            if (null == errorHandler)
            {
                throw invalid("errorHandler must be set");
            }
            if (termBufferLength < TERM_BUFFER_LENGTH_MIN || termBufferLength > TERM_BUFFER_LENGTH_MAX ||
                Integer.bitCount(termBufferLength) != 1)
            {
                throw invalid("termBufferLength = " + termBufferLength + " must be a power of two in [" +
                    TERM_BUFFER_LENGTH_MIN + ", " + TERM_BUFFER_LENGTH_MAX + "]");
            }
            if (0 != mtuLength && (mtuLength < MTU_LENGTH_MIN || mtuLength > MTU_LENGTH_MAX || mtuLength % 32 != 0))
            {
                throw invalid("mtuLength = " + mtuLength + " must be 0 (Aeron's default) or a multiple of 32 in [" +
                    MTU_LENGTH_MIN + ", " + MTU_LENGTH_MAX + "]");
            }
            if (receiverWindowLength < 0)
            {
                final int window = (int)Math.min(Math.min(RECEIVER_WINDOW_LENGTH_DEFAULT, termBufferLength / 2),
                    hostMaxReceiveBuffer());
                receiverWindowLength = window < RECEIVER_WINDOW_LENGTH_MIN ? 0 : window;
            }
            else if (0 != receiverWindowLength &&
                (receiverWindowLength < RECEIVER_WINDOW_LENGTH_MIN || receiverWindowLength > termBufferLength / 2))
            {
                throw invalid("receiverWindowLength = " + receiverWindowLength + " must be 0 (Aeron's default) or " +
                    "in [" + RECEIVER_WINDOW_LENGTH_MIN + ", termBufferLength / 2 = " + termBufferLength / 2 + "]");
            }
            if ((null == listenEndpoint) != (null == peerEndpoint))
            {
                throw invalid("listenEndpoint and peerEndpoint must be set together (or neither, for IPC only): " +
                    "listenEndpoint = " + listenEndpoint + ", peerEndpoint = " + peerEndpoint);
            }
            if (null != listenEndpoint)
            {
                checkEndpoint("listenEndpoint", listenEndpoint, allowNonLoopback);
                checkEndpoint("peerEndpoint", peerEndpoint, allowNonLoopback);
                if (listenEndpoint.equals(peerEndpoint))
                {
                    throw invalid("peerEndpoint = " + peerEndpoint + " must differ from listenEndpoint");
                }
            }
            if (null != aeronDir && Files.exists(aeronDir) && !Files.isDirectory(aeronDir))
            {
                throw invalid("aeronDir = " + aeronDir + " exists and is not a directory");
            }
            maxMessageLength = Math.min(
                FrameDescriptor.computeMaxMessageLength(termBufferLength), Link.MAX_MESSAGE_LENGTH);
            tempParentDir = null == aeronDir ? defaultTempParentDir(termBufferLength) : null;
            final ErrorHandler delegate = errorHandler;
            countingErrorHandler = (throwable) ->
            {
                errorCount.incrementAndGet();
                delegate.onError(throwable);
            };
            concluded = true;
            return this;
        }

        /**
         * @return the largest receive socket buffer an unprivileged process may ask for on this host (Linux's
         * {@code net.core.rmem_max}), or {@link #RECEIVER_WINDOW_LENGTH_DEFAULT} where it cannot be read.
         */
        static long hostMaxReceiveBuffer()
        {
            try
            {
                return Long.parseLong(Files.readString(RMEM_MAX).trim());
            }
            catch (final IOException | NumberFormatException | SecurityException ex)
            {
                return RECEIVER_WINDOW_LENGTH_DEFAULT;
            }
        }

        private static Path defaultTempParentDir(final int termBufferLength)
        {
            final long needBytes = 8L * termBufferLength;
            try
            {
                if (Files.isDirectory(DEV_SHM) && Files.isWritable(DEV_SHM) &&
                    Files.getFileStore(DEV_SHM).getUsableSpace() >= needBytes)
                {
                    return DEV_SHM;
                }
            }
            catch (final IOException ignore)
            {
                // fall back to java.io.tmpdir
            }
            return Paths.get(System.getProperty("java.io.tmpdir"));
        }

        static void checkEndpoint(final String name, final String endpoint, final boolean allowNonLoopback)
        {
            final int colon = endpoint.lastIndexOf(':');
            if (colon <= 0 || colon == endpoint.length() - 1)
            {
                throw invalid(name + " = " + endpoint + " must be host:port (e.g. 127.0.0.1:40123 or [::1]:40123)");
            }
            final String host = endpoint.substring(0, colon);
            final String portText = endpoint.substring(colon + 1);
            final int port;
            try
            {
                port = Integer.parseInt(portText);
            }
            catch (final NumberFormatException ex)
            {
                throw invalid(name + " = " + endpoint + ": port " + portText + " is not a number");
            }
            if (port < 1 || port > 65535)
            {
                throw invalid(name + " = " + endpoint + ": port " + port + " must be in [1, 65535]");
            }
            if (host.indexOf(':') >= 0 && !(host.startsWith("[") && host.endsWith("]")))
            {
                throw invalid(name + " = " + endpoint + ": an IPv6 host must be in brackets, e.g. [::1]:40123");
            }
            if (!allowNonLoopback && !isLoopbackLiteral(host))
            {
                throw invalid(name + " = " + endpoint + " is not on loopback (127.0.0.0/8, [::1] or localhost); " +
                    "set allowNonLoopback(true) to use other addresses");
            }
        }

        /**
         * Decides without any name lookup: only {@code localhost} and address literals are accepted.
         */
        static boolean isLoopbackLiteral(final String host)
        {
            if ("localhost".equalsIgnoreCase(host))
            {
                return true;
            }
            if (host.startsWith("[") && host.endsWith("]"))
            {
                final String literal = host.substring(1, host.length() - 1);
                if (literal.isEmpty() || literal.indexOf(':') < 0)
                {
                    return false;
                }
                try
                {
                    return InetAddress.getByName(literal).isLoopbackAddress(); // a literal with ':' is never looked up
                }
                catch (final UnknownHostException ex)
                {
                    return false;
                }
            }
            final byte[] ipv4 = parseIpv4(host);
            try
            {
                return null != ipv4 && InetAddress.getByAddress(ipv4).isLoopbackAddress();
            }
            catch (final UnknownHostException ex)
            {
                return false;
            }
        }

        private static byte[] parseIpv4(final String host)
        {
            final String[] parts = host.split("\\.", -1);
            if (parts.length != 4)
            {
                return null;
            }
            final byte[] address = new byte[4];
            for (int i = 0; i < 4; i++)
            {
                final String part = parts[i];
                if (part.isEmpty() || part.length() > 3)
                {
                    return null;
                }
                int value = 0;
                for (int j = 0; j < part.length(); j++)
                {
                    final char c = part.charAt(j);
                    if (c < '0' || c > '9')
                    {
                        return null;
                    }
                    value = value * 10 + (c - '0');
                }
                if (value > 255)
                {
                    return null;
                }
                address[i] = (byte)value;
            }
            return address;
        }

        private static IllegalArgumentException invalid(final String message)
        {
            return new IllegalArgumentException("AeronTransport.Context: " + message);
        }
    }
}
