/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import io.ev.journal.JournalTestSupport.Recorder;
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
 * Append failures stop the journal; the data directory is locked; bad settings are refused.
 */
class JournalFailureTest
{
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void injectedIoErrorFailsThatAppendAndEveryLaterAppendIsClosed()
    {
        final int failOn = 5;
        final AtomicInteger calls = new AtomicInteger();
        final Journal.FaultInjector injector = (type, seq) ->
        {
            if (calls.incrementAndGet() == failOn)
            {
                throw new IOException("injected failure on append #" + failOn);
            }
        };
        final BatchEncoder encoder = new BatchEncoder();
        try (Journal journal = Journal.open(context(dir).faultInjector(injector)))
        {
            appendOne(journal, encoder, 0, marker("b0"));
            journal.appendCommit(0, 11, 12, 1);
            appendOne(journal, encoder, 1, marker("b1"));
            final long lastGood = journal.appendCommit(1, 21, 22, 1);
            assertNull(journal.failure());

            final JournalException first = assertThrows(JournalException.class,
                () -> appendOne(journal, encoder, 2, marker("b2")));
            assertEquals(JournalException.Reason.IO_ERROR, first.reason());
            assertContains(first.getMessage(), "injected failure on append #" + failOn);
            assertTrue(first.getCause() instanceof IOException, String.valueOf(first.getCause()));
            assertEquals(failOn, calls.get());
            assertEquals(lastGood, journal.lastAppendedIndex());

            final String failure = journal.failure();
            assertNotNull(failure);
            assertTrue(failure.startsWith("IO_ERROR"), failure);
            assertContains(failure, "injected failure on append #" + failOn);

            final JournalException batchAfter = assertThrows(JournalException.class,
                () -> appendOne(journal, encoder, 2, marker("b2")));
            assertEquals(JournalException.Reason.CLOSED, batchAfter.reason());
            assertContains(batchAfter.getMessage(), failure);
            final JournalException commitAfter = assertThrows(JournalException.class,
                () -> journal.appendCommit(2, 31, 32, 1));
            assertEquals(JournalException.Reason.CLOSED, commitAfter.reason());
            assertContains(commitAfter.getMessage(), "injected failure on append #" + failOn);
            assertEquals(failOn, calls.get(), "a stopped journal does not even try to append");
            assertEquals(lastGood, journal.lastAppendedIndex());
            assertEquals(lastGood, journal.lastIndex());
        }

        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalReader.Result result = journal.read(-1, recorder);
            assertEquals(4, result.entries());
            assertArrayEquals(new long[] {0, 1}, recorder.batchSeqs());
            assertEquals(2, recorder.commits.size());
            assertEquals(21, recorder.commits.get(1)[1]);
            assertEquals(0, result.tornEntries());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void diskBelowMinimumFreeRefusesFirstBatchAndAppendsNothing()
    {
        final BatchEncoder encoder = new BatchEncoder();
        try (Journal journal = Journal.open(context(dir).minFreeDiskBytes(Long.MAX_VALUE)))
        {
            final JournalException ex = assertThrows(JournalException.class,
                () -> appendOne(journal, encoder, 0, marker("never")));
            assertEquals(JournalException.Reason.DISK_FULL, ex.reason());
            assertContains(ex.getMessage(), "minFreeDiskBytes");
            assertNotNull(journal.failure());
            assertEquals(-1, journal.lastAppendedIndex());
            assertEquals(-1, journal.lastIndex());

            final JournalException after = assertThrows(JournalException.class,
                () -> journal.appendCommit(0, 1, 2, 1));
            assertEquals(JournalException.Reason.CLOSED, after.reason());
            assertContains(after.getMessage(), "DISK_FULL");
        }
        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            assertEquals(0, journal.read(-1, recorder).entries());
            assertEquals(-1, journal.lastIndex());
        }
    }

    /**
     * The free-space check runs on the first batch append and then every 256th; this relies on
     * the context's minFreeDiskBytes being read at each check.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void freeSpaceIsCheckedOnFirstBatchThenEvery256th()
    {
        final BatchEncoder encoder = new BatchEncoder();
        try (Journal journal = Journal.open(context(dir)))
        {
            appendOne(journal, encoder, 0, marker("checked"));
            journal.context().minFreeDiskBytes(Long.MAX_VALUE);
            for (int i = 1; i < 256; i++)
            {
                appendOne(journal, encoder, i, marker("unchecked"));
            }
            final long last = journal.lastAppendedIndex();
            final JournalException ex = assertThrows(JournalException.class,
                () -> appendOne(journal, encoder, 256, marker("checked again")));
            assertEquals(JournalException.Reason.DISK_FULL, ex.reason());
            assertEquals(last, journal.lastIndex());
            final Recorder recorder = new Recorder();
            assertEquals(256, journal.read(-1, recorder).batches());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void secondJournalOnSameDirectoryIsInUseUntilFirstCloses()
    {
        final Journal first = Journal.open(context(dir));
        try
        {
            appendOne(first, new BatchEncoder(), 0, marker("first"));
            final JournalException ex = assertThrows(JournalException.class, () -> Journal.open(context(dir)));
            assertEquals(JournalException.Reason.IN_USE, ex.reason());
            assertContains(ex.getMessage(), dir.toString());
            assertContains(ex.getMessage(), Journal.LOCK_FILE);
            appendOne(first, new BatchEncoder(), 1, marker("still appendable"));
        }
        finally
        {
            first.close();
        }
        try (Journal second = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            assertEquals(2, second.read(-1, recorder).batches());
            appendOne(second, new BatchEncoder(), 2, marker("second"));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void eachInvalidSettingIsRefusedNamingIt()
    {
        assertInvalid("dir", (c) -> c.dir(null));
        assertInvalid("rollCycle", (c) -> c.rollCycle("NOT_A_ROLL_CYCLE"));
        assertInvalid("rollCycle", (c) -> c.rollCycle(null));
        assertInvalid("checkpointsKept", (c) -> c.checkpointsKept(0));
        assertInvalid("checkpointsKept", (c) -> c.checkpointsKept(101));
        assertInvalid("lockTimeoutMs", (c) -> c.lockTimeoutMs(1));
        assertInvalid("lockTimeoutMs", (c) -> c.lockTimeoutMs(60_001));
        assertInvalid("minFreeDiskBytes", (c) -> c.minFreeDiskBytes(-1));
        assertInvalid("reserveAheadBytes", (c) -> c.reserveAheadBytes((64 << 10) - 1));
        assertInvalid("reserveAheadBytes", (c) -> c.reserveAheadBytes((1L << 30) + 1));
        assertInvalid("durability", (c) -> c.durability(null));
        assertFalse(Files.exists(dir.resolve(Journal.QUEUE_DIR)), "nothing created for a refused setting");

        try (Journal journal = Journal.open(context(dir).rollCycle("FAST_DAILY").checkpointsKept(1).lockTimeoutMs(10)))
        {
            assertEquals(1, journal.context().checkpointsKept());
        }
    }

    private void assertInvalid(final String setting, final UnaryOperator<Journal.Context> change)
    {
        final JournalException concluded = assertThrows(JournalException.class,
            () -> change.apply(context(dir)).conclude());
        assertEquals(JournalException.Reason.INVALID_CONFIGURATION, concluded.reason(), setting);
        assertContains(concluded.getMessage(), setting);
        final JournalException opened = assertThrows(JournalException.class,
            () -> Journal.open(change.apply(context(dir))));
        assertEquals(JournalException.Reason.INVALID_CONFIGURATION, opened.reason(), setting);
        assertContains(opened.getMessage(), setting);
    }
}
