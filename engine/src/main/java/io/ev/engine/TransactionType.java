/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.pipeline.KeySink;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * One kind of transaction of an application: how its requests declare the keys they read and
 * write (for the mixer) and how they execute against the store. Registered with a
 * {@link TransactionRegistry} under its {@link #typeId()}.
 * <p>
 * Implementations are shared by every worker thread of every replica in the process, so they must be
 * stateless (or hold only immutable state) and must not allocate in {@link #declareKeys} or
 * {@link #execute}. Execution must be a pure function of the payload and the values read, so that
 * sequential re-execution reproduces it (no clocks, no randomness, no thread identity).
 * <p>
 * Every reply starts with an {@code int} reply code from {@link ReplyCodes}; what follows is the
 * type's own layout, at most {@link #maxReplyBytes()} in all.
 */
public interface TransactionType
{
    /** Returned by {@link #execute} when it finds the payload malformed: the registry replies MALFORMED_REQUEST. */
    int MALFORMED = -1;
    /** Smallest type id. */
    int MIN_TYPE_ID = 0;
    /** Largest type id: ids index a 256-entry dispatch array. */
    int MAX_TYPE_ID = 255;

    /**
     * @return the id requests of this type carry, in [{@link #MIN_TYPE_ID}, {@link #MAX_TYPE_ID}].
     */
    int typeId();

    /**
     * @return a short human-readable name, for errors and reports.
     */
    String name();

    /**
     * @return the largest payload this type accepts; longer payloads are rejected as malformed
     * without calling the type.
     */
    int maxPayloadBytes();

    /**
     * @return the largest reply {@link #execute} writes, at least {@link ReplyCodes#CODE_LENGTH}. The
     * reply slot handed to {@link #execute} is at least this long, and an implementation may use it as
     * scratch space before it writes the reply.
     */
    int maxReplyBytes();

    /**
     * Declares the keys a request reads and writes. Validate the payload first: a type that returns
     * false must not have declared any key (the sink cannot take keys back).
     *
     * @param payload the request payload, from offset 0.
     * @param length  the payload length.
     * @param keys    receives the keys.
     * @return false if the payload is malformed (wrong length, field out of range).
     */
    boolean declareKeys(DirectBuffer payload, int length, KeySink keys);

    /**
     * Executes a request inside batch {@code seq}. Must write only keys it declared (the mixer relies on
     * it) and nothing at all when it aborts or finds the payload malformed.
     *
     * @param payload     the request payload, from offset 0.
     * @param length      the payload length.
     * @param seq         the batch being executed (the store's newest open batch).
     * @param store       the executing thread's store writer.
     * @param reply       the reply slot, {@link #maxReplyBytes()} long from {@code replyOffset}.
     * @param replyOffset where the reply starts.
     * @return the reply length in [{@link ReplyCodes#CODE_LENGTH}, {@link #maxReplyBytes()}], or
     * {@link #MALFORMED} if the payload is malformed (nothing written).
     */
    int execute(
        DirectBuffer payload, int length, long seq, StoreWriter store, MutableDirectBuffer reply, int replyOffset);
}
