/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.ev.journal.JournalTestSupport.Recorder;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.ev.journal.JournalTestSupport.appendOne;
import static io.ev.journal.JournalTestSupport.assertContains;
import static io.ev.journal.JournalTestSupport.batchEntryStart;
import static io.ev.journal.JournalTestSupport.context;
import static io.ev.journal.JournalTestSupport.crcOf;
import static io.ev.journal.JournalTestSupport.flipByte;
import static io.ev.journal.JournalTestSupport.marker;
import static io.ev.journal.JournalTestSupport.onlyCycleFile;
import static io.ev.journal.JournalTestSupport.readBytes;
import static io.ev.journal.JournalTestSupport.readIntLe;
import static io.ev.journal.JournalTestSupport.writeBytes;
import static io.ev.journal.JournalTestSupport.writeIntLe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damage in the .cq4 file, made with the journal closed: a torn tail is skipped (and acknowledged
 * by the next run's first append), damage in committed history stops reading.
 */
class JournalDamageTest
{
    private static final int BATCHES = 4;

    @TempDir
    Path dir;

    /**
     * Appends batches 0..BATCHES-1, each one request whose payload is its marker, and closes.
     *
     * @return the batch indices.
     */
    private long[] writeBatches()
    {
        final long[] indices = new long[BATCHES];
        final BatchEncoder encoder = new BatchEncoder();
        try (Journal journal = Journal.open(context(dir)))
        {
            for (int i = 0; i < BATCHES; i++)
            {
                indices[i] = appendOne(journal, encoder, i, markerOf(i));
            }
        }
        return indices;
    }

    private static byte[] markerOf(final int batch)
    {
        return marker("UNIQUE-PAYLOAD-MARKER-" + batch + "-END");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void tornTailIsSkippedWithWarningThenAcknowledgedByNextAppend() throws IOException
    {
        final long[] indices = writeBatches();
        final Path file = onlyCycleFile(dir);
        final long lastEntry = batchEntryStart(file, markerOf(BATCHES - 1));
        flipByte(file, lastEntry + JournalTestSupport.FIRST_PAYLOAD_OFFSET + 3);

        final long newIndex;
        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalReader.Result result = journal.read(-1, recorder);
            assertEquals(1, result.tornEntries());
            assertEquals(indices[BATCHES - 1], result.tornIndex());
            assertEquals(indices[BATCHES - 1], result.lastSeenIndex());
            assertEquals(indices[BATCHES - 2], result.lastIndex());
            assertEquals(BATCHES - 1, result.batches());
            assertEquals(0, result.acknowledgedSkips());
            assertArrayEquals(new long[] {0, 1, 2}, recorder.batchSeqs());
            final String warning = result.tornTailWarning();
            assertNotNull(warning);
            assertContains(warning, file.toString());
            assertContains(warning, "position " + lastEntry + " ");
            assertContains(warning, "checksum");

            newIndex = appendOne(journal, new BatchEncoder(), BATCHES - 1, marker("REPLACEMENT-BATCH"));
            assertTrue(newIndex > indices[BATCHES - 1] + 1, "a tail-skipped entry precedes the new batch");
        }

        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalReader.Result result = journal.read(-1, recorder);
            assertEquals(0, result.tornEntries());
            assertEquals(1, result.acknowledgedSkips());
            assertEquals(null, result.tornTailWarning());
            assertEquals(BATCHES, result.batches());
            assertEquals(newIndex, result.lastIndex());
            assertArrayEquals(new long[] {0, 1, 2, BATCHES - 1}, recorder.batchSeqs());
            assertEquals(newIndex, recorder.batches.get(BATCHES - 1).index);
            assertArrayEquals(marker("REPLACEMENT-BATCH"), recorder.batches.get(BATCHES - 1).requests.get(0).payload);
            recorder.assertIndicesIncreasing();
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void bitFlipMidLogIsCorruptNamingFileAndPosition() throws IOException
    {
        final long[] indices = writeBatches();
        final Path file = onlyCycleFile(dir);
        final long damaged = batchEntryStart(file, markerOf(1));
        flipByte(file, damaged + JournalTestSupport.FIRST_PAYLOAD_OFFSET + 5);

        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalException ex = assertThrows(JournalException.class, () -> journal.read(-1, recorder));
            assertEquals(JournalException.Reason.CORRUPT, ex.reason());
            assertContains(ex.getMessage(), file.toString());
            assertContains(ex.getMessage(), "position " + damaged + " ");
            assertContains(ex.getMessage(), "index 0x" + Long.toHexString(indices[1]));
            assertArrayEquals(new long[] {0}, recorder.batchSeqs());
        }
    }

    /**
     * Journal catch-up reads one batch entry by index: intact entries come back whole and decodable,
     * a damaged one is CORRUPT naming its index, a commit marker is not a batch, an index past the
     * end is absent (-1).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void readBatchEntryChecksTheOneEntryAtAnIndex() throws IOException
    {
        final long[] indices = writeBatches();
        final Path file = onlyCycleFile(dir);
        flipByte(file, batchEntryStart(file, markerOf(1)) + JournalTestSupport.FIRST_PAYLOAD_OFFSET + 5);
        try (Journal journal = Journal.open(context(dir)))
        {
            final ExpandableArrayBuffer dst = new ExpandableArrayBuffer(64);
            final int length = journal.readBatchEntry(indices[0], dst, 8);
            final BatchDecoder decoder = new BatchDecoder();
            assertNull(decoder.wrap(new UnsafeBuffer(dst, 8, length), length));
            assertEquals(0, decoder.seq());
            assertTrue(decoder.next());
            assertEquals(100, decoder.clientId());

            final JournalException ex = assertThrows(JournalException.class,
                () -> journal.readBatchEntry(indices[1], dst, 0));
            assertEquals(JournalException.Reason.CORRUPT, ex.reason());
            assertContains(ex.getMessage(), "index 0x" + Long.toHexString(indices[1]));

            final long commit = journal.appendCommit(BATCHES, 1, 2, 0);
            assertEquals(JournalException.Reason.CORRUPT,
                assertThrows(JournalException.class, () -> journal.readBatchEntry(commit, dst, 0)).reason());
            assertEquals(-1, journal.readBatchEntry(commit + 1000, dst, 0));
        }
    }

    @ParameterizedTest(name = "header {0}")
    @ValueSource(strings = {"NOT_COMPLETE", "ZERO"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void damagedChronicleHeaderMidLogIsCorrupt(final String damage) throws IOException
    {
        writeBatches();
        final Path file = onlyCycleFile(dir);
        final long header = batchEntryStart(file, markerOf(1)) - 4;
        final int original = readIntLe(file, header);
        final int entryLength = JournalTestSupport.FIRST_PAYLOAD_OFFSET + markerOf(1).length;
        assertEquals(entryLength, original, "Chronicle header of a complete data entry is its length");
        writeIntLe(file, header, "ZERO".equals(damage) ? 0 : 0x80000000 | original);

        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalException ex = assertThrows(JournalException.class, () -> journal.read(-1, recorder));
            assertEquals(JournalException.Reason.CORRUPT, ex.reason(), ex.getMessage());
            assertContains(ex.getMessage(), "damaged entry header");
            assertArrayEquals(new long[] {0}, recorder.batchSeqs());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void otherFormatVersionWithValidChecksumIsUnsupportedVersion() throws IOException
    {
        final long[] indices = writeBatches();
        final Path file = onlyCycleFile(dir);
        final long start = batchEntryStart(file, markerOf(1));
        final int length = JournalTestSupport.FIRST_PAYLOAD_OFFSET + markerOf(1).length;
        final byte[] entry = readBytes(file, start, length);
        final ByteBuffer view = ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(JournalFormat.FORMAT_VERSION, view.getShort(JournalFormat.VERSION_OFFSET));
        assertEquals(view.getInt(JournalFormat.CRC_OFFSET), crcOf(entry), "test computes the CRC as the journal");
        view.putShort(JournalFormat.VERSION_OFFSET, (short)(JournalFormat.FORMAT_VERSION + 1));
        view.putInt(JournalFormat.CRC_OFFSET, crcOf(entry));
        writeBytes(file, start, entry);

        try (Journal journal = Journal.open(context(dir)))
        {
            final Recorder recorder = new Recorder();
            final JournalException ex = assertThrows(JournalException.class, () -> journal.read(-1, recorder));
            assertEquals(JournalException.Reason.UNSUPPORTED_VERSION, ex.reason(), ex.getMessage());
            assertContains(ex.getMessage(), "version " + (JournalFormat.FORMAT_VERSION + 1));
            assertContains(ex.getMessage(), file.toString());
            assertContains(ex.getMessage(), "position " + start + " ");
            assertContains(ex.getMessage(), "index 0x" + Long.toHexString(indices[1]));
            assertArrayEquals(new long[] {0}, recorder.batchSeqs());
        }
    }
}
