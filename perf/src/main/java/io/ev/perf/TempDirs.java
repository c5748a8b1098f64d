/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Temporary data directories of the journal benchmarks: created under {@code java.io.tmpdir},
 * deleted with everything in them.
 */
final class TempDirs
{
    private TempDirs()
    {
    }

    /**
     * @param prefix name prefix.
     * @return a new empty directory under {@code java.io.tmpdir}.
     */
    static Path create(final String prefix)
    {
        try
        {
            return Files.createTempDirectory(prefix);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create a temporary directory " + prefix + "*", ex);
        }
    }

    /**
     * Deletes {@code dir} and everything under it; nothing if it does not exist.
     *
     * @param dir directory to delete; may be null.
     */
    static void delete(final Path dir)
    {
        if (null == dir || !Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            for (final Path path : (Iterable<Path>)paths.sorted(Comparator.reverseOrder())::iterator)
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot delete " + dir, ex);
        }
    }
}
