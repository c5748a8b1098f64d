/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.ev.engine.Recovery;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.journal.BatchDecoder;
import io.ev.journal.Journal;
import io.ev.journal.JournalReader;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.collections.IntArrayList;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Ratios that JMH's one-fork-per-benchmark runs cannot resolve on a noisy, virtualised host: there,
 * fork-to-fork differences (memory placement, neighbours) reach +-40%, more than the ratios to be
 * checked. This harness keeps both sides of each ratio in ONE JVM and alternates timed rounds
 * (A B B A A B ...), so both see the same memory placement and the same drift; it prints every
 * round and the median of the per-round ratios. Run it with {@code bin/ev ratio [rounds]}.
 * <ul>
 *   <li>put: {@code storePut} (first write of a key in a batch: undo pre-image, record hash,
 *       page digest, version, dirty mark; 1,000 puts a batch, seal/commit untimed) vs the raw
 *       Chronicle Map put of the same 64-byte value, 100,000 records, random keys;</li>
 *   <li>get: {@code storeGet} vs the raw Chronicle Map get;</li>
 *   <li>seal: seal of a batch touching 1,000 distinct pages at 10,000,000 vs 100,000 records
 *       (65,536 pages; the 1,000 writes untimed).</li>
 *   <li>engine (issue 3, only when asked for: {@code bin/ev ratio 9 engine}): throughput in requests/s
 *       of the raw sequential state machine ({@link RawSequential}: one thread, registry execute on
 *       one writer, batches of 1,024, begin/seal/commit) vs the engine ({@link EngineDriver}: submit
 *       from this thread with 2,048 outstanding, wait for every reply) with 1 worker, then again vs
 *       the engine with 2 workers; SmallBank uniform, 100,000 customers, the same pre-generated
 *       requests on both sides. The ratio printed is engine / raw throughput (higher is better;
 *       target >= 0.8 with 1 worker). Each engine runs only during its own comparison.</li>
 *   <li>replay (issue 4, only when asked for: {@code bin/ev ratio 11 replay [requests]}): recovery
 *       replay vs raw sequential execution, requests/s. Prepared once (untimed): the engine with 1
 *       worker and a journal in a temporary directory executes {@code requests} SmallBank uniform
 *       requests (100,000 customers, batch bound 1,024, submitted as in engine mode), which writes
 *       the initial checkpoint, every batch entry and every commit marker; the engine is closed and
 *       the journal reopened once for all rounds. Both sides then run on ONE store (1 writer) and
 *       execute the same requests in the same batches: raw ({@link RawSequential}) executes the
 *       sequence's first {@code requests} requests in batches of exactly the sizes the engine formed,
 *       read from the journal (the engine's batches are not all 1,024: the batcher drains what the
 *       client has submitted so far); replay is {@link Recovery#replay(long)} (read the journal, copy
 *       each batch, execute sequentially, isolate failures, seal, commit, reply digest, check each
 *       token against its commit marker). Untimed before each round of either side: the store is
 *       reset to the initial checkpoint ({@code importSnapshot}; for replay through
 *       {@link Recovery#loadCheckpoint()}). Each round checks that the final root equals the
 *       engine's, and for replay that every token was verified. Ratio = replay / raw throughput
 *       (higher is better; target >= 0.9).</li>
 * </ul>
 * The JMH suite ({@code bin/ev bench jmh}) remains the source of absolute times and allocation.
 */
public final class InterleavedRatio
{
    private static final int OPS_PER_ROUND = 200_000;
    private static final int PUTS_PER_BATCH = 1_000;
    private static final int SEALS_PER_ROUND = 40;
    private static final int SEAL_PAGES = 1_000;
    private static final int WARMUP_ROUNDS = 3;
    private static final int VERSION_OFFSET = Long.BYTES;
    private static final int ENGINE_REQUESTS_PER_ROUND_DEFAULT = 200_000;
    private static final int ENGINE_ACCOUNTS = 100_000;
    private static final int ENGINE_BATCH_REQUESTS = 1024;
    private static final String ENGINE_PROFILE = "uniform";
    private static final String MODES = "put|get|seal|engine|engine1|engine2|replay";

    private static final String USAGE =
        "usage: bin/ev ratio [rounds (default 11)]\n" +
        "                    [put,get,seal,engine,engine1,engine2,replay (default put,get,seal)]\n" +
        "                    [engine and replay requests per round (default 200000)]\n" +
        "  alternates timed rounds of both sides of each ratio in one JVM; prints every round and the median";

    private InterleavedRatio()
    {
    }

    /**
     * @param args optional: rounds (default 11) and what to run ("put,get,seal" by default; "engine"
     *             for the engine ratios, "engine1" or "engine2" for one of them, "replay" for
     *             recovery replay vs raw), then the requests per engine or replay round (default
     *             200,000).
     */
    public static void main(final String[] args)
    {
        if (args.length > 0 && ("--help".equals(args[0]) || "-h".equals(args[0])))
        {
            System.out.println(USAGE);
            return;
        }
        BenchmarkMain.requireJvmOptions();
        final int rounds;
        final int engineRequests;
        try
        {
            rounds = args.length > 0 ? Integer.parseInt(args[0]) : 11;
            engineRequests = args.length > 2 ? Integer.parseInt(args[2]) : ENGINE_REQUESTS_PER_ROUND_DEFAULT;
        }
        catch (final NumberFormatException ex)
        {
            System.err.println("bin/ev ratio: rounds and requests per round must be integers: " + ex.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        final String what = args.length > 1 ? args[1] : "put,get,seal";
        if (rounds < 1 || engineRequests < 1 || !what.matches("(" + MODES + ")(,(" + MODES + "))*"))
        {
            System.err.println("bin/ev ratio: bad arguments " + String.join(" ", args));
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        if (what.contains("put") || what.contains("get"))
        {
            runOps(rounds, what);
        }
        if (what.contains("seal"))
        {
            runSeal(rounds);
        }
        if (what.contains("engine"))
        {
            runEngine(rounds, what, engineRequests);
        }
        if (what.contains("replay"))
        {
            runReplay(rounds, engineRequests, ENGINE_ACCOUNTS);
        }
    }

    /**
     * The replay ratio: prepares the journal with the engine, then alternates raw and replay rounds.
     *
     * @param rounds   measured rounds (after {@value #WARMUP_ROUNDS} warm-up rounds of each side).
     * @param requests requests journaled and executed by each round.
     * @param accounts SmallBank customers.
     * @throws IllegalStateException if a round ends at another root than the engine, or replay
     *                               verified fewer tokens than batches.
     */
    static void runReplay(final int rounds, final int requests, final int accounts)
    {
        final Path dir = TempDirs.create("ev-replay-ratio-");
        try
        {
            final long engineRoot;
            try (EngineDriver engine = new EngineDriver(1, ENGINE_BATCH_REQUESTS, accounts, ENGINE_PROFILE,
                null, null, new Journal.Context().dir(dir)))
            {
                final long start = System.nanoTime();
                engine.run(requests);
                final long elapsed = System.nanoTime() - start;
                engineRoot = engine.engine().root();
                System.out.printf(Locale.ROOT, "prepare: engine with journal, 1 worker: %d requests in %d batches, " +
                    "%d aborted, %.0f requests/s (one run, untimed for the ratio); journal in %s%n", requests,
                    engine.engine().counters().batches(), engine.engine().counters().aborted(),
                    perSecond(requests, elapsed), dir);
            }
            try (Journal journal = Journal.open(new Journal.Context().dir(dir)))
            {
                compareReplay(rounds, requests, accounts, journal, engineRoot);
            }
        }
        finally
        {
            TempDirs.delete(dir);
        }
    }

    private static void compareReplay(
        final int rounds, final int requests, final int accounts, final Journal journal, final long root)
    {
        final BatchSizes sizes = new BatchSizes();
        journal.read(-1, sizes);
        final List<Path> checkpoints = journal.checkpoints().newestFirst();
        if (checkpoints.size() != 1 || sizes.requests != requests || sizes.commits != sizes.sizes.size())
        {
            throw new IllegalStateException("journal in " + journal.dir() + " holds " + checkpoints.size() +
                " checkpoints, " + sizes.sizes.size() + " batches of " + sizes.requests + " requests and " +
                sizes.commits + " commit markers; expected 1 checkpoint and " + requests + " requests, all committed");
        }
        final int[] batchSizes = sizes.sizes.toIntArray();
        final Path checkpoint = checkpoints.get(0);
        final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
        try (StateStore store = StateStore.open(
            SmallBank.storeContext(accounts, ENGINE_BATCH_REQUESTS).writers(1)))
        {
            final StoreWriter writer = store.newWriter();
            store.importSnapshot(checkpoint, StateStore.NULL_SEQ);
            System.out.printf(Locale.ROOT, "journal: %d batches (%.1f requests per batch, min %d, max %d), " +
                "checkpoint %s (after batch %d)%n", batchSizes.length, (double)requests / batchSizes.length,
                Arrays.stream(batchSizes).min().orElse(0), Arrays.stream(batchSizes).max().orElse(0),
                checkpoint.getFileName(), store.lastCommittedSeq());
            try (RawSequential raw = new RawSequential(store, writer, accounts, ENGINE_PROFILE,
                ENGINE_BATCH_REQUESTS))
            {
                compare("replay (requests/s): raw sequential vs recovery replay, SmallBank " + ENGINE_PROFILE + ", " +
                    accounts + " customers, " + requests + " requests in the engine's " + batchSizes.length +
                    " batches; ratio = replay / raw", rounds,
                    () -> perSecond(requests, timeRawBatches(store, checkpoint, raw, batchSizes, root)),
                    () -> perSecond(requests, timeReplay(store, writer, journal, registry, batchSizes.length, root)));
                System.out.printf(Locale.ROOT, "raw: %d aborted in %d executions of the %d requests%n",
                    raw.aborted(), rounds + WARMUP_ROUNDS, requests);
            }
        }
    }

    private static long timeRawBatches(
        final StateStore store,
        final Path checkpoint,
        final RawSequential raw,
        final int[] batchSizes,
        final long expectedRoot)
    {
        store.importSnapshot(checkpoint, StateStore.NULL_SEQ);
        raw.rewind();
        final long start = System.nanoTime();
        raw.executeBatches(batchSizes, batchSizes.length);
        final long elapsed = System.nanoTime() - start;
        if (store.root() != expectedRoot)
        {
            throw new IllegalStateException("raw sequential ended at root " + Long.toHexString(store.root()) +
                ", the engine at " + Long.toHexString(expectedRoot));
        }
        return elapsed;
    }

    private static long timeReplay(
        final StateStore store,
        final StoreWriter writer,
        final Journal journal,
        final TransactionRegistry registry,
        final int batches,
        final long expectedRoot)
    {
        final Recovery recovery = new Recovery(store, writer, journal, registry, ENGINE_BATCH_REQUESTS, null);
        final long fromIndex = recovery.loadCheckpoint();
        final long start = System.nanoTime();
        final Recovery.Report report = recovery.replay(fromIndex);
        final long elapsed = System.nanoTime() - start;
        if (report.root() != expectedRoot || report.batchesReplayed() != batches ||
            report.tokensVerified() != batches || report.uncommittedBatches() != 0)
        {
            throw new IllegalStateException("replay: root " + Long.toHexString(report.root()) + " (engine " +
                Long.toHexString(expectedRoot) + "), " + report.batchesReplayed() + " batches replayed, " +
                report.tokensVerified() + " tokens verified, " + report.uncommittedBatches() + " uncommitted; " +
                "expected " + batches + " batches, all verified");
        }
        return elapsed;
    }

    /**
     * Collects the request count of every batch entry of a journal, in order.
     */
    private static final class BatchSizes implements JournalReader.Handler
    {
        final IntArrayList sizes = new IntArrayList();
        long requests;
        long commits;

        public void onBatch(final BatchDecoder batch, final long index)
        {
            sizes.addInt(batch.requestCount());
            requests += batch.requestCount();
        }

        public void onCommit(
            final long seq, final long root, final long replyDigest, final int requestCount, final long index)
        {
            commits++;
        }
    }

    private static void runEngine(final int rounds, final String what, final int requestsPerRound)
    {
        final boolean both = !what.contains("engine1") && !what.contains("engine2");
        try (RawSequential raw = new RawSequential(ENGINE_ACCOUNTS, ENGINE_PROFILE, ENGINE_BATCH_REQUESTS))
        {
            for (int workers = 1; workers <= 2; workers++)
            {
                if (!both && !what.contains("engine" + workers))
                {
                    continue;
                }
                try (EngineDriver engine =
                    new EngineDriver(workers, ENGINE_BATCH_REQUESTS, ENGINE_ACCOUNTS, ENGINE_PROFILE, null))
                {
                    compare("engine (requests/s): raw sequential vs engine with " + workers + " worker(s), " +
                        "SmallBank " + ENGINE_PROFILE + ", " + ENGINE_ACCOUNTS + " customers, batch " +
                        ENGINE_BATCH_REQUESTS + "; ratio = engine / raw", rounds,
                        () -> perSecond(requestsPerRound, timeRaw(raw, requestsPerRound)),
                        () -> perSecond(requestsPerRound, timeEngine(engine, requestsPerRound)));
                    System.out.printf(Locale.ROOT, "engine: %d batches, %.2f phases per batch, %d aborted%n",
                        engine.engine().counters().batches(),
                        (double)engine.engine().counters().phases() / Math.max(1, engine.engine().counters().batches()),
                        engine.engine().counters().aborted());
                }
            }
            System.out.printf(Locale.ROOT, "raw: %d requests, %d aborted%n", raw.execute(0), raw.aborted());
        }
    }

    private static double perSecond(final int requests, final long nanos)
    {
        return requests * 1e9 / nanos;
    }

    private static long timeRaw(final RawSequential raw, final int requests)
    {
        final long start = System.nanoTime();
        raw.execute(requests);
        return System.nanoTime() - start;
    }

    private static long timeEngine(final EngineDriver engine, final int requests)
    {
        final long start = System.nanoTime();
        engine.run(requests);
        return System.nanoTime() - start;
    }

    private static void runOps(final int rounds, final String what)
    {
        final StoreOpsBenchmark.RawMapState raw = new StoreOpsBenchmark.RawMapState();
        raw.setUp();
        final StateStore store = StoreFixtures.openStore(
            StoreOpsBenchmark.RECORD_COUNT, StoreFixtures.UNDO_BYTES_PER_BATCH, 4096);
        final StoreWriter writer = store.newWriter();
        final long[] seq = {StoreFixtures.load(store, writer, StoreOpsBenchmark.RECORD_COUNT)};
        final long[] keys =
            StoreFixtures.randomKeys(StoreOpsBenchmark.KEY_INDEX_LENGTH, StoreOpsBenchmark.RECORD_COUNT);
        final UnsafeBuffer value = StoreFixtures.newValue();
        final UnsafeBuffer dst = new UnsafeBuffer(new byte[StoreFixtures.VALUE_BYTES]);
        final int mask = StoreOpsBenchmark.KEY_INDEX_LENGTH - 1;
        if (what.contains("put"))
        {
            compare("put (ns/op): raw Chronicle Map put vs store put with undo + digest", rounds,
                () -> perOp(timeRawPuts(raw)),
                () -> perOp(timeStorePuts(store, writer, seq, keys, value, mask)));
        }
        if (what.contains("get"))
        {
            compare("get (ns/op): raw Chronicle Map get vs store get", rounds,
                () -> perOp(timeRawGets(raw)),
                () -> perOp(timeStoreGets(writer, keys, dst, mask)));
        }
        raw.tearDown();
        store.close();
    }

    private static double perOp(final long nanos)
    {
        return (double)nanos / OPS_PER_ROUND;
    }

    private static long timeRawPuts(final StoreOpsBenchmark.RawMapState raw)
    {
        final long start = System.nanoTime();
        for (int i = 0; i < OPS_PER_ROUND; i++)
        {
            raw.value.putLong(VERSION_OFFSET, i);
            raw.put(raw.nextKey());
        }
        return System.nanoTime() - start;
    }

    private static long timeRawGets(final StoreOpsBenchmark.RawMapState raw)
    {
        long sum = 0;
        final long start = System.nanoTime();
        for (int i = 0; i < OPS_PER_ROUND; i++)
        {
            sum += raw.get(raw.nextKey());
        }
        final long elapsed = System.nanoTime() - start;
        return sum == Long.MIN_VALUE ? 0 : elapsed;
    }

    private static long timeStorePuts(
        final StateStore store,
        final StoreWriter writer,
        final long[] seq,
        final long[] keys,
        final UnsafeBuffer value,
        final int mask)
    {
        long elapsed = 0;
        int cursor = (int)(seq[0] * 7919) & mask;
        for (int done = 0; done < OPS_PER_ROUND; done += PUTS_PER_BATCH)
        {
            store.begin(seq[0]);
            final long start = System.nanoTime();
            for (int i = 0; i < PUTS_PER_BATCH; i++)
            {
                value.putLong(VERSION_OFFSET, done + i);
                writer.put(seq[0], keys[cursor], value, 0, StoreFixtures.VALUE_BYTES);
                cursor = (cursor + 1) & mask;
            }
            elapsed += System.nanoTime() - start;
            store.seal(seq[0]);
            store.commit(seq[0]++);
        }
        return elapsed;
    }

    private static long timeStoreGets(
        final StoreWriter writer, final long[] keys, final UnsafeBuffer dst, final int mask)
    {
        long sum = 0;
        int cursor = 0;
        final long start = System.nanoTime();
        for (int i = 0; i < OPS_PER_ROUND; i++)
        {
            sum += writer.get(keys[cursor], dst, 0);
            cursor = (cursor + 1) & mask;
        }
        final long elapsed = System.nanoTime() - start;
        return sum == Long.MIN_VALUE ? 0 : elapsed;
    }

    private static void runSeal(final int rounds)
    {
        final SealSide small = new SealSide(100_000);
        final SealSide large = new SealSide(10_000_000);
        compare("seal (us/seal of 1,000 dirty pages): 100,000 vs 10,000,000 records", rounds,
            small::timeSealsMicros, large::timeSealsMicros);
        small.store.close();
        large.store.close();
    }

    /**
     * A preloaded store and sets of keys in 1,000 distinct pages.
     */
    private static final class SealSide
    {
        final StateStore store;
        final StoreWriter writer;
        final long[] keys;
        final UnsafeBuffer value = StoreFixtures.newValue();
        long seq;
        int set;

        SealSide(final long records)
        {
            store = StoreFixtures.openStore(records);
            writer = store.newWriter();
            seq = StoreFixtures.load(store, writer, records);
            keys = StoreFixtures.distinctPageKeys(store, 64, SEAL_PAGES, records);
        }

        double timeSealsMicros()
        {
            long elapsed = 0;
            for (int s = 0; s < SEALS_PER_ROUND; s++)
            {
                store.begin(seq);
                final int base = (set++ & 63) * SEAL_PAGES;
                for (int i = 0; i < SEAL_PAGES; i++)
                {
                    value.putLong(VERSION_OFFSET, seq);
                    writer.put(seq, keys[base + i], value, 0, StoreFixtures.VALUE_BYTES);
                }
                final long start = System.nanoTime();
                store.seal(seq);
                elapsed += System.nanoTime() - start;
                store.commit(seq++);
            }
            return elapsed / 1e3 / SEALS_PER_ROUND;
        }
    }

    @FunctionalInterface
    private interface Round
    {
        double run();
    }

    private static void compare(final String title, final int rounds, final Round baseline, final Round candidate)
    {
        System.out.println("== " + title);
        for (int i = 0; i < WARMUP_ROUNDS; i++)
        {
            baseline.run();
            candidate.run();
        }
        final double[] ratios = new double[rounds];
        final double[] baselines = new double[rounds];
        final double[] candidates = new double[rounds];
        for (int round = 0; round < rounds; round++)
        {
            final boolean baselineFirst = (round & 1) == 0;
            final double first = baselineFirst ? baseline.run() : candidate.run();
            final double second = baselineFirst ? candidate.run() : baseline.run();
            baselines[round] = baselineFirst ? first : second;
            candidates[round] = baselineFirst ? second : first;
            ratios[round] = candidates[round] / baselines[round];
            System.out.printf(Locale.ROOT, "round %2d: baseline %9.1f  candidate %9.1f  ratio %.3f%n",
                round + 1, baselines[round], candidates[round], ratios[round]);
        }
        System.out.printf(Locale.ROOT, "median: baseline %.1f, candidate %.1f, ratio %.3f (min %.3f, max %.3f)%n",
            median(baselines), median(candidates), median(ratios),
            Arrays.stream(ratios).min().orElse(0), Arrays.stream(ratios).max().orElse(0));
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
