/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ev.journal.JournalTestSupport.Recorder;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import net.openhft.chronicle.queue.RollCycles;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.journal.JournalTestSupport.appendOne;
import static io.ev.journal.JournalTestSupport.context;
import static io.ev.journal.JournalTestSupport.cycleFiles;
import static io.ev.journal.JournalTestSupport.marker;
import static io.ev.journal.JournalTestSupport.queueDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints: snapshot files tagged with the journal index, pruning to the newest
 * {@code checkpointsKept}, and deletion of journal cycles no kept checkpoint needs.
 */
class CheckpointsTest
{
    private static final long HOUR_MS = 3_600_000L;
    /** 2026-01-01T00:30:00Z: mid-hour, so each +1h lands in the next FAST_HOURLY cycle. */
    private static final long START_MS = 1_767_227_400_000L;

    @TempDir
    Path dir;

    private static StateStore.Context storeContext()
    {
        return new StateStore.Context()
            .maxEntries(1024)
            .maxValueBytes(32)
            .pageCount(16)
            .undoBytesPerBatch(1 << 16);
    }

    /** One committed batch: journal batch entry, store writes, commit marker. */
    private static final class Committed
    {
        final long seq;
        final long root;
        final long commitIndex;

        Committed(final long seq, final long root, final long commitIndex)
        {
            this.seq = seq;
            this.root = root;
            this.commitIndex = commitIndex;
        }
    }

    private static Committed commitBatch(
        final Journal journal, final StateStore store, final StoreWriter writer, final long seq)
    {
        appendOne(journal, new BatchEncoder(), seq, marker("batch-" + seq));
        store.begin(seq);
        for (int k = 0; k < 5; k++)
        {
            final byte[] value = marker("v" + seq + "-" + k);
            writer.put(seq, seq * 3 + k, new UnsafeBuffer(value), 0, value.length);
        }
        final long root = store.seal(seq);
        store.commit(seq);
        return new Committed(seq, root, journal.appendCommit(seq, root, seq * 7, 1));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void keepsNewestCheckpointsTaggedWithJournalIndexAndImportReproducesRoot()
    {
        final List<Committed> committed = new ArrayList<>();
        try (Journal journal = Journal.open(context(dir).checkpointsKept(2));
            StateStore store = StateStore.open(storeContext()))
        {
            final StoreWriter writer = store.newWriter();
            final Checkpoints checkpoints = journal.checkpoints();
            assertEquals(dir.resolve(Checkpoints.DIR), checkpoints.dir());
            assertTrue(checkpoints.newestFirst().isEmpty());
            for (long seq = 0; seq < 5; seq++)
            {
                final Committed batch = commitBatch(journal, store, writer, seq);
                committed.add(batch);
                final Path file = checkpoints.take(store, 10 * (seq + 1));
                assertEquals(seq, Checkpoints.seqOf(file));
                assertTrue(Files.isRegularFile(file));
                assertArrayEquals(new long[] {batch.root, seq, batch.commitIndex}, StateStore.readSnapshotHeader(file),
                    "snapshot header {root, last committed seq, tag = journal index at the time}");

                final List<Path> kept = checkpoints.newestFirst();
                assertEquals(Math.min(2, seq + 1), kept.size(), kept.toString());
                assertEquals(file, kept.get(0));
                for (int i = 0; i < kept.size(); i++)
                {
                    assertEquals(seq - i, Checkpoints.seqOf(kept.get(i)), kept.toString());
                }
                assertEquals(seq + 1, checkpoints.count());
            }
            assertTrue(checkpoints.maxPauseNs() >= checkpoints.lastPauseNs());
            assertTrue(checkpoints.totalPauseNs() >= checkpoints.maxPauseNs());
            try (var listing = Files.list(checkpoints.dir()))
            {
                assertEquals(2, listing.count(), "no temporary or pruned file is left");
            }
            catch (final IOException ex)
            {
                throw new AssertionError(ex);
            }

            final Committed newest = committed.get(committed.size() - 1);
            try (StateStore fresh = StateStore.open(storeContext()))
            {
                final long tag = fresh.importSnapshot(checkpoints.newestFirst().get(0), newest.root);
                assertEquals(newest.commitIndex, tag);
                assertEquals(newest.root, fresh.root());
                assertEquals(store.root(), fresh.root());
                assertEquals(store.size(), fresh.size());
            }

            final Recorder recorder = new Recorder();
            journal.read(-1, recorder);
            assertEquals(committed.size(), recorder.checkpoints.size());
            for (int i = 0; i < committed.size(); i++)
            {
                final long[] checkpoint = recorder.checkpoints.get(i);
                final Committed batch = committed.get(i);
                assertArrayEquals(new long[] {batch.seq, batch.root, batch.commitIndex, 10 * (batch.seq + 1)},
                    new long[] {checkpoint[0], checkpoint[1], checkpoint[2], checkpoint[3]});
                assertTrue(checkpoint[4] > batch.commitIndex, "checkpoint entry follows the commit it covers");
            }
            recorder.assertIndicesIncreasing();
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void pruningDeletesCyclesBeforeOldestKeptCheckpoint() throws IOException
    {
        final AtomicLong clock = new AtomicLong(START_MS);
        final int hours = 5;
        final List<Committed> committed = new ArrayList<>();
        final List<Path> expectedFiles = new ArrayList<>();
        final DateTimeFormatter hourly = DateTimeFormatter.ofPattern("yyyyMMdd-HH'F'").withZone(ZoneOffset.UTC);
        for (int h = 0; h < hours; h++)
        {
            expectedFiles.add(queueDir(dir).resolve(hourly.format(Instant.ofEpochMilli(START_MS + h * HOUR_MS)) +
                ".cq4"));
        }

        try (Journal journal = Journal.open(context(dir).checkpointsKept(2).rollCycle("FAST_HOURLY").clock(clock::get));
            StateStore store = StateStore.open(storeContext()))
        {
            final StoreWriter writer = store.newWriter();
            final Checkpoints checkpoints = journal.checkpoints();
            for (int h = 0; h < hours; h++)
            {
                if (h > 0)
                {
                    clock.addAndGet(HOUR_MS);
                }
                final Committed batch = commitBatch(journal, store, writer, h);
                committed.add(batch);
                assertEquals(RollCycles.FAST_HOURLY.toCycle(committed.get(0).commitIndex) + h,
                    RollCycles.FAST_HOURLY.toCycle(batch.commitIndex), "one cycle per hour");
                checkpoints.take(store, h + 1);

                final List<Path> files = cycleFiles(dir);
                final int firstKept = Math.max(0, h - 1);
                assertEquals(expectedFiles.subList(firstKept, h + 1), files, "after checkpoint " + h);
                assertTrue(Files.isRegularFile(queueDir(dir).resolve("metadata.cq4t")), "metadata.cq4t kept");
            }

            final Committed oldestKept = committed.get(hours - 2);
            assertEquals(oldestKept.commitIndex, StateStore.readSnapshotHeader(checkpoints.newestFirst().get(1))[2]);
            assertReadsFrom(journal, oldestKept, 2);

            final Recorder fromStart = new Recorder();
            final JournalReader.Result result = journal.read(-1, fromStart);
            assertArrayEquals(new long[] {hours - 2, hours - 1}, fromStart.batchSeqs(), "reads from first kept cycle");
            assertEquals(0, result.tornEntries());
        }

        try (Journal journal = Journal.open(context(dir).checkpointsKept(2).rollCycle("FAST_HOURLY").clock(clock::get)))
        {
            assertReadsFrom(journal, committed.get(hours - 2), 2);
            appendOne(journal, new BatchEncoder(), hours, marker("after reopen"));
        }
        assertEquals(expectedFiles.subList(hours - 2, hours), cycleFiles(dir));
    }

    private static void assertReadsFrom(final Journal journal, final Committed oldestKept, final int checkpoints)
    {
        final Recorder recorder = new Recorder();
        final JournalReader.Result result = journal.read(oldestKept.commitIndex, recorder);
        assertEquals(oldestKept.commitIndex, recorder.indices.get(0).longValue(), "first entry read");
        assertEquals(oldestKept.seq, recorder.commits.get(0)[0]);
        assertArrayEquals(new long[] {oldestKept.seq + 1}, recorder.batchSeqs());
        assertEquals(2, recorder.commits.size());
        assertEquals(checkpoints, recorder.checkpoints.size());
        assertEquals(0, result.tornEntries());
    }
}
