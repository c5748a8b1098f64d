/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.StateStoreException.Reason.BATCH_ORDER;
import static io.ev.store.StateStoreException.Reason.CLOSED;
import static io.ev.store.StateStoreException.Reason.INVALID_CONFIGURATION;
import static io.ev.store.StateStoreException.Reason.IO_ERROR;
import static io.ev.store.StateStoreException.Reason.STORE_FULL;
import static io.ev.store.StateStoreException.Reason.TOO_MANY_WRITERS;
import static io.ev.store.StateStoreException.Reason.VALUE_TOO_LARGE;

/**
 * Versioned off-heap record store: 64-bit keys to bounded byte values in one Chronicle Map, with
 * incremental page digests, a Merkle tree over them, and per-batch undo.
 * <ul>
 *   <li>page = {@code mix(key) & (pageCount - 1)}; page digest = sum mod 2^64 of the record hashes
 *       of its live records, kept with an atomic add on every write, so it depends only on the
 *       final contents, never on how concurrent writers interleaved;</li>
 *   <li>batches: {@link #begin(long)} opens batch seq, writers write inside the newest open batch,
 *       {@link #seal(long)} recomputes the Merkle paths of dirty pages and returns the root,
 *       {@link #commit(long)} frees the oldest batch's undo, {@link #rollback(long)} undoes every
 *       batch >= seq newest-first. Up to {@code maxOpenBatches} may be open (pipelining);</li>
 *   <li>repair: {@link #diffPages}, {@link #exportRecords}, {@link #importRecords}; whole-store
 *       transfer with {@link #exportSnapshot(Path)} and {@link #importSnapshot(Path, long)};
 *       state transfer of the differing pages (a rejoining replica): {@link #keysInPages} and
 *       {@link #exportPages} on the peer, {@link #importRecords} then {@link #adoptCommittedSeq}
 *       on the receiver.</li>
 * </ul>
 * Threads: any number of {@link StoreWriter}s (one per thread) read and write concurrently;
 * batch control (begin/seal/commit/rollback/import/export/close) is called by one coordinator
 * thread while no writer runs, ordered after the writers by the pipeline's batch barrier.
 */
public final class StateStore implements AutoCloseable
{
    /** Sentinel: no batch. */
    public static final long NULL_SEQ = -1;
    /** Returned by get for a key without a value. */
    public static final int MISSING = -1;

    static final int PAGE_DIGEST_OFFSET = 0;
    static final int PAGE_VERSION_OFFSET = PAGE_DIGEST_OFFSET + Long.BYTES;
    static final int PAGE_DIRTY_EPOCH_OFFSET = PAGE_VERSION_OFFSET + Long.BYTES;
    static final int PAGE_LENGTH = PAGE_DIRTY_EPOCH_OFFSET + 2 * Long.BYTES;
    static final int CACHE_LINE_LENGTH = 64;

    private final Context ctx;
    private final ChronicleMap<Long, byte[]> map;
    private final int pageCount;
    private final int pageMask;
    /**
     * Per-page metadata, one 32-byte record per page so that a write touches one cache line:
     * <pre>
     *  +---------------+------------------------+------------------+-------------+
     *  | digest (8)    | version + 1 (8, 0=none)| dirty epoch (8)  | reserved (8)|
     *  +---------------+------------------------+------------------+-------------+
     * </pre>
     */
    private final UnsafeBuffer pages;
    private final int[] dirtyPages;
    private final AtomicInteger dirtyCount = new AtomicInteger();
    private final MerkleTree tree;
    private final AtomicLong entryCount = new AtomicLong();
    private final StoreWriter[] writers;
    private final StoreWriter control;
    private ConcurrentSnapshot snapshot;
    /** Keys by page for complete-page imports, built on the first; see {@link #pageIndex(boolean)}. */
    private PageIndex pageIndex;
    private final AtomicInteger writersCreated = new AtomicInteger();
    private final StoreMetadata metadata;
    private final boolean openedClean;

    private volatile long dirtyEpoch = 1;
    private volatile long newestOpenSeq = NULL_SEQ;
    private int newestOpenSlot;
    private volatile boolean closed;
    private long oldestOpenSeq = NULL_SEQ;
    private long lastCommittedSeq = NULL_SEQ;

    private StateStore(final Context ctx)
    {
        this.ctx = ctx;
        this.pageCount = ctx.pageCount();
        this.pageMask = pageCount - 1;
        this.pages = new UnsafeBuffer(BufferUtil.allocateDirectAligned(pageCount * PAGE_LENGTH, CACHE_LINE_LENGTH));
        this.dirtyPages = new int[pageCount];
        this.tree = new MerkleTree(pages, PAGE_LENGTH, pageCount);
        this.writers = new StoreWriter[ctx.writers()];
        this.metadata = null == ctx.file() ? null : new StoreMetadata(ctx.file());
        final boolean existed = null != ctx.file() && Files.exists(ctx.file());
        if (existed)
        {
            metadata.readAndCheck(ctx);
        }
        this.map = createMap(ctx);
        this.control = new StoreWriter(this, ctx.writers(), newUndoLog(), ctx.maxValueBytes());
        boolean clean = true;
        try
        {
            if (existed)
            {
                clean = metadata.cleanClose();
                StoreScan.rebuild(this, clean, metadata.root());
                lastCommittedSeq = metadata.lastCommittedSeq();
            }
            tree.recomputeAll();
            if (null != metadata)
            {
                metadata.write(ctx, false, tree.root(), lastCommittedSeq);
            }
        }
        catch (final RuntimeException ex)
        {
            map.close();
            throw ex;
        }
        this.openedClean = clean;
    }

    /**
     * Opens a store: in memory, or persisted to {@link Context#file(Path)} (reopened if it exists).
     *
     * @param ctx bounds and options, validated here.
     * @return the open store.
     */
    public static StateStore open(final Context ctx)
    {
        ctx.conclude();
        return new StateStore(ctx);
    }

    private static ChronicleMap<Long, byte[]> createMap(final Context ctx)
    {
        final ChronicleMapBuilder<Long, byte[]> builder = ChronicleMapBuilder.of(Long.class, byte[].class)
            .name("ev-state-store")
            .entries(ctx.maxEntries())
            .averageValueSize(ctx.averageValueBytes() + RecordLayout.TRAILER_LENGTH)
            .maxBloatFactor(MAX_BLOAT_FACTOR)
            // the owner closes the store (StateStore.close); Chronicle's own exit hook would close the
            // map under threads still using it during a JVM shutdown (SIGTERM of a serving node)
            .skipCloseOnExitHook(true);
        try
        {
            return null == ctx.file() ? builder.create() : builder.createPersistedTo(ctx.file().toFile());
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new StateStoreException(IO_ERROR, "cannot open store file " + ctx.file() + ": " + ex, ex);
        }
    }

    private static final double MAX_BLOAT_FACTOR = 1.0;

    /**
     * Creates the writer for one thread; at most {@link Context#writers(int)} may be created.
     *
     * @return a new writer with its own undo log.
     */
    public StoreWriter newWriter()
    {
        checkOpen();
        final int id = writersCreated.getAndIncrement();
        if (id >= writers.length)
        {
            writersCreated.decrementAndGet();
            throw new StateStoreException(
                TOO_MANY_WRITERS, "all " + writers.length + " writers are in use (setting writers)");
        }
        final UndoLog log = newUndoLog();
        final long newest = newestOpenSeq;
        if (NULL_SEQ != newest)
        {
            for (long seq = oldestOpenSeq; seq <= newest; seq++)
            {
                log.reset(slot(seq), seq);
            }
        }
        final StoreWriter writer = new StoreWriter(this, id, log, ctx.maxValueBytes());
        writers[id] = writer;
        return writer;
    }

    private UndoLog newUndoLog()
    {
        return new UndoLog(ctx.maxOpenBatches(), ctx.undoBytesPerBatch());
    }

    /**
     * Opens batch {@code seq}: the first batch after a commit or rollback, or the one after the
     * newest open batch, which must have been sealed.
     */
    public void begin(final long seq)
    {
        checkOpen();
        final long newest = newestOpenSeq;
        if (NULL_SEQ != newest)
        {
            if (seq != newest + 1)
            {
                throw new StateStoreException(BATCH_ORDER, "begin(" + seq + "): next batch must be " + (newest + 1));
            }
            if (seq - oldestOpenSeq >= ctx.maxOpenBatches())
            {
                throw new StateStoreException(BATCH_ORDER, "begin(" + seq + "): " + ctx.maxOpenBatches() +
                    " batches already open (setting maxOpenBatches); commit or roll back first");
            }
            if (dirtyCount.get() != 0)
            {
                throw new StateStoreException(BATCH_ORDER, "begin(" + seq + "): batch " + newest + " is not sealed");
            }
        }
        else if (seq <= lastCommittedSeq || seq < 0)
        {
            throw new StateStoreException(BATCH_ORDER, "begin(" + seq + "): seq must be > last committed " +
                lastCommittedSeq + " and >= 0");
        }
        final int slot = slot(seq);
        control.undoLog().reset(slot, seq);
        for (final StoreWriter writer : writers)
        {
            if (null != writer)
            {
                writer.undoLog().reset(slot, seq);
            }
        }
        if (NULL_SEQ == newest)
        {
            oldestOpenSeq = seq;
        }
        newestOpenSlot = slot;
        newestOpenSeq = seq;
    }

    /**
     * Recomputes the Merkle paths of pages written since the last seal and returns the root.
     * May be called again for the same batch after more writes (repair).
     *
     * @param seq the newest open batch.
     * @return the state root after the batch.
     */
    public long seal(final long seq)
    {
        checkOpen();
        if (seq != newestOpenSeq || NULL_SEQ == seq)
        {
            throw new StateStoreException(BATCH_ORDER, "seal(" + seq + "): newest open batch is " + newestOpenSeq);
        }
        recomputeDirty();
        return tree.root();
    }

    /**
     * Commits the oldest open batch: frees its undo and the records it deleted.
     */
    public void commit(final long seq)
    {
        checkOpen();
        if (NULL_SEQ == newestOpenSeq || seq != oldestOpenSeq)
        {
            throw new StateStoreException(BATCH_ORDER, "commit(" + seq + "): oldest open batch is " +
                (NULL_SEQ == newestOpenSeq ? "none" : Long.toString(oldestOpenSeq)));
        }
        if (seq == newestOpenSeq && dirtyCount.get() != 0)
        {
            throw new StateStoreException(BATCH_ORDER, "commit(" + seq + "): batch has writes not sealed");
        }
        final int slot = slot(seq);
        // a key deleted by one writer may have been first written (and logged) by another
        boolean tombstones = control.undoLog().hasTombstones(slot);
        for (final StoreWriter writer : writers)
        {
            tombstones |= null != writer && writer.undoLog().hasTombstones(slot);
        }
        if (tombstones)
        {
            purgeTombstones(control.undoLog(), slot, seq);
        }
        captureForSnapshot(slot, seq);
        for (final StoreWriter writer : writers)
        {
            if (null != writer)
            {
                if (tombstones)
                {
                    purgeTombstones(writer.undoLog(), slot, seq);
                }
                writer.undoLog().reset(slot, NULL_SEQ);
            }
        }
        control.undoLog().reset(slot, NULL_SEQ);
        lastCommittedSeq = seq;
        if (seq == newestOpenSeq)
        {
            oldestOpenSeq = NULL_SEQ;
            newestOpenSeq = NULL_SEQ;
        }
        else
        {
            oldestOpenSeq = seq + 1;
        }
    }

    private void captureForSnapshot(final int slot, final long seq)
    {
        final ConcurrentSnapshot snapshot = this.snapshot;
        if (null != snapshot)
        {
            captureSlot(snapshot, control.undoLog(), slot, seq);
            for (final StoreWriter writer : writers)
            {
                if (null != writer)
                {
                    captureSlot(snapshot, writer.undoLog(), slot, seq);
                }
            }
        }
    }

    private static void captureSlot(
        final ConcurrentSnapshot snapshot, final UndoLog log, final int slot, final long seq)
    {
        for (int entry = log.start(slot), end = log.end(slot); entry < end; entry = log.next(entry))
        {
            snapshot.capture(seq, log.key(entry), log.oldRecordAddress(entry), log.oldRecordLength(entry));
        }
    }

    /**
     * Starts a snapshot of the state after the last committed batch that later batches do not
     * wait for (copy-on-write of the records they modify; see {@link ConcurrentSnapshot}). No batch
     * may be open. Run {@link ConcurrentSnapshot#scan()} on any thread, then call
     * {@link #freezeSnapshot()} at a batch boundary, then {@link ConcurrentSnapshot#finish()}.
     *
     * @param file            where the snapshot goes (plus a temporary {@code <file>.scan}).
     * @param tag             recorded in the header, as {@link #exportSnapshot(Path, long)}.
     * @param maxCaptureBytes bound on the pre-images kept for records modified during the scan.
     */
    public ConcurrentSnapshot beginConcurrentSnapshot(final Path file, final long tag, final long maxCaptureBytes)
    {
        checkOpen();
        checkNoOpenBatch("beginConcurrentSnapshot");
        if (null != snapshot)
        {
            throw new StateStoreException(BATCH_ORDER, "a snapshot of batch " + snapshot.seq() + " is in progress");
        }
        snapshot = new ConcurrentSnapshot(this, file, tag, lastCommittedSeq, tree.root(), maxCaptureBytes);
        return snapshot;
    }

    /**
     * Stops the capture of the snapshot in progress, once its scan is done, with no batch open.
     */
    public void freezeSnapshot()
    {
        checkOpen();
        checkNoOpenBatch("freezeSnapshot");
        if (null == snapshot || !snapshot.scanDone())
        {
            throw new StateStoreException(BATCH_ORDER, null == snapshot ? "no snapshot in progress" :
                "the scan of the snapshot of batch " + snapshot.seq() + " is not done");
        }
        snapshot.freeze();
        snapshot = null;
    }

    /**
     * Abandons the snapshot in progress, if any (its files are deleted).
     */
    public void abortSnapshot()
    {
        if (null != snapshot)
        {
            snapshot.abort();
            snapshot = null;
        }
    }

    private void purgeTombstones(final UndoLog log, final int slot, final long seq)
    {
        for (int entry = log.start(slot), end = log.end(slot); entry < end; entry = log.next(entry))
        {
            control.purgeTombstone(log.key(entry), seq);
        }
    }

    /**
     * Undoes every open batch >= {@code seq}, newest first: contents, page digests, versions and
     * the Merkle tree return to their state before batch {@code seq}. The batches are closed and
     * {@code seq} may be begun again.
     */
    public void rollback(final long seq)
    {
        checkOpen();
        final long newest = newestOpenSeq;
        if (NULL_SEQ == newest || seq < oldestOpenSeq || seq > newest)
        {
            throw new StateStoreException(BATCH_ORDER, "rollback(" + seq + "): open batches are " +
                (NULL_SEQ == newest ? "none" : "[" + oldestOpenSeq + ", " + newest + "]") +
                (NULL_SEQ != newest && seq < oldestOpenSeq ? " (below the oldest open batch)" : ""));
        }
        for (long batch = newest; batch >= seq; batch--)
        {
            final int slot = slot(batch);
            captureForSnapshot(slot, batch);
            undoSlot(control.undoLog(), slot);
            for (final StoreWriter writer : writers)
            {
                if (null != writer)
                {
                    undoSlot(writer.undoLog(), slot);
                    writer.undoLog().reset(slot, NULL_SEQ);
                }
            }
            control.undoLog().reset(slot, NULL_SEQ);
        }
        recomputeDirty();
        if (seq == oldestOpenSeq)
        {
            oldestOpenSeq = NULL_SEQ;
            newestOpenSeq = NULL_SEQ;
        }
        else
        {
            newestOpenSlot = slot(seq - 1);
            newestOpenSeq = seq - 1;
        }
    }

    private void undoSlot(final UndoLog log, final int slot)
    {
        final int start = log.start(slot);
        for (int end = log.end(slot); end > start; )
        {
            final int entry = log.previous(end);
            control.undo(log, entry, lastCommittedSeq);
            end = entry;
        }
    }

    /**
     * Calls {@code consumer} with every key written in open batch {@code seq}, each once, on
     * every writer: the candidates for repair after a divergence in that batch.
     */
    public void forEachWrittenKey(final long seq, final LongConsumer consumer)
    {
        checkOpen();
        if (NULL_SEQ == newestOpenSeq || seq < oldestOpenSeq || seq > newestOpenSeq)
        {
            throw new StateStoreException(BATCH_ORDER, "batch " + seq + " is not open");
        }
        final int slot = slot(seq);
        forEachKey(control.undoLog(), slot, consumer);
        for (final StoreWriter writer : writers)
        {
            if (null != writer)
            {
                forEachKey(writer.undoLog(), slot, consumer);
            }
        }
    }

    private static void forEachKey(final UndoLog log, final int slot, final LongConsumer consumer)
    {
        for (int entry = log.start(slot), end = log.end(slot); entry < end; entry = log.next(entry))
        {
            consumer.accept(log.key(entry));
        }
    }

    /**
     * Lists the pages whose digests differ from {@code other}'s, walking both trees top-down.
     *
     * @param other the peer's tree (same page count).
     * @param differingPages receives page indexes in ascending order.
     */
    public void diffPages(final DigestTree other, final IntArrayList differingPages)
    {
        checkOpen();
        tree.diff(other, differingPages);
    }

    /**
     * @return the maximum length of an {@link #exportRecords} frame for {@code keyCount} keys.
     */
    public int maxExportLength(final int keyCount)
    {
        return RecordsCodec.maxLength(keyCount, ctx.maxValueBytes());
    }

    /**
     * Writes the current values of {@code keys} (absent keys as deletions) and the current
     * digests of their pages into one frame (layout in docs/formats.md).
     *
     * @return the frame length.
     */
    public int exportRecords(final long[] keys, final int count, final MutableDirectBuffer dst, final int offset)
    {
        checkOpen();
        return RecordsCodec.encode(this, control, keys, count, dst, offset);
    }

    /**
     * Imports a frame from {@link #exportRecords} or {@link #exportPages} into open batch {@code seq}
     * (so it can be rolled back with the batch), after verifying that the result reproduces the
     * sender's digest of every page the frame covers. A frame of {@link #exportPages} ("complete
     * pages") also deletes this store's keys in its pages that the frame does not hold, so that each
     * of its pages then holds exactly the frame's records; its verification needs only the frame
     * (a page digest is the sum of its records' hashes). The first such import scans the map once
     * to index this store's keys by page; later ones reuse the index while it is current (checked
     * per page against the page digest, rebuilt otherwise) until {@link #adoptCommittedSeq}.
     * On any failure the store is unchanged.
     */
    public void importRecords(final long seq, final DirectBuffer src, final int offset, final int length)
    {
        checkOpen();
        checkWritable(seq);
        RecordsCodec.decodeAndApply(this, control, seq, src, offset, length);
    }

    /**
     * Appends every committed key whose page is in {@code pages} to {@code out}, grouped by page in
     * ascending page order, keys ascending within a page: one scan of the map and a counting sort.
     * No batch may be open. Memory: 16 bytes per key found, transiently.
     *
     * @param pages pages in [0, {@link #pageCount()}).
     * @param out   receives the keys (appended).
     */
    public void keysInPages(final IntHashSet pages, final LongArrayList out)
    {
        checkOpen();
        checkNoOpenBatch("keysInPages");
        for (final IntHashSet.IntIterator it = pages.iterator(); it.hasNext(); )
        {
            final int page = it.nextValue();
            if (page < 0 || page >= pageCount)
            {
                throw new IllegalArgumentException("keysInPages: page " + page + " outside [0, " + pageCount + ")");
            }
        }
        if (!pages.isEmpty())
        {
            PageIndex.build(this, pages, true, true).appendTo(out);
        }
    }

    /**
     * @return the maximum length of an {@link #exportPages} frame of {@code pageCount} pages and
     * {@code keyCount} keys (IllegalArgumentException if that may exceed 2^31 - 1 bytes).
     */
    public int maxExportPagesLength(final int pageCount, final int keyCount)
    {
        return RecordsCodec.maxPagesLength(pageCount, keyCount, ctx.maxValueBytes());
    }

    /**
     * Writes a "complete pages" frame (layout in docs/formats.md): exactly {@code pages[0, pageCount)},
     * strictly ascending, each with this store's digest (pages without keys included), and the records
     * of {@code keys[0, keyCount)}, which must be every key this store holds in those pages (as
     * {@link #keysInPages} lists them; one frame may carry any subset of its pages with their keys).
     * A receiver's {@link #importRecords} of it leaves exactly these records in those pages. No
     * batch may be open: the frame is the state as of {@link #lastCommittedSeq()}.
     * <p>
     * {@code dst} must hold {@link #maxExportPagesLength(int, int)} bytes from {@code offset}, or
     * grow ({@link MutableDirectBuffer#checkLimit(int)}: an expandable buffer grows as needed).
     *
     * @return the frame length.
     * @throws IllegalArgumentException if the pages are not ascending, or a key is outside them or repeated.
     * @throws StateStoreException      {@code DIGEST_MISMATCH} if the keys are not exactly the pages'
     *                                  keys (their records do not sum to the page digests).
     */
    public int exportPages(
        final int[] pages,
        final int pageCount,
        final long[] keys,
        final int keyCount,
        final MutableDirectBuffer dst,
        final int offset)
    {
        checkOpen();
        checkNoOpenBatch("exportPages");
        return RecordsCodec.encodePages(this, control, pages, pageCount, keys, keyCount, dst, offset);
    }

    /**
     * Ends a state transfer: sets the last committed batch to {@code seq}, any value >= -1 ({@link #NULL_SEQ}),
     * lower or higher than now, because this store's state now equals the peer's state as of its
     * batch {@code seq}; the next batch begun must be above it. No batch may be open and no
     * snapshot in progress. Frees the page index of complete-page imports.
     * <p>
     * Records and pages carry the seq of the batch that last wrote them; a version above the last
     * committed seq would keep a later batch of that seq from saving the record's pre-image, so
     * versions above {@code seq} are lowered to {@code seq} (one scan of the map, only if some page
     * was written by a batch above {@code seq}). Like {@link #commit}, the new seq reaches a
     * persisted store's metadata at its next clean {@link #close()} (after an unclean close the
     * store is restored from a checkpoint anyway) and a snapshot's header on its next export.
     */
    public void adoptCommittedSeq(final long seq)
    {
        checkOpen();
        checkNoOpenBatch("adoptCommittedSeq");
        if (seq < NULL_SEQ)
        {
            throw new StateStoreException(BATCH_ORDER, "adoptCommittedSeq(" + seq + "): seq must be >= " + NULL_SEQ);
        }
        if (null != snapshot)
        {
            throw new StateStoreException(BATCH_ORDER, "adoptCommittedSeq(" + seq + "): a snapshot of batch " +
                snapshot.seq() + " is in progress; freeze or abort it first");
        }
        pageIndex = null;
        if (newestPageVersion() > seq)
        {
            final LongArrayList keys = StoreScan.keysWrittenAfter(this, seq);
            for (int i = 0, size = keys.size(); i < size; i++)
            {
                control.lowerVersion(keys.getLong(i), seq);
            }
            for (int index = 0, end = pageCount * PAGE_LENGTH; index < end; index += PAGE_LENGTH)
            {
                if (pages.getLong(index + PAGE_VERSION_OFFSET) - 1 > seq)
                {
                    pages.putLong(index + PAGE_VERSION_OFFSET, seq + 1);
                }
            }
        }
        lastCommittedSeq = seq;
    }

    private long newestPageVersion()
    {
        long newest = NULL_SEQ;
        for (int index = 0, end = pageCount * PAGE_LENGTH; index < end; index += PAGE_LENGTH)
        {
            newest = Math.max(newest, pages.getLong(index + PAGE_VERSION_OFFSET) - 1);
        }
        return newest;
    }

    /**
     * Writes every committed record, with the root, to a snapshot file (layout in docs/formats.md).
     * No batch may be open.
     *
     * @return the root of the exported state.
     */
    public long exportSnapshot(final Path file)
    {
        return exportSnapshot(file, 0);
    }

    /**
     * As {@link #exportSnapshot(Path)}, recording {@code tag} (e.g. a journal position) in the
     * checksummed header, returned by {@link #importSnapshot(Path, long)}.
     */
    public long exportSnapshot(final Path file, final long tag)
    {
        checkOpen();
        checkNoOpenBatch("exportSnapshot");
        return SnapshotFile.write(this, file, tag);
    }

    /**
     * Reads a snapshot file's header only (magic and version checked, body not verified).
     *
     * @return {root, last committed seq, tag}.
     */
    public static long[] readSnapshotHeader(final Path file)
    {
        return SnapshotFile.readHeader(file);
    }

    /**
     * Replaces the whole contents with a snapshot file's, after checking its checksum, bounds and
     * that its records reproduce its root (and {@code expectedRoot} unless {@link #NULL_SEQ}).
     * No batch may be open. On any failure the store is unchanged.
     *
     * @return the tag the snapshot was written with.
     */
    public long importSnapshot(final Path file, final long expectedRoot)
    {
        checkOpen();
        checkNoOpenBatch("importSnapshot");
        if (null != snapshot)
        {
            throw new StateStoreException(BATCH_ORDER, "importSnapshot: a snapshot of batch " + snapshot.seq() +
                " is in progress; abort it first");
        }
        pageIndex = null;
        return SnapshotFile.read(this, control, file, expectedRoot);
    }

    private void checkNoOpenBatch(final String operation)
    {
        if (NULL_SEQ != newestOpenSeq)
        {
            throw new StateStoreException(BATCH_ORDER, operation + ": batches [" + oldestOpenSeq + ", " +
                newestOpenSeq + "] are open; commit or roll back first");
        }
    }

    /**
     * @return the Merkle root as of the last seal, rollback or import.
     */
    public long root()
    {
        return tree.root();
    }

    /**
     * @return a read-only view of this store's Merkle tree (live: reflects later seals).
     */
    public DigestTree digestTree()
    {
        return tree;
    }

    /**
     * @return the page a key belongs to.
     */
    public int page(final long key)
    {
        return (int)RecordLayout.mix(key) & pageMask;
    }

    public int pageCount()
    {
        return pageCount;
    }

    /**
     * @return the digest of a page (sum of its live record hashes), current to the last write.
     */
    public long pageDigest(final int page)
    {
        return pages.getLongVolatile(page * PAGE_LENGTH + PAGE_DIGEST_OFFSET);
    }

    /**
     * @return the seq of the last batch that changed the page, {@link #NULL_SEQ} if none.
     */
    public long pageVersion(final int page)
    {
        return pages.getLongVolatile(page * PAGE_LENGTH + PAGE_VERSION_OFFSET) - 1;
    }

    /**
     * @return physical entries: live records plus records deleted by still-open batches.
     */
    public long size()
    {
        return entryCount.get();
    }

    public long newestOpenSeq()
    {
        return newestOpenSeq;
    }

    public long oldestOpenSeq()
    {
        return NULL_SEQ == newestOpenSeq ? NULL_SEQ : oldestOpenSeq;
    }

    public long lastCommittedSeq()
    {
        return lastCommittedSeq;
    }

    /**
     * @return false if this persisted store was not closed cleanly: it may hold writes of batches
     * that never committed, and must be restored from a checkpoint and the journal.
     */
    public boolean openedClean()
    {
        return openedClean;
    }

    public Context context()
    {
        return ctx;
    }

    /**
     * Rolls back any open batch, records a clean close for a persisted store, and frees the map.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        if (NULL_SEQ != newestOpenSeq)
        {
            rollback(oldestOpenSeq);
        }
        abortSnapshot(); // the caller must have stopped a scan thread first
        closed = true;
        pageIndex = null;
        try
        {
            if (null != metadata)
            {
                metadata.write(ctx, true, tree.root(), lastCommittedSeq);
            }
        }
        finally
        {
            map.close();
        }
    }

    // ---------------------------------------------------------------- package-private for writers

    ExternalMapQueryContext<Long, byte[], ?> queryContext(final BytesStore<?, ?> keyStore)
    {
        return map.queryContext(keyStore, RecordLayout.SCRATCH_KEY_OFFSET, Long.BYTES);
    }

    ChronicleMap<Long, byte[]> map()
    {
        return map;
    }

    void checkOpen()
    {
        if (closed)
        {
            throw new StateStoreException(CLOSED, "the store is closed");
        }
    }

    void checkValueLength(final long key, final int length)
    {
        if (length < 0 || length > ctx.maxValueBytes())
        {
            throw new StateStoreException(VALUE_TOO_LARGE, "value of " + length + " bytes for key " + key +
                " outside [0, " + ctx.maxValueBytes() + "] (setting maxValueBytes)");
        }
    }

    /**
     * @return the undo slot of {@code seq}, if it is the newest open batch.
     */
    int checkWritable(final long seq)
    {
        if (seq != newestOpenSeq || NULL_SEQ == seq)
        {
            checkOpen();
            throw new StateStoreException(BATCH_ORDER, "write in batch " + seq + " but the newest open batch is " +
                newestOpenSeq);
        }
        return newestOpenSlot;
    }

    private int slot(final long seq)
    {
        return (int)(seq % ctx.maxOpenBatches());
    }

    void reserveEntry(final long key)
    {
        if (entryCount.incrementAndGet() > ctx.maxEntries())
        {
            entryCount.decrementAndGet();
            throw new StateStoreException(STORE_FULL, "cannot insert key " + key + ": store holds its maximum of " +
                ctx.maxEntries() + " entries (setting maxEntries)");
        }
    }

    void releaseEntry()
    {
        entryCount.decrementAndGet();
    }

    long entryCountForScan(final long delta)
    {
        return entryCount.addAndGet(delta);
    }

    void applyWrite(final int page, final long seq, final long digestDelta)
    {
        final int index = page * PAGE_LENGTH;
        if (0 != digestDelta)
        {
            pages.getAndAddLong(index + PAGE_DIGEST_OFFSET, digestDelta);
        }
        // versions are stored + 1 so that a zeroed record means "never written"
        if (pages.getLongVolatile(index + PAGE_VERSION_OFFSET) != seq + 1)
        {
            pages.putLongRelease(index + PAGE_VERSION_OFFSET, seq + 1);
        }
        markDirty(page, index);
    }

    void applyUndo(final int page, final long digestDelta, final long previousPageVersion)
    {
        final int index = page * PAGE_LENGTH;
        pages.getAndAddLong(index + PAGE_DIGEST_OFFSET, digestDelta);
        if (pages.getLong(index + PAGE_VERSION_OFFSET) - 1 > previousPageVersion)
        {
            pages.putLong(index + PAGE_VERSION_OFFSET, previousPageVersion + 1);
        }
        markDirty(page, index);
    }

    void loadPage(final int page, final long digestDelta, final long version)
    {
        final int index = page * PAGE_LENGTH;
        pages.putLong(index + PAGE_DIGEST_OFFSET, pages.getLong(index + PAGE_DIGEST_OFFSET) + digestDelta);
        if (pages.getLong(index + PAGE_VERSION_OFFSET) - 1 < version)
        {
            pages.putLong(index + PAGE_VERSION_OFFSET, version + 1);
        }
    }

    void clearPages()
    {
        for (int index = 0, end = pageCount * PAGE_LENGTH; index < end; index += PAGE_LENGTH)
        {
            pages.putLong(index + PAGE_DIGEST_OFFSET, 0);
            pages.putLong(index + PAGE_VERSION_OFFSET, 0);
        }
        dirtyCount.set(0);
        dirtyEpoch++;
    }

    /**
     * The index of every key (tombstones included) by page, for complete-page imports: built by a
     * scan on first use or when {@code rebuild}; the caller checks that it is current for a page.
     */
    PageIndex pageIndex(final boolean rebuild)
    {
        if (rebuild || null == pageIndex)
        {
            pageIndex = null;
            pageIndex = PageIndex.build(this, null, false, false);
        }
        return pageIndex;
    }

    void restoreLastCommitted(final long seq)
    {
        lastCommittedSeq = seq;
    }

    void recomputeAllNodes()
    {
        tree.recomputeAll();
    }

    private void markDirty(final int page, final int index)
    {
        final long epoch = dirtyEpoch;
        final long pageEpoch = pages.getLongVolatile(index + PAGE_DIRTY_EPOCH_OFFSET);
        if (pageEpoch != epoch && pages.compareAndSetLong(index + PAGE_DIRTY_EPOCH_OFFSET, pageEpoch, epoch))
        {
            dirtyPages[dirtyCount.getAndIncrement()] = page;
        }
    }

    private void recomputeDirty()
    {
        final int count = dirtyCount.get();
        if (count > 0)
        {
            tree.recompute(dirtyPages, count);
            dirtyCount.set(0);
            dirtyEpoch++;
        }
    }

    /**
     * Bounds and options of a store, validated once by {@link #conclude()}. The bounds without a
     * default (maxEntries, maxValueBytes, pageCount) must be set.
     */
    public static final class Context
    {
        /** Largest value size accepted. */
        public static final int MAX_VALUE_BYTES_LIMIT = 1 << 20;
        /** Largest page count accepted. */
        public static final int MAX_PAGE_COUNT = 1 << 24;
        /** Largest ratio of maxValueBytes to averageValueBytes (Chronicle limits chunks per entry). */
        public static final int MAX_VALUE_TO_AVERAGE_RATIO = 64;
        /** Default number of writer threads. */
        public static final int WRITERS_DEFAULT = 1;
        /** Default number of batches that may be open at once. */
        public static final int MAX_OPEN_BATCHES_DEFAULT = 4;
        /** Default undo bytes per writer per batch. */
        public static final int UNDO_BYTES_PER_BATCH_DEFAULT = 1 << 20;

        private long maxEntries = -1;
        private int maxValueBytes = -1;
        private int averageValueBytes = -1;
        private int pageCount = -1;
        private Path file;
        private int writers = WRITERS_DEFAULT;
        private int maxOpenBatches = MAX_OPEN_BATCHES_DEFAULT;
        private int undoBytesPerBatch = UNDO_BYTES_PER_BATCH_DEFAULT;
        private boolean concluded;

        /** @param maxEntries required: most records the store holds, in [1, 2^40]. */
        public Context maxEntries(final long maxEntries)
        {
            this.maxEntries = maxEntries;
            return this;
        }

        public long maxEntries()
        {
            return maxEntries;
        }

        /** @param maxValueBytes required: largest value, in [0, 1 MiB]. */
        public Context maxValueBytes(final int maxValueBytes)
        {
            this.maxValueBytes = maxValueBytes;
            return this;
        }

        public int maxValueBytes()
        {
            return maxValueBytes;
        }

        /** @param averageValueBytes expected mean value size for sizing the map; default maxValueBytes. */
        public Context averageValueBytes(final int averageValueBytes)
        {
            this.averageValueBytes = averageValueBytes;
            return this;
        }

        public int averageValueBytes()
        {
            return averageValueBytes;
        }

        /** @param pageCount required: digest pages, a power of two in [1, 2^24]. */
        public Context pageCount(final int pageCount)
        {
            this.pageCount = pageCount;
            return this;
        }

        public int pageCount()
        {
            return pageCount;
        }

        /** @param file persist to this file (reopened if it exists); null (default) for in memory. */
        public Context file(final Path file)
        {
            this.file = file;
            return this;
        }

        public Path file()
        {
            return file;
        }

        /** @param writers most writer threads, in [1, 1024]; default 1. */
        public Context writers(final int writers)
        {
            this.writers = writers;
            return this;
        }

        public int writers()
        {
            return writers;
        }

        /** @param maxOpenBatches most batches open at once (pipeline depth), in [1, 64]; default 4. */
        public Context maxOpenBatches(final int maxOpenBatches)
        {
            this.maxOpenBatches = maxOpenBatches;
            return this;
        }

        public int maxOpenBatches()
        {
            return maxOpenBatches;
        }

        /**
         * @param undoBytesPerBatch undo log bytes per writer per open batch, in
         * [4 KiB, (2^31 - 1) / maxOpenBatches]; default 1 MiB. The store allocates
         * (writers + 1) x maxOpenBatches x undoBytesPerBatch off-heap at open (the extra log serves
         * repair imports). Size it with {@link #undoBytesPerWrite(int)} x the most distinct keys one
         * writer writes in a batch.
         */
        public Context undoBytesPerBatch(final int undoBytesPerBatch)
        {
            this.undoBytesPerBatch = undoBytesPerBatch;
            return this;
        }

        public int undoBytesPerBatch()
        {
            return undoBytesPerBatch;
        }

        /**
         * @param valueBytes value length.
         * @return undo log bytes taken by the first write of a key holding {@code valueBytes} in a batch.
         */
        public static int undoBytesPerWrite(final int valueBytes)
        {
            return UndoLog.entryLength(valueBytes + RecordLayout.TRAILER_LENGTH);
        }

        /**
         * Validates every setting once; each error names the setting and its allowed range.
         */
        public Context conclude()
        {
            if (concluded)
            {
                return this;
            }
            require(maxEntries >= 1 && maxEntries <= 1L << 40, "maxEntries", maxEntries, "[1, 2^40] (required)");
            require(maxValueBytes >= 0 && maxValueBytes <= MAX_VALUE_BYTES_LIMIT,
                "maxValueBytes", maxValueBytes, "[0, " + MAX_VALUE_BYTES_LIMIT + "] (required)");
            require(pageCount >= 1 && pageCount <= MAX_PAGE_COUNT && Integer.bitCount(pageCount) == 1,
                "pageCount", pageCount, "a power of two in [1, " + MAX_PAGE_COUNT + "] (required)");
            if (averageValueBytes < 0)
            {
                averageValueBytes = Math.max(1, maxValueBytes);
            }
            final int minimumAverage = Math.max(1, maxValueBytes / MAX_VALUE_TO_AVERAGE_RATIO);
            require(averageValueBytes >= minimumAverage && averageValueBytes <= Math.max(1, maxValueBytes),
                "averageValueBytes", averageValueBytes, "[maxValueBytes / " + MAX_VALUE_TO_AVERAGE_RATIO + " = " +
                minimumAverage + ", maxValueBytes]");
            require(writers >= 1 && writers <= 1024, "writers", writers, "[1, 1024]");
            require(maxOpenBatches >= 1 && maxOpenBatches <= 64, "maxOpenBatches", maxOpenBatches, "[1, 64]");
            final int minimumUndo = Math.max(4096, UndoLog.entryLength(maxValueBytes + RecordLayout.TRAILER_LENGTH));
            final int maximumUndo = Integer.MAX_VALUE / maxOpenBatches;
            require(undoBytesPerBatch >= minimumUndo && undoBytesPerBatch <= maximumUndo,
                "undoBytesPerBatch", undoBytesPerBatch, "[" + minimumUndo + ", (2^31 - 1) / maxOpenBatches = " +
                maximumUndo + "]");
            concluded = true;
            return this;
        }

        private static void require(final boolean valid, final String setting, final long value, final String range)
        {
            if (!valid)
            {
                throw new StateStoreException(INVALID_CONFIGURATION, setting + " = " + value + " must be in " + range);
            }
        }
    }
}
