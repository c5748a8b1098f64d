/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

/**
 * The identity and bounds of a {@link TransactionType}, fixed at construction, so that a type
 * implements only what it does: declare its keys and execute.
 */
public abstract class AbstractTransactionType implements TransactionType
{
    private final int typeId;
    private final String name;
    private final int maxPayloadBytes;
    private final int maxReplyBytes;

    /**
     * @param typeId          in [{@link #MIN_TYPE_ID}, {@link #MAX_TYPE_ID}] (checked at registration).
     * @param name            for messages and counters.
     * @param maxPayloadBytes largest payload the type accepts.
     * @param maxReplyBytes   largest reply it writes.
     */
    protected AbstractTransactionType(
        final int typeId, final String name, final int maxPayloadBytes, final int maxReplyBytes)
    {
        this.typeId = typeId;
        this.name = name;
        this.maxPayloadBytes = maxPayloadBytes;
        this.maxReplyBytes = maxReplyBytes;
    }

    public final int typeId()
    {
        return typeId;
    }

    public final String name()
    {
        return name;
    }

    public final int maxPayloadBytes()
    {
        return maxPayloadBytes;
    }

    public final int maxReplyBytes()
    {
        return maxReplyBytes;
    }
}
