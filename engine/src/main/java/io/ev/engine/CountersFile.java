/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.io.File;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

/**
 * The engine's counters in a memory-mapped file that another process (`bin/ev stat`) reads while
 * the engine runs, as Aeron does with its CnC file: Agrona counters metadata and values behind a
 * small header.
 * <pre>
 *   0 magic "EVCNTRS1" (8) | 8 version (4) | 12 metadata length (4) | 16 values length (4)
 *  20 reserved (4) | 24 pid (8) | 32 start time, epoch ms (8) | 40 reserved (24)      = 64
 *  64 metadata buffer (metadata length) | values buffer (values length)
 * </pre>
 * The file is deleted when the engine closes; the mapping lives until it is garbage collected.
 */
public final class CountersFile implements AutoCloseable
{
    static final long MAGIC = 0x315352544E435645L; // "EVCNTRS1" little endian
    static final int VERSION = 1;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Long.BYTES;
    static final int METADATA_LENGTH_OFFSET = VERSION_OFFSET + Integer.BYTES;
    static final int VALUES_LENGTH_OFFSET = METADATA_LENGTH_OFFSET + Integer.BYTES;
    static final int PID_OFFSET = VALUES_LENGTH_OFFSET + 2 * Integer.BYTES;
    static final int START_TIME_OFFSET = PID_OFFSET + Long.BYTES;
    static final int HEADER_LENGTH = 64;
    static final int MAX_COUNTERS = 64;
    static final int VALUES_LENGTH = MAX_COUNTERS * CountersReader.COUNTER_LENGTH;
    static final int METADATA_LENGTH = MAX_COUNTERS * CountersReader.METADATA_LENGTH;

    private static final AtomicInteger ENGINES_LAUNCHED = new AtomicInteger();

    private final Path path;
    private final MappedByteBuffer mapped;
    private final CountersManager manager;

    private CountersFile(final Path path)
    {
        this.path = path;
        try
        {
            Files.createDirectories(path.getParent());
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("cannot create the counters directory " + path.getParent() + ": " + ex);
        }
        this.mapped = IoUtil.mapNewFile(path.toFile(), HEADER_LENGTH + METADATA_LENGTH + VALUES_LENGTH);
        final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
        header.putInt(VERSION_OFFSET, VERSION);
        header.putInt(METADATA_LENGTH_OFFSET, METADATA_LENGTH);
        header.putInt(VALUES_LENGTH_OFFSET, VALUES_LENGTH);
        header.putLong(PID_OFFSET, ProcessHandle.current().pid());
        header.putLong(START_TIME_OFFSET, System.currentTimeMillis());
        this.manager = new CountersManager(
            new UnsafeBuffer(mapped, HEADER_LENGTH, METADATA_LENGTH),
            new UnsafeBuffer(mapped, HEADER_LENGTH + METADATA_LENGTH, VALUES_LENGTH));
        header.putLongVolatile(MAGIC_OFFSET, MAGIC);
    }

    /**
     * Creates (or replaces) the counters file.
     */
    static CountersFile create(final Path path)
    {
        return new CountersFile(path);
    }

    CountersManager manager()
    {
        return manager;
    }

    public Path path()
    {
        return path;
    }

    /**
     * Deletes the file. The mapping itself stays valid until the buffer is collected, so the
     * engine's counters can still be read (and written by a late submit) after close.
     */
    public void close()
    {
        IoUtil.delete(path.toFile(), true);
    }

    /**
     * @return a new default file for an engine of this process:
     * {@code <tmp>/ev-engine/counters-<pid>-<n>.dat}, n counting engines launched by the process.
     */
    public static Path defaultPath()
    {
        final Path path = defaultDirectory().resolve(
            "counters-" + ProcessHandle.current().pid() + "-" + ENGINES_LAUNCHED.incrementAndGet() + ".dat");
        try
        {
            // the name holds this process's pid and a number unique in it: a file already there was left
            // by a killed process that had the same pid, and would make the new engine fail to start
            Files.deleteIfExists(path);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("cannot remove the stale counters file " + path + ": " + ex);
        }
        return path;
    }

    /**
     * @return where engines put their counters files by default.
     */
    public static Path defaultDirectory()
    {
        return Path.of(System.getProperty("java.io.tmpdir"), "ev-engine");
    }

    /**
     * Reads a counters file written by a running engine.
     *
     * @param file the counters file.
     * @param consumer receives every counter's label and value.
     * @return the pid of the engine that wrote it.
     * @throws IllegalArgumentException naming the file if it is not a counters file of this version.
     */
    public static long read(final Path file, final CounterConsumer consumer)
    {
        final File asFile = file.toFile();
        if (!asFile.isFile() || asFile.length() < HEADER_LENGTH)
        {
            throw new IllegalArgumentException("no engine counters file at " + file);
        }
        final MappedByteBuffer mapped = IoUtil.mapExistingFile(asFile, "engine counters");
        try
        {
            final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
            if (header.getLongVolatile(MAGIC_OFFSET) != MAGIC)
            {
                throw new IllegalArgumentException(file + " is not an EV engine counters file (bad magic)");
            }
            if (header.getInt(VERSION_OFFSET) != VERSION)
            {
                throw new IllegalArgumentException(file + " has counters format version " +
                    header.getInt(VERSION_OFFSET) + ", this build reads " + VERSION);
            }
            final int metadataLength = header.getInt(METADATA_LENGTH_OFFSET);
            final int valuesLength = header.getInt(VALUES_LENGTH_OFFSET);
            if (metadataLength <= 0 || valuesLength <= 0 ||
                (long)HEADER_LENGTH + metadataLength + valuesLength > mapped.capacity())
            {
                throw new IllegalArgumentException(file + " is truncated or damaged");
            }
            final CountersReader reader = new CountersReader(
                new UnsafeBuffer(mapped, HEADER_LENGTH, metadataLength),
                new UnsafeBuffer(mapped, HEADER_LENGTH + metadataLength, valuesLength));
            reader.forEach((counterId, label) -> consumer.accept(label, reader.getCounterValue(counterId)));
            return header.getLong(PID_OFFSET);
        }
        finally
        {
            IoUtil.unmap(mapped);
        }
    }

    /**
     * Receives one counter.
     */
    @FunctionalInterface
    public interface CounterConsumer
    {
        void accept(String label, long value);
    }
}
