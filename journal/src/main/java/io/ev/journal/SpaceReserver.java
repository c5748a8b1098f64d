/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.file.Path;

import net.openhft.posix.MAdviseFlag;
import net.openhft.posix.PosixAPI;

/**
 * Reserves disk blocks for a range of a file before the journal writes there through a memory
 * mapping: {@code fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length)} allocates the holes of the
 * range (never changing a byte already there, nor the file's size), so a full disk shows as a
 * synchronous error here instead of a SIGBUS on a mapped store later, which the JVM turns into an
 * asynchronous {@code InternalError} that may surface only after the write "succeeded"
 * (docs/RELIABILITY.md, "Disk faults").
 * <p>
 * Where the platform or the file system has no {@code fallocate} (no native library, EOPNOTSUPP,
 * ENOSYS), {@link #supported()} turns false and the journal relies on its free-space checks alone.
 * <p>
 * It also turns off the kernel's read-around on the mapped range the journal appends to
 * ({@link #adviseNoReadAround}): see there.
 */
final class SpaceReserver
{
    /** errno: no space left on the device. */
    static final int ENOSPC = 28;
    /** errno: disk quota exceeded. */
    static final int EDQUOT = 122;
    private static final int ENOSYS = 38;
    private static final int EOPNOTSUPP = 95;
    private static final int O_RDWR = 2;
    private static final int FALLOC_FL_KEEP_SIZE = 1;

    private final PosixAPI posix;
    private String unsupported;

    SpaceReserver()
    {
        PosixAPI api = null;
        String why = null;
        try
        {
            api = PosixAPI.posix();
        }
        catch (final RuntimeException | LinkageError ex)
        {
            why = "no native POSIX library (" + ex + ")";
        }
        this.posix = api;
        this.unsupported = why;
    }

    /**
     * @return true while reservations are made; false once the platform or file system showed it
     * cannot make them (see {@link #unsupportedReason()}).
     */
    boolean supported()
    {
        return null == unsupported;
    }

    /**
     * {@code madvise(address, length, MADV_RANDOM)}: no read-around when a page of this mapping faults. A fault on
     * a page of a shared file mapping that is not in the page cache reads the pages around it too, as many as the
     * device's {@code read_ahead_kb} (8 MiB on some virtual disks); for the pages ahead of the journal's write
     * position, reserved but never written, "reading" means zero-filling them, all on the appending thread at once.
     * The journal appends through this mapping, so it gives read-around up: each page is then zero-filled when it
     * is first touched, one at a time. A reader in the same process that shares the mapping (a primary's catch-up
     * of a returning backup) reads page by page where pages are no longer cached; recovery and replay, in a new
     * process, map the file with the kernel's default. Best effort: a platform without {@code madvise} keeps its
     * default.
     *
     * @param address the start of the mapping, page aligned.
     * @param length  its length in bytes.
     * @return true when advised.
     */
    boolean adviseNoReadAround(final long address, final long length)
    {
        if (null == posix || 0 == address || length <= 0)
        {
            return false;
        }
        try
        {
            return 0 == posix.madvise(address, length, MAdviseFlag.MADV_RANDOM);
        }
        catch (final RuntimeException | LinkageError ex)
        {
            return false;
        }
    }

    /**
     * @return why reservations are not made, or null while they are.
     */
    String unsupportedReason()
    {
        return unsupported;
    }

    /**
     * Reserves {@code [offset, offset + length)} of {@code file} (which must exist). Does nothing
     * once {@link #supported()} is false.
     *
     * @throws Failed with the errno when the file cannot be opened or the blocks cannot be allocated.
     */
    void reserve(final Path file, final long offset, final long length) throws Failed
    {
        if (null != unsupported || length <= 0)
        {
            return;
        }
        final int fd;
        try
        {
            fd = posix.open(file.toString(), O_RDWR, 0);
        }
        catch (final RuntimeException ex)
        {
            unsupported = "cannot call open(2) (" + ex + ")";
            return;
        }
        if (fd < 0)
        {
            final int errno = posix.lastError();
            throw new Failed(errno, "cannot open " + file + " to reserve space: " + describe(errno));
        }
        try
        {
            if (0 != posix.fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length))
            {
                final int errno = posix.lastError();
                if (ENOSYS == errno || EOPNOTSUPP == errno)
                {
                    unsupported = "the file system of " + file + " cannot preallocate (" + describe(errno) + ")";
                    return;
                }
                throw new Failed(errno, "cannot reserve " + length + " bytes at offset " + offset + " of " + file +
                    ": " + describe(errno));
            }
        }
        catch (final RuntimeException ex)
        {
            unsupported = "cannot call fallocate(2) (" + ex + ")";
        }
        finally
        {
            posix.close(fd);
        }
    }

    private String describe(final int errno)
    {
        String text;
        try
        {
            text = posix.strerror(errno);
        }
        catch (final RuntimeException ex)
        {
            text = null;
        }
        return "errno " + errno + (null == text ? "" : " " + text);
    }

    /**
     * A reservation the file system refused.
     */
    static final class Failed extends IOException
    {
        private static final long serialVersionUID = 1L;
        private final int errno;

        Failed(final int errno, final String message)
        {
            super(message);
            this.errno = errno;
        }

        /**
         * @return true for ENOSPC and EDQUOT: the disk (or the quota) is full.
         */
        boolean diskFull()
        {
            return ENOSPC == errno || EDQUOT == errno;
        }
    }
}
