/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.journal.JournalTestSupport.appendOne;
import static io.ev.journal.JournalTestSupport.context;
import static io.ev.journal.JournalTestSupport.cycleFiles;
import static io.ev.journal.JournalTestSupport.marker;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A journal cycle deleted by a background prune (a concurrent checkpoint's deleter thread, which does not
 * refresh Chronicle's directory listing): the next prune must not fail on Chronicle still listing it ("'file not
 * found' for the lowerCycle", which stopped a primary in {@code bin/ev soak} at an hour's roll with checkpoints
 * seconds apart), and a catch-up read of an entry in it answers "not held" (-1).
 */
class PrunedCycleReadTest
{
    private static final long HOUR_MS = 3_600_000L;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldListAndReadAroundACycleDeletedWithoutARefresh() throws Exception
    {
        final AtomicLong clock = new AtomicLong(1_767_227_400_000L);
        try (Journal journal = Journal.open(context(dir).rollCycle("FAST_HOURLY").clock(clock::get)))
        {
            final BatchEncoder encoder = new BatchEncoder();
            final long first = appendOne(journal, encoder, 1, marker("one"));
            final UnsafeBuffer dst = new UnsafeBuffer(new byte[4096]);
            assertTrue(journal.readBatchEntry(first, dst, 0) > 0);
            clock.addAndGet(HOUR_MS);
            final long second = appendOne(journal, encoder, 2, marker("two"));
            final List<Path> obsolete = journal.cycleFilesBefore(second);
            assertEquals(1, obsolete.size(), "the first hour's cycle: " + obsolete);
            for (final Path file : obsolete)
            {
                Files.delete(file); // as the background deleter does: no refresh of the listing
            }
            assertEquals(List.of(), journal.cycleFilesBefore(second), "nothing left to prune, no failure");
            assertEquals(-1, journal.readBatchEntry(first, dst, 0), "an entry of a pruned cycle is not held");
            assertEquals(1, cycleFiles(dir).size());
            clock.addAndGet(HOUR_MS);
            final long third = appendOne(journal, encoder, 3, marker("three"));
            assertEquals(1, journal.cycleFilesBefore(third).size(), "the second hour's cycle is prunable next");
        }
    }
}
