/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.ev.journal.JournalTestSupport.Recorder;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.ev.journal.JournalTestSupport.appendOne;
import static io.ev.journal.JournalTestSupport.assertContains;
import static io.ev.journal.JournalTestSupport.context;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real full file system: a small tmpfs mounted for the test (needs root or CAP_SYS_ADMIN; skipped
 * with a message otherwise: {@link JournalDiskFaultTest} injects the same faults everywhere). The
 * journal appends until the disk is full, across cycle rolls, with seeded entry sizes, reservation
 * steps and free space; it must refuse with DISK_FULL naming the file (never a SIGBUS
 * {@code InternalError} from a mapped write), keep every entry whose append returned, refuse new work
 * on the full disk after a reopen, and go on once space is freed. A checkpoint (paused or concurrent)
 * on a full disk must fail with DISK_FULL, delete its temporary files and leave the previous one usable.
 * Seeds: {@code -Dev.tmpfs.seed=S}, runs {@code -Dev.tmpfs.runs=N} (default 3).
 */
class TmpfsDiskFullTest
{
    private static final String ENOSPC = "No space left on device";
    private static final int TMPFS_MB = 16;
    private static final long HOUR_MS = TimeUnit.HOURS.toMillis(1);
    /** 2026-12-05T00:00:00Z: a fixed clock start so cycle names do not depend on the host's time. */
    private static final long CLOCK_START_MS = 1_796_428_800_000L;

    @TempDir
    Path tmp;

    private Path mount;
    private Path filler;

    /**
     * Mounts a fresh tmpfs (one per run: the space of a deleted journal comes back only once Chronicle
     * unmapped its files), or skips the test.
     */
    private void mountTmpfs(final String name) throws IOException, InterruptedException
    {
        mount = Files.createDirectory(tmp.resolve(name));
        final String result = Tmpfs.mount(mount, TMPFS_MB);
        if (null != result)
        {
            mount = null;
            final String message = "TmpfsDiskFullTest skipped: cannot mount a " + TMPFS_MB + " MiB tmpfs (needs root " +
                "or CAP_SYS_ADMIN): " + result + "; JournalDiskFaultTest injects the same faults";
            System.out.println(message);
            Assumptions.abort(message);
        }
        filler = mount.resolve("filler");
    }

    @AfterEach
    void unmountTmpfs() throws IOException, InterruptedException
    {
        if (null != mount)
        {
            Tmpfs.unmount(mount);
            mount = null;
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void appendsUntilTheDiskIsFullAreRefusedWithDiskFullAndEveryReturnedAppendSurvives() throws Exception
    {
        final long baseSeed = Long.getLong("ev.tmpfs.seed", System.nanoTime());
        final int runs = Integer.getInteger("ev.tmpfs.runs", 3);
        System.out.println("TmpfsDiskFullTest base seed " + baseSeed + " (-Dev.tmpfs.seed=" + baseSeed + ")");
        long batches = 0;
        long commits = 0;
        for (int run = 0; run < runs; run++)
        {
            mountTmpfs("tmpfs-" + run);
            final long[] appended = fillUntilRefused(baseSeed + run);
            batches += appended[0];
            commits += appended[1];
            unmountTmpfs();
        }
        System.out.println("TmpfsDiskFullTest: " + runs + " runs, each refused with DISK_FULL; " + batches +
            " batch entries and " + commits + " commit markers appended before, all read back, 0 lost");
    }

    /**
     * @return batch entries and commit markers appended before the refusal.
     */
    private long[] fillUntilRefused(final long seed) throws IOException
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final Path dir = mount.resolve("node");
        final long reserveAhead = new long[] {64 << 10, 256 << 10, 1 << 20, 4 << 20}[random.nextInt(4)];
        final int maxPayload = 64 + random.nextInt(32 << 10);
        final int appendsPerCycle = 50 + random.nextInt(2_000);
        // room for the reservation ahead plus at least 1 MiB of appends (more than 10 batches); at most
        // 10 MiB of the 16, so that deleting the filler frees enough for one more reservation
        final long leaveFree = reserveAhead + (1L << 20) + random.nextLong(5L << 20);
        fill(leaveFree);
        final String context = "seed " + seed + " (reserve ahead " + reserveAhead + ", payloads <= " + maxPayload +
            ", a cycle roll every " + appendsPerCycle + " appends, " + leaveFree + " bytes left free)";
        final AtomicLong clock = new AtomicLong(CLOCK_START_MS);
        final BatchEncoder encoder = new BatchEncoder();
        long batches = 0;
        long commits = 0;
        JournalException refusal = null;
        try (Journal journal = Journal.open(context(dir).rollCycle("FAST_HOURLY").clock(clock::get)
            .reserveAheadBytes(reserveAhead)))
        {
            while (null == refusal)
            {
                try
                {
                    appendOne(journal, encoder, batches, payload(random, batches, maxPayload));
                    batches++;
                    journal.appendCommit(batches - 1, batches, batches, 1);
                    commits++;
                }
                catch (final JournalException ex)
                {
                    refusal = ex;
                }
                if (random.nextInt(appendsPerCycle) == 0)
                {
                    clock.addAndGet(HOUR_MS);
                }
            }
            assertEquals(JournalException.Reason.DISK_FULL, refusal.reason(), context + ": " + refusal.getMessage());
            assertContains(refusal.getMessage(), dir.resolve(Journal.QUEUE_DIR).toString());
            assertContains(refusal.getMessage(), "nothing of it was written");
            assertTrue(batches > 10, context + ": the disk was full after " + batches + " batches");
            assertEquals(JournalException.Reason.CLOSED, assertThrows(JournalException.class,
                () -> journal.appendCommit(0, 1, 2, 1)).reason());
        }
        System.out.println(context + ": " + batches + " batches, " + commits + " commit markers, then " +
            refusal.getMessage());
        final long next = batches;
        try (Journal journal = Journal.open(context(dir).clock(clock::get)))
        {
            assertRead(journal, batches, commits, context + ", reopened on the full disk");
            final JournalException full = assertThrows(JournalException.class,
                () -> appendOne(journal, encoder, next, new byte[64 << 10]), context);
            assertEquals(JournalException.Reason.DISK_FULL, full.reason(), full.getMessage());
        }
        Files.delete(filler); // space freed
        try (Journal journal = Journal.open(context(dir).clock(clock::get).reserveAheadBytes(reserveAhead)))
        {
            assertRead(journal, batches, commits, context + ", reopened after space was freed");
            appendOne(journal, encoder, batches, payload(random, batches, maxPayload));
            journal.appendCommit(batches, 1, 1, 1);
        }
        return new long[] {batches, commits};
    }

    private static void assertRead(final Journal journal, final long batches, final long commits, final String context)
    {
        final Recorder recorder = new Recorder();
        final JournalReader.Result result = journal.read(-1, recorder);
        assertEquals(0, result.tornEntries(), context + ": " + result.tornTailWarning());
        assertEquals(batches, result.batches(), context);
        assertEquals(commits, recorder.commits.size(), context);
        for (int i = 0; i < batches; i++)
        {
            final JournalTestSupport.Batch batch = recorder.batches.get(i);
            assertEquals(i, batch.seq, context);
            final byte[] payload = batch.requests.get(0).payload;
            assertArrayEquals(header(i), java.util.Arrays.copyOf(payload, Math.min(payload.length, 16)),
                context + ": batch " + i + " holds its own payload");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aCheckpointOnAFullDiskFailsWithDiskFullAndLeavesThePreviousOne(final boolean concurrent) throws Exception
    {
        mountTmpfs("tmpfs");
        final Path dir = mount.resolve("node");
        final Path checkpoints = dir.resolve(Checkpoints.DIR);
        final long firstRoot;
        final long lastIndex;
        try (Journal journal = Journal.open(context(dir));
            StateStore store = StateStore.open(new StateStore.Context().maxEntries(40_000).maxValueBytes(64)
                .averageValueBytes(48).pageCount(64).undoBytesPerBatch(4 << 20)))
        {
            final StoreWriter writer = store.newWriter();
            commit(journal, store, writer, 0, 30_000); // a checkpoint of about 2 MiB
            final Path first = journal.checkpoints().take(store, 1);
            firstRoot = store.root();
            commit(journal, store, writer, 1, 100);
            fill(Files.size(first) / 2);
            final JournalException ex;
            if (concurrent)
            {
                journal.checkpoints().start(store, 2, 64 << 20);
                ex = assertThrows(JournalException.class, () ->
                {
                    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (!journal.checkpoints().poll(store) && System.nanoTime() - deadline < 0)
                    {
                        Thread.onSpinWait();
                    }
                });
            }
            else
            {
                ex = assertThrows(JournalException.class, () -> journal.checkpoints().take(store, 2));
            }
            assertEquals(JournalException.Reason.DISK_FULL, ex.reason(), ex.getMessage());
            final Path tmpFile = checkpoints.resolve(Checkpoints.name(1) + Checkpoints.TMP_SUFFIX);
            assertContains(ex.getMessage(), tmpFile.toString());
            assertContains(ex.getMessage(), ENOSPC);
            assertContains(ex.getMessage(), "the older checkpoints stand");
            assertEquals(List.of(first), list(checkpoints), "the temporary files are gone");
            assertEquals(1, journal.checkpoints().failures());
            assertNotNull(journal.failure());
            lastIndex = journal.lastIndex();
            assertEquals(JournalException.Reason.CLOSED,
                assertThrows(JournalException.class, () -> journal.appendCommit(2, 0, 0, 1)).reason());
        }
        Files.delete(filler);
        try (Journal journal = Journal.open(context(dir));
            StateStore store = StateStore.open(new StateStore.Context().maxEntries(40_000).maxValueBytes(64)
                .averageValueBytes(48).pageCount(64)))
        {
            final Recorder recorder = new Recorder();
            assertEquals(2, journal.read(-1, recorder).batches());
            assertEquals(2, recorder.commits.size());
            assertEquals(1, recorder.checkpoints.size(), "no record of the failed checkpoint");
            assertEquals(lastIndex, journal.lastIndex());
            store.importSnapshot(journal.checkpoints().newestFirst().get(0), StateStore.NULL_SEQ);
            assertEquals(firstRoot, store.root(), "the previous checkpoint still verifies");
            assertFalse(store.size() == 0);
        }
    }

    private static void commit(
        final Journal journal, final StateStore store, final StoreWriter writer, final long seq, final int records)
    {
        appendOne(journal, new BatchEncoder(), seq, header(seq));
        store.begin(seq);
        final UnsafeBuffer value = new UnsafeBuffer(new byte[48]);
        for (int k = 0; k < records; k++)
        {
            value.putLong(0, seq * 1_000_003 + k);
            writer.put(seq, k, value, 0, 48);
        }
        final long root = store.seal(seq);
        store.commit(seq);
        journal.appendCommit(seq, root, seq, 1);
    }

    /**
     * Fills the file system with {@link #filler} until {@code leaveFree} bytes (rounded to pages) are free.
     */
    private void fill(final long leaveFree) throws IOException
    {
        final long size = Files.getFileStore(mount).getUsableSpace() - leaveFree;
        assertTrue(size > 0, "cannot leave " + leaveFree + " bytes free on " + mount);
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

    private static byte[] payload(final SplittableRandom random, final long seq, final int maxPayload)
    {
        final byte[] payload = new byte[16 + random.nextInt(maxPayload)];
        System.arraycopy(header(seq), 0, payload, 0, 16);
        return payload;
    }

    private static byte[] header(final long seq)
    {
        return String.format("batch-%010d", seq).getBytes(StandardCharsets.US_ASCII);
    }

    private static List<Path> list(final Path dir) throws IOException
    {
        try (Stream<Path> files = Files.list(dir))
        {
            return files.sorted().toList();
        }
    }
}
