/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import io.ev.journal.JournalTestSupport.Recorder;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.journal.JournalTestSupport.appendOne;
import static io.ev.journal.JournalTestSupport.assertContains;
import static io.ev.journal.JournalTestSupport.context;
import static io.ev.journal.JournalTestSupport.marker;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Disk faults through the injectable file layer ({@link Journal.FaultInjector}): a refused disk space
 * reservation and failed checkpoint writes and renames. Each stops the journal with DISK_FULL or
 * IO_ERROR naming the file, writes nothing half, and leaves every earlier entry and the previous
 * checkpoint usable. A real full file system: {@code TmpfsDiskFullTest}.
 */
class JournalDiskFaultTest
{
    private static final String ENOSPC = "No space left on device";
    private static final int PAYLOAD_BYTES = 8 << 10;
    private static final long STEP = 64 << 10;

    @TempDir
    Path dir;

    /**
     * Reservations run ahead of the appends in contiguous steps; the one the file system refuses fails
     * the append that needed it before anything of it is written.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRefusedReservationIsDiskFullBeforeTheEntryIsWrittenAndEveryEarlierEntryStays()
    {
        final int refused = 4;
        final List<long[]> ranges = new ArrayList<>();
        final List<Path> files = new ArrayList<>();
        final Journal.FaultInjector injector = new Journal.FaultInjector()
        {
            public void beforeAppend(final short type, final long seq)
            {
            }

            public void beforeReserve(final Path file, final long offset, final long length) throws IOException
            {
                if (isMetadata(file))
                {
                    return;
                }
                files.add(file);
                ranges.add(new long[] {offset, length});
                if (ranges.size() == refused)
                {
                    throw new IOException(ENOSPC);
                }
            }
        };
        final BatchEncoder encoder = new BatchEncoder();
        final byte[] payload = new byte[PAYLOAD_BYTES];
        long appended = 0;
        try (Journal journal = Journal.open(context(dir).reserveAheadBytes(STEP).faultInjector(injector)))
        {
            JournalException refusal = null;
            long lastGood = -1;
            while (null == refusal && appended < 1_000)
            {
                try
                {
                    lastGood = appendOne(journal, encoder, appended, payload);
                    appended++;
                }
                catch (final JournalException ex)
                {
                    refusal = ex;
                }
            }
            assertNotNull(refusal, "the " + refused + "th reservation was never asked for");
            assertEquals(JournalException.Reason.DISK_FULL, refusal.reason(), refusal.getMessage());
            assertContains(refusal.getMessage(), "batch of batch " + appended);
            assertContains(refusal.getMessage(), files.get(0).toString());
            assertContains(refusal.getMessage(), "nothing of it was written");
            assertEquals(lastGood, journal.lastAppendedIndex());
            assertEquals(lastGood, journal.lastIndex(), "nothing of the refused entry is in the queue");
            assertTrue(journal.failure().startsWith("DISK_FULL"), journal.failure());

            assertEquals(refused, ranges.size());
            assertTrue(files.stream().allMatch(files.get(0)::equals), "one cycle file: " + files);
            for (int i = 1; i < ranges.size(); i++)
            {
                assertEquals(ranges.get(i - 1)[0] + ranges.get(i - 1)[1], ranges.get(i)[0],
                    "each reservation starts where the previous one ended");
                assertTrue(ranges.get(i)[1] > STEP, "a step beyond the entry's end: " + ranges.get(i)[1]);
            }
            assertTrue((refused - 1) * STEP <= appended * (long)PAYLOAD_BYTES,
                "reserved only as the journal grew: " + appended + " entries");

            final JournalException after = assertThrows(JournalException.class, () -> journal.appendCommit(0, 1, 2, 1));
            assertEquals(JournalException.Reason.CLOSED, after.reason());
            assertContains(after.getMessage(), ENOSPC);
        }
        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalReader.Result result = journal.read(-1, recorder);
            assertEquals(appended, result.batches());
            assertEquals(0, result.tornEntries());
            assertEquals(appended - 1, recorder.batchSeqs()[(int)appended - 1]);
            appendOne(journal, encoder, appended, payload); // space freed: the journal goes on
        }
    }

    /**
     * The first entry of a cycle file is written before its file can be reserved; when the
     * reservation after it fails, that entry stands and the next append is refused.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aReservationRefusedAfterTheFirstEntryOfAFileKeepsThatEntryAndRefusesTheNext()
    {
        final Journal.FaultInjector injector = new Journal.FaultInjector()
        {
            public void beforeAppend(final short type, final long seq)
            {
            }

            public void beforeReserve(final Path file, final long offset, final long length) throws IOException
            {
                if (!isMetadata(file))
                {
                    throw new IOException("Input/output error");
                }
            }
        };
        final BatchEncoder encoder = new BatchEncoder();
        final long first;
        try (Journal journal = Journal.open(context(dir).faultInjector(injector)))
        {
            first = appendOne(journal, encoder, 0, marker("first"));
            assertNotNull(journal.failure());
            assertTrue(journal.failure().startsWith("IO_ERROR"), "not a full disk: " + journal.failure());
            final JournalException next = assertThrows(JournalException.class,
                () -> journal.appendCommit(0, 1, 2, 1));
            assertEquals(JournalException.Reason.CLOSED, next.reason());
            assertContains(next.getMessage(), "Input/output error");
            assertEquals(first, journal.lastIndex());
        }
        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            assertEquals(1, journal.read(-1, recorder).batches());
            assertArrayEquals(new long[] {0}, recorder.batchSeqs());
        }
    }

    /**
     * Chronicle's metadata file is reserved whole when the journal opens: refused, the journal still
     * reads everything and refuses appends naming the file.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRefusedReservationOfTheMetadataFileAtOpenLetsTheJournalBeReadAndRefusesAppends()
    {
        final BatchEncoder encoder = new BatchEncoder();
        try (Journal journal = Journal.open(context(dir)))
        {
            appendOne(journal, encoder, 0, marker("before"));
            journal.appendCommit(0, 1, 2, 1);
        }
        final List<long[]> ranges = new ArrayList<>();
        final Journal.FaultInjector injector = new Journal.FaultInjector()
        {
            public void beforeAppend(final short type, final long seq)
            {
            }

            public void beforeReserve(final Path file, final long offset, final long length) throws IOException
            {
                assertTrue(isMetadata(file), "only the metadata file is reserved at open: " + file);
                ranges.add(new long[] {offset, length});
                throw new IOException(ENOSPC);
            }
        };
        try (Journal journal = Journal.open(context(dir).faultInjector(injector)))
        {
            assertEquals(1, ranges.size());
            assertEquals(0, ranges.get(0)[0]);
            assertTrue(ranges.get(0)[1] > 0);
            assertNotNull(journal.failure());
            assertTrue(journal.failure().startsWith("DISK_FULL"), journal.failure());
            assertContains(journal.failure(), "metadata.cq4t");
            final Recorder recorder = new Recorder();
            assertEquals(1, journal.read(-1, recorder).batches());
            assertEquals(1, recorder.commits.size());
            final JournalException refused = assertThrows(JournalException.class,
                () -> appendOne(journal, encoder, 1, marker("after")));
            assertEquals(JournalException.Reason.CLOSED, refused.reason());
            assertContains(refused.getMessage(), "metadata.cq4t");
            assertContains(refused.getMessage(), ENOSPC);
        }
        try (Journal journal = Journal.open(context(dir)))
        {
            assertNull(journal.failure(), "space freed: the journal goes on");
            appendOne(journal, encoder, 1, marker("after"));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aCheckpointWhoseWriteFailsIsDeletedStopsTheJournalAndLeavesThePreviousOne()
    {
        final AtomicInteger written = new AtomicInteger();
        final Journal.FaultInjector injector = new Journal.FaultInjector()
        {
            public void beforeAppend(final short type, final long seq)
            {
            }

            public void afterCheckpointWritten(final Path file) throws IOException
            {
                if (written.incrementAndGet() == 2)
                {
                    // as a write that ran out of space half way: a short file, then the error
                    try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE))
                    {
                        channel.truncate(channel.size() / 2);
                    }
                    throw new IOException(ENOSPC);
                }
            }
        };
        final long firstRoot;
        try (Journal journal = Journal.open(context(dir).faultInjector(injector));
            StateStore store = StateStore.open(storeContext()))
        {
            final StoreWriter writer = store.newWriter();
            commit(journal, store, writer, 0);
            final Path first = journal.checkpoints().take(store, 1);
            firstRoot = store.root();
            commit(journal, store, writer, 1);
            final long lastIndex = journal.lastIndex();
            final JournalException ex = assertThrows(JournalException.class,
                () -> journal.checkpoints().take(store, 2));
            assertEquals(JournalException.Reason.DISK_FULL, ex.reason(), ex.getMessage());
            assertContains(ex.getMessage(), Checkpoints.name(1) + Checkpoints.TMP_SUFFIX);
            assertContains(ex.getMessage(), ENOSPC);
            assertEquals(List.of(first), journal.checkpoints().newestFirst());
            assertEquals(List.of(first), listCheckpointDir(), "the half-written file is gone");
            assertEquals(lastIndex, journal.lastIndex(), "no record of the failed checkpoint");
            assertEquals(1, journal.checkpoints().failures());
            assertTrue(journal.failure().startsWith("DISK_FULL"), journal.failure());
            assertEquals(JournalException.Reason.CLOSED,
                assertThrows(JournalException.class, () -> appendOne(journal, new BatchEncoder(), 2, marker("x")))
                    .reason());
        }
        try (StateStore store = StateStore.open(storeContext()))
        {
            final Path first = dir.resolve(Checkpoints.DIR).resolve(Checkpoints.name(0));
            store.importSnapshot(first, StateStore.NULL_SEQ);
            assertEquals(firstRoot, store.root(), "the previous checkpoint still verifies");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aCheckpointWhoseRenameFailsIsDeletedAndItsRecordIgnored()
    {
        final Journal.FaultInjector injector = new Journal.FaultInjector()
        {
            public void beforeAppend(final short type, final long seq)
            {
            }

            public void beforeCheckpointRename(final Path from, final Path to) throws IOException
            {
                if (Checkpoints.seqOf(to) == 1)
                {
                    throw new IOException("Read-only file system");
                }
            }
        };
        try (Journal journal = Journal.open(context(dir).faultInjector(injector));
            StateStore store = StateStore.open(storeContext()))
        {
            final StoreWriter writer = store.newWriter();
            commit(journal, store, writer, 0);
            final Path first = journal.checkpoints().take(store, 1);
            commit(journal, store, writer, 1);
            final JournalException ex = assertThrows(JournalException.class,
                () -> journal.checkpoints().take(store, 2));
            assertEquals(JournalException.Reason.IO_ERROR, ex.reason(), ex.getMessage());
            assertContains(ex.getMessage(), "cannot rename checkpoint");
            assertContains(ex.getMessage(), "Read-only file system");
            assertEquals(List.of(first), listCheckpointDir());
            assertNotNull(journal.failure());
        }
        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalReader.Result result = journal.read(-1, recorder);
            assertEquals(2, result.batches());
            assertEquals(2, recorder.checkpoints.size(), "the record of the checkpoint whose file never appeared");
            assertEquals(1, journal.checkpoints().newestFirst().size());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void temporaryFilesOfUnfinishedCheckpointsAreDeletedWhenTheJournalOpens() throws IOException
    {
        try (Journal journal = Journal.open(context(dir));
            StateStore store = StateStore.open(storeContext()))
        {
            commit(journal, store, store.newWriter(), 0);
            journal.checkpoints().take(store, 1);
        }
        final Path checkpoints = dir.resolve(Checkpoints.DIR);
        final Path tmp = checkpoints.resolve(Checkpoints.name(5) + Checkpoints.TMP_SUFFIX);
        final Path scan = checkpoints.resolve(Checkpoints.name(6) + Checkpoints.TMP_SUFFIX + ".scan");
        final Path other = checkpoints.resolve("notes.txt");
        Files.write(tmp, new byte[4096]);
        Files.write(scan, new byte[4096]);
        Files.write(other, new byte[1]);
        try (Journal journal = Journal.open(context(dir)))
        {
            assertEquals(2, journal.checkpoints().staleFilesRemoved());
            assertFalse(Files.exists(tmp));
            assertFalse(Files.exists(scan));
            assertTrue(Files.exists(other), "only checkpoint temporaries are deleted");
            assertEquals(1, journal.checkpoints().newestFirst().size());
            assertNull(journal.failure());
        }
    }

    private static boolean isMetadata(final Path file)
    {
        return file.getFileName().toString().endsWith(".cq4t");
    }

    private List<Path> listCheckpointDir()
    {
        try (Stream<Path> files = Files.list(dir.resolve(Checkpoints.DIR)))
        {
            return files.sorted().toList();
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static StateStore.Context storeContext()
    {
        return new StateStore.Context().maxEntries(1024).maxValueBytes(32).pageCount(16).undoBytesPerBatch(1 << 16);
    }

    private static void commit(final Journal journal, final StateStore store, final StoreWriter writer, final long seq)
    {
        appendOne(journal, new BatchEncoder(), seq, marker("batch-" + seq));
        store.begin(seq);
        for (int k = 0; k < 50; k++)
        {
            final byte[] value = marker("v" + seq + "-" + k);
            writer.put(seq, seq * 100 + k, new UnsafeBuffer(value), 0, value.length);
        }
        final long root = store.seal(seq);
        store.commit(seq);
        journal.appendCommit(seq, root, seq, 1);
    }
}
