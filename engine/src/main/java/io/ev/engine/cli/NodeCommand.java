/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ev.engine.ClientTable;
import io.ev.engine.Engine;
import io.ev.engine.Recovery;
import io.ev.engine.ReplyCodes;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Durability;
import io.ev.journal.Journal;
import io.ev.journal.JournalException;
import io.ev.replication.AeronTransport;
import io.ev.replication.Link;
import io.ev.replication.Messages;
import io.ev.replication.ReplicationSettings;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/ev node}: one replica in this process, journaling to {@code --data}. A new data
 * directory is loaded with SmallBank; an existing one is recovered (checkpoint + journal replay,
 * every commit marker verified). With {@code --drive smallbank} the node submits {@code --requests}
 * SmallBank requests from one client thread (closed loop with {@code --window} outstanding, or
 * paced at {@code --rate} per second) and prints {@code committed=<n>} whenever replies arrived
 * (at most every 100 ms): n requests are acknowledged, so they are in the journal with their
 * commit markers.
 * <p>
 * Replicated ({@code --role primary|backup --listen HOST:PORT --peer HOST:PORT}): the node runs one
 * replica over Aeron UDP (embedded media driver under {@code <data>/aeron}). A backup (or a primary
 * without {@code --drive}, or one with {@code --serve-after-drive} once its drive is done) runs until
 * SIGTERM; a primary with {@code --drive} first waits for its
 * backup to pair ({@code --await-backup-ms}). A backup promotes itself when the primary is silent for
 * {@code --peer-timeout-ms}; a restarted node rejoins with {@code --role backup}. The node keeps
 * {@code <data>/ev-node.status} current (role, epoch, paired, state digest, requests; about every
 * 200 ms, layout in docs/formats.md) and reads its epoch back from it on restart.
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run one engine node on a data directory (journal + checkpoints), optionally driving SmallBank.")
public final class NodeCommand implements Callable<Integer>
{
    /** The client id the driving node submits with. */
    static final int CLIENT_ID = 0;
    private static final long PROGRESS_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long STATUS_INTERVAL_MS = 200;
    private static final int TERM_BUFFER_LENGTH = 32 << 20;
    static final String STATUS = "ev-node.status";
    /**
     * Request deduplication for new data directories (and the demo). Directories created before it
     * existed record none and replay without it.
     */
    static final boolean DEDUPLICATE_NEW_DIRECTORIES = true;

    @Option(names = "--role", description = "standalone | primary | backup (default ${DEFAULT-VALUE})",
        defaultValue = "standalone")
    String role;

    @Option(names = "--listen", description = "primary/backup: HOST:PORT this replica receives on (UDP, loopback)")
    String listen;

    @Option(names = "--peer", description = "primary/backup: HOST:PORT the other replica receives on")
    String peer;

    @Option(names = "--peer-timeout-ms", description = "silence after which the peer is presumed crashed " +
        "(default ${DEFAULT-VALUE})")
    long peerTimeoutMs = 2_000;

    @Option(names = "--no-promote", description = "backup: do not promote itself when the primary falls silent " +
        "(promotion is left to an operator, who restarts it with --role primary; docs/ARCHITECTURE.md, \"Failover " +
        "and rejoin\")")
    boolean noPromote;

    @Option(names = "--heartbeat-ms", description = "idle heartbeat interval (default ${DEFAULT-VALUE})")
    long heartbeatMs = 100;

    @Option(names = "--await-backup-ms", description = "primary with --drive: wait this long for the backup to " +
        "pair before driving, 0 = do not wait (default ${DEFAULT-VALUE})")
    long awaitBackupMs = 30_000;

    @Option(names = "--serve-after-drive", description = "primary with --drive: after the last reply keep " +
        "replicating (and answering a rejoining backup) until SIGTERM")
    boolean serveAfterDrive;

    @Option(names = "--data", required = true, description = "data directory (created if missing)")
    Path data;

    @Option(names = "--drive", description = "smallbank: submit SmallBank requests from this process")
    String drive;

    @Option(names = "--requests", description = "requests to submit with --drive (default ${DEFAULT-VALUE})")
    long requests = 100_000;

    @Option(names = "--rate", description = "requests per second, 0 = as fast as the window allows (default 0)")
    long rate;

    @Option(names = "--accounts", description = "SmallBank customers of a new data directory (default 10000)")
    Integer accounts;

    @Option(names = "--seed", description = "seed of the initial balances and the workload (default 42)")
    Long seed;

    @Option(names = "--batch", description = "max requests per batch of a new data directory (default 1024)")
    Integer maxBatchRequests;

    @Option(names = "--workers", description = "executing threads (default ${DEFAULT-VALUE})")
    int workers = 2;

    @Option(names = "--window", description = "max outstanding requests (default ${DEFAULT-VALUE})")
    int window = 4096;

    @Option(names = "--durability", description = "process-crash | power-loss (default ${DEFAULT-VALUE})")
    String durability = "process-crash";

    @Option(names = "--checkpoint-every", description = "requests between checkpoints, 0 = none but the first " +
        "(default ${DEFAULT-VALUE})")
    long checkpointEvery = Engine.Context.CHECKPOINT_INTERVAL_REQUESTS_DEFAULT;

    @Option(names = "--checkpoint-mode", description = "concurrent (execution goes on, copy-on-write) | pause " +
        "(default ${DEFAULT-VALUE})")
    String checkpointMode = "concurrent";

    @Option(names = "--mtu", description = "replicated roles: UDP datagram size of the link, a multiple of 32 in " +
        "[64, 65504], 0 = Aeron's 1408 (default ${DEFAULT-VALUE}: loopback carries a batch in a few datagrams)")
    int mtu = AeronTransport.Context.MTU_LENGTH_MAX;

    @Option(names = "--warmup", description = "with --drive: requests replied before the measured interval " +
        "(JIT warm-up); driveSeconds and driveThroughputPerSec count only later ones (default ${DEFAULT-VALUE})")
    long warmup;

    @Option(names = "--in-flight", description = "replicated roles: most batches in flight between the replicas " +
        "(pipeline depth, in [1, " + ReplicationSettings.MAX_IN_FLIGHT_BATCHES + "]; default ${DEFAULT-VALUE})")
    int inFlight = ReplicationSettings.MAX_IN_FLIGHT_BATCHES_DEFAULT;

    @Option(names = "--json", description = "print the summary as one JSON object on stdout")
    boolean json;

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);
    private double driveSeconds;
    private long driveRequests;

    public Integer call()
    {
        validate();
        final PrintStream out = System.out;
        final PrintStream progress = json ? System.err : System.out;
        final SmallBankNode node = node();
        final Engine.Role engineRole = "primary".equals(role) ? Engine.Role.PRIMARY :
            "backup".equals(role) ? Engine.Role.BACKUP : Engine.Role.STANDALONE;
        final AeronTransport transport = Engine.Role.STANDALONE == engineRole ? null :
            AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(data.resolve("aeron"))
                .termBufferLength(TERM_BUFFER_LENGTH)
                .mtuLength(mtu)
                .listenEndpoint(listen)
                .peerEndpoint(peer));
        if ((null == drive || serveAfterDrive) && Engine.Role.STANDALONE != engineRole)
        {
            // SIGTERM stops a serving replica cleanly: the engine is closed and the summary printed
            // before the JVM exits (with the signal's status)
            Runtime.getRuntime().addShutdownHook(new Thread(() ->
            {
                stopRequested.countDown();
                try
                {
                    finished.await(60, TimeUnit.SECONDS);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }, "ev-node-stop"));
        }
        try
        {
            return run(node, engineRole, transport, out, progress);
        }
        finally
        {
            if (null != transport)
            {
                transport.close();
            }
            out.flush();
            finished.countDown();
        }
    }

    private Integer run(
        final SmallBankNode node,
        final Engine.Role engineRole,
        final AeronTransport transport,
        final PrintStream out,
        final PrintStream progress)
    {
        final long[] initialTotal = new long[1];
        final Link link = null == transport ? null : transport.newLink();
        final Engine.Context ctx = new Engine.Context()
            .store(node.storeContext().maxOpenBatches(inFlight))
            .registry(node.registry())
            .workers(workers)
            .maxBatchRequests(node.maxBatchRequests)
            .checkpointIntervalRequests(checkpointEvery)
            .checkpointMode("pause".equals(checkpointMode) ? Engine.CheckpointMode.PAUSE :
                Engine.CheckpointMode.CONCURRENT)
            .journal(new Journal.Context().dir(data)
                .durability("power-loss".equals(durability) ? Durability.POWER_LOSS : Durability.PROCESS_CRASH))
            .initializer((store, writer) -> initialTotal[0] = SmallBankLoader.load(store, writer, node.accounts,
                node.seed))
            .role(engineRole)
            .link(link)
            .epoch(Math.max(1, readStatusEpoch()))
            .promoteOnPrimaryLoss(!noPromote)
            .replication(new ReplicationSettings()
                .maxInFlightBatches(inFlight)
                .heartbeatNs(TimeUnit.MILLISECONDS.toNanos(heartbeatMs))
                .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(peerTimeoutMs))
                .maxSyncFrameBytes(TERM_BUFFER_LENGTH / 8 - Messages.SYNC_HEADER_LENGTH));
        final AtomicLong replied = new AtomicLong();
        final SmallBankOracle oracle = new SmallBankOracle(0);
        final long startNs = System.nanoTime();
        try (Engine engine = Engine.launch(ctx))
        {
            final Recovery.Report recovery = engine.recoveryReport();
            if (null != recovery)
            {
                progress.println(ReplayCommand.describe(recovery));
            }
            // engine.reader() is the batcher's own writer: read through it only while no batch runs, so
            // never on a backup (its batcher executes the primary's batches at any time). A driving node
            // reads before its first request and after its last reply.
            final boolean driving = "smallbank".equals(drive);
            final long totalAtStart = driving ? SmallBankOracle.totalMoney(engine.reader(), node.accounts) : 0;
            engine.registerClient(CLIENT_ID, (clientId, requestId, type, batchSeq, reply, offset, length) ->
            {
                final int code = ReplyCodes.code(reply, offset);
                if (ReplyCodes.UNAVAILABLE == code || ReplyCodes.OUTCOME_UNKNOWN == code)
                {
                    return; // the engine stopped (journal or checkpoint failure): not acknowledged
                }
                oracle.onCommittedReply(reply, offset, length);
                replied.incrementAndGet();
            });
            long submitted = 0;
            if ("smallbank".equals(drive))
            {
                if (Engine.Role.PRIMARY == engineRole && awaitBackupMs > 0)
                {
                    awaitBackup(engine);
                }
                submitted = drive(engine, node, replied, progress);
            }
            if (Engine.Role.STANDALONE != engineRole && (!driving || serveAfterDrive))
            {
                serveUntilStopped(engine, progress, replied.get());
            }
            writeStatus(engine, replied.get());
            // a replica's state also changes by batches it did not submit: conservation is checked by
            // the driving node (a primary while it stayed primary)
            final boolean checked = driving && (Engine.Role.STANDALONE == engineRole ||
                (Engine.Role.PRIMARY == engine.role() && 0 == engine.counters().promotions()));
            final long total = checked ? SmallBankOracle.totalMoney(engine.reader(), node.accounts) : 0;
            final boolean conservation = !checked ||
                SmallBankOracle.conserves(totalAtStart, oracle.sumOfDeltasCents(), total);
            final double seconds = (System.nanoTime() - startNs) / 1e9;
            final Engine.EngineCounters counters = engine.counters();
            if (json)
            {
                out.printf(Locale.ROOT, "{\"committed\":%d,\"submitted\":%d,\"seconds\":%.3f," +
                    "\"throughputPerSec\":%.1f,\"driveSeconds\":%.3f,\"driveThroughputPerSec\":%.1f," +
                    "\"warmupRequests\":%d," +
                    "\"batches\":%d,\"checkpoints\":%d,\"checkpointMode\":\"%s\",\"checkpointMaxPauseUs\":%d," +
                    "\"checkpointLastDurationMs\":%d,\"checkpointsFailed\":%d,\"recovered\":%s," +
                    "\"role\":\"%s\",\"epoch\":%d,\"requestsInState\":%d,\"committedAlone\":%d," +
                    "\"mostBatchesInFlight\":%d,\"linkRetransmits\":%d,\"linkBackPressured\":%d," +
                    "\"stateDigest\":\"%016x\",\"invariants\":{\"conservation\":%s}}%n",
                    replied.get(), submitted, seconds, replied.get() / seconds, driveSeconds,
                    driveSeconds > 0 ? driveRequests / driveSeconds : 0.0, warmup, counters.batches(),
                    counters.checkpoints(), checkpointMode, counters.checkpointMaxPauseUs(),
                    counters.checkpointLastDurationMs(), counters.checkpointsFailed(),
                    null == recovery ? "null" : ReplayCommand.json(recovery), engine.role(), engine.epoch(),
                    engine.requestsInState(), counters.committedAlone(), counters.mostBatchesInFlight(),
                    counters.linkRetransmits(), counters.linkBackPressured(), engine.root(),
                    checked ? Boolean.toString(conservation) : "null");
            }
            else
            {
                out.printf(Locale.ROOT, "committed=%d%n", replied.get());
                out.printf(Locale.ROOT, "%n== node summary ==%n");
                out.printf(Locale.ROOT, "data              %s (%s durability)%n", data, durability);
                out.printf(Locale.ROOT, "committed         %d of %d submitted in %.2f s (%.0f requests/s)%n",
                    replied.get(), submitted, seconds, replied.get() / seconds);
                if (driveSeconds > 0)
                {
                    out.printf(Locale.ROOT, "driven            %.0f requests/s over %.2f s after %d warm-up " +
                        "requests%n", driveRequests / driveSeconds, driveSeconds, warmup);
                }
                out.printf(Locale.ROOT, "checkpoints       %d taken (%s), %d failed, max pause %.1f ms, last took " +
                    "%d ms%n", counters.checkpoints(), checkpointMode, counters.checkpointsFailed(),
                    counters.checkpointMaxPauseUs() / 1e3, counters.checkpointLastDurationMs());
                if (Engine.Role.STANDALONE != engineRole)
                {
                    out.printf(Locale.ROOT, "replica           %s at epoch %d (started as %s), %d requests in state, " +
                        "%d batches committed alone%n", engine.role(), engine.epoch(), role, engine.requestsInState(),
                        counters.committedAlone());
                    out.printf(Locale.ROOT, "link              %d messages re-sent, %d refused by the transport, " +
                        "at most %d batches in flight%n", counters.linkRetransmits(), counters.linkBackPressured(),
                        counters.mostBatchesInFlight());
                }
                out.printf(Locale.ROOT, "state digest      %016x%n", engine.root());
                out.printf(Locale.ROOT, "conservation      %s (total at start %d + deltas %d vs %d)%n",
                    !checked ? "not checked (not driving)" : conservation ? "ok" : "FAILED", totalAtStart,
                    oracle.sumOfDeltasCents(), total);
            }
            return conservation ? 0 : EvCli.EXIT_INVARIANT_FAILED;
        }
    }

    private void awaitBackup(final Engine engine)
    {
        if (!engine.awaitPaired(TimeUnit.MILLISECONDS.toNanos(awaitBackupMs)))
        {
            throw new IllegalStateException("no backup paired with this primary within " + awaitBackupMs + " ms " +
                "(start `bin/ev node --role backup --listen " + peer + " --peer " + listen + " --data DIR`, or " +
                "--await-backup-ms 0 to run alone)" +
                (null == engine.failure() ? "" : ": " + engine.failure().getMessage()));
        }
        writeStatus(engine, 0);
    }

    /**
     * Runs until SIGTERM (or the engine fails), keeping the status file current and printing a line
     * when the role, epoch or pairing changes.
     */
    private void serveUntilStopped(final Engine engine, final PrintStream out, final long acknowledged)
    {
        String last = "";
        try
        {
            while (null == engine.failure())
            {
                final String state = engine.role() + " epoch " + engine.epoch() + (engine.isPaired() ? " paired" :
                    " unpaired");
                if (!state.equals(last))
                {
                    out.printf(Locale.ROOT, "replica %s, %d requests in state, digest %016x%n", state,
                        engine.requestsInState(), engine.root());
                    out.flush();
                    last = state;
                }
                writeStatus(engine, acknowledged);
                if (stopRequested.await(STATUS_INTERVAL_MS, TimeUnit.MILLISECONDS))
                {
                    break;
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (null != engine.failure())
        {
            throw stopped("replica", engine);
        }
    }

    /**
     * The engine stopped on {@code engine.failure()}. A journal or checkpoint failure (disk full, I/O
     * error) is the data directory's: a {@link JournalException} (exit {@link EvCli#EXIT_DATA}) naming
     * the file and the cause; anything else an {@link IllegalStateException} (exit 1).
     */
    private static RuntimeException stopped(final String what, final Engine engine)
    {
        final Throwable failure = engine.failure();
        if (failure instanceof JournalException)
        {
            final JournalException journal = (JournalException)failure;
            final String prefix = journal.reason() + ": ";
            final String message = journal.getMessage().startsWith(prefix) ?
                journal.getMessage().substring(prefix.length()) : journal.getMessage();
            return new JournalException(journal.reason(), what + " stopped, nothing more is acknowledged: " +
                message, journal);
        }
        return new IllegalStateException(what + " stopped: " + failure.getMessage(), failure);
    }

    /**
     * Writes {@code <data>/ev-node.status} (a properties file, replaced atomically).
     */
    private void writeStatus(final Engine engine, final long acknowledged)
    {
        final Properties status = new Properties();
        status.setProperty("role", engine.role().name());
        status.setProperty("epoch", Long.toString(engine.epoch()));
        status.setProperty("paired", Boolean.toString(engine.isPaired()));
        status.setProperty("stateDigest", String.format(Locale.ROOT, "%016x", engine.root()));
        status.setProperty("requestsInState", Long.toString(engine.requestsInState()));
        status.setProperty("acknowledged", Long.toString(acknowledged));
        status.setProperty("divergencesDetected", Long.toString(engine.counters().divergencesDetected()));
        status.setProperty("repairedByReexecution", Long.toString(engine.counters().repairedByReexecution()));
        status.setProperty("repairedByTransfer", Long.toString(engine.counters().repairedByTransfer()));
        status.setProperty("pid", Long.toString(ProcessHandle.current().pid()));
        final Path tmp = data.resolve(STATUS + ".tmp");
        try
        {
            try (OutputStream stream = Files.newOutputStream(tmp))
            {
                status.store(stream, "EV node status (bin/ev node keeps it current)");
            }
            Files.move(tmp, data.resolve(STATUS), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot write " + data.resolve(STATUS) + ": " + ex, ex);
        }
    }

    /**
     * @return the epoch the last run of this data directory reached (0 if none).
     */
    private long readStatusEpoch()
    {
        final Path file = data.resolve(STATUS);
        if (!Files.isRegularFile(file))
        {
            return 0;
        }
        final Properties status = new Properties();
        try (InputStream in = Files.newInputStream(file))
        {
            status.load(in);
            return Long.parseLong(status.getProperty("epoch", "0"));
        }
        catch (final IOException | NumberFormatException ex)
        {
            throw new SmallBankNode.DataDirectoryException("cannot read the epoch from " + file + ": " + ex);
        }
    }

    private SmallBankNode node()
    {
        if (SmallBankNode.exists(data))
        {
            final SmallBankNode node = SmallBankNode.read(data);
            if ((null != accounts && accounts != node.accounts) ||
                (null != maxBatchRequests && maxBatchRequests != node.maxBatchRequests))
            {
                throw new IllegalArgumentException("--data " + data + " was created with --accounts " + node.accounts +
                    " --batch " + node.maxBatchRequests + "; they cannot change (leave them out on restart)");
            }
            return null == seed ? node :
                new SmallBankNode(node.accounts, seed, node.maxBatchRequests, node.racyFee, node.deduplicate);
        }
        final SmallBankNode node = new SmallBankNode(null == accounts ? 10_000 : accounts, null == seed ? 42 : seed,
            null == maxBatchRequests ? 1024 : maxBatchRequests, false, DEDUPLICATE_NEW_DIRECTORIES);
        node.write(data);
        return node;
    }

    private long drive(final Engine engine, final SmallBankNode node, final AtomicLong replied, final PrintStream out)
    {
        final SmallBankWorkload workload = SmallBankWorkload.uniform(node.accounts, node.seed, false);
        final IdleStrategy idle = new BackoffIdleStrategy(1, 10, 1_000, 100_000);
        // with deduplication, request ids go on from the last one the state remembers for this client
        final long lastId = node.deduplicate ? ClientTable.lastRequestId(engine.reader(), CLIENT_ID,
            new UnsafeBuffer(new byte[SmallBank.MAX_VALUE_BYTES])) : ClientTable.NO_REQUEST;
        final long firstId = ClientTable.NO_REQUEST == lastId ? 0 : lastId + 1;
        final long startNs = System.nanoTime();
        long nextProgressNs = startNs;
        long nextStatusNs = startNs;
        long lastPrinted = -1;
        long submitted = 0;
        long measuredFromNs = 0 == warmup ? startNs : 0;
        long measuredFrom = 0;
        while (replied.get() < requests && stopRequested.getCount() > 0) // SIGTERM (--serve-after-drive) stops
        {
            final long nowNs = System.nanoTime();
            if (0 == measuredFromNs && replied.get() >= warmup)
            {
                measuredFromNs = nowNs;
                measuredFrom = replied.get();
            }
            final boolean paced = rate <= 0 || submitted * 1_000_000_000.0 / rate <= nowNs - startNs;
            if (submitted < requests && submitted - replied.get() < window && paced)
            {
                final int length = workload.next(payload, 0);
                final int result = engine.submit(CLIENT_ID, firstId + submitted, workload.typeId(), payload, 0,
                    length);
                if (Engine.SUBMITTED != result && null == engine.failure())
                {
                    throw new IllegalStateException("request " + submitted + " " + Engine.describeSubmit(result));
                }
                if (Engine.SUBMITTED == result)
                {
                    submitted++;
                    idle.reset();
                }
            }
            else
            {
                idle.idle();
            }
            if (null != engine.failure())
            {
                out.printf(Locale.ROOT, "committed=%d (engine stopped)%n", replied.get());
                out.flush();
                throw stopped("engine", engine);
            }
            if (nowNs - nextProgressNs >= 0)
            {
                final long committed = replied.get();
                if (committed != lastPrinted)
                {
                    out.printf(Locale.ROOT, "committed=%d rate=%.0f/s%n", committed,
                        committed * 1e9 / Math.max(1, nowNs - startNs));
                    out.flush();
                    lastPrinted = committed;
                }
                if (!"standalone".equals(role) && nowNs - nextStatusNs >= 0)
                {
                    writeStatus(engine, committed);
                    nextStatusNs = nowNs + TimeUnit.MILLISECONDS.toNanos(STATUS_INTERVAL_MS);
                }
                nextProgressNs = nowNs + PROGRESS_INTERVAL_NS;
            }
        }
        driveSeconds = (System.nanoTime() - measuredFromNs) / 1e9;
        driveRequests = replied.get() - measuredFrom;
        return submitted;
    }

    private void validate()
    {
        require("standalone".equals(role) || "primary".equals(role) || "backup".equals(role),
            "--role " + role + " must be standalone, primary or backup");
        final boolean replicated = !"standalone".equals(role);
        require(!replicated || (null != listen && null != peer), "--role " + role + " needs --listen HOST:PORT and " +
            "--peer HOST:PORT");
        require(replicated || (null == listen && null == peer), "--listen/--peer apply to --role primary|backup");
        require(!"backup".equals(role) || null == drive, "--drive: a backup takes no requests (drive the primary)");
        require(!noPromote || replicated, "--no-promote applies to --role primary|backup");
        require(!serveAfterDrive || ("primary".equals(role) && null != drive),
            "--serve-after-drive applies to --role primary with --drive");
        require(peerTimeoutMs >= 3 * heartbeatMs && peerTimeoutMs <= 600_000, "--peer-timeout-ms " + peerTimeoutMs +
            " must be in [3 x --heartbeat-ms, 600000]");
        require(heartbeatMs >= 1 && heartbeatMs <= 10_000, "--heartbeat-ms " + heartbeatMs + " must be in [1, 10000]");
        require(awaitBackupMs >= 0, "--await-backup-ms " + awaitBackupMs + " must be >= 0");
        require(null == drive || "smallbank".equals(drive), "--drive " + drive + " must be smallbank");
        require(requests >= 0 && requests <= 1_000_000_000L, "--requests " + requests + " must be in [0, 10^9]");
        require(rate >= 0, "--rate " + rate + " must be >= 0");
        require(warmup >= 0 && (0 == warmup || warmup < requests), "--warmup " + warmup +
            " must be in [0, --requests)");
        require(null == accounts || (accounts >= 2 && accounts <= 50_000_000),
            "--accounts " + accounts + " must be in [2, 5 x 10^7]");
        require(null == maxBatchRequests ||
            (maxBatchRequests >= 1 && maxBatchRequests <= Engine.Context.MAX_BATCH_REQUESTS_LIMIT),
            "--batch " + maxBatchRequests + " must be in [1, " + Engine.Context.MAX_BATCH_REQUESTS_LIMIT + "]");
        require(workers >= 1 && workers <= Engine.Context.MAX_WORKERS,
            "--workers " + workers + " must be in [1, " + Engine.Context.MAX_WORKERS + "]");
        require(inFlight >= 1 && inFlight <= ReplicationSettings.MAX_IN_FLIGHT_BATCHES, "--in-flight " + inFlight +
            " must be in [1, " + ReplicationSettings.MAX_IN_FLIGHT_BATCHES + "]");
        require(window >= 1 && window <= 1 << 20, "--window " + window + " must be in [1, 2^20]");
        require("process-crash".equals(durability) || "power-loss".equals(durability),
            "--durability " + durability + " must be process-crash or power-loss");
        require(checkpointEvery >= 0, "--checkpoint-every " + checkpointEvery + " must be >= 0");
        require("concurrent".equals(checkpointMode) || "pause".equals(checkpointMode),
            "--checkpoint-mode " + checkpointMode + " must be concurrent or pause");
    }

    private static void require(final boolean valid, final String message)
    {
        if (!valid)
        {
            throw new IllegalArgumentException(message);
        }
    }
}
