/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ev.engine.Engine;
import io.ev.engine.Recovery;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Durability;
import io.ev.journal.Journal;
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
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run one engine node on a data directory (journal + checkpoints), optionally driving SmallBank.")
public final class NodeCommand implements Callable<Integer>
{
    private static final int CLIENT_ID = 0;
    private static final long PROGRESS_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);

    @Option(names = "--role", description = "standalone (primary | backup arrive with replication)",
        defaultValue = "standalone")
    String role;

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

    @Option(names = "--json", description = "print the summary as one JSON object on stdout")
    boolean json;

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);

    public Integer call()
    {
        validate();
        final PrintStream out = System.out;
        final PrintStream progress = json ? System.err : System.out;
        final SmallBankNode node = node();
        final long[] initialTotal = new long[1];
        final Engine.Context ctx = new Engine.Context()
            .store(node.storeContext())
            .registry(node.registry())
            .workers(workers)
            .maxBatchRequests(node.maxBatchRequests)
            .checkpointIntervalRequests(checkpointEvery)
            .checkpointMode("pause".equals(checkpointMode) ? Engine.CheckpointMode.PAUSE :
                Engine.CheckpointMode.CONCURRENT)
            .journal(new Journal.Context().dir(data)
                .durability("power-loss".equals(durability) ? Durability.POWER_LOSS : Durability.PROCESS_CRASH))
            .initializer((store, writer) -> initialTotal[0] = SmallBankLoader.load(store, writer, node.accounts,
                node.seed));
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
            final long totalAtStart = SmallBankOracle.totalMoney(engine.reader(), node.accounts);
            engine.registerClient(CLIENT_ID, (clientId, requestId, type, batchSeq, reply, offset, length) ->
            {
                oracle.onCommittedReply(reply, offset, length);
                replied.incrementAndGet();
            });
            long submitted = 0;
            if ("smallbank".equals(drive))
            {
                submitted = drive(engine, node, replied, progress);
            }
            final long total = SmallBankOracle.totalMoney(engine.reader(), node.accounts);
            final boolean conservation = SmallBankOracle.conserves(totalAtStart, oracle.sumOfDeltasCents(), total);
            final double seconds = (System.nanoTime() - startNs) / 1e9;
            final Engine.EngineCounters counters = engine.counters();
            if (json)
            {
                out.printf(Locale.ROOT, "{\"committed\":%d,\"submitted\":%d,\"seconds\":%.3f," +
                    "\"throughputPerSec\":%.1f," +
                    "\"batches\":%d,\"checkpoints\":%d,\"checkpointMode\":\"%s\",\"checkpointMaxPauseUs\":%d," +
                    "\"checkpointLastDurationMs\":%d,\"checkpointsFailed\":%d,\"recovered\":%s," +
                    "\"stateDigest\":\"%016x\",\"invariants\":{\"conservation\":%b}}%n",
                    replied.get(), submitted, seconds, replied.get() / seconds, counters.batches(),
                    counters.checkpoints(), checkpointMode, counters.checkpointMaxPauseUs(),
                    counters.checkpointLastDurationMs(), counters.checkpointsFailed(),
                    null == recovery ? "null" : ReplayCommand.json(recovery), engine.root(), conservation);
            }
            else
            {
                out.printf(Locale.ROOT, "committed=%d%n", replied.get());
                out.printf(Locale.ROOT, "%n== node summary ==%n");
                out.printf(Locale.ROOT, "data              %s (%s durability)%n", data, durability);
                out.printf(Locale.ROOT, "committed         %d of %d submitted in %.2f s (%.0f requests/s)%n",
                    replied.get(), submitted, seconds, replied.get() / seconds);
                out.printf(Locale.ROOT, "checkpoints       %d taken (%s), %d failed, max pause %.1f ms, last took " +
                    "%d ms%n", counters.checkpoints(), checkpointMode, counters.checkpointsFailed(),
                    counters.checkpointMaxPauseUs() / 1e3, counters.checkpointLastDurationMs());
                out.printf(Locale.ROOT, "state digest      %016x%n", engine.root());
                out.printf(Locale.ROOT, "conservation      %s (total at start %d + deltas %d vs %d)%n",
                    conservation ? "ok" : "FAILED", totalAtStart, oracle.sumOfDeltasCents(), total);
            }
            return conservation ? 0 : EvCli.EXIT_INVARIANT_FAILED;
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
            return null == seed ? node : new SmallBankNode(node.accounts, seed, node.maxBatchRequests, node.racyFee);
        }
        final SmallBankNode node = new SmallBankNode(null == accounts ? 10_000 : accounts, null == seed ? 42 : seed,
            null == maxBatchRequests ? 1024 : maxBatchRequests, false);
        node.write(data);
        return node;
    }

    private long drive(final Engine engine, final SmallBankNode node, final AtomicLong replied, final PrintStream out)
    {
        final SmallBankWorkload workload = SmallBankWorkload.uniform(node.accounts, node.seed, false);
        final IdleStrategy idle = new BackoffIdleStrategy(1, 10, 1_000, 100_000);
        final long startNs = System.nanoTime();
        long nextProgressNs = startNs;
        long lastPrinted = -1;
        long submitted = 0;
        while (replied.get() < requests)
        {
            final long nowNs = System.nanoTime();
            final boolean paced = rate <= 0 || submitted * 1_000_000_000.0 / rate <= nowNs - startNs;
            if (submitted < requests && submitted - replied.get() < window && paced)
            {
                final int length = workload.next(payload, 0);
                final int result = engine.submit(CLIENT_ID, submitted, workload.typeId(), payload, 0, length);
                if (Engine.SUBMITTED != result)
                {
                    throw new IllegalStateException("request " + submitted + " " + Engine.describeSubmit(result) +
                        (null == engine.failure() ? "" : ": " + engine.failure().getMessage()));
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
                throw new IllegalStateException("engine stopped: " + engine.failure().getMessage(), engine.failure());
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
                nextProgressNs = nowNs + PROGRESS_INTERVAL_NS;
            }
        }
        return submitted;
    }

    private void validate()
    {
        require("standalone".equals(role), "--role " + role + ": only standalone until replication arrives (issue 5)");
        require(null == drive || "smallbank".equals(drive), "--drive " + drive + " must be smallbank");
        require(requests >= 0 && requests <= 1_000_000_000L, "--requests " + requests + " must be in [0, 10^9]");
        require(rate >= 0, "--rate " + rate + " must be >= 0");
        require(null == accounts || (accounts >= 2 && accounts <= 50_000_000),
            "--accounts " + accounts + " must be in [2, 5 x 10^7]");
        require(null == maxBatchRequests ||
            (maxBatchRequests >= 1 && maxBatchRequests <= Engine.Context.MAX_BATCH_REQUESTS_LIMIT),
            "--batch " + maxBatchRequests + " must be in [1, " + Engine.Context.MAX_BATCH_REQUESTS_LIMIT + "]");
        require(workers >= 1 && workers <= Engine.Context.MAX_WORKERS,
            "--workers " + workers + " must be in [1, " + Engine.Context.MAX_WORKERS + "]");
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
