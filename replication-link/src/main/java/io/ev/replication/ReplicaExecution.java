/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.ev.journal.BatchDecoder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * What the replication protocol asks of one replica's local state: execute a batch (in parallel,
 * or sequentially in batch order), report its token, roll back, commit, and repair by record
 * transfer. The engine implements it over its store and executors; tests over a model. Called on
 * the protocol's thread only. Up to {@code maxInFlightBatches} batches may be open at once
 * (pipelining): each executes on top of the newest open one; they commit oldest first, and a
 * rollback undoes a batch with every later one.
 */
public interface ReplicaExecution
{
    /**
     * Begins batch {@code seq} (the one after the newest open batch, or after the last committed one
     * when none is open), executes the batch's requests (phases in parallel, or every request in
     * batch order when {@code sequential}) on top of the open batches, and seals.
     */
    void execute(long seq, BatchDecoder batch, boolean sequential);

    /**
     * @return the state root after the newest open batch (as sealed), or of the committed state when
     * none is open.
     */
    long root();

    /** @return the digest of the newest open batch's replies in batch order. */
    long replyDigest();

    /**
     * Undoes the open batch {@code seq} and every later open batch, newest first; {@code seq} may be
     * executed again.
     */
    void rollback(long seq);

    /** Commits the oldest open batch, {@code seq}: its replies may be released. */
    void commit(long seq);

    /** @return the last committed batch, -1 if none. */
    long lastCommittedSeq();

    /**
     * Calls {@code consumer} with every key the open batch {@code seq} wrote, each once, with the
     * current digest of the key's page.
     */
    void forEachWrittenKey(long seq, KeyConsumer consumer);

    /** @return the current digest of the page {@code key} belongs to. */
    long pageDigestOf(long key);

    /** @return the largest export frame for {@code keys} keys. */
    int maxExportLength(int keys);

    /**
     * Writes this replica's current values (or absence) of {@code keys[0..count)} as a repair frame.
     *
     * @return the frame's length.
     */
    int exportRecords(long[] keys, int count, MutableDirectBuffer dst, int offset);

    /**
     * Applies a peer's repair frame inside the newest open batch {@code seq} (verified against the
     * peer's page digests before anything is written) and seals again.
     */
    void importRecords(long seq, DirectBuffer src, int offset, int length);

    /**
     * @return a digest of this replica's configuration that must equal its peer's for equal batches to
     * give equal states (the application's transaction types, request deduplication, ...): a pair whose
     * digests differ is refused at HELLO, naming both, instead of diverging on every batch. 0 when the
     * execution has nothing to compare.
     */
    default long configurationDigest()
    {
        return 0;
    }

    /** @return the number of digest pages (both replicas must use the same). */
    int pageCount();

    /** @return the current digest of {@code page}. */
    long pageDigest(int page);

    /**
     * Writes a repair frame of complete pages: every record this replica holds in
     * {@code pages[0..count)} (ascending) with the pages' digests. No batch may be open. {@code dst}
     * may grow (an expandable buffer).
     *
     * @return the frame's length.
     */
    int exportPages(int[] pages, int count, MutableDirectBuffer dst, int offset);

    /**
     * Rejoin: replaces this replica's records in the frame's pages with the frame's (verified
     * against the sender's page digests before anything is written) and commits the change. No
     * batch may be open.
     */
    void importPages(DirectBuffer src, int offset, int length);

    /**
     * Rejoin: after a complete transfer this replica's state is the peer's after batch {@code seq},
     * into which {@code requests} requests were executed; the next batch is {@code seq + 1}.
     */
    void adoptCommittedSeq(long seq, long requests);

    /**
     * Journal catch-up (a primary serving a rejoining backup): whether this replica can ship the
     * committed batches {@code fromSeq .. lastCommittedSeq()} from its journal and knows the root after
     * batch {@code fromSeq - 1} and after each of them ({@link #committedRoot(long)}).
     *
     * @return false by default (no journal): the backup syncs pages instead.
     */
    default boolean canServeCatchUp(final long fromSeq)
    {
        return false;
    }

    /**
     * @return the root after committed batch {@code seq}, as journaled in its commit marker; only for
     * seqs {@link #canServeCatchUp(long)} covers (and the one before).
     */
    default long committedRoot(final long seq)
    {
        throw new UnsupportedOperationException("no journal catch-up");
    }

    /**
     * Writes the journal's entry of committed batch {@code seq} (header + body, as a BATCH message
     * carries it) at {@code dst[offset..]}; {@code dst} may grow (an expandable buffer).
     *
     * @return the entry's length, or -1 when the journal no longer holds it (the catch-up is refused).
     */
    default int committedBatch(final long seq, final MutableDirectBuffer dst, final int offset)
    {
        throw new UnsupportedOperationException("no journal catch-up");
    }

    /** @return the requests executed into the committed state (carried by HELLO, for reports). */
    long requestsInState();

    /**
     * Receives (key, page digest) pairs.
     */
    @FunctionalInterface
    interface KeyConsumer
    {
        void accept(long key, long pageDigest);
    }
}
