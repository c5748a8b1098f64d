/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.ev.engine.BatchRecorder;
import io.ev.engine.Engine;
import io.ev.engine.Recovery;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Durability;
import io.ev.journal.Journal;
import io.ev.journal.JournalException;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import io.ev.pipeline.Mixer;
import io.ev.pipeline.PermissiveMixer;
import io.ev.store.StateStore;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/ev demo}: the main job on the embedded default. Loads SmallBank, drives it closed-loop
 * (at most {@code --window} requests outstanding), prints a status line about every second and a
 * summary, then checks the invariants: conservation of money, and the replay oracle (the
 * committed batches re-executed sequentially on a fresh store give the same roots and replies).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run SmallBank on the engine, print progress and a summary, check the invariants.")
public final class DemoCommand implements Callable<Integer>
{
    private static final int CLIENT_ID = 0;

    @Option(names = "--requests", description = "requests to submit (default ${DEFAULT-VALUE})")
    long requests = 200_000;

    @Option(names = "--accounts", description = "SmallBank customers (default ${DEFAULT-VALUE})")
    int accounts = 10_000;

    @Option(names = "--workers", description = "executing threads (default ${DEFAULT-VALUE})")
    int workers = 2;

    @Option(names = "--mixer", description = "keys | permissive (default ${DEFAULT-VALUE})")
    String mixer = "keys";

    @Option(names = "--profile", description = "uniform | contended (default ${DEFAULT-VALUE})")
    String profile = "uniform";

    @Option(names = "--seed", description = "seed of the load and the workload (default ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--racy-fee", description = "use the deliberately racy SendPaymentWithFee for payments")
    boolean racyFee;

    @Option(names = "--replicas", description = "1 = standalone; 2 = primary + backup in this process over " +
        "Aeron IPC (default ${DEFAULT-VALUE})")
    int replicas = 2;

    @Option(names = "--batch", description = "max requests per batch (default ${DEFAULT-VALUE})")
    int maxBatchRequests = 1024;

    @Option(names = "--window", description = "max outstanding requests (default ${DEFAULT-VALUE})")
    int window = 4096;

    @Option(names = "--json", description = "print the summary as one JSON object on stdout")
    boolean json;

    @Option(names = "--data", description = "journal + checkpoints here (a new directory; default: a temporary " +
        "directory, deleted at the end)")
    Path data;

    @Option(names = "--durability", description = "process-crash | power-loss (default ${DEFAULT-VALUE})")
    String durability = "process-crash";

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);

    public Integer call()
    {
        validate();
        final PrintStream progress = json ? System.err : System.out;
        final long[] initialTotal = new long[1];
        final TransactionRegistry registry = registry();
        final BatchRecorder recorder = new BatchRecorder();
        final Recorder latencies = new Recorder(3);
        final long[] submitTimesNs = new long[(int)requests];
        final AtomicLong replied = new AtomicLong();
        final SmallBankOracle oracle = new SmallBankOracle(0);
        final long[] deltas = new long[1];

        final boolean temporary = null == data;
        final Path dir = temporary ? createTempDirectory() : data;
        final SmallBankNode node = new SmallBankNode(accounts, seed, maxBatchRequests, racyFee,
            NodeCommand.DEDUPLICATE_NEW_DIRECTORIES);
        node.write(dir);
        final Engine.Context ctx = new Engine.Context()
            .journal(new Journal.Context().dir(dir)
                .durability("power-loss".equals(durability) ? Durability.POWER_LOSS : Durability.PROCESS_CRASH))
            .store(storeContext())
            .registry(registry)
            .workers(workers)
            .mixer(newMixer())
            .maxBatchRequests(maxBatchRequests)
            .initializer((store, writer) -> initialTotal[0] = SmallBankLoader.load(store, writer, accounts, seed))
            .commitListener(recorder);

        final Summary summary = new Summary();
        final Pair pair = 2 == replicas ? new Pair(dir, ctx) : null;
        if (null != pair)
        {
            ctx.role(Engine.Role.PRIMARY).link(pair.primaryLink);
        }
        try (Engine engine = Engine.launch(ctx))
        {
            if (null != pair && !engine.awaitPaired(TimeUnit.SECONDS.toNanos(30)))
            {
                throw new IllegalStateException("the backup did not pair with the primary within 30 s" +
                    (null != engine.failure() ? ": " + engine.failure().getMessage() : ""));
            }
            engine.registerClient(CLIENT_ID, (clientId, requestId, type, batchSeq, reply, offset, length) ->
            {
                latencies.recordValue(Math.max(1, System.nanoTime() - submitTimesNs[(int)requestId]));
                oracle.onCommittedReply(reply, offset, length);
                replied.incrementAndGet();
            });
            drive(engine, submitTimesNs, replied, latencies, summary, progress);
            summary.counters(engine.counters());
            summary.stateDigest = engine.root();
            deltas[0] = oracle.sumOfDeltasCents();
            final long total = SmallBankOracle.totalMoney(engine.reader(), accounts);
            summary.conservation = SmallBankOracle.conserves(initialTotal[0], deltas[0], total);
            summary.conservationDetail = "initial " + initialTotal[0] + " + deltas " + deltas[0] + " vs " + total;
            if (null != pair)
            {
                pair.compare(engine, summary);
            }
        }
        finally
        {
            if (null != pair)
            {
                pair.close();
            }
        }
        try (StateStore fresh = StateStore.open(storeContext().writers(3)))
        {
            SmallBankLoader.load(fresh, fresh.newWriter(), accounts, seed);
            final String mismatch = recorder.replay(fresh, registry(),
                maxBatchRequests);
            summary.replayOracle = null == mismatch;
            summary.replayDetail = null == mismatch ? "all " + recorder.batches() + " batches match" : mismatch;
        }
        journalRecovery(dir, summary);
        if (temporary)
        {
            deleteRecursively(dir);
        }
        summary.print(json ? System.out : progress, json, this);
        return summary.conservation && summary.replayOracle && summary.journalRecovery && summary.replicasAgree ? 0 :
            EvCli.EXIT_INVARIANT_FAILED;
    }

    private void drive(
        final Engine engine,
        final long[] submitTimesNs,
        final AtomicLong replied,
        final Recorder latencies,
        final Summary summary,
        final PrintStream progress)
    {
        final SmallBankWorkload workload = "contended".equals(profile) ?
            SmallBankWorkload.contended(accounts, seed, racyFee) : SmallBankWorkload.uniform(accounts, seed, racyFee);
        final Histogram total = new Histogram(3);
        final IdleStrategy idle = new BackoffIdleStrategy(1, 10, 1_000, 100_000);
        Histogram interval = null;
        final long startNs = System.nanoTime();
        long nextStatusNs = startNs + TimeUnit.SECONDS.toNanos(1);
        long lastCommitted = 0;
        long lastStatusNs = startNs;
        long submitted = 0;
        while (replied.get() < requests)
        {
            if (submitted < requests && submitted - replied.get() < window)
            {
                final int length = workload.next(payload, 0);
                submitTimesNs[(int)submitted] = System.nanoTime();
                final int result = engine.submit(CLIENT_ID, submitted, workload.typeId(), payload, 0, length);
                if (Engine.SUBMITTED != result)
                {
                    throw new IllegalStateException("request " + submitted + " " + Engine.describeSubmit(result));
                }
                submitted++;
                idle.reset();
            }
            else
            {
                idle.idle();
            }
            if (null != engine.failure())
            {
                throw new IllegalStateException("engine failed: " + engine.failure(), engine.failure());
            }
            final long nowNs = System.nanoTime();
            if (nowNs - nextStatusNs >= 0)
            {
                interval = latencies.getIntervalHistogram(interval);
                total.add(interval);
                final long committed = engine.counters().committed();
                progress.printf(Locale.ROOT, "committed=%d rate=%.0f/s p99=%.1fus batches=%d%n", committed,
                    (committed - lastCommitted) * 1e9 / (nowNs - lastStatusNs),
                    interval.getValueAtPercentile(99) / 1e3, engine.counters().batches());
                lastCommitted = committed;
                lastStatusNs = nowNs;
                nextStatusNs = nowNs + TimeUnit.SECONDS.toNanos(1);
            }
        }
        summary.elapsedNs = System.nanoTime() - startNs;
        total.add(latencies.getIntervalHistogram(interval));
        summary.latency = total;
    }

    private StateStore.Context storeContext()
    {
        return SmallBank.storeContext(accounts, maxBatchRequests);
    }

    /**
     * Recovers the run's data directory the way a restarting node would and checks it reproduces
     * the live state digest, every token verified.
     */
    private void journalRecovery(final Path dir, final Summary summary)
    {
        try (StateStore store = StateStore.open(storeContext().writers(2));
            Journal journal = Journal.open(new Journal.Context().dir(dir)))
        {
            final Recovery.Report report = new Recovery(store, store.newWriter(), journal,
                registry(), maxBatchRequests, null).recover();
            summary.journalRecovery = report.root() == summary.stateDigest;
            summary.journalDetail = String.format(Locale.ROOT, "%d batches replayed in %.2f s, %d tokens verified, " +
                "digest %016x", report.batchesReplayed(), report.seconds(), report.tokensVerified(), report.root());
        }
        catch (final JournalException ex)
        {
            summary.journalRecovery = false;
            summary.journalDetail = ex.getMessage();
        }
    }

    private static Path createTempDirectory()
    {
        try
        {
            return Files.createTempDirectory("ev-demo-");
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot create a temporary data directory: " + ex, ex);
        }
    }

    private static void deleteRecursively(final Path dir)
    {
        try (Stream<Path> paths = Files.walk(dir))
        {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        catch (final IOException ex)
        {
            System.err.println("bin/ev demo: could not delete " + dir + ": " + ex);
        }
    }

    private Mixer newMixer()
    {
        return "permissive".equals(mixer) ? new PermissiveMixer() : new KeyConflictMixer(maxBatchRequests);
    }

    private void validate()
    {
        require(requests >= 1 && requests <= 100_000_000, "--requests " + requests + " must be in [1, 10^8]");
        require(accounts >= 2 && accounts <= 50_000_000, "--accounts " + accounts + " must be in [2, 5 x 10^7]");
        require(workers >= 1 && workers <= Engine.Context.MAX_WORKERS,
            "--workers " + workers + " must be in [1, " + Engine.Context.MAX_WORKERS + "]");
        require("keys".equals(mixer) || "permissive".equals(mixer), "--mixer " + mixer + " must be keys or permissive");
        require("uniform".equals(profile) || "contended".equals(profile),
            "--profile " + profile + " must be uniform or contended");
        require(replicas == 1 || replicas == 2, "--replicas " + replicas + " must be 1 (standalone) or 2 (primary + " +
            "backup)");
        require(maxBatchRequests >= 1 && maxBatchRequests <= Engine.Context.MAX_BATCH_REQUESTS_LIMIT,
            "--batch " + maxBatchRequests + " must be in [1, " + Engine.Context.MAX_BATCH_REQUESTS_LIMIT + "]");
        require(window >= 1 && window <= 1 << 20, "--window " + window + " must be in [1, 2^20]");
        require("process-crash".equals(durability) || "power-loss".equals(durability),
            "--durability " + durability + " must be process-crash or power-loss");
        require(null == data || !Files.exists(data) || isEmptyDirectory(data), "--data " + data +
            " must be a new or empty directory (continue an existing one with bin/ev node)");
    }

    private static boolean isEmptyDirectory(final Path dir)
    {
        try (Stream<Path> entries = Files.list(dir))
        {
            return entries.findAny().isEmpty();
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    private static void require(final boolean valid, final String message)
    {
        if (!valid)
        {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * @return the demo's SmallBank registry: the same on the primary, the backup and every oracle
     * (deduplication as for a new node directory; the demo's one client numbers its requests 0, 1, 2).
     */
    private TransactionRegistry registry()
    {
        return SmallBank.registerAll(new TransactionRegistry(), racyFee)
            .deduplicateRequests(NodeCommand.DEDUPLICATE_NEW_DIRECTORIES);
    }

    /**
     * The backup of a {@code --replicas 2} run: an engine in this process, linked to the primary
     * over Aeron IPC (embedded media driver under the data directory).
     */
    private final class Pair implements AutoCloseable
    {
        final AeronTransport transport;
        final AeronLink primaryLink;
        final AeronLink backupLink;
        final Engine backup;

        Pair(final Path dir, final Engine.Context primaryContext)
        {
            transport = AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(dir.resolve("aeron")).termBufferLength(16 << 20));
            primaryLink = transport.newIpcLink(10, 11);
            backupLink = transport.newIpcLink(11, 10);
            backup = Engine.launch(new Engine.Context()
                .role(Engine.Role.BACKUP)
                .link(backupLink)
                .store(storeContext())
                .registry(registry())
                .workers(primaryContext.workers())
                .maxBatchRequests(maxBatchRequests)
                .initializer((store, writer) -> SmallBankLoader.load(store, writer, accounts, seed)));
        }

        void compare(final Engine primary, final Summary summary)
        {
            final long batches = primary.counters().batches();
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (backup.counters().batches() < batches && System.nanoTime() - deadlineNs < 0)
            {
                Thread.onSpinWait();
            }
            final Engine.EngineCounters counters = primary.counters();
            summary.divergencesDetected = counters.divergencesDetected();
            summary.repairedByReexecution = counters.repairedByReexecution();
            summary.repairedByTransfer = counters.repairedByTransfer();
            summary.verifyMeanNs = batches == 0 ? 0 : counters.verifyNs() / batches;
            final Histogram verify = primary.verifyLatencySinceLastCall();
            summary.verifyP50Ns = verify.getValueAtPercentile(50);
            summary.verifyP99Ns = verify.getValueAtPercentile(99);
            summary.replicasAgree = backup.counters().batches() >= batches && backup.root() == primary.root();
            summary.replicasDetail = String.format(Locale.ROOT, "backup committed %d of %d batches, digest %016x",
                backup.counters().batches(), batches, backup.root());
        }

        public void close()
        {
            backup.close();
            primaryLink.close();
            backupLink.close();
            transport.close();
        }
    }

    /**
     * What the demo prints at the end.
     */
    static final class Summary
    {
        long committed;
        long aborted;
        long batches;
        long phases;
        long elapsedNs;
        long stateDigest;
        Histogram latency;
        boolean conservation;
        String conservationDetail;
        boolean replayOracle;
        String replayDetail;
        boolean journalRecovery;
        String journalDetail;
        boolean replicasAgree = true;
        String replicasDetail = "standalone";
        long divergencesDetected;
        long repairedByReexecution;
        long repairedByTransfer;
        long verifyMeanNs;
        long verifyP50Ns;
        long verifyP99Ns;

        void counters(final Engine.EngineCounters counters)
        {
            committed = counters.committed();
            aborted = counters.aborted();
            batches = counters.batches();
            phases = counters.phases();
        }

        void print(final PrintStream out, final boolean json, final DemoCommand options)
        {
            final double throughput = committed * 1e9 / Math.max(1, elapsedNs);
            final double phasesPerBatch = batches == 0 ? 0 : (double)phases / batches;
            if (json)
            {
                out.printf(Locale.ROOT, "{\"committed\":%d,\"aborted\":%d,\"throughputPerSec\":%.1f," +
                    "\"latencyNs\":{\"p50\":%d,\"p99\":%d,\"p999\":%d,\"max\":%d},\"batches\":%d," +
                    "\"phasesPerBatch\":%.3f,\"stateDigest\":\"%016x\",\"invariants\":{\"conservation\":%b," +
                    "\"replayOracle\":%b,\"journalRecovery\":%b},\"workers\":%d,\"mixer\":\"%s\"," +
                    "\"profile\":\"%s\",\"racyFee\":%b,\"replicas\":%d,\"seed\":%d,\"durability\":\"%s\"," +
                    "\"replicasAgree\":%b,\"divergences\":{\"detected\":%d,\"repairedByReexecution\":%d," +
                    "\"repairedByTransfer\":%d},\"rollbacks\":%d," +
                    "\"verifyLatencyNs\":{\"p50\":%d,\"p99\":%d,\"mean\":%d}}%n",
                    committed, aborted, throughput, latency.getValueAtPercentile(50), latency.getValueAtPercentile(99),
                    latency.getValueAtPercentile(99.9), latency.getMaxValue(), batches, phasesPerBatch, stateDigest,
                    conservation, replayOracle, journalRecovery, options.workers, options.mixer, options.profile,
                    options.racyFee, options.replicas, options.seed, options.durability, replicasAgree,
                    divergencesDetected, repairedByReexecution, repairedByTransfer,
                    divergencesDetected + repairedByTransfer, verifyP50Ns, verifyP99Ns, verifyMeanNs);
                return;
            }
            out.printf(Locale.ROOT, "%n== summary ==%n");
            out.printf(Locale.ROOT, "committed         %d (of which aborted by the application: %d)%n",
                committed, aborted);
            out.printf(Locale.ROOT, "throughput        %.0f requests/s over %.2f s%n", throughput, elapsedNs / 1e9);
            out.printf(Locale.ROOT, "latency           p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us%n",
                latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(99) / 1e3,
                latency.getValueAtPercentile(99.9) / 1e3, latency.getMaxValue() / 1e3);
            out.printf(Locale.ROOT, "batches           %d, %.2f phases per batch%n", batches, phasesPerBatch);
            out.printf(Locale.ROOT, "state digest      %016x%n", stateDigest);
            out.printf(Locale.ROOT, "conservation      %s (%s)%n", conservation ? "ok" : "FAILED", conservationDetail);
            out.printf(Locale.ROOT, "replay oracle     %s (%s)%n", replayOracle ? "ok" : "FAILED", replayDetail);
            out.printf(Locale.ROOT, "journal recovery  %s (%s)%n", journalRecovery ? "ok" : "FAILED", journalDetail);
            out.printf(Locale.ROOT, "replicas          %s (%s)%n", replicasAgree ? "agree" : "DIFFER", replicasDetail);
            if (options.replicas > 1)
            {
                out.printf(Locale.ROOT, "divergences       %d detected, %d repaired by re-execution, %d by transfer; " +
                    "verify a batch: p50 %.1f us, p99 %.1f us%n", divergencesDetected, repairedByReexecution,
                    repairedByTransfer, verifyP50Ns / 1e3, verifyP99Ns / 1e3);
            }
        }
    }
}
