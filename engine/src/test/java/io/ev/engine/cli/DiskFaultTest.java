/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.ev.engine.ClientTable;
import io.ev.engine.Engine;
import io.ev.engine.Recovery;
import io.ev.engine.ReplyCodes;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Journal;
import io.ev.journal.JournalException;
import io.ev.journal.JournalFormat;
import io.ev.journal.Tmpfs;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Disk faults under a SmallBank load: the journal's disk space reservation refused (disk full), a
 * journal append failing (I/O error), a checkpoint's file failing half written (disk full) or failing
 * its rename (I/O error), injected at a seeded point through {@link Journal.FaultInjector}; and a real
 * full tmpfs under the engine and under {@code bin/ev node} (skipped with a message where a tmpfs
 * cannot be mounted). Oracles, for every run: the engine stops with the fault's reason and a message
 * naming the file; every submitted request is answered, the acknowledged ones (any reply but
 * UNAVAILABLE / OUTCOME_UNKNOWN) in submission order; no checkpoint temporary file is left and a
 * checkpoint remains; once the fault is gone (space freed), recovery verifies every token and holds
 * at least every acknowledged request, and its state is the sequential execution of exactly the
 * requests it holds, each once (request deduplication on: the client's last request id is the count
 * held - 1; money conserved); the restarted engine goes on. Base seed printed;
 * {@code -Dev.disk.seed=S}, {@code -Dev.disk.runs=N} runs per fault (default 1).
 */
class DiskFaultTest
{
    private static final int ACCOUNTS = 500;
    private static final int BATCH = 64;
    private static final int WINDOW = 256;
    private static final int CLIENT = 0;
    private static final long MAX_REQUESTS = 400_000;
    private static final String ENOSPC = "No space left on device";

    @TempDir
    Path tmp;

    /**
     * What the injector does at its seeded point.
     */
    enum Fault
    {
        /** The journal's disk space reservation fails with ENOSPC. */
        JOURNAL_FULL("DISK_FULL"),
        /** A journal append (batch entry or commit marker) fails with EIO. */
        JOURNAL_IO_ERROR("IO_ERROR"),
        /** A checkpoint file is cut short by ENOSPC. */
        CHECKPOINT_FULL("DISK_FULL"),
        /** A complete checkpoint file cannot be renamed (EIO). */
        CHECKPOINT_RENAME("IO_ERROR");

        final String reason;

        Fault(final String reason)
        {
            this.reason = reason;
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // each run is bounded by its own waits
    void injectedDiskFaultsStopTheEngineAndLoseNothingAcknowledged() throws Exception
    {
        final long baseSeed = Long.getLong("ev.disk.seed", System.nanoTime());
        final int runs = Integer.getInteger("ev.disk.runs", 1);
        System.out.println("DiskFaultTest base seed " + baseSeed + " (-Dev.disk.seed=" + baseSeed + ")");
        final Totals[] totals = new Totals[Fault.values().length];
        Arrays.setAll(totals, (i) -> new Totals());
        for (int run = 0; run < runs; run++)
        {
            for (final Fault fault : Fault.values())
            {
                final long seed = baseSeed + run * Fault.values().length + fault.ordinal();
                final Path dir = tmp.resolve("node-" + seed);
                final Settings settings = new Settings(seed);
                final Journal.Context journal = new Journal.Context().dir(dir).reserveAheadBytes(64 << 10)
                    .faultInjector(injector(fault, new SplittableRandom(seed ^ 0x5DEECE66DL)));
                totals[fault.ordinal()].add(runUntilStopped(dir, settings, journal, fault.reason,
                    fault.name().startsWith("JOURNAL") ? dir.resolve("journal") : dir.resolve("checkpoints"),
                    () ->
                    {
                    }, fault + " " + settings));
                deleteTree(dir);
            }
        }
        for (final Fault fault : Fault.values())
        {
            System.out.println("DiskFaultTest injected " + fault + ": " + totals[fault.ordinal()]);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // each run is bounded by its own waits
    void aFullTmpfsStopsTheEngineAndLosesNothingAcknowledged() throws Exception
    {
        final long baseSeed = Long.getLong("ev.disk.seed", System.nanoTime());
        final int runs = Integer.getInteger("ev.disk.runs", 1);
        System.out.println("DiskFaultTest tmpfs base seed " + baseSeed + " (-Dev.disk.seed=" + baseSeed + ")");
        final Totals totals = new Totals();
        for (int run = 0; run < runs; run++)
        {
            final long seed = baseSeed + run;
            // a tmpfs per run: the space of a deleted journal comes back only once Chronicle unmapped it
            final Path mount = mountOrSkip("tmpfs-" + run, 24);
            try
            {
                final SplittableRandom random = new SplittableRandom(seed);
                final Path dir = mount.resolve("node");
                final Path filler = mount.resolve("filler");
                final long leaveFree = (3L << 19) + random.nextLong(3L << 19);
                fill(filler, mount, leaveFree);
                final Settings settings = new Settings(seed);
                final Journal.Context journal = new Journal.Context().dir(dir).minFreeDiskBytes(0)
                    .reserveAheadBytes(new long[] {64 << 10, 1 << 20}[random.nextInt(2)]);
                totals.add(runUntilStopped(dir, settings, journal, "DISK_FULL", dir, () -> Files.delete(filler),
                    "tmpfs with " + leaveFree + " bytes free, " + settings + ", reserve ahead " +
                    journal.reserveAheadBytes()));
            }
            finally
            {
                Tmpfs.unmount(mount);
            }
        }
        System.out.println("DiskFaultTest tmpfs: " + totals);
    }

    /**
     * {@code bin/ev node} (a child JVM) on a tmpfs that the test fills up while it drives SmallBank: it
     * must exit {@link EvCli#EXIT_DATA} with one line saying DISK_FULL and naming its data directory,
     * then, with space freed, recover every request it reported committed and run to completion.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // each run is bounded by its own waits (about 10 min at most)
    void aNodeOnAFullDiskExitsThreeNamingTheFileAndRecoversOnceSpaceIsFreed() throws Exception
    {
        final long baseSeed = Long.getLong("ev.disk.seed", System.nanoTime());
        final int runs = Integer.getInteger("ev.disk.runs", 1);
        final Totals totals = new Totals();
        for (int run = 0; run < runs; run++)
        {
            final Path mount = mountOrSkip("tmpfs-node-" + run, 96);
            try
            {
                totals.add(nodeUntilDiskFull(mount, baseSeed + run));
            }
            finally
            {
                Tmpfs.unmount(mount);
            }
        }
        System.out.println("DiskFaultTest node: " + totals);
    }

    private static Run nodeUntilDiskFull(final Path mount, final long seed) throws Exception
    {
        final SplittableRandom random = new SplittableRandom(seed);
        // a checkpoint (every 2,000 requests) of 500 customers needs about 60 KiB: it fails on ENOSPC, or
        // the check of free space against minFreeDiskBytes (64 MiB, every 256th batch) refuses first
        final long leaveFree = random.nextLong(32 << 10);
        final long fillAfter = 500 + random.nextInt(1_500);
        final String context = "node seed " + seed + " (disk filled to " + leaveFree + " bytes free after " +
            fillAfter + " committed; -Dev.disk.seed=" + seed + ")";
        System.out.println(context);
        final Path dir = mount.resolve("node");
        final Path filler = mount.resolve("filler");
        final Process process = startNode(dir, seed);
        final java.util.concurrent.CountDownLatch reached = new java.util.concurrent.CountDownLatch(1);
        final AtomicLong last = new AtomicLong();
        final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        final boolean exited;
        try
        {
            final Thread reader = new Thread(() -> lines.addAll(
                CrashRecoveryTest.drain(process.getInputStream(), fillAfter, reached, last)));
            reader.start();
            assertTrue(reached.await(120, TimeUnit.SECONDS), context + ": never committed " + fillAfter);
            fillWhileTheNodeWrites(filler, mount, leaveFree);
            exited = process.waitFor(120, TimeUnit.SECONDS);
            if (!exited)
            {
                process.destroyForcibly();
            }
            reader.join(TimeUnit.SECONDS.toMillis(60));
        }
        finally
        {
            if (process.isAlive())
            {
                process.destroyForcibly(); // the test failed or timed out: leave no node running
                process.waitFor(60, TimeUnit.SECONDS);
            }
        }
        assertTrue(exited, context + ": the node did not stop on the full disk: " + lines);
        final String output = String.join("\n", lines);
        assertEquals(EvCli.EXIT_DATA, process.exitValue(), context + ": " + output);
        assertTrue(output.contains("ev: DISK_FULL: engine stopped, nothing more is acknowledged"), output);
        assertTrue(output.contains(dir.toString()), output);
        assertTrue(!output.contains("\tat "), "no stack trace: " + output);
        final long reported = last.get();
        System.out.println(context + ": committed " + reported + ", then " +
            lines.stream().filter((l) -> l.startsWith("ev: ")).findFirst().orElse("?"));

        Files.delete(filler);
        final long inState = verify(dir, reported, context);
        final String[] again = CliTestSupport.runWithin(240, "node", "--data", dir.toString(), "--drive",
            "smallbank", "--requests", "300", "--json");
        assertEquals("0", again[0], Arrays.toString(again));
        assertEquals("true", CliTestSupport.field(again[1], "conservation"), again[1]);
        assertEquals(Long.toString(inState + 300), CliTestSupport.field(again[1], "requestsInState"), again[1]);
        return new Run(0, reported, inState);
    }

    /**
     * A standalone {@code bin/ev node} driving SmallBank "for ever", in a child JVM, output on its stdout.
     */
    private static Process startNode(final Path dir, final long seed) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(CliTestSupport.jvmOptions());
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(EvCli.class.getName());
        command.addAll(List.of("node", "--data", dir.toString(), "--drive", "smallbank", "--requests", "100000000",
            "--accounts", Integer.toString(ACCOUNTS), "--seed", Long.toString(seed), "--batch", Integer.toString(BATCH),
            "--workers", "2", "--window", Integer.toString(WINDOW), "--checkpoint-every", "2000"));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private Path mountOrSkip(final String name, final int megabytes) throws IOException, InterruptedException
    {
        final Path mount = Files.createDirectory(tmp.resolve(name));
        final String refused = Tmpfs.mount(mount, megabytes);
        if (null != refused)
        {
            final String message = "DiskFaultTest: real full-disk case skipped, cannot mount a " + megabytes +
                " MiB tmpfs (needs root or CAP_SYS_ADMIN): " + refused + "; the injected faults cover the same paths";
            System.out.println(message);
            Assumptions.abort(message);
        }
        return mount;
    }

    /**
     * One run: a new node driven by one client (ids 0, 1, ...; a window of {@value #WINDOW}) until the
     * engine stops; then the checks of the class comment.
     */
    private static Run runUntilStopped(
        final Path dir,
        final Settings settings,
        final Journal.Context journal,
        final String reason,
        final Path named,
        final SpaceFreer freeSpace,
        final String context) throws Exception
    {
        final SmallBankNode node = new SmallBankNode(ACCOUNTS, settings.seed, BATCH, false, true);
        node.write(dir);
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong outOfOrder = new AtomicLong(-1);
        long submitted = 0;
        final Throwable failure;
        try (Engine engine = Engine.launch(context(node, settings).journal(journal)))
        {
            engine.registerClient(CLIENT, (clientId, requestId, type, batchSeq, reply, offset, length) ->
            {
                final int code = ReplyCodes.code(reply, offset);
                if (ReplyCodes.UNAVAILABLE == code || ReplyCodes.OUTCOME_UNKNOWN == code)
                {
                    failed.incrementAndGet();
                }
                else if (requestId != acknowledged.getAndIncrement() && outOfOrder.get() < 0)
                {
                    outOfOrder.set(requestId);
                }
            });
            final SmallBankWorkload workload = SmallBankWorkload.uniform(ACCOUNTS, settings.seed, false);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            final IdleStrategy idle = new BackoffIdleStrategy(1, 10, 1_000, 100_000);
            while (null == engine.failure())
            {
                if (submitted - acknowledged.get() - failed.get() < WINDOW)
                {
                    assertTrue(submitted < MAX_REQUESTS, context + ": no fault after " + submitted + " requests");
                    final int length = workload.next(payload, 0);
                    final int result = engine.submit(CLIENT, submitted, workload.typeId(), payload, 0, length);
                    if (Engine.SUBMITTED == result)
                    {
                        submitted++;
                    }
                    else
                    {
                        assertTrue(null != engine.failure() || Engine.REJECTED_RING_FULL == result,
                            context + ": request " + submitted + " " + Engine.describeSubmit(result));
                        break;
                    }
                }
                else
                {
                    idle.idle();
                }
            }
            final long all = submitted;
            await().atMost(60, TimeUnit.SECONDS).until(() -> null != engine.failure());
            await().atMost(60, TimeUnit.SECONDS).until(() -> acknowledged.get() + failed.get() == all);
            failure = engine.failure();
            assertEquals(Engine.REJECTED_CLOSED, engine.submit(CLIENT, submitted, workload.typeId(), payload, 0,
                workload.next(payload, 0)), context + ": new work after the fault");
        }
        assertInstanceOf(JournalException.class, failure, context);
        assertTrue(failure.getMessage().contains(reason), context + ": " + failure.getMessage());
        assertTrue(failure.getMessage().contains(named.toString()), context + ": " + failure.getMessage());
        assertEquals(-1, outOfOrder.get(), context + ": acknowledged out of submission order");
        try (Stream<Path> files = Files.list(dir.resolve("checkpoints")))
        {
            final List<String> names = files.map((p) -> p.getFileName().toString()).sorted().toList();
            assertTrue(names.stream().noneMatch((n) -> n.contains(".tmp")), context + ": left " + names);
            assertTrue(names.stream().anyMatch((n) -> n.endsWith(".evsnap")), context + ": no checkpoint " + names);
        }
        freeSpace.free();
        final long inState = verify(dir, acknowledged.get(), context);

        // the fault is gone: the node goes on from where it stood
        final AtomicInteger notOk = new AtomicInteger();
        try (Engine engine = Engine.launch(context(node, settings).journal(new Journal.Context().dir(dir)
            .minFreeDiskBytes(0))))
        {
            assertEquals(inState, engine.recoveryReport().requestsInState(), context);
            final io.ev.engine.FutureClient client = engine.newFutureClient(CLIENT);
            final SmallBankWorkload workload = SmallBankWorkload.uniform(ACCOUNTS, settings.seed + 1, false);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            final List<java.util.concurrent.CompletableFuture<byte[]>> replies = new ArrayList<>();
            for (int i = 0; i < 100; i++)
            {
                final int length = workload.next(payload, 0);
                replies.add(client.submit(inState + i, workload.typeId(), payload, 0, length));
            }
            for (final java.util.concurrent.CompletableFuture<byte[]> reply : replies)
            {
                final int code = ReplyCodes.code(new UnsafeBuffer(reply.get(30, TimeUnit.SECONDS)), 0);
                if (ReplyCodes.UNAVAILABLE == code || ReplyCodes.OUTCOME_UNKNOWN == code)
                {
                    notOk.incrementAndGet();
                }
            }
            assertEquals(inState + 99, ClientTable.lastRequestId(engine.reader(), CLIENT,
                new UnsafeBuffer(new byte[256])), context);
        }
        assertEquals(0, notOk.get(), context + ": the restarted engine answered UNAVAILABLE / OUTCOME_UNKNOWN");
        final Run result = new Run(submitted, acknowledged.get(), inState);
        System.out.println(context + ": " + result + "; " + failure.getMessage());
        return result;
    }

    /**
     * Recovers {@code dir} read-only and checks it against the replay oracle.
     *
     * @return requests held.
     */
    private static long verify(final Path dir, final long acknowledged, final String context)
    {
        final SmallBankNode node = SmallBankNode.read(dir);
        final long inState;
        final long root;
        try (StateStore store = StateStore.open(node.storeContext().writers(2));
            Journal journal = Journal.open(new Journal.Context().dir(dir).minFreeDiskBytes(0)))
        {
            final StoreWriter writer = store.newWriter();
            final Recovery.Report report = new Recovery(store, writer, journal, node.registry(), BATCH, null)
                .recover();
            assertEquals(report.batchesReplayed() - report.uncommittedBatches(), report.tokensVerified(), context);
            inState = report.requestsInState();
            root = report.root();
            assertTrue(inState >= acknowledged, context + ": holds " + inState + ", acknowledged " + acknowledged);
            assertEquals(inState - 1, ClientTable.lastRequestId(writer, CLIENT, new UnsafeBuffer(new byte[256])),
                context + ": the requests held are not 0.." + (inState - 1));
        }
        final long oracle = CrashRecoveryTest.oracleRoot(node.registry(), node.storeContext(), ACCOUNTS, BATCH,
            node.seed, inState, 0);
        assertEquals(Long.toHexString(oracle), Long.toHexString(root),
            context + ": the state is not the first " + inState + " requests executed once each");
        return inState;
    }

    private static Engine.Context context(final SmallBankNode node, final Settings settings)
    {
        return new Engine.Context()
            .store(node.storeContext())
            .registry(node.registry())
            .workers(settings.workers)
            .maxBatchRequests(BATCH)
            .checkpointIntervalRequests(settings.checkpointEvery)
            .checkpointMode(settings.mode)
            .initializer((store, writer) -> SmallBankLoader.load(store, writer, ACCOUNTS, node.seed))
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30));
    }

    private static Journal.FaultInjector injector(final Fault fault, final SplittableRandom random)
    {
        final AtomicInteger count = new AtomicInteger();
        switch (fault)
        {
            case JOURNAL_FULL:
            {
                // (the metadata file is reserved at open) the first reservation of the cycle file follows the
                // initial checkpoint's record; one every 64 KiB step after
                final int failAt = 2 + random.nextInt(3);
                return new Journal.FaultInjector()
                {
                    public void beforeAppend(final short type, final long seq)
                    {
                    }

                    public void beforeReserve(final Path file, final long offset, final long length)
                        throws IOException
                    {
                        if (!file.getFileName().toString().endsWith(".cq4t") && count.incrementAndGet() == failAt)
                        {
                            throw new IOException(ENOSPC);
                        }
                    }
                };
            }
            case JOURNAL_IO_ERROR:
            {
                final short type = random.nextBoolean() ? JournalFormat.TYPE_BATCH : JournalFormat.TYPE_COMMIT;
                final int failAt = 1 + random.nextInt(40);
                return (t, seq) ->
                {
                    if (t == type && count.incrementAndGet() == failAt)
                    {
                        throw new IOException("Input/output error");
                    }
                };
            }
            case CHECKPOINT_FULL:
            {
                final int failAt = 2 + random.nextInt(2); // the first is the initial checkpoint
                return new Journal.FaultInjector()
                {
                    public void beforeAppend(final short type, final long seq)
                    {
                    }

                    public void afterCheckpointWritten(final Path file) throws IOException
                    {
                        if (count.incrementAndGet() == failAt)
                        {
                            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
                            {
                                channel.truncate(channel.size() / 3);
                            }
                            throw new IOException(ENOSPC);
                        }
                    }
                };
            }
            case CHECKPOINT_RENAME:
            {
                final int failAt = 2 + random.nextInt(2);
                return new Journal.FaultInjector()
                {
                    public void beforeAppend(final short type, final long seq)
                    {
                    }

                    public void beforeCheckpointRename(final Path from, final Path to) throws IOException
                    {
                        if (count.incrementAndGet() == failAt)
                        {
                            throw new IOException("Input/output error");
                        }
                    }
                };
            }
            default:
                throw new IllegalArgumentException(fault.name());
        }
    }

    private static long lastCommitted(final String stdout)
    {
        long last = -1;
        for (final String line : stdout.split("\n"))
        {
            if (line.startsWith("committed="))
            {
                int end = "committed=".length();
                while (end < line.length() && Character.isDigit(line.charAt(end)))
                {
                    end++;
                }
                last = Math.max(last, Long.parseLong(line.substring("committed=".length(), end)));
            }
        }
        return last;
    }

    private static void fill(final Path filler, final Path mount, final long leaveFree) throws IOException
    {
        final long size = Files.getFileStore(mount).getUsableSpace() - leaveFree;
        assertTrue(size > 0, "cannot leave " + leaveFree + " bytes free");
        final ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        try (FileChannel channel = FileChannel.open(filler, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND))
        {
            for (long left = size; left > 0; )
            {
                chunk.clear().limit((int)Math.min(chunk.capacity(), left));
                left -= channel.write(chunk);
            }
        }
    }

    /**
     * {@link #fill}, where the node's own writes may take the last bytes first: a full disk is the goal.
     */
    private static void fillWhileTheNodeWrites(final Path filler, final Path mount, final long leaveFree)
        throws IOException
    {
        try
        {
            fill(filler, mount, leaveFree);
        }
        catch (final IOException ex)
        {
            if (!String.valueOf(ex.getMessage()).contains(ENOSPC))
            {
                throw ex;
            }
        }
    }

    private static void deleteTree(final Path dir) throws IOException
    {
        try (Stream<Path> files = Files.walk(dir))
        {
            for (final Path file : files.sorted(java.util.Comparator.reverseOrder()).toList())
            {
                Files.delete(file);
            }
        }
    }

    /**
     * Makes the fault go away before recovery.
     */
    @FunctionalInterface
    interface SpaceFreer
    {
        void free() throws IOException;
    }

    /**
     * A run's seeded engine settings.
     */
    static final class Settings
    {
        final long seed;
        final int workers;
        final Engine.CheckpointMode mode;
        final long checkpointEvery;

        Settings(final long seed)
        {
            final SplittableRandom random = new SplittableRandom(seed);
            this.seed = seed;
            this.workers = 1 + random.nextInt(2);
            this.mode = random.nextBoolean() ? Engine.CheckpointMode.PAUSE : Engine.CheckpointMode.CONCURRENT;
            this.checkpointEvery = 300 + random.nextInt(700);
        }

        @Override
        public String toString()
        {
            return "seed " + seed + " (" + workers + " workers, " + mode + " checkpoints every " + checkpointEvery +
                " requests)";
        }
    }

    /**
     * What one run counted.
     */
    record Run(long submitted, long acknowledged, long held)
    {
        @Override
        public String toString()
        {
            return "submitted " + submitted + ", acknowledged " + acknowledged + ", held after recovery " + held +
                ", lost 0";
        }
    }

    /**
     * Sums over runs, for docs/RELIABILITY.md.
     */
    static final class Totals
    {
        int runs;
        long submitted;
        long acknowledged;
        long held;

        void add(final Run run)
        {
            runs++;
            submitted += run.submitted();
            acknowledged += run.acknowledged();
            held += run.held();
        }

        @Override
        public String toString()
        {
            return runs + " runs, " + runs + " faults, " + (0 == submitted ? "" : submitted + " submitted, ") +
                acknowledged + " acknowledged, " + held + " held after recovery, 0 lost";
        }
    }
}
