/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

/**
 * A named step of the commit protocol at which {@link CrashPoints} can halt the process (or, in a
 * simulation, crash the replica that reaches it). Where the hook sits: docs/RELIABILITY.md, "Crash
 * points". A step both roles take has one point per role; a standalone node reaches none.
 */
public enum CrashPoint
{
    /** Primary batcher: requests drained from the ring into a batch, not yet journaled. */
    PRIMARY_RECEIVED,
    /** Primary batcher: the batch entry appended to the journal, not yet shipped or executed. */
    PRIMARY_JOURNALED,
    /** Primary replicator: the BATCH sent to the backup, not yet executed here. */
    PRIMARY_SHIPPED,
    /** Primary, parallel execution: the phases ran, failure isolation, client records and seal not yet. */
    PRIMARY_MID_EXECUTION,
    /** Primary replicator: a batch executed (or re-executed) and sealed, its token not yet compared. */
    PRIMARY_SEALED,
    /** Primary replicator: a current TOKEN from the backup, not yet compared. */
    PRIMARY_TOKEN_RECEIVED,
    /** Primary replicator: a mismatch; DECISION re-execute sent, batches rolled back, not yet re-executed. */
    PRIMARY_MID_ROLLBACK,
    /** Primary, sequential (re-)execution: the requests ran, failure isolation, client records and seal not yet. */
    PRIMARY_MID_REEXECUTION,
    /** Primary replicator: tokens equal, DECISION commit sent; not committed here, no commit marker. */
    PRIMARY_VERIFIED,
    /** Primary batcher: commit marker journaled and the batch's replies handed to the clients. */
    PRIMARY_REPLY_RELEASED,
    /** Primary checkpoint: the checkpoint's journal record written, its file not yet renamed into place. */
    PRIMARY_MID_CHECKPOINT,
    /** Backup replicator: a BATCH accepted into the window, not yet executed. */
    BACKUP_RECEIVED,
    /** Backup parallel execution: the phases ran, failure isolation, client records and seal not yet. */
    BACKUP_MID_EXECUTION,
    /** Backup replicator: a batch executed (or re-executed) and sealed, its token not yet sent. */
    BACKUP_SEALED,
    /** Backup replicator: a TOKEN sent to the primary. */
    BACKUP_TOKEN_SENT,
    /** Backup replicator: DECISION re-execute received, batches rolled back, not yet re-executed. */
    BACKUP_MID_ROLLBACK,
    /** Backup, sequential (re-)execution: the requests ran, failure isolation, client records and seal not yet. */
    BACKUP_MID_REEXECUTION,
    /** Backup replicator: the primary's commit learned (decision or last committed seq), not yet committed here. */
    BACKUP_VERIFIED,
    /** Backup: the committed batch's entry appended to its journal, its commit marker not yet. */
    BACKUP_JOURNALED,
    /** Backup checkpoint: the checkpoint's journal record written, its file not yet renamed into place. */
    BACKUP_MID_CHECKPOINT;

    /**
     * @return the exit status of a process halted at this point: {@link CrashPoints#EXIT_STATUS_BASE} +
     * ordinal, distinct per point and from the node's other statuses.
     */
    public int exitStatus()
    {
        return CrashPoints.EXIT_STATUS_BASE + ordinal();
    }

    /**
     * @return true for a point of the primary role.
     */
    public boolean primary()
    {
        return name().startsWith("PRIMARY_");
    }
}
