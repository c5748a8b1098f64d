/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.ev.journal.JournalTestSupport.Batch;
import io.ev.journal.JournalTestSupport.Recorder;
import io.ev.journal.JournalTestSupport.Request;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.journal.JournalTestSupport.context;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batches and commit markers read back exactly as written, from the start or from a later index,
 * under both durabilities.
 */
class JournalRoundTripTest
{
    private static final int[] PAYLOAD_SIZES = {0, 1, 3, 17, 1000, 100_000};

    @TempDir
    Path dir;

    /** A batch as written, with the commit marker written after it. */
    private static final class Written
    {
        final long seq;
        final List<Request> requests = new ArrayList<>();
        long batchIndex;
        long root;
        long digest;
        long commitIndex;

        Written(final long seq)
        {
            this.seq = seq;
        }

        int phaseCount()
        {
            int max = -1;
            for (final Request request : requests)
            {
                max = Math.max(max, request.phase);
            }
            return max + 1;
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void roundTripDeliversEveryFieldInOrderAndReadsFromLaterIndex()
    {
        roundTrip(Durability.PROCESS_CRASH);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void powerLossDurabilitySyncsOnCommitAndEntriesReadBack()
    {
        roundTrip(Durability.POWER_LOSS);
    }

    private void roundTrip(final Durability durability)
    {
        final long seed = System.nanoTime();
        System.out.println(getClass().getSimpleName() + " " + durability + " seed=" + seed);
        final String seedMessage = "seed=" + seed;
        final Random random = new Random(seed);
        final List<Written> written = new ArrayList<>();
        final BatchEncoder encoder = new BatchEncoder();
        try (Journal journal = Journal.open(context(dir).durability(durability)))
        {
            assertEquals(-1, journal.lastAppendedIndex(), seedMessage);
            assertEquals(-1, journal.lastIndex(), seedMessage);
            for (int b = 0; b < 12; b++)
            {
                final Written batch = new Written(10 + b);
                encoder.reset(batch.seq);
                final int requests = 0 == b ? 0 : 1 + random.nextInt(6);
                for (int r = 0; r < requests; r++)
                {
                    final int size = 1 == b && 0 == r ? 200_000 : PAYLOAD_SIZES[random.nextInt(PAYLOAD_SIZES.length)];
                    final byte[] payload = new byte[size];
                    random.nextBytes(payload);
                    final Request request = new Request(random.nextLong(), random.nextLong(), random.nextInt(50),
                        random.nextInt(4), payload);
                    batch.requests.add(request);
                    final UnsafeBuffer source = new UnsafeBuffer(new byte[size + 5]);
                    source.putBytes(5, payload);
                    encoder.add(request.clientId, request.requestId, request.type, request.phase, source, 5, size);
                }
                assertEquals(requests, encoder.count(), seedMessage);
                assertEquals(batch.seq, encoder.seq(), seedMessage);
                batch.batchIndex = journal.append(encoder);
                assertEquals(batch.batchIndex, journal.lastAppendedIndex(), seedMessage);
                batch.root = random.nextLong();
                batch.digest = random.nextLong();
                batch.commitIndex = journal.appendCommit(batch.seq, batch.root, batch.digest, requests);
                assertTrue(batch.commitIndex > batch.batchIndex, seedMessage);
                written.add(batch);
            }
            journal.sync();
            assertNull(journal.failure(), seedMessage);

            final Recorder live = new Recorder();
            final JournalReader.Result liveResult = journal.read(-1, live);
            assertEquals(written.size(), liveResult.batches(), seedMessage);
            assertEquals(written.size(), live.batches.size(), seedMessage);
        }

        try (Journal journal = Journal.open(context(dir).durability(durability)))
        {
            final Recorder all = new Recorder();
            final JournalReader.Result result = journal.read(-1, all);
            assertEquals(2L * written.size(), result.entries(), seedMessage);
            assertEquals(written.size(), result.batches(), seedMessage);
            assertEquals(written.size(), result.commits(), seedMessage);
            assertEquals(0, result.tornEntries(), seedMessage);
            assertEquals(0, result.acknowledgedSkips(), seedMessage);
            assertNull(result.tornTailWarning(), seedMessage);
            final Written last = written.get(written.size() - 1);
            assertEquals(last.commitIndex, result.lastIndex(), seedMessage);
            assertEquals(last.commitIndex, result.lastSeenIndex(), seedMessage);
            assertEquals(last.commitIndex, journal.lastIndex(), seedMessage);
            all.assertIndicesIncreasing();
            assertDelivered(seedMessage, written, all, 0);

            final int from = 5;
            final Recorder later = new Recorder();
            final JournalReader.Result laterResult = journal.read(written.get(from).batchIndex, later);
            assertEquals(2L * (written.size() - from), laterResult.entries(), seedMessage);
            assertDelivered(seedMessage, written, later, from);

            final Recorder fromCommit = new Recorder();
            final JournalReader.Result commitResult = journal.read(written.get(from).commitIndex, fromCommit);
            assertEquals(2L * (written.size() - from) - 1, commitResult.entries(), seedMessage);
            assertEquals(written.get(from).commitIndex, fromCommit.indices.get(0).longValue(), seedMessage);
            assertEquals(written.size() - from - 1, fromCommit.batches.size(), seedMessage);
        }
    }

    private static void assertDelivered(
        final String seedMessage, final List<Written> written, final Recorder recorder, final int from)
    {
        assertEquals(written.size() - from, recorder.batches.size(), seedMessage);
        assertEquals(written.size() - from, recorder.commits.size(), seedMessage);
        for (int i = from; i < written.size(); i++)
        {
            final Written expected = written.get(i);
            final Batch batch = recorder.batches.get(i - from);
            final String where = seedMessage + " batch " + expected.seq;
            assertEquals(expected.batchIndex, batch.index, where);
            assertEquals(expected.seq, batch.seq, where);
            assertEquals(expected.phaseCount(), batch.phaseCount, where);
            int length = BatchEncoder.REQUESTS_OFFSET;
            assertEquals(expected.requests.size(), batch.requests.size(), where);
            for (int r = 0; r < expected.requests.size(); r++)
            {
                final Request want = expected.requests.get(r);
                final Request got = batch.requests.get(r);
                final String request = where + " request " + r;
                assertEquals(want.clientId, got.clientId, request);
                assertEquals(want.requestId, got.requestId, request);
                assertEquals(want.type, got.type, request);
                assertEquals(want.phase, got.phase, request);
                assertArrayEquals(want.payload, got.payload, request);
                length += BatchEncoder.REQUEST_HEADER_LENGTH + want.payload.length;
            }
            assertEquals(length, batch.entryLength, where);

            final long[] commit = recorder.commits.get(i - from);
            assertEquals(expected.seq, commit[0], where);
            assertEquals(expected.root, commit[1], where);
            assertEquals(expected.digest, commit[2], where);
            assertEquals(expected.requests.size(), commit[3], where);
            assertEquals(expected.commitIndex, commit[4], where);
        }
        recorder.assertIndicesIncreasing();
    }
}
