/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.concurrent.atomic.AtomicLong;

import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestHandler;
import io.ev.store.StateStoreException;
import io.ev.store.StoreWriter;
import net.openhft.hashing.LongHashFunction;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.MutableDirectBuffer;

/**
 * The application as the pipeline sees it: a table of {@link TransactionType}s indexed by type id
 * (an array of {@value #TYPE_ID_COUNT}, no map lookup, no allocation), dispatching each request's key
 * declaration and execution to its type.
 * <ul>
 *   <li>unknown type id: declares no keys; executes to an {@link ReplyCodes#UNKNOWN_TYPE} reply and
 *       writes nothing;</li>
 *   <li>payload longer than the type's {@link TransactionType#maxPayloadBytes()}, or found malformed by
 *       the type ({@code declareKeys} false, {@code execute} returns {@link TransactionType#MALFORMED}):
 *       declares no keys; executes to a {@link ReplyCodes#MALFORMED_REQUEST} reply and writes nothing;</li>
 *   <li>the type's execute throws a {@link RuntimeException}: the error goes to the error handler and
 *       the reply is {@link ReplyCodes#EXECUTION_FAILED} ({@link ReplyCodes#STORE_REJECTED} for a
 *       {@link StateStoreException}). <b>Writes the request made before it threw are NOT undone here</b>:
 *       the store only undoes whole batches, so the pipeline must roll the batch back (or verification
 *       will find the replicas diverged). A reply length outside [4, maxReplyBytes] is treated the same
 *       way, as an application bug.</li>
 * </ul>
 * Engine-level replies are {@link ReplyCodes#CODE_LENGTH} bytes: the code alone.
 * <p>
 * <b>Request deduplication</b> ({@link #deduplicateRequests(boolean)}, off by default): every batch run
 * through a {@link BatchRunner} with this registry (the live batcher, replication, recovery and replay
 * alike) consults and updates the {@link ClientTable} in the store, so a retried (client id, request id)
 * gets its original reply without a second execution and an older request id gets
 * {@link ReplyCodes#STALE_REQUEST_ID}. The single-request {@link #execute} methods know no client or
 * request id and never deduplicate. Every replica, and every replay of a journal, must use the same
 * setting: it changes the state (the client records) and so the tokens.
 * <p>
 * Threads: register every type and choose the deduplication setting before the registry is handed to
 * the pipeline (thread start publishes them); afterwards any number of threads may call
 * {@link #declareKeys} and {@link #execute}.
 */
public final class TransactionRegistry implements RequestHandler
{
    /** Number of possible type ids. */
    public static final int TYPE_ID_COUNT = TransactionType.MAX_TYPE_ID + 1;

    private final TransactionType[] types = new TransactionType[TYPE_ID_COUNT];
    private final ErrorHandler errorHandler;
    private final AtomicLong executionFailures = new AtomicLong();
    private final AtomicLong declarationFailures = new AtomicLong();
    private int typeCount;
    private int maxReplyBytes = ReplyCodes.CODE_LENGTH;
    private int maxPayloadBytes;
    private boolean deduplicateRequests;

    /**
     * A registry that drops the errors of failing executions (they are still counted).
     */
    public TransactionRegistry()
    {
        this(null);
    }

    /**
     * @param errorHandler receives the exception of each failing execution or key declaration, on the
     *                     failing thread; must be thread safe and should not throw (if it does, the
     *                     exception is dropped). Null to drop errors.
     */
    public TransactionRegistry(final ErrorHandler errorHandler)
    {
        this.errorHandler = errorHandler;
    }

    /**
     * Adds a type under its {@link TransactionType#typeId()}.
     *
     * @param type the type.
     * @return this registry.
     * @throws IllegalArgumentException if the id is outside [0, 255], is already taken (the message
     *                                  names both types), or the type's reply/payload bounds are invalid.
     */
    public TransactionRegistry register(final TransactionType type)
    {
        final int typeId = type.typeId();
        if (typeId < TransactionType.MIN_TYPE_ID || typeId > TransactionType.MAX_TYPE_ID)
        {
            throw new IllegalArgumentException("type id " + typeId + " of '" + type.name() + "' outside [" +
                TransactionType.MIN_TYPE_ID + ", " + TransactionType.MAX_TYPE_ID + "]");
        }
        final TransactionType existing = types[typeId];
        if (null != existing)
        {
            throw new IllegalArgumentException("type id " + typeId + " of '" + type.name() +
                "' is already registered to '" + existing.name() + "'");
        }
        if (type.maxReplyBytes() < ReplyCodes.CODE_LENGTH)
        {
            throw new IllegalArgumentException("maxReplyBytes " + type.maxReplyBytes() + " of '" + type.name() +
                "' is below the reply code length " + ReplyCodes.CODE_LENGTH);
        }
        if (type.maxPayloadBytes() < 0)
        {
            throw new IllegalArgumentException("maxPayloadBytes " + type.maxPayloadBytes() + " of '" + type.name() +
                "' is negative");
        }
        types[typeId] = type;
        typeCount++;
        maxReplyBytes = Math.max(maxReplyBytes, type.maxReplyBytes());
        maxPayloadBytes = Math.max(maxPayloadBytes, type.maxPayloadBytes());
        return this;
    }

    /**
     * Turns request deduplication by the {@link ClientTable} on or off (default off); see the class
     * comment. With it on, the store must hold values of {@link #clientRecordBytes()} bytes and have room
     * for one record per client id (table {@link ClientTable#TABLE}, reserved for the engine).
     *
     * @param deduplicate true to deduplicate.
     * @return this registry.
     */
    public TransactionRegistry deduplicateRequests(final boolean deduplicate)
    {
        this.deduplicateRequests = deduplicate;
        return this;
    }

    /**
     * @return true if batches run with this registry deduplicate requests by client and request id.
     */
    public boolean deduplicatesRequests()
    {
        return deduplicateRequests;
    }

    /**
     * A digest of what replicas must agree on to give equal states for equal batches: every registered
     * type (id, name, payload and reply bounds) and the deduplication setting. Replicas compare it when
     * they pair (HELLO), so a backup started with other types or another deduplication setting is refused
     * with both digests named instead of diverging on every batch.
     *
     * @return the digest (xxHash3 of a canonical description).
     */
    public long configurationDigest()
    {
        final StringBuilder description = new StringBuilder("dedupe=").append(deduplicateRequests);
        for (final TransactionType type : types)
        {
            if (null != type)
            {
                description.append(';').append(type.typeId()).append(':').append(type.name()).append(':')
                    .append(type.maxPayloadBytes()).append(':').append(type.maxReplyBytes());
            }
        }
        return LongHashFunction.xx3().hashChars(description);
    }

    /**
     * @return the length of a client record ({@link ClientTable}) for this registry's largest reply:
     * the store's {@code maxValueBytes} must be at least this when deduplicating.
     */
    public int clientRecordBytes()
    {
        return ClientTable.recordBytes(maxReplyBytes);
    }

    /**
     * @param typeId a type id (any int).
     * @return the registered type, or null if none.
     */
    public TransactionType type(final int typeId)
    {
        return (typeId & ~TransactionType.MAX_TYPE_ID) == 0 ? types[typeId] : null;
    }

    /**
     * @return how many types are registered.
     */
    public int typeCount()
    {
        return typeCount;
    }

    /**
     * @return the largest reply of any registered type (at least {@link ReplyCodes#CODE_LENGTH}): the
     * reply slot size the pipeline must provide.
     */
    public int maxReplyBytes()
    {
        return maxReplyBytes;
    }

    /**
     * @return the largest payload of any registered type: the request slot size the pipeline needs.
     */
    public int maxPayloadBytes()
    {
        return maxPayloadBytes;
    }

    /**
     * @return executions that threw or returned an invalid reply length, since creation.
     */
    public long executionFailures()
    {
        return executionFailures.get();
    }

    /**
     * @return key declarations that threw, since creation.
     */
    public long declarationFailures()
    {
        return declarationFailures.get();
    }

    /**
     * {@inheritDoc}
     */
    public void declareKeys(final Request request, final KeySink keys)
    {
        declareKeys(request.type(), request.payload(), request.payloadLength(), keys);
    }

    /**
     * Declares the keys of a request given by its parts.
     *
     * @return false if the type is unknown, the payload malformed or the type threw: no keys declared
     * (except those a throwing type declared before it threw).
     */
    public boolean declareKeys(final int typeId, final DirectBuffer payload, final int length, final KeySink keys)
    {
        final TransactionType type = type(typeId);
        if (null == type || length < 0 || length > type.maxPayloadBytes())
        {
            return false;
        }
        try
        {
            return type.declareKeys(payload, length, keys);
        }
        catch (final RuntimeException ex)
        {
            declarationFailures.incrementAndGet();
            onError(ex);
            return false;
        }
    }

    /**
     * {@inheritDoc}
     */
    public int execute(
        final Request request, final long seq, final StoreWriter writer, final MutableDirectBuffer reply,
        final int replyOffset)
    {
        return execute(request.type(), request.payload(), request.payloadLength(), seq, writer, reply, replyOffset);
    }

    /**
     * Executes a request given by its parts; see the class comment for the replies of failures.
     *
     * @return the reply length, at most {@link #maxReplyBytes()}.
     */
    public int execute(
        final int typeId,
        final DirectBuffer payload,
        final int length,
        final long seq,
        final StoreWriter writer,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        final TransactionType type = type(typeId);
        if (null == type)
        {
            return ReplyCodes.writeCode(reply, replyOffset, ReplyCodes.UNKNOWN_TYPE);
        }
        if (length < 0 || length > type.maxPayloadBytes())
        {
            return ReplyCodes.writeCode(reply, replyOffset, ReplyCodes.MALFORMED_REQUEST);
        }
        final int replyLength;
        try
        {
            replyLength = type.execute(payload, length, seq, writer, reply, replyOffset);
        }
        catch (final StateStoreException ex)
        {
            return failed(ex, reply, replyOffset, ReplyCodes.STORE_REJECTED);
        }
        catch (final RuntimeException ex)
        {
            return failed(ex, reply, replyOffset, ReplyCodes.EXECUTION_FAILED);
        }
        if (TransactionType.MALFORMED == replyLength)
        {
            return ReplyCodes.writeCode(reply, replyOffset, ReplyCodes.MALFORMED_REQUEST);
        }
        if (replyLength < ReplyCodes.CODE_LENGTH || replyLength > type.maxReplyBytes())
        {
            return failed(
                new IllegalStateException("type '" + type.name() + "' returned reply length " + replyLength +
                    " outside [" + ReplyCodes.CODE_LENGTH + ", " + type.maxReplyBytes() + "]"),
                reply,
                replyOffset,
                ReplyCodes.EXECUTION_FAILED);
        }
        return replyLength;
    }

    private int failed(
        final RuntimeException ex, final MutableDirectBuffer reply, final int replyOffset, final int code)
    {
        executionFailures.incrementAndGet();
        onError(ex);
        return ReplyCodes.writeCode(reply, replyOffset, code);
    }

    /**
     * Hands an error to the error handler (dropped if none), on the calling thread.
     */
    void onError(final Throwable ex)
    {
        if (null != errorHandler)
        {
            try
            {
                errorHandler.onError(ex);
            }
            catch (final RuntimeException ignore)
            {
                // an error handler must not take the worker down
            }
        }
    }
}
