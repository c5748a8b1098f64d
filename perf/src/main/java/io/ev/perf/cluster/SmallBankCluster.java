/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

import io.aeron.archive.Archive;
import io.aeron.archive.ArchiveThreadingMode;
import io.aeron.archive.client.AeronArchive;
import io.aeron.cluster.ClusteredMediaDriver;
import io.aeron.cluster.ConsensusModule;
import io.aeron.cluster.service.Cluster;
import io.aeron.cluster.service.ClusteredServiceContainer;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NoOpLock;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * A 3-member Aeron Cluster in this JVM running {@link SmallBankClusteredService}, on UDP loopback (127.0.0.1) only.
 * <p>
 * Each member has its own media driver ({@link ThreadingMode#SHARED}: one thread), archive
 * ({@link ArchiveThreadingMode#SHARED}: one thread), consensus module (one thread) and service container (one
 * thread), as a deployment with one process per member would; 12 threads in all, each idling with the strategy
 * {@link #idleStrategy(String)} names. Member m's aeron directory (cnc, term buffers) is {@code <shm>/member-m}
 * under a fresh directory in {@code /dev/shm} (where Aeron puts it by default; java.io.tmpdir if there is no
 * /dev/shm), its archive and cluster directories {@code <data>/member-m/{archive,cluster}} under a fresh directory
 * in java.io.tmpdir; both are deleted by {@link #close()}. The archive records the log with Aeron's defaults
 * (no fsync: file sync level 0). The ports of the member endpoints (ingress, consensus, log, catch-up, archive
 * control: 15 in all) are UDP ports found free on 127.0.0.1 just before the start; replication, egress and archive
 * responses use ephemeral ports. The first election runs with Aeron's defaults.
 * <p>
 * Errors that any component reports to its error handler are printed on the given stream (with the member) and
 * counted ({@link #errors()}); the ones during {@link #close()} are only counted.
 */
final class SmallBankCluster implements AutoCloseable
{
    /** Members. */
    static final int MEMBERS = 3;
    /** Loopback address of every endpoint. */
    static final String HOST = "127.0.0.1";
    /** Requested sleep of the {@code sleep} idle strategy (lasts ~60 us on the 2-vCPU VM: timer slack). */
    static final long SLEEP_IDLE_NS = TimeUnit.MICROSECONDS.toNanos(10);
    /** Idle strategy names {@link #idleStrategy(String)} knows. */
    static final List<String> IDLE_STRATEGIES = List.of("backoff", "sleep", "yield");

    private static final int PORTS_PER_MEMBER = 5;
    private static final Path DEV_SHM = Paths.get("/dev/shm");

    private final Path shmDir;
    private final Path dataDir;
    private final String idle;
    private final List<ClusteredMediaDriver> drivers = new ArrayList<>();
    private final List<ClusteredServiceContainer> containers = new ArrayList<>();
    private final List<SmallBankClusteredService> services = new ArrayList<>();
    private final AtomicLong errors = new AtomicLong();
    private final PrintStream log;
    private final String ingressEndpoints;
    private volatile boolean closing;

    /**
     * Starts the three members (it does not wait for the election: see {@link #awaitLeader(long)}).
     *
     * @param accounts SmallBank customers of every member's ledger.
     * @param seed     seed of the initial balances.
     * @param idle     idle strategy of every agent: backoff, sleep or yield.
     * @param log      where component errors are printed.
     */
    SmallBankCluster(final int accounts, final long seed, final String idle, final PrintStream log)
    {
        idleStrategy(idle);
        this.idle = idle;
        this.log = log;
        this.shmDir = createTempDir(Files.isDirectory(DEV_SHM) && Files.isWritable(DEV_SHM) ? DEV_SHM : null);
        Path data = null;
        try
        {
            data = createTempDir(null);
            final int[] ports = freeUdpPorts(MEMBERS * PORTS_PER_MEMBER);
            final StringBuilder members = new StringBuilder();
            final StringBuilder ingress = new StringBuilder();
            for (int m = 0; m < MEMBERS; m++)
            {
                final int base = m * PORTS_PER_MEMBER;
                members.append(m)
                    .append(',').append(HOST).append(':').append(ports[base])
                    .append(',').append(HOST).append(':').append(ports[base + 1])
                    .append(',').append(HOST).append(':').append(ports[base + 2])
                    .append(',').append(HOST).append(':').append(ports[base + 3])
                    .append(',').append(HOST).append(':').append(ports[base + 4])
                    .append('|');
                ingress.append(0 == m ? "" : ",").append(m).append('=').append(HOST).append(':').append(ports[base]);
            }
            this.ingressEndpoints = ingress.toString();
            for (int m = 0; m < MEMBERS; m++)
            {
                final SmallBankClusteredService service =
                    new SmallBankClusteredService(new SmallBankLedger(accounts, seed));
                services.add(service);
                launchMember(m, members.toString(), ports[m * PORTS_PER_MEMBER + 4], data, service);
            }
        }
        catch (final RuntimeException ex)
        {
            this.dataDir = data;
            close();
            throw ex;
        }
        this.dataDir = data;
    }

    /**
     * @param name backoff, sleep or yield.
     * @return a supplier of that idle strategy.
     * @throws IllegalArgumentException naming the allowed values for any other name.
     */
    static Supplier<IdleStrategy> idleStrategy(final String name)
    {
        switch (name)
        {
            case "backoff":
                return BackoffIdleStrategy::new;
            case "sleep":
                return () -> new SleepingIdleStrategy(SLEEP_IDLE_NS);
            case "yield":
                return YieldingIdleStrategy::new;
            default:
                throw new IllegalArgumentException("idle strategy " + name + " must be one of " + IDLE_STRATEGIES);
        }
    }

    /**
     * @return the client's {@link io.aeron.cluster.client.AeronCluster.Context#ingressEndpoints} value.
     */
    String ingressEndpoints()
    {
        return ingressEndpoints;
    }

    /**
     * @return the directory for a client's media driver: {@code <shm>/client}.
     */
    String clientAeronDirectory()
    {
        return shmDir.resolve("client").toString();
    }

    /**
     * @return the idle strategy name the members use.
     */
    String idle()
    {
        return idle;
    }

    /**
     * @param member member id, in [0, {@link #MEMBERS}).
     * @return its service.
     */
    SmallBankClusteredService service(final int member)
    {
        return services.get(member);
    }

    /**
     * @return the member whose service is leader, or -1 if none is (yet).
     */
    int leader()
    {
        for (int m = 0; m < services.size(); m++)
        {
            if (Cluster.Role.LEADER == services.get(m).role())
            {
                return m;
            }
        }
        return -1;
    }

    /**
     * Waits for a service to become leader.
     *
     * @param timeoutNs how long to wait.
     * @return the leader's member id.
     * @throws IllegalStateException if none became leader in time.
     */
    int awaitLeader(final long timeoutNs)
    {
        final long deadlineNs = System.nanoTime() + timeoutNs;
        int leader;
        while (-1 == (leader = leader()))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new IllegalStateException("no leader elected within " +
                    TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms (" + errors.get() + " component errors)");
            }
            sleepMillis(10);
        }
        return leader;
    }

    /**
     * Waits until every member's service has executed {@code count} requests.
     *
     * @param count     requests.
     * @param timeoutNs how long to wait.
     * @return true if all did in time.
     */
    boolean awaitApplied(final long count, final long timeoutNs)
    {
        final long deadlineNs = System.nanoTime() + timeoutNs;
        while (true)
        {
            boolean all = true;
            for (final SmallBankClusteredService service : services)
            {
                all &= service.applied() >= count;
            }
            if (all)
            {
                return true;
            }
            if (System.nanoTime() - deadlineNs > 0)
            {
                return false;
            }
            sleepMillis(1);
        }
    }

    /**
     * @return errors the components reported.
     */
    long errors()
    {
        return errors.get();
    }

    /**
     * Closes the service containers, then each member's consensus module, archive and driver, and deletes the
     * directories.
     */
    @Override
    public void close()
    {
        closing = true;
        try
        {
            CloseHelper.closeAll(containers);
            CloseHelper.closeAll(drivers);
        }
        finally
        {
            deleteQuietly(shmDir);
            deleteQuietly(dataDir);
        }
    }

    private void launchMember(
        final int member,
        final String clusterMembers,
        final int archivePort,
        final Path data,
        final SmallBankClusteredService service)
    {
        final Supplier<IdleStrategy> idleSupplier = idleStrategy(idle);
        final ErrorHandler errorHandler = errorHandler("member " + member);
        final String aeronDir = shmDir.resolve("member-" + member).toString();
        final File memberDir = data.resolve("member-" + member).toFile();
        final File clusterDir = new File(memberDir, "cluster");
        final String ephemeralUdp = "aeron:udp?endpoint=" + HOST + ":0";

        final MediaDriver.Context driverCtx = new MediaDriver.Context()
            .aeronDirectoryName(aeronDir)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(idleSupplier.get())
            .termBufferSparseFile(true)
            .errorHandler(errorHandler);

        final Archive.Context archiveCtx = new Archive.Context()
            .aeronDirectoryName(aeronDir)
            .archiveDir(new File(memberDir, "archive"))
            .deleteArchiveOnStart(true)
            .controlChannel("aeron:udp?endpoint=" + HOST + ":" + archivePort)
            .localControlChannel("aeron:ipc?term-length=64k")
            .replicationChannel(ephemeralUdp)
            .archiveClientContext(new AeronArchive.Context().controlResponseChannel(ephemeralUdp))
            .recordingEventsEnabled(false)
            .threadingMode(ArchiveThreadingMode.SHARED)
            .idleStrategySupplier(idleSupplier)
            .errorHandler(errorHandler);

        final AeronArchive.Context localArchive = new AeronArchive.Context()
            .lock(NoOpLock.INSTANCE)
            .controlRequestChannel(archiveCtx.localControlChannel())
            .controlRequestStreamId(archiveCtx.localControlStreamId())
            .controlResponseChannel(archiveCtx.localControlChannel())
            .aeronDirectoryName(aeronDir);

        final ConsensusModule.Context consensusCtx = new ConsensusModule.Context()
            .clusterMemberId(member)
            .clusterMembers(clusterMembers)
            .clusterDir(clusterDir)
            .deleteDirOnStart(true)
            .aeronDirectoryName(aeronDir)
            .archiveContext(localArchive.clone())
            .ingressChannel("aeron:udp")
            .replicationChannel(ephemeralUdp)
            .serviceCount(1)
            .idleStrategySupplier(idleSupplier)
            .errorHandler(errorHandler);

        final ClusteredServiceContainer.Context containerCtx = new ClusteredServiceContainer.Context()
            .aeronDirectoryName(aeronDir)
            .archiveContext(localArchive.clone())
            .clusterDir(clusterDir)
            .clusteredService(service)
            .serviceId(0)
            .idleStrategySupplier(idleSupplier)
            .errorHandler(errorHandler);

        drivers.add(ClusteredMediaDriver.launch(driverCtx, archiveCtx, consensusCtx));
        containers.add(ClusteredServiceContainer.launch(containerCtx));
    }

    private ErrorHandler errorHandler(final String who)
    {
        return (throwable) ->
        {
            errors.incrementAndGet();
            if (!closing)
            {
                log.printf(Locale.ROOT, "aeron cluster %s: %s%n", who, throwable);
            }
        };
    }

    /**
     * @param count ports wanted.
     * @return that many distinct UDP ports that were free on {@link #HOST} (all bound at once, then released).
     */
    static int[] freeUdpPorts(final int count)
    {
        final List<DatagramSocket> sockets = new ArrayList<>();
        try
        {
            final int[] ports = new int[count];
            final InetAddress host = InetAddress.getByName(HOST);
            for (int i = 0; i < count; i++)
            {
                final DatagramSocket socket = new DatagramSocket(new InetSocketAddress(host, 0));
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        }
        catch (final SocketException ex)
        {
            throw new UncheckedIOException("cannot find " + count + " free UDP ports on " + HOST, ex);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        finally
        {
            sockets.forEach(DatagramSocket::close);
        }
    }

    private static Path createTempDir(final Path parent)
    {
        try
        {
            return null == parent ? Files.createTempDirectory("ev-cluster-") :
                Files.createTempDirectory(parent, "ev-cluster-");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create a temporary directory for the cluster", ex);
        }
    }

    private static void deleteQuietly(final Path dir)
    {
        if (null == dir || !Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            for (final Path path : (Iterable<Path>)paths.sorted(Comparator.reverseOrder())::iterator)
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot delete " + dir, ex);
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
}
