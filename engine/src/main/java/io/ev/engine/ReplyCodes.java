/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Reply codes: every reply starts with one, as an {@code int} in {@link #BYTE_ORDER}.
 * <pre>
 *   0              4
 *  +---------------+------------------------------------------+
 *  | reply code (4)| type-specific body (0..maxReplyBytes - 4) |
 *  +---------------+------------------------------------------+
 * </pre>
 * Engine-level replies ({@link #UNKNOWN_TYPE}, {@link #MALFORMED_REQUEST}, {@link #EXECUTION_FAILED},
 * {@link #STORE_REJECTED}, {@link #STALE_REQUEST_ID}) are written by the {@link TransactionRegistry} or the
 * {@link ClientTable} and are exactly {@link #CODE_LENGTH} bytes: no body. Codes below
 * {@link #FIRST_APPLICATION_CODE} belong to the engine; applications use codes from
 * {@link #FIRST_APPLICATION_CODE} on (the built-in ones are listed here so that {@link #describe(int)}
 * knows them).
 */
public final class ReplyCodes
{
    /** Byte order of every multi-byte field of built-in replies and payloads. */
    public static final ByteOrder BYTE_ORDER = ByteOrder.LITTLE_ENDIAN;
    /** Offset of the reply code. */
    public static final int CODE_OFFSET = 0;
    /** Length of the reply code, and of an engine-level reply. */
    public static final int CODE_LENGTH = Integer.BYTES;

    /** Success: the request committed its effect. */
    public static final int OK = 0;
    /** No transaction type is registered under the request's type id; nothing written. */
    public static final int UNKNOWN_TYPE = 1;
    /** The payload is malformed (wrong length, field out of range); nothing written. */
    public static final int MALFORMED_REQUEST = 2;
    /**
     * The type's execute threw: an application bug. Writes it made before throwing are NOT undone by
     * the registry; the batch must be rolled back (verification catches it otherwise).
     */
    public static final int EXECUTION_FAILED = 3;
    /**
     * The store refused an operation (store full, undo log full, batch order): an operating error or a
     * pipeline bug, not an application bug. Earlier writes of the request are NOT undone by the registry.
     */
    public static final int STORE_REJECTED = 4;

    /**
     * The engine stopped (journal failure, close) before this request executed: it had no effect
     * and may be submitted again.
     */
    public static final int UNAVAILABLE = 5;
    /**
     * The engine stopped after this request's batch was journaled but before it was acknowledged:
     * recovery will execute it (journaled batches are never dropped). Resubmitting without
     * deduplication would execute it twice; with deduplication
     * ({@link TransactionRegistry#deduplicateRequests(boolean)}) resubmitting the same request id returns
     * the original reply.
     */
    public static final int OUTCOME_UNKNOWN = 6;
    /**
     * Request deduplication ({@link ClientTable}): the request id is below the last request id the client
     * table remembers for this client, so the request is older than one already executed (request ids
     * must increase per client). Not executed; nothing written. Resubmitting the <em>last</em> id is a
     * retry and gets the original reply instead.
     */
    public static final int STALE_REQUEST_ID = 7;

    /** First code available to applications. */
    public static final int FIRST_APPLICATION_CODE = 100;

    /** SmallBank: a customer id has no savings/checking row. */
    public static final int UNKNOWN_CUSTOMER = 100;
    /** SmallBank: DepositChecking with a negative amount. */
    public static final int NEGATIVE_AMOUNT = 101;
    /** SmallBank: the balance does not cover the amount (TransactSavings, SendPayment). */
    public static final int INSUFFICIENT_FUNDS = 102;
    /** SmallBank: a two-account transaction names the same account twice. */
    public static final int SAME_ACCOUNT = 103;
    /** SmallBank: a step of the arithmetic would overflow a long of cents. */
    public static final int AMOUNT_OVERFLOW = 104;

    /** Key-value app: the key has no value. */
    public static final int NOT_FOUND = 120;

    private ReplyCodes()
    {
    }

    /**
     * @param code a reply code.
     * @return its name and meaning (a constant string, no allocation).
     */
    public static String describe(final int code)
    {
        switch (code)
        {
            case OK:
                return "OK";
            case UNKNOWN_TYPE:
                return "UNKNOWN_TYPE: no transaction type is registered under the request's type id";
            case MALFORMED_REQUEST:
                return "MALFORMED_REQUEST: the payload has the wrong length or a field out of range";
            case EXECUTION_FAILED:
                return "EXECUTION_FAILED: the transaction type threw (application bug); its partial writes remain";
            case STORE_REJECTED:
                return "STORE_REJECTED: the state store refused an operation (full, undo log full, batch order)";
            case UNAVAILABLE:
                return "UNAVAILABLE: the engine stopped before executing this request; it had no effect";
            case OUTCOME_UNKNOWN:
                return "OUTCOME_UNKNOWN: the engine stopped after journaling this request; recovery executes it";
            case STALE_REQUEST_ID:
                return "STALE_REQUEST_ID: the request id is below the client's last executed one; not executed";
            case UNKNOWN_CUSTOMER:
                return "UNKNOWN_CUSTOMER: a customer id has no account";
            case NEGATIVE_AMOUNT:
                return "NEGATIVE_AMOUNT: the amount must not be negative";
            case INSUFFICIENT_FUNDS:
                return "INSUFFICIENT_FUNDS: the balance does not cover the amount";
            case SAME_ACCOUNT:
                return "SAME_ACCOUNT: the two accounts must differ";
            case AMOUNT_OVERFLOW:
                return "AMOUNT_OVERFLOW: the arithmetic would overflow a long of cents";
            case NOT_FOUND:
                return "NOT_FOUND: the key has no value";
            default:
                return code >= FIRST_APPLICATION_CODE ? "APPLICATION_CODE: not a built-in code" : "UNDEFINED_CODE";
        }
    }

    /**
     * @param reply  a reply.
     * @param offset where it starts.
     * @return its reply code.
     */
    public static int code(final DirectBuffer reply, final int offset)
    {
        return reply.getInt(offset + CODE_OFFSET, BYTE_ORDER);
    }

    /**
     * Writes a reply that is only a code (engine-level replies).
     *
     * @return its length, {@link #CODE_LENGTH}.
     */
    public static int writeCode(final MutableDirectBuffer reply, final int offset, final int code)
    {
        reply.putInt(offset + CODE_OFFSET, code, BYTE_ORDER);
        return CODE_LENGTH;
    }
}
