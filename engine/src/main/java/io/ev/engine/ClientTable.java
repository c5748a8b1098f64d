/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.pipeline.Batch;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestHandler;
import io.ev.store.Keys;
import io.ev.store.StateStore;
import io.ev.store.StateStoreException;
import io.ev.store.StoreWriter;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Request deduplication: per client id, the replicated store remembers the last request id that
 * executed and its reply, in one record at key {@code Keys.key(TABLE, clientId)}:
 * <pre>
 *   0                     8                  12
 *  +---------------------+------------------+----------------------------------------------+
 *  | last request id (8) | reply length (4) | reply bytes, zero-padded to maxReplyBytes     |
 *  +---------------------+------------------+----------------------------------------------+
 *  little-endian; always {@link #recordBytes(int)} = 12 + the registry's maxReplyBytes long
 * </pre>
 * Being an ordinary store record, it is covered by the page digests and the Merkle root (so by the
 * tokens the replicas compare), the undo log, checkpoints, journal replay, record transfer and page
 * sync: a backup that takes over holds the same records, and so does a recovered node.
 * <p>
 * <b>Rule</b>, per request in batch order, against the client's last request id {@code L} (the
 * committed record's, or that of an earlier request of the client in the same batch):
 * <ul>
 *   <li>no record, or id &gt; L: executed; its final reply (whatever the code: aborts and isolated
 *       failures are outcomes too) becomes the client's record;</li>
 *   <li>id == L: a retry. Not executed; the reply is a copy of the remembered one;</li>
 *   <li>id &lt; L: {@link ReplyCodes#STALE_REQUEST_ID}, not executed. Request ids must increase per client
 *       (signed 64-bit comparison);</li>
 *   <li>client id outside [0, {@link Keys#MAX_ROW}]: {@link ReplyCodes#MALFORMED_REQUEST}, not executed
 *       (the engine's client ids are in [0, maxClients) anyway);</li>
 *   <li>the store refuses the client's record (store full, undo log full, value too long):
 *       {@link ReplyCodes#STORE_REJECTED}, not executed and not remembered, so it may be retried.</li>
 * </ul>
 * <b>Where.</b> Not inside the transactions: the records are read and written only by the thread that
 * runs the batch ({@link BatchRunner}), before the phases ({@link #admit}: decide every request, answer
 * retries and stale ids, and <em>claim</em> the record of each client with a request to execute by
 * writing a placeholder, so that the store refuses a record before anything executes, never after) and
 * after them ({@link #remember}: copy the replies of in-batch retries, overwrite each claimed record,
 * same length, in place, with the final id and reply). So the mixer needs no client key: requests of
 * one client may share a phase and still execute in parallel, and the records are a deterministic
 * function of the batch and the state before it. Cost per batch: one read per distinct client, plus
 * two writes per client with an executed request, on the batch's thread.
 * <p>
 * One instance per {@link BatchRunner}; allocation-free per batch (a primitive map and arrays sized
 * once for the largest batch). Between {@link #admit} and {@link #remember} it is the
 * {@link RequestHandler} the executors run: it delegates the requests to execute and returns the reply
 * already written for the others.
 */
public final class ClientTable implements RequestHandler
{
    /** Table id of the client records: the highest, reserved for the engine; no application may use it. */
    public static final int TABLE = Keys.MAX_TABLE;
    /** Offset of the last request id in a record. */
    public static final int REQUEST_ID_OFFSET = 0;
    /** Offset of the reply length in a record. */
    public static final int REPLY_LENGTH_OFFSET = REQUEST_ID_OFFSET + Long.BYTES;
    /** Offset of the reply bytes in a record. */
    public static final int REPLY_OFFSET = REPLY_LENGTH_OFFSET + Integer.BYTES;
    /** {@link #lastRequestId} of a client without a record. */
    public static final long NO_REQUEST = Long.MIN_VALUE;

    private static final long MISSING_SLOT = -1;
    private static final int FROM_RECORD = -1;
    private static final int NO_RECORD = -2;
    private static final byte UNCLAIMED = 0;
    private static final byte CLAIMED = 1;
    private static final byte REFUSED = 2;
    private static final byte EXECUTE = 0;
    private static final byte ANSWERED = 1;
    private static final byte RETRY_IN_BATCH = 2;

    private final StoreWriter writer;
    private final UnsafeBuffer record;
    private final Request request = new Request();
    private final Long2LongHashMap slotOf;
    private final long[] slotClient;
    private final long[] slotLast;
    private final int[] slotSource;
    private final byte[] slotState;
    private final byte[] disposition;
    private final int[] retryOf;
    private TransactionRegistry registry;
    private Batch batch;
    private int recordBytes;
    private int slots;
    private int retried;
    private int stale;
    private int refused;

    /**
     * @param store            the store (its {@code maxValueBytes} bounds the records read).
     * @param writer           a writer of {@code store}, used only on the thread that runs the batches.
     * @param maxBatchRequests the largest batch.
     */
    public ClientTable(final StateStore store, final StoreWriter writer, final int maxBatchRequests)
    {
        this.writer = writer;
        this.record = new UnsafeBuffer(new byte[Math.max(REPLY_OFFSET, store.context().maxValueBytes())]);
        this.slotOf = new Long2LongHashMap(Math.max(16, maxBatchRequests * 2), 0.65f, MISSING_SLOT);
        this.slotClient = new long[maxBatchRequests];
        this.slotLast = new long[maxBatchRequests];
        this.slotSource = new int[maxBatchRequests];
        this.slotState = new byte[maxBatchRequests];
        this.disposition = new byte[maxBatchRequests];
        this.retryOf = new int[maxBatchRequests];
    }

    /**
     * @param maxReplyBytes the registry's largest reply.
     * @return the length of every client record.
     */
    public static int recordBytes(final int maxReplyBytes)
    {
        return REPLY_OFFSET + maxReplyBytes;
    }

    /**
     * @param clientId a client id in [0, {@link Keys#MAX_ROW}].
     * @return the store key of its record.
     */
    public static long key(final long clientId)
    {
        return Keys.key(TABLE, clientId);
    }

    /**
     * Reads the last request id remembered for a client (a driver resuming after a restart starts above
     * it). Not for the hot path.
     *
     * @param reader   a writer of the store, on the calling thread.
     * @param clientId the client.
     * @param scratch  receives the record: at least the store's {@code maxValueBytes} long.
     * @return the id, or {@link #NO_REQUEST} if the client has no record.
     */
    public static long lastRequestId(final StoreWriter reader, final long clientId, final MutableDirectBuffer scratch)
    {
        final int length = reader.get(key(clientId), scratch, 0);
        return length < REPLY_OFFSET ? NO_REQUEST : scratch.getLong(REQUEST_ID_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * Checks that a store can hold the client records of a registry.
     *
     * @throws IllegalStateException naming both settings if its values are too short.
     */
    public static void checkFits(final StateStore.Context store, final TransactionRegistry registry)
    {
        if (store.maxValueBytes() < registry.clientRecordBytes())
        {
            throw new IllegalStateException("request deduplication needs client records of " +
                registry.clientRecordBytes() + " bytes (12 + the registry's maxReplyBytes " + registry.maxReplyBytes() +
                ") but the store's maxValueBytes is " + store.maxValueBytes() +
                ": raise maxValueBytes or turn deduplication off");
        }
    }

    /**
     * Decides every request of the batch (open store batch {@code batch.seq()}, nothing executed yet):
     * answers retries of committed requests, stale ids and refused clients in their reply slots, and
     * claims the record of every client with a request to execute. Deterministic: a function of the
     * batch and the store before it, so it may run again after a rollback of the batch.
     *
     * @param batch    the batch.
     * @param registry executes the requests; its maxReplyBytes sizes the records.
     */
    public void admit(final Batch batch, final TransactionRegistry registry)
    {
        this.batch = batch;
        this.registry = registry;
        this.recordBytes = recordBytes(registry.maxReplyBytes());
        clearSlots();
        retried = 0;
        stale = 0;
        refused = 0;
        final long seq = batch.seq();
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.wrap(request, i);
            final long clientId = request.clientId();
            final long requestId = request.requestId();
            if (clientId < 0 || clientId > Keys.MAX_ROW)
            {
                answer(i, ReplyCodes.MALFORMED_REQUEST);
                continue;
            }
            long slotValue = slotOf.get(clientId);
            if (MISSING_SLOT == slotValue)
            {
                slotValue = open(clientId);
            }
            final int slot = (int)slotValue;
            final int source = slotSource[slot];
            if (NO_RECORD != source && requestId <= slotLast[slot])
            {
                if (requestId < slotLast[slot])
                {
                    stale++;
                    answer(i, ReplyCodes.STALE_REQUEST_ID);
                }
                else if (FROM_RECORD == source)
                {
                    retried++;
                    answerFromRecord(i, clientId);
                }
                else
                {
                    retried++;
                    disposition[i] = RETRY_IN_BATCH;
                    retryOf[i] = source;
                }
                continue;
            }
            if (UNCLAIMED == slotState[slot])
            {
                claim(seq, slot);
            }
            if (REFUSED == slotState[slot])
            {
                refused++;
                answer(i, ReplyCodes.STORE_REJECTED);
                continue;
            }
            disposition[i] = EXECUTE;
            slotLast[slot] = requestId;
            slotSource[slot] = i;
        }
    }

    /**
     * After the batch executed (and failures were isolated): gives every in-batch retry the reply of the
     * request it repeats and writes each claimed record with the client's last executed request and its
     * final reply.
     */
    public void remember(final Batch batch)
    {
        final MutableDirectBuffer replies = batch.replies();
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            if (RETRY_IN_BATCH == disposition[i])
            {
                final int original = retryOf[i];
                final int length = batch.replyLength(original);
                replies.putBytes(batch.replyOffset(i), replies, batch.replyOffset(original), length);
                batch.replyLength(i, length);
            }
        }
        final long seq = batch.seq();
        for (int slot = 0; slot < slots; slot++)
        {
            if (CLAIMED == slotState[slot])
            {
                final int index = slotSource[slot];
                final int length = batch.replyLength(index);
                if (length > recordBytes - REPLY_OFFSET)
                {
                    throw new IllegalStateException("reply of request " + index + " of batch " + seq + " is " +
                        length + " bytes, above the client record's " + (recordBytes - REPLY_OFFSET));
                }
                record.putLong(REQUEST_ID_OFFSET, slotLast[slot], ReplyCodes.BYTE_ORDER);
                record.putInt(REPLY_LENGTH_OFFSET, length, ReplyCodes.BYTE_ORDER);
                record.putBytes(REPLY_OFFSET, replies, batch.replyOffset(index), length);
                record.setMemory(REPLY_OFFSET + length, recordBytes - REPLY_OFFSET - length, (byte)0);
                // same key, same length, already written in this batch: an in-place update, no undo entry
                writer.put(seq, key(slotClient[slot]), record, 0, recordBytes);
            }
        }
    }

    /**
     * @param index a request of the admitted batch.
     * @return true if it executes (false: answered from the client table, or refused).
     */
    public boolean executes(final int index)
    {
        return EXECUTE == disposition[index];
    }

    /**
     * @return requests of the last admitted batch answered as retries (of a committed or an in-batch request).
     */
    public int retried()
    {
        return retried;
    }

    /**
     * @return requests of the last admitted batch answered {@link ReplyCodes#STALE_REQUEST_ID}.
     */
    public int stale()
    {
        return stale;
    }

    /**
     * @return requests of the last admitted batch refused because the store refused their client's record.
     */
    public int refused()
    {
        return refused;
    }

    public void declareKeys(final Request request, final KeySink keys)
    {
        registry.declareKeys(request, keys);
    }

    public int execute(
        final Request request,
        final long seq,
        final StoreWriter writer,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final int index = request.index();
        switch (disposition[index])
        {
            case EXECUTE:
                return registry.execute(request, seq, writer, reply, replyOffset);
            case ANSWERED:
                return batch.replyLength(index);
            default:
                return 0; // an in-batch retry: its reply is copied by remember()
        }
    }

    private void clearSlots()
    {
        for (int slot = 0; slot < slots; slot++)
        {
            slotOf.remove(slotClient[slot]);
        }
        slots = 0;
    }

    private int open(final long clientId)
    {
        final int slot = slots++;
        slotOf.put(clientId, slot);
        slotClient[slot] = clientId;
        slotState[slot] = UNCLAIMED;
        final int length = writer.get(key(clientId), record, 0);
        if (StateStore.MISSING == length)
        {
            slotSource[slot] = NO_RECORD;
            slotLast[slot] = NO_REQUEST;
        }
        else
        {
            checkRecord(clientId, length);
            slotSource[slot] = FROM_RECORD;
            slotLast[slot] = record.getLong(REQUEST_ID_OFFSET, ReplyCodes.BYTE_ORDER);
        }
        return slot;
    }

    private int checkRecord(final long clientId, final int length)
    {
        final int replyLength = length < REPLY_OFFSET ? -1 : record.getInt(REPLY_LENGTH_OFFSET, ReplyCodes.BYTE_ORDER);
        if (replyLength < 0 || replyLength > length - REPLY_OFFSET)
        {
            throw new IllegalStateException("client record of client " + clientId + " is corrupt: " + length +
                " bytes with reply length " + replyLength);
        }
        return replyLength;
    }

    private void answerFromRecord(final int index, final long clientId)
    {
        final int length = writer.get(key(clientId), record, 0);
        final int replyLength = checkRecord(clientId, length);
        if (replyLength > batch.maxReplyBytes())
        {
            throw new IllegalStateException("remembered reply of client " + clientId + " is " + replyLength +
                " bytes, above the batch's maxReplyBytes " + batch.maxReplyBytes());
        }
        batch.replies().putBytes(batch.replyOffset(index), record, REPLY_OFFSET, replyLength);
        batch.replyLength(index, replyLength);
        disposition[index] = ANSWERED;
    }

    private void answer(final int index, final int code)
    {
        batch.replyLength(index, ReplyCodes.writeCode(batch.replies(), batch.replyOffset(index), code));
        disposition[index] = ANSWERED;
    }

    private void claim(final long seq, final int slot)
    {
        record.putLong(REQUEST_ID_OFFSET, NO_REQUEST, ReplyCodes.BYTE_ORDER);
        record.setMemory(REPLY_LENGTH_OFFSET, recordBytes - REPLY_LENGTH_OFFSET, (byte)0);
        try
        {
            writer.put(seq, key(slotClient[slot]), record, 0, recordBytes);
            slotState[slot] = CLAIMED;
        }
        catch (final StateStoreException ex)
        {
            slotState[slot] = REFUSED;
            registry.onError(ex);
        }
    }
}
