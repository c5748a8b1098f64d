/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.ev.engine.EngineReplica;
import io.ev.engine.SequentialReplay;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.BatchDecoder;
import io.ev.journal.BatchEncoder;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.Mixer;
import io.ev.pipeline.ParallelExecutor;
import io.ev.pipeline.PermissiveMixer;
import io.ev.pipeline.Request;
import io.ev.replication.BackupReplicator;
import io.ev.replication.PrimaryReplicator;
import io.ev.replication.SimulatedNetwork;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * The concurrency-bug experiment of WORKLOADS.md ({@code bin/ev detect}, issue 5): how often the racy
 * {@code SendPaymentWithFee} (and, with the permissive mixer, every other conflicting SmallBank pair
 * that shares a phase) makes a batch's parallel result differ from sequential execution, and how many
 * of those manifestations Execute-Verify detects and repairs.
 * <p>
 * Each configuration runs the same seeded request sequence ({@link SmallBankWorkload}, racy fee on,
 * cut into batches of {@code --batch}) on freshly loaded replicas built from the engine's pieces (not
 * the {@code Engine} facade): a {@link StateStore}, a {@link ParallelExecutor} ({@code --workers}
 * threads; schedule seed 0 on the primary, {@value #DIVERSITY_SCHEDULE_SEED_HEX} on a backup with
 * schedule diversity, as the engine does) and an {@link EngineReplica}, wrapped in a
 * {@link ManifestationOracle} that executes every batch sequentially first to know the right answer.
 * Replicated configurations run {@link PrimaryReplicator} and {@link BackupReplicator} over a
 * fault-free {@link SimulatedNetwork} on this one thread (virtual time; each replica's executor still
 * runs its batch on its own worker threads): the primary ships the batch and executes it, then the
 * backup executes it, then the tokens are compared. Unreplicated configurations execute and commit
 * the parallel result. A third store replays every batch sequentially in batch order (the replay
 * oracle, WORKLOADS.md invariant 2) for the final-state check.
 * <p>
 * Per batch: manifested on the primary / backup (parallel (root, reply digest) != sequential from the
 * same pre-state), detected (the primary's parallel token differed from the backup's), repaired by
 * sequential re-execution or record transfer, undetected (manifested on either, not detected), and
 * whether the committed result equals sequential execution. Output: the configuration, a progress
 * line about every second, a summary table; {@code --json}: the same numbers as one JSON object on
 * stdout (progress and table on stderr).
 */
public final class DetectionExperiment
{
    /** The backup's schedule seed with schedule diversity: the engine's ({@code Engine}, role BACKUP). */
    static final long DIVERSITY_SCHEDULE_SEED = 0x9E3779B97F4A7C15L;
    static final String DIVERSITY_SCHEDULE_SEED_HEX = "0x9E3779B97F4A7C15";
    /** Client id of every generated request. */
    static final long CLIENT_ID = 0;
    /** Epoch of the replicated pair. */
    static final long EPOCH = 1;
    /** Virtual time before the primary re-sends: never reached on the fault-free network. */
    static final long RETRANSMIT_NS = TimeUnit.SECONDS.toNanos(1);
    /** Protocol steps per batch before giving up (a bug, not a measurement). */
    static final long MAX_STEPS_PER_BATCH = 1_000_000;

    /** Every configuration, in the order of the paper's table; then the latent-bug pair. */
    static final List<Configuration> CONFIGURATIONS = List.of(
        new Configuration("unreplicated-permissive", "unreplicated parallel, permissive mixer",
            false, false, false, false),
        new Configuration("unreplicated-keys", "unreplicated parallel, key mixer, fee key declared",
            false, true, true, false),
        new Configuration("ev-permissive", "EV primary + backup, permissive mixer, no schedule diversity",
            true, false, false, false),
        new Configuration("ev-permissive-diversity", "EV primary + backup, permissive mixer, schedule diversity",
            true, false, false, true),
        new Configuration("ev-keys-undeclared", "EV primary + backup, key mixer, fee key NOT declared, " +
            "no schedule diversity", true, true, false, false),
        new Configuration("ev-keys-undeclared-diversity", "EV primary + backup, key mixer, fee key NOT declared, " +
            "schedule diversity", true, true, false, true));

    /** The four configurations of the issue, run by default. */
    static final int DEFAULT_CONFIGURATIONS = 4;
    /** The configuration of the warm-up run (the replicated one that executes the most code paths). */
    static final int WARMUP_CONFIGURATION = 3;

    private DetectionExperiment()
    {
    }

    /**
     * @param args see {@link Options#usage()}.
     */
    public static void main(final String[] args)
    {
        final Options options = ToolOptions.parseOrExit("bin/ev detect", Options.usage(), Options::parse, args);
        if (null == options)
        {
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final PrintStream progress = options.json ? System.err : System.out;
        progress.printf(Locale.ROOT, "bin/ev detect: %s%n", options.describe());
        if (options.warmup > 0)
        {
            progress.printf(Locale.ROOT, "warm-up (JIT), not counted: %d requests of %s%n", options.warmup,
                CONFIGURATIONS.get(WARMUP_CONFIGURATION).name);
            run(CONFIGURATIONS.get(WARMUP_CONFIGURATION), options, options.warmup, progress);
        }
        final List<Result> results = new ArrayList<>();
        for (final Configuration configuration : options.configurations())
        {
            results.add(run(configuration, options, options.requests, progress));
        }
        // with --json the table goes with the progress lines to stderr: one run gives both records
        printSummary(progress, options, results);
        if (options.json)
        {
            System.out.println(toJson(options, results));
        }
    }

    /**
     * Runs one configuration on fresh replicas.
     *
     * @param configuration what to run.
     * @param options       sizes and seeds.
     * @param requests      requests to run.
     * @param progress      where the progress lines go.
     * @return its counts.
     */
    static Result run(
        final Configuration configuration, final Options options, final long requests, final PrintStream progress)
    {
        final TransactionRegistry registry =
            SmallBank.registerAll(new TransactionRegistry(), true, configuration.declareFeeKey);
        final Mixer mixer = configuration.keyMixer ? new KeyConflictMixer(options.batch) : new PermissiveMixer();
        final SmallBankWorkload workload = options.workload();
        final Result result = new Result(configuration);
        final long totalBatches = (requests + options.batch - 1) / options.batch;
        progress.printf(Locale.ROOT, "== %s: %s ==%n", configuration.name, configuration.label);
        final MoneyProbe.Keys keys = new MoneyProbe.Keys();
        try (Replica primarySide = new Replica(options, registry, 0, keys);
            Replica backupSide = configuration.replicated ? new Replica(options, registry,
                configuration.diversity ? DIVERSITY_SCHEDULE_SEED : 0, keys) : null;
            Replay replay = new Replay(options))
        {
            final SimulatedNetwork network = new SimulatedNetwork(options.seed);
            PrimaryReplicator primary = null;
            BackupReplicator backup = null;
            if (configuration.replicated)
            {
                network.connect("primary", "backup");
                primary = new PrimaryReplicator(
                    network.endpoint("primary"), primarySide.oracle.execution(), EPOCH, RETRANSMIT_NS);
                backup = new BackupReplicator(network.endpoint("backup"), backupSide.oracle.execution(), EPOCH);
            }
            final Batch batch = new Batch(options.batch, registry.maxPayloadBytes(), registry.maxReplyBytes());
            final Batch replayBatch = new Batch(options.batch, registry.maxPayloadBytes(), registry.maxReplyBytes());
            final BatchEncoder encoder = new BatchEncoder();
            final BatchDecoder decoder = new BatchDecoder();
            final Request request = new Request();
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
            final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
            final SmallBankOracle conservation = new SmallBankOracle(primarySide.initialTotalCents);
            final long startNs = System.nanoTime();
            long nextProgressNs = startNs + TimeUnit.SECONDS.toNanos(1);
            long seq = primarySide.store.lastCommittedSeq() + 1;
            long requestId = 0;
            while (requestId < requests)
            {
                final int count = (int)Math.min(options.batch, requests - requestId);
                batch.reset(seq);
                replayBatch.reset(seq);
                for (int i = 0; i < count; i++, requestId++)
                {
                    final int length = workload.next(payload, 0);
                    batch.add(CLIENT_ID, requestId, workload.typeId(), payload, 0, length);
                    replayBatch.add(CLIENT_ID, requestId, workload.typeId(), payload, 0, length);
                }
                mixer.mix(batch, registry);
                result.phases += batch.phaseCount();
                keys.collect(batch, registry, SmallBank.FEE_ACCOUNT_KEY);
                final int entryLength = EngineReplica.encode(batch, encoder, request);
                int attempt = 0;
                if (configuration.replicated)
                {
                    final long detectedBefore = primary.counters().detected();
                    final long transfersBefore = primary.counters().repairedByTransfer();
                    primary.begin(seq, encoder.buffer(), 0, entryLength, network.nowNs());
                    verify(primary, backup, network, seq);
                    // one batch in flight at a time here: the counters' changes tell its last attempt
                    attempt = primary.counters().repairedByTransfer() > transfersBefore ? 2 :
                        primary.counters().detected() > detectedBefore ? 1 : 0;
                }
                else
                {
                    final String problem = decoder.wrap(encoder.buffer(), entryLength);
                    if (null != problem)
                    {
                        throw new IllegalStateException("batch " + seq + ": " + problem);
                    }
                    primarySide.oracle.execute(seq, decoder, false);
                    primarySide.replica.commit(seq);
                }
                result.account(seq, attempt, primarySide, backupSide);
                final Batch committed = primarySide.replica.batch(seq);
                for (int i = 0, n = committed.count(); i < n; i++)
                {
                    committed.wrapReply(reply, i);
                    conservation.onCommittedReply(reply, 0, committed.replyLength(i));
                }
                replay.execute(replayBatch, registry);
                if (-1 == result.firstBatchDifferingFromReplay && replay.root() != primarySide.store.root())
                {
                    result.firstBatchDifferingFromReplay = result.batches;
                }
                seq++;
                final long nowNs = System.nanoTime();
                if (nowNs - nextProgressNs >= 0)
                {
                    progress.println(result.progressLine(nowNs - startNs, totalBatches, requestId));
                    nextProgressNs = nowNs + TimeUnit.SECONDS.toNanos(1);
                }
            }
            if (configuration.replicated)
            {
                drain(primary, backup, network);
                final PrimaryReplicator.Counters counters = primary.counters();
                result.detectedByCounter = counters.detected();
                result.repairedByReexecutionCounter = counters.repairedByReexecution();
                result.repairedByTransferCounter = counters.repairedByTransfer();
                result.retransmits = counters.retransmits();
                result.replicasAgree = primarySide.store.root() == backupSide.store.root();
            }
            result.requests = requestId;
            result.seconds = (System.nanoTime() - startNs) / 1e9;
            result.finalEqualsReplay = replay.root() == primarySide.store.root();
            result.conservationDifferenceCents = SmallBankOracle.totalMoney(primarySide.reader, options.accounts) -
                conservation.expectedTotalCents();
            result.conserved = 0 == result.conservationDifferenceCents;
            progress.println(result.progressLine(System.nanoTime() - startNs, totalBatches, requestId));
        }
        return result;
    }

    /**
     * Pumps the protocol until the primary has committed batch {@code seq}, moving virtual time to the next
     * delivery whenever neither side has work.
     */
    private static void verify(
        final PrimaryReplicator primary, final BackupReplicator backup, final SimulatedNetwork network, final long seq)
    {
        long steps = 0;
        long committed = -1;
        while (committed != seq)
        {
            for (long next = primary.pollCommitted(); -1 != next; next = primary.pollCommitted())
            {
                committed = next;
            }
            if (committed == seq)
            {
                break;
            }
            if (null != primary.failure() || null != backup.failure())
            {
                throw new IllegalStateException("batch " + seq + ": replication failed: primary " + primary.failure() +
                    ", backup " + backup.failure());
            }
            if (++steps > MAX_STEPS_PER_BATCH)
            {
                throw new IllegalStateException("batch " + seq + " did not commit in " + MAX_STEPS_PER_BATCH +
                    " steps (primary " + primary.state() + ")");
            }
            final int work = primary.doWork(network.nowNs()) + backup.doWork();
            if (0 == work)
            {
                advance(network);
            }
        }
    }

    /**
     * Lets the backup commit the last batch (its commit decision is in flight).
     */
    private static void drain(final PrimaryReplicator primary, final BackupReplicator backup,
        final SimulatedNetwork network)
    {
        long steps = 0;
        while (-1 != backup.openSeq())
        {
            if (++steps > MAX_STEPS_PER_BATCH)
            {
                throw new IllegalStateException("the backup did not commit batch " + backup.openSeq());
            }
            if (0 == backup.doWork())
            {
                if (SimulatedNetwork.NO_PENDING_DELIVERY == network.nextDeliveryTimeNs())
                {
                    primary.resendLastDecision();
                }
                advance(network);
            }
        }
    }

    private static void advance(final SimulatedNetwork network)
    {
        final long nextNs = network.nextDeliveryTimeNs();
        network.advanceTo(SimulatedNetwork.NO_PENDING_DELIVERY == nextNs ?
            network.nowNs() + RETRANSMIT_NS : Math.max(nextNs, network.nowNs()));
    }

    static String toJson(final Options options, final List<Result> results)
    {
        final StringBuilder json = new StringBuilder(4096);
        json.append(String.format(Locale.ROOT,
            "{\"requests\":%d,\"warmup\":%d,\"seed\":%d,\"workers\":%d,\"batch\":%d,\"accounts\":%d," +
            "\"profile\":\"%s\",\"idle\":\"%s\",\"split\":\"%s\",\"availableProcessors\":%d,\"javaVersion\":\"%s\"," +
            "\"configurations\":[",
            options.requests, options.warmup, options.seed, options.workers, options.batch, options.accounts,
            options.profile, options.idle, options.split, Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version")));
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

    static void printSummary(final PrintStream out, final Options options, final List<Result> results)
    {
        out.printf(Locale.ROOT, "%n== summary: %s ==%n", options.describe());
        out.printf(Locale.ROOT, "%-28s %7s %7s %7s %7s %7s %8s %7s %8s %10s %6s %9s %9s %6s %7s %9s %7s%n",
            "configuration", "batches", "manif.P", "manif.B", "either", "lost", "detected", "re-exec", "transfer",
            "undetected", "(lost)", "detection", "(of lost)", "wrong", "=replay", "conserved", "seconds");
        for (final Result result : results)
        {
            result.printRow(out);
        }
        out.printf(Locale.ROOT, "%n");
        for (final Result result : results)
        {
            out.printf(Locale.ROOT, "%-28s %s%n", result.configuration.name, result.configuration.label);
        }
        out.printf(Locale.ROOT, "%s%n", LEGEND);
    }

    /** What the summary's columns mean. */
    static final String LEGEND = String.join(System.lineSeparator(),
        "",
        "manif.P, manif.B  batches whose parallel (root, reply digest) differed from sequential execution in",
        "                  batch order from the same state, on the primary / the backup",
        "either            manifested on at least one replica",
        "lost              of those, batches where a parallel run lost (or made) money: a lost update, not a",
        "                  mere reordering (the touched balances changed by other than the replies' deltas)",
        "detected          the replicas' parallel tokens differed; re-exec / transfer: repaired by sequential",
        "                  re-execution / by record transfer",
        "undetected        manifested on either, not detected ((lost): of those, with a lost update)",
        "detection         detected / either; (of lost): detected lost-update batches / lost",
        "wrong             batches whose committed (root, replies) differ from sequential execution",
        "=replay           final root == every batch replayed sequentially on a fresh store (WORKLOADS.md 2)",
        "conserved         SmallBank conservation over the committed replies, fee account included (1)");

    /**
     * One replica: a store loaded with SmallBank, a parallel executor and the engine's replica execution,
     * wrapped in the manifestation oracle.
     */
    static final class Replica implements AutoCloseable
    {
        final StateStore store;
        final StoreWriter reader;
        final ParallelExecutor executor;
        final EngineReplica replica;
        final MoneyProbe probe;
        final ManifestationOracle oracle;
        final long initialTotalCents;

        Replica(
            final Options options,
            final TransactionRegistry registry,
            final long scheduleSeed,
            final MoneyProbe.Keys keys)
        {
            store = StateStore.open(
                SmallBank.storeContext(options.accounts, options.batch).writers(options.workers + 2));
            ParallelExecutor parallel = null;
            try
            {
                reader = store.newWriter();
                initialTotalCents = SmallBankLoader.load(store, reader, options.accounts, options.seed);
                parallel = new ParallelExecutor(store, new ParallelExecutor.Context()
                    .workers(options.workers)
                    .idleStrategy(Options.idleStrategy(options.idle))
                    .scheduleSeed(scheduleSeed)
                    .claimPositions("claim".equals(options.split)));
                replica = new EngineReplica(store, store.newWriter(), registry, parallel, options.batch);
            }
            catch (final RuntimeException ex)
            {
                if (null != parallel)
                {
                    parallel.close();
                }
                store.close();
                throw ex;
            }
            executor = parallel;
            probe = new MoneyProbe(reader, replica, keys);
            oracle = new ManifestationOracle(replica, probe);
        }

        public void close()
        {
            try
            {
                executor.close();
            }
            finally
            {
                store.close();
            }
        }
    }

    /**
     * The replay oracle: every batch executed sequentially in batch order and committed, on its own store.
     */
    static final class Replay implements AutoCloseable
    {
        private final StateStore store;
        private final SequentialReplay replay;

        Replay(final Options options)
        {
            store = StateStore.open(SmallBank.storeContext(options.accounts, options.batch).writers(2));
            try
            {
                SmallBankLoader.load(store, store.newWriter(), options.accounts, options.seed);
                replay = new SequentialReplay(store, store.newWriter(), options.batch);
            }
            catch (final RuntimeException ex)
            {
                store.close();
                throw ex;
            }
        }

        void execute(final Batch batch, final TransactionRegistry registry)
        {
            replay.executeAndCommit(batch, registry);
        }

        long root()
        {
            return store.root();
        }

        public void close()
        {
            store.close();
        }
    }

    /**
     * One row of the table.
     */
    static final class Configuration
    {
        final String name;
        final String label;
        final boolean replicated;
        final boolean keyMixer;
        final boolean declareFeeKey;
        final boolean diversity;

        Configuration(
            final String name,
            final String label,
            final boolean replicated,
            final boolean keyMixer,
            final boolean declareFeeKey,
            final boolean diversity)
        {
            this.name = name;
            this.label = label;
            this.replicated = replicated;
            this.keyMixer = keyMixer;
            this.declareFeeKey = declareFeeKey;
            this.diversity = diversity;
        }
    }

    /**
     * What one configuration counted.
     */
    static final class Result
    {
        final Configuration configuration;
        long requests;
        long batches;
        long phases;
        long manifestedPrimary;
        long manifestedBackup;
        long manifestedEither;
        long manifestedBoth;
        long manifestedBothIdentically;
        long stateManifestedEither;
        long lostPrimary;
        long lostBackup;
        long lostEither;
        long lostCentsPrimary;
        long lostDetected;
        long sequentialNotConserving;
        long detected;
        long detectedWithoutManifestation;
        long repairedByReexecution;
        long repairedByTransfer;
        long undetected;
        long undetectedLost;
        long committedWrong;
        long detectedByCounter;
        long repairedByReexecutionCounter;
        long repairedByTransferCounter;
        long retransmits;
        long firstBatchDifferingFromReplay = -1;
        boolean replicasAgree = true;
        boolean finalEqualsReplay;
        boolean conserved;
        long conservationDifferenceCents;
        double seconds;

        Result(final Configuration configuration)
        {
            this.configuration = configuration;
        }

        /**
         * Classifies batch {@code seq} once the primary committed it ({@code attempt}: 0 parallel, 1
         * re-execution, 2 transfer).
         */
        void account(final long seq, final int attempt, final Replica primarySide, final Replica backupSide)
        {
            final ManifestationOracle primary = primarySide.oracle;
            check(primary, seq, "primary");
            batches++;
            final boolean onPrimary = primary.manifested();
            final boolean lostOnPrimary = 0 != primarySide.probe.parallelLostCents();
            boolean onBackup = false;
            boolean lostOnBackup = false;
            boolean stateDiffers = primary.parallelRoot() != primary.sequentialRoot();
            boolean sequentialLost = 0 != primarySide.probe.sequentialLostCents();
            if (null != backupSide)
            {
                final ManifestationOracle backup = backupSide.oracle;
                check(backup, seq, "backup");
                onBackup = backup.manifested();
                lostOnBackup = 0 != backupSide.probe.parallelLostCents();
                stateDiffers |= backup.parallelRoot() != backup.sequentialRoot();
                sequentialLost |= 0 != backupSide.probe.sequentialLostCents();
                if (onPrimary && onBackup)
                {
                    manifestedBoth++;
                    if (primary.parallelRoot() == backup.parallelRoot() &&
                        primary.parallelReplyDigest() == backup.parallelReplyDigest())
                    {
                        manifestedBothIdentically++;
                    }
                }
            }
            final boolean either = onPrimary || onBackup;
            final boolean lost = lostOnPrimary || lostOnBackup;
            final boolean wasDetected = attempt > 0;
            manifestedPrimary += onPrimary ? 1 : 0;
            manifestedBackup += onBackup ? 1 : 0;
            manifestedEither += either ? 1 : 0;
            stateManifestedEither += either && stateDiffers ? 1 : 0;
            lostPrimary += lostOnPrimary ? 1 : 0;
            lostBackup += lostOnBackup ? 1 : 0;
            lostEither += lost ? 1 : 0;
            lostCentsPrimary += primarySide.probe.parallelLostCents();
            lostDetected += lost && wasDetected ? 1 : 0;
            sequentialNotConserving += sequentialLost ? 1 : 0;
            detected += wasDetected ? 1 : 0;
            detectedWithoutManifestation += wasDetected && !either ? 1 : 0;
            repairedByReexecution += 1 == attempt ? 1 : 0;
            repairedByTransfer += 2 == attempt ? 1 : 0;
            undetected += either && !wasDetected ? 1 : 0;
            undetectedLost += lost && !wasDetected ? 1 : 0;
            final boolean wrong = primarySide.replica.root() != primary.sequentialRoot() ||
                primarySide.replica.replyDigest() != primary.sequentialReplyDigest();
            committedWrong += wrong ? 1 : 0;
        }

        private static void check(final ManifestationOracle oracle, final long seq, final String side)
        {
            if (oracle.seq() != seq)
            {
                throw new IllegalStateException("the " + side + " executed batch " + oracle.seq() + " in parallel " +
                    "last, not batch " + seq);
            }
        }

        /**
         * @return detected / manifested on either, or NaN when nothing manifested or not replicated.
         */
        double detectionRate()
        {
            return rate(detected, manifestedEither);
        }

        /**
         * @return detected lost-update batches / lost-update batches, or NaN.
         */
        double lostDetectionRate()
        {
            return rate(lostDetected, lostEither);
        }

        private double rate(final long part, final long whole)
        {
            return configuration.replicated && whole > 0 ? (double)part / whole : Double.NaN;
        }

        private static String percent(final double rate)
        {
            return Double.isNaN(rate) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * rate);
        }

        private static String json(final double rate)
        {
            return Double.isNaN(rate) ? "null" : String.format(Locale.ROOT, "%.6f", rate);
        }

        String progressLine(final long elapsedNs, final long totalBatches, final long requestsDone)
        {
            return String.format(Locale.ROOT, "%s t=%6.1fs batch %d/%d (%d requests): manifested P %d B %d " +
                "either %d (lost update %d), detected %d, undetected %d, committed wrong %d",
                configuration.name, elapsedNs / 1e9, batches, totalBatches, requestsDone, manifestedPrimary,
                manifestedBackup, manifestedEither, lostEither, detected, undetected, committedWrong);
        }

        void printRow(final PrintStream out)
        {
            final boolean replicated = configuration.replicated;
            out.printf(Locale.ROOT, "%-28s %7d %7d %7s %7d %7d %8s %7s %8s %10s %6s %9s %9s %6d %7s %9s %7.1f%n",
                configuration.name, batches, manifestedPrimary, replicated ? Long.toString(manifestedBackup) : "-",
                manifestedEither, lostEither,
                replicated ? Long.toString(detected) : "-", replicated ? Long.toString(repairedByReexecution) : "-",
                replicated ? Long.toString(repairedByTransfer) : "-", replicated ? Long.toString(undetected) : "-",
                replicated ? Long.toString(undetectedLost) : "-", percent(detectionRate()),
                percent(lostDetectionRate()), committedWrong, finalEqualsReplay ? "yes" : "NO",
                conserved ? "yes" : "NO", seconds);
        }

        void appendJson(final StringBuilder json)
        {
            json.append(String.format(Locale.ROOT,
                "{\"name\":\"%s\",\"label\":\"%s\",\"replicated\":%b,\"mixer\":\"%s\",\"feeKeyDeclared\":%b," +
                "\"scheduleDiversity\":%b,\"requests\":%d,\"batches\":%d,\"phases\":%d,\"manifestedPrimary\":%d," +
                "\"manifestedBackup\":%d,\"manifestedEither\":%d,\"manifestedBoth\":%d," +
                "\"manifestedBothIdentically\":%d,\"stateManifestedEither\":%d,\"lostUpdatePrimary\":%d," +
                "\"lostUpdateBackup\":%d,\"lostUpdateEither\":%d,\"lostCentsPrimary\":%d,\"lostUpdateDetected\":%d," +
                "\"sequentialNotConserving\":%d,\"detected\":%d,\"detectedWithoutManifestation\":%d," +
                "\"repairedByReexecution\":%d,\"repairedByTransfer\":%d,\"undetected\":%d," +
                "\"undetectedLostUpdate\":%d," +
                "\"detectionRate\":%s,\"lostUpdateDetectionRate\":%s,\"committedWrong\":%d," +
                "\"primaryCounters\":{\"detected\":%d,\"repairedByReexecution\":%d,\"repairedByTransfer\":%d," +
                "\"retransmits\":%d},\"replicasAgree\":%b,\"finalEqualsReplay\":%b," +
                "\"firstBatchDifferingFromReplay\":%d,\"conserved\":%b,\"conservationDifferenceCents\":%d," +
                "\"seconds\":%.3f}",
                configuration.name, configuration.label, configuration.replicated,
                configuration.keyMixer ? "keys" : "permissive", configuration.declareFeeKey, configuration.diversity,
                requests, batches, phases, manifestedPrimary, manifestedBackup, manifestedEither, manifestedBoth,
                manifestedBothIdentically, stateManifestedEither, lostPrimary, lostBackup, lostEither, lostCentsPrimary,
                lostDetected, sequentialNotConserving, detected, detectedWithoutManifestation, repairedByReexecution,
                repairedByTransfer, undetected, undetectedLost, json(detectionRate()), json(lostDetectionRate()),
                committedWrong, detectedByCounter, repairedByReexecutionCounter, repairedByTransferCounter, retransmits,
                replicasAgree, finalEqualsReplay, firstBatchDifferingFromReplay, conserved,
                conservationDifferenceCents, seconds));
        }
    }

    /**
     * Command-line options; each error names the option and its allowed values.
     */
    static final class Options extends ToolOptions
    {
        static final String IDLES = "backoff, yield or spin";

        long requests = 750_000;
        long warmup = 50_000;
        long seed = 42;
        int workers = 2;
        int batch = 1024;
        int accounts = 10_000;
        String profile = "contended";
        String idle = "backoff";
        String split = "round-robin";
        String configs = "default";

        static String usage()
        {
            return "usage: bin/ev detect [--requests N] [--warmup N] [--seed S] [--workers W] [--batch B]\n" +
                "                     [--accounts A] [--profile contended|uniform] [--idle backoff|yield|spin]\n" +
                "                     [--split round-robin|claim] [--configs default|all|NAME,...] [--json]\n" +
                "  the concurrency-bug experiment (WORKLOADS.md): SmallBank with the racy SendPaymentWithFee;\n" +
                "  counts batches whose parallel result differs from sequential execution, and how many of\n" +
                "  them Execute-Verify detects and repairs, per configuration (same requests for each)\n" +
                "  --requests N  requests per configuration (default 750000)\n" +
                "  --warmup N    requests of " + CONFIGURATIONS.get(WARMUP_CONFIGURATION).name + " run first and not " +
                "counted (JIT;\n                default 50000; 0: none)\n" +
                "  --seed S      seed of the load and the requests (default 42)\n" +
                "  --workers W   worker threads per replica, in [1, 256] (default 2)\n" +
                "  --batch B     requests per batch, in [1, 65536] (default 1024)\n" +
                "  --accounts A  SmallBank customers, in [2, 10^8] (default 10000)\n" +
                "  --profile P   contended (H = 100, p = 0.9) or uniform (default contended)\n" +
                "  --idle I      how workers wait: backoff (the engine's default: spin, yield, park 1 us to\n" +
                "                100 us), yield or spin (default backoff)\n" +
                "  --split S     how a phase is shared out: round-robin (the engine's: fixed shares) or claim\n" +
                "                (each worker claims the next request from a shared counter) (default round-robin)\n" +
                "  --configs C   default: " + names(0, DEFAULT_CONFIGURATIONS) + ";\n" +
                "                all: also " + names(DEFAULT_CONFIGURATIONS, CONFIGURATIONS.size()) + "\n" +
                "  --json        the summary as one JSON object on stdout (progress and table go to stderr)";
        }

        private static String names(final int from, final int to)
        {
            final StringBuilder names = new StringBuilder();
            for (int i = from; i < to; i++)
            {
                names.append(i > from ? ", " : "").append(CONFIGURATIONS.get(i).name);
            }
            return names.toString();
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
                case "--requests":
                    requests = parseLong(option, value);
                    break;
                case "--seed":
                    seed = parseLong(option, value);
                    break;
                case "--warmup":
                    warmup = parseLong(option, value);
                    break;
                case "--workers":
                    workers = parseInt(option, value);
                    break;
                case "--batch":
                    batch = parseInt(option, value);
                    break;
                case "--accounts":
                    accounts = parseInt(option, value);
                    break;
                case "--profile":
                    profile = value;
                    break;
                case "--idle":
                    idle = value;
                    break;
                case "--split":
                    split = value;
                    break;
                case "--configs":
                    configs = value;
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + option);
            }
        }

        @Override
        protected void validate()
        {
            require(requests >= 1 && requests <= 1_000_000_000L, "--requests " + requests + " must be in [1, 10^9]");
            require(warmup >= 0 && warmup <= 1_000_000_000L, "--warmup " + warmup + " must be in [0, 10^9]");
            require(workers >= 1 && workers <= ParallelExecutor.MAX_WORKERS,
                "--workers " + workers + " must be in [1, " + ParallelExecutor.MAX_WORKERS + "]");
            require(batch >= 1 && batch <= 1 << 16, "--batch " + batch + " must be in [1, 65536]");
            require("round-robin".equals(split) || "claim".equals(split),
                "--split " + split + " must be round-robin or claim");
            require(accounts >= 2 && accounts <= 100_000_000, "--accounts " + accounts + " must be in [2, 10^8]");
            require("contended".equals(profile) || "uniform".equals(profile),
                "--profile " + profile + " must be contended or uniform");
            require("backoff".equals(idle) || "yield".equals(idle) || "spin".equals(idle),
                "--idle " + idle + " must be " + IDLES);
            configurations();
        }

        private static long parseLong(final String option, final String value)
        {
            try
            {
                return Long.parseLong(value);
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException(option + " " + value + " must be an integer", ex);
            }
        }

        /**
         * @return the configurations {@code --configs} names, in the table's order.
         * @throws IllegalArgumentException naming an unknown configuration.
         */
        List<Configuration> configurations()
        {
            if ("default".equals(configs))
            {
                return CONFIGURATIONS.subList(0, DEFAULT_CONFIGURATIONS);
            }
            if ("all".equals(configs))
            {
                return CONFIGURATIONS;
            }
            final List<String> asked = List.of(configs.split(","));
            for (final String name : asked)
            {
                boolean known = false;
                for (final Configuration configuration : CONFIGURATIONS)
                {
                    known |= configuration.name.equals(name);
                }
                require(known, "--configs " + configs + ": unknown configuration '" + name + "' (default, all or " +
                    names(0, CONFIGURATIONS.size()) + ")");
            }
            final List<Configuration> chosen = new ArrayList<>();
            for (final Configuration configuration : CONFIGURATIONS)
            {
                if (asked.contains(configuration.name))
                {
                    chosen.add(configuration);
                }
            }
            return chosen;
        }

        /**
         * @return the seeded request generator of {@code --profile}, racy fee on.
         */
        SmallBankWorkload workload()
        {
            return "uniform".equals(profile) ?
                SmallBankWorkload.uniform(accounts, seed, true) : SmallBankWorkload.contended(accounts, seed, true);
        }

        String describe()
        {
            return String.format(Locale.ROOT, "%d requests per configuration in batches of %d (after %d warm-up), " +
                "profile %s, %d accounts, %d workers per replica (idle %s, %s split), seed %d, %d available processors",
                requests, batch, warmup, profile, accounts, workers, idle, split, seed,
                Runtime.getRuntime().availableProcessors());
        }

        /**
         * @return a supplier of the idle strategy {@code name} (one of {@link #IDLES}); backoff has the
         * engine's default parameters.
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
                    return () -> new BackoffIdleStrategy(
                        64, 64, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
                default:
                    throw new IllegalArgumentException("idle strategy " + name + " must be " + IDLES);
            }
        }
    }
}
