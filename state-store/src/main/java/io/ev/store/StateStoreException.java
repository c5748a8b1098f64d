/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

/**
 * The one exception type of the state store. Every failure names what was wrong through its
 * {@link #reason()} and message; a failed operation leaves the store unchanged.
 */
public final class StateStoreException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * Why an operation was refused.
     */
    public enum Reason
    {
        /** A configuration value is outside its allowed range. */
        INVALID_CONFIGURATION,
        /** A value is longer than the store's maximum value size. */
        VALUE_TOO_LARGE,
        /** An insert would exceed the store's maximum number of entries. */
        STORE_FULL,
        /** A writer's undo log for one batch is full. */
        UNDO_LOG_FULL,
        /** A concurrent snapshot had to keep more pre-images than its capture bound allows. */
        CAPTURE_FULL,
        /** A batch operation was called out of order (write to a closed batch, rollback below oldest open). */
        BATCH_ORDER,
        /** More writers were requested than configured. */
        TOO_MANY_WRITERS,
        /** Imported records do not reproduce the sender's digests. */
        DIGEST_MISMATCH,
        /** A frame, snapshot or store file is malformed or corrupt. */
        CORRUPT_INPUT,
        /** The store is closed. */
        CLOSED,
        /** An I/O operation failed. */
        IO_ERROR
    }

    private final Reason reason;

    /**
     * @param reason  why the operation was refused.
     * @param message what was wrong, naming the setting, key or file.
     */
    public StateStoreException(final Reason reason, final String message)
    {
        super(reason + ": " + message);
        this.reason = reason;
    }

    /**
     * @param reason  why the operation was refused.
     * @param message what was wrong.
     * @param cause   the underlying failure.
     */
    public StateStoreException(final Reason reason, final String message, final Throwable cause)
    {
        super(reason + ": " + message, cause);
        this.reason = reason;
    }

    /**
     * @return why the operation was refused.
     */
    public Reason reason()
    {
        return reason;
    }
}
