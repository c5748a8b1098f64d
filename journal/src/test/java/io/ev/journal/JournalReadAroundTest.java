/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.journal.JournalTestSupport.context;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The journal turns off the kernel's read-around on the mapping it appends through (a fault there zero-filled up to
 * the device's {@code read_ahead_kb} of reserved pages at once on the appending thread: docs/PERFORMANCE.md,
 * "Journals on tmpfs vs the VM disk"). Checked where the kernel shows it: the mapping of the cycle file in
 * {@code /proc/self/smaps} carries the {@code rr} ("random read advised") VM flag. Linux only.
 */
class JournalReadAroundTest
{
    private static final Path SMAPS = Paths.get("/proc/self/smaps");

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void appendingMappingIsAdvisedAgainstReadAround() throws IOException
    {
        assumeTrue(Files.isReadable(SMAPS), "no /proc/self/smaps: not Linux");
        try (Journal journal = Journal.open(context(dir)))
        {
            assertFalse(journal.advisedNoReadAround(), "nothing appended yet");
            final BatchEncoder encoder = new BatchEncoder();
            encoder.reset(1);
            encoder.add(7, 1, 3, 0, new UnsafeBuffer(new byte[16]), 0, 16);
            journal.append(encoder);
            journal.appendCommit(1, 42, 43, 1);
            assertTrue(journal.advisedNoReadAround(), "madvise(MADV_RANDOM) on the appended chunk failed");

            final List<String> smaps = Files.readAllLines(SMAPS);
            final String where = dir.toRealPath().toString(); // smaps names a mapping's file by its real path
            int cycleMappings = 0;
            int advised = 0;
            for (int i = 0; i < smaps.size(); i++)
            {
                final String line = smaps.get(i);
                if (line.endsWith(".cq4") && line.contains(where))
                {
                    cycleMappings++;
                    for (int j = i + 1; j < smaps.size() && !smaps.get(j).endsWith(".cq4"); j++)
                    {
                        final String flags = smaps.get(j);
                        if (flags.startsWith("VmFlags:"))
                        {
                            advised += (" " + flags + " ").contains(" rr ") ? 1 : 0;
                            break;
                        }
                    }
                }
            }
            assertTrue(cycleMappings >= 1, "no mapping of a cycle file under " + where);
            assertTrue(advised >= 1, "no mapping of a cycle file has VmFlags rr (" + cycleMappings + " mappings)");
        }
    }
}
