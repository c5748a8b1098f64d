/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

import org.agrona.concurrent.UnsafeBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Helpers shared by the journal tests: a recording handler, and raw access to the queue's .cq4
 * files (entries are located by a unique payload marker; Chronicle's 4-byte header sits just before
 * the entry).
 */
final class JournalTestSupport
{
    /** Offset of the first request's payload inside a batch entry. */
    static final int FIRST_PAYLOAD_OFFSET = BatchEncoder.REQUESTS_OFFSET + BatchEncoder.REQUEST_HEADER_LENGTH;

    private JournalTestSupport()
    {
    }

    static Journal.Context context(final Path dir)
    {
        return new Journal.Context().dir(dir).minFreeDiskBytes(0);
    }

    static byte[] marker(final String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Appends a batch of one request whose payload is {@code payload}.
     */
    static long appendOne(final Journal journal, final BatchEncoder encoder, final long seq, final byte[] payload)
    {
        encoder.reset(seq).add(100 + seq, 1000 + seq, 7, 0, new UnsafeBuffer(payload), 0, payload.length);
        return journal.append(encoder);
    }

    static Path queueDir(final Path dir)
    {
        return dir.resolve(Journal.QUEUE_DIR);
    }

    static List<Path> cycleFiles(final Path dir) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(queueDir(dir), "*.cq4"))
        {
            stream.forEach(files::add);
        }
        files.sort(null);
        return files;
    }

    static Path onlyCycleFile(final Path dir) throws IOException
    {
        final List<Path> files = cycleFiles(dir);
        assertEquals(1, files.size(), "cycle files " + files);
        return files.get(0);
    }

    /**
     * @return the file offset of the single occurrence of {@code marker} in {@code file}.
     */
    static long findUnique(final Path file, final byte[] marker) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            final MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
            long found = -1;
            final int last = (int)Math.min(Integer.MAX_VALUE, channel.size()) - marker.length;
            for (int i = 0; i <= last; i++)
            {
                if (map.get(i) == marker[0] && matches(map, i, marker))
                {
                    if (found >= 0)
                    {
                        fail("marker " + new String(marker, StandardCharsets.US_ASCII) + " found twice in " + file);
                    }
                    found = i;
                }
            }
            if (found < 0)
            {
                fail("marker " + new String(marker, StandardCharsets.US_ASCII) + " not found in " + file);
            }
            return found;
        }
    }

    private static boolean matches(final ByteBuffer map, final int at, final byte[] marker)
    {
        for (int j = 1; j < marker.length; j++)
        {
            if (map.get(at + j) != marker[j])
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @return the file offset of the batch entry whose first request's payload starts with {@code marker}.
     */
    static long batchEntryStart(final Path file, final byte[] marker) throws IOException
    {
        return findUnique(file, marker) - FIRST_PAYLOAD_OFFSET;
    }

    static void flipByte(final Path file, final long position) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(position);
            final int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0xFF);
        }
    }

    static byte[] readBytes(final Path file, final long position, final int length) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r"))
        {
            final byte[] bytes = new byte[length];
            raf.seek(position);
            raf.readFully(bytes);
            return bytes;
        }
    }

    static void writeBytes(final Path file, final long position, final byte[] bytes) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(position);
            raf.write(bytes);
        }
    }

    static int readIntLe(final Path file, final long position) throws IOException
    {
        return ByteBuffer.wrap(readBytes(file, position, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    static void writeIntLe(final Path file, final long position, final int value) throws IOException
    {
        writeBytes(file, position, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
    }

    /**
     * Computes an entry's CRC32C the way the journal does, over a copy of its bytes.
     */
    static int crcOf(final byte[] entry)
    {
        return JournalFormat.crc(new CRC32C(), ByteBuffer.wrap(entry), entry.length - JournalFormat.HEADER_LENGTH);
    }

    static void assertContains(final String text, final String expected)
    {
        assertTrue(null != text && text.contains(expected), "expected <" + expected + "> in: " + text);
    }

    /**
     * One request as read back.
     */
    static final class Request
    {
        final long clientId;
        final long requestId;
        final int type;
        final int phase;
        final byte[] payload;

        Request(final long clientId, final long requestId, final int type, final int phase, final byte[] payload)
        {
            this.clientId = clientId;
            this.requestId = requestId;
            this.type = type;
            this.phase = phase;
            this.payload = payload;
        }

        @Override
        public String toString()
        {
            return "Request{client=" + clientId + ", request=" + requestId + ", type=" + type + ", phase=" + phase +
                ", payload=" + payload.length + " bytes}";
        }
    }

    /**
     * One batch entry as read back.
     */
    static final class Batch
    {
        final long index;
        final long seq;
        final int phaseCount;
        final int entryLength;
        final List<Request> requests = new ArrayList<>();

        Batch(final long index, final long seq, final int phaseCount, final int entryLength)
        {
            this.index = index;
            this.seq = seq;
            this.phaseCount = phaseCount;
            this.entryLength = entryLength;
        }
    }

    /**
     * Records every entry a read delivers, in order.
     */
    static final class Recorder implements JournalReader.Handler
    {
        final List<Batch> batches = new ArrayList<>();
        final List<long[]> commits = new ArrayList<>();
        final List<long[]> checkpoints = new ArrayList<>();
        final List<Long> indices = new ArrayList<>();

        @Override
        public void onBatch(final BatchDecoder batch, final long index)
        {
            indices.add(index);
            final Batch copy = new Batch(index, batch.seq(), batch.phaseCount(), batch.entryLength());
            assertEquals(batch.requestCount(), countOf(batch), "requests iterated");
            batch.rewind();
            while (batch.next())
            {
                final byte[] payload = new byte[batch.payload().capacity()];
                batch.payload().getBytes(0, payload);
                copy.requests.add(new Request(batch.clientId(), batch.requestId(), batch.type(), batch.phase(),
                    payload));
            }
            batches.add(copy);
        }

        private static int countOf(final BatchDecoder batch)
        {
            int count = 0;
            while (batch.next())
            {
                count++;
            }
            return count;
        }

        @Override
        public void onCommit(
            final long seq, final long root, final long replyDigest, final int requestCount, final long index)
        {
            indices.add(index);
            commits.add(new long[] {seq, root, replyDigest, requestCount, index});
        }

        @Override
        public void onCheckpoint(
            final long seq, final long root, final long journalIndex, final long requestCount, final long index)
        {
            indices.add(index);
            checkpoints.add(new long[] {seq, root, journalIndex, requestCount, index});
        }

        long[] batchSeqs()
        {
            return batches.stream().mapToLong((b) -> b.seq).toArray();
        }

        void assertIndicesIncreasing()
        {
            for (int i = 1; i < indices.size(); i++)
            {
                assertTrue(indices.get(i) > indices.get(i - 1), "indices not increasing: " + indices);
            }
        }

        @Override
        public String toString()
        {
            return "Recorder{batches=" + Arrays.toString(batchSeqs()) + ", commits=" + commits.size() +
                ", checkpoints=" + checkpoints.size() + "}";
        }
    }
}
