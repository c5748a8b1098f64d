/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

/**
 * The one exception type of the journal. The message names the file, position and what was wrong;
 * {@link #reason()} tells a caller what kind of failure it is without parsing text.
 */
public final class JournalException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * Why a journal operation failed.
     */
    public enum Reason
    {
        /** A setting is outside its allowed range. */
        INVALID_CONFIGURATION,
        /** Committed history is damaged (an entry fails its checks and valid entries follow it). */
        CORRUPT,
        /** An entry was written by another format version of this journal. */
        UNSUPPORTED_VERSION,
        /** The journal directory's disk has less free space than the configured minimum. */
        DISK_FULL,
        /** Appending, syncing or reading failed in the file system. */
        IO_ERROR,
        /** No checkpoint verifies and the journal does not start at the first batch. */
        NO_VALID_CHECKPOINT,
        /** Replayed state differs from what the journal says was committed. */
        TOKEN_MISMATCH,
        /** Another process holds the data directory. */
        IN_USE,
        /** The journal is closed, or stopped after an earlier failure. */
        CLOSED
    }

    private final Reason reason;

    public JournalException(final Reason reason, final String message)
    {
        super(reason + ": " + message);
        this.reason = reason;
    }

    public JournalException(final Reason reason, final String message, final Throwable cause)
    {
        super(reason + ": " + message, cause);
        this.reason = reason;
    }

    /**
     * Wraps what Chronicle Queue threw while opening or reading the journal. Chronicle rethrows checked
     * exceptions unchecked: a {@link java.io.StreamCorruptedException} (a file that is damaged or not a queue
     * file), like an {@link AssertionError} of one of Chronicle's own checks on a file's contents (with
     * {@code -ea}), is {@link Reason#CORRUPT}; anything else is {@link Reason#IO_ERROR}.
     *
     * @param what what was being done, naming the file or directory.
     * @param ex   what Chronicle threw.
     * @return the exception to throw.
     */
    public static JournalException fromQueue(final String what, final Throwable ex)
    {
        return ex instanceof JournalException ? (JournalException)ex :
            new JournalException(
                ex instanceof java.io.StreamCorruptedException || ex instanceof AssertionError ? Reason.CORRUPT :
                Reason.IO_ERROR,
                what + ": " + ex, ex);
    }

    public Reason reason()
    {
        return reason;
    }
}
