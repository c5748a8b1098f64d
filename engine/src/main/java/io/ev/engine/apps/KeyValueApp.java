/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.AbstractTransactionType;
import io.ev.engine.ReplyCodes;
import io.ev.engine.TransactionRegistry;
import io.ev.pipeline.KeySink;
import io.ev.store.Keys;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * A simple key-value application over table {@link #TABLE}: keys are row ids in
 * [0, {@link Keys#MAX_ROW}], values are up to {@link #MAX_VALUE_BYTES} bytes (the store's
 * maxValueBytes must be at least as large, or PUT replies STORE_REJECTED).
 * <pre>
 *  type    id  keys      payload
 *  GET     16  r: key    | key (8) |
 *  PUT     17  w: key    | key (8) | value (0..MAX_VALUE_BYTES) |
 *  DELETE  18  w: key    | key (8) |
 *
 *  reply (all three), little-endian:
 *   0              4                   8
 *  +---------------+-------------------+------------------------+
 *  | reply code (4)| value length (4)  | value (value length)   |
 *  +---------------+-------------------+------------------------+
 * </pre>
 * GET: OK with the value, or NOT_FOUND with length 0. PUT: OK, length 0. DELETE: OK if the key had a
 * value, NOT_FOUND (nothing written) if not; length 0. A payload of another length, or a key outside
 * the row range, is MALFORMED_REQUEST.
 */
public final class KeyValueApp
{
    /** Table of the key-value app. */
    public static final int TABLE = 16;
    /** Type id of GET. */
    public static final int GET = 16;
    /** Type id of PUT. */
    public static final int PUT = 17;
    /** Type id of DELETE. */
    public static final int DELETE = 18;
    /** Largest value. */
    public static final int MAX_VALUE_BYTES = 256;

    /** Offset of the key in every payload. */
    public static final int KEY_OFFSET = 0;
    /** Offset of the value in a PUT payload. */
    public static final int VALUE_OFFSET = KEY_OFFSET + Long.BYTES;
    /** Length of a GET or DELETE payload, and of a PUT payload's fixed part. */
    public static final int KEY_LENGTH = VALUE_OFFSET;
    /** Longest payload (a PUT of the largest value). */
    public static final int MAX_PAYLOAD_LENGTH = VALUE_OFFSET + MAX_VALUE_BYTES;

    /** Offset of the value length in a reply. */
    public static final int REPLY_VALUE_LENGTH_OFFSET = ReplyCodes.CODE_OFFSET + ReplyCodes.CODE_LENGTH;
    /** Offset of the value in a reply. */
    public static final int REPLY_VALUE_OFFSET = REPLY_VALUE_LENGTH_OFFSET + Integer.BYTES;
    /** Longest reply. */
    public static final int MAX_REPLY_LENGTH = REPLY_VALUE_OFFSET + MAX_VALUE_BYTES;

    private KeyValueApp()
    {
    }

    /**
     * Registers GET, PUT and DELETE.
     *
     * @return the registry.
     */
    public static TransactionRegistry registerAll(final TransactionRegistry registry)
    {
        return registry.register(new Get()).register(new Put()).register(new Delete());
    }

    /**
     * @return the payload length of GET(key).
     */
    public static int encodeGet(final MutableDirectBuffer buffer, final int offset, final long key)
    {
        buffer.putLong(offset + KEY_OFFSET, key, ReplyCodes.BYTE_ORDER);
        return KEY_LENGTH;
    }

    /**
     * @return the payload length of DELETE(key).
     */
    public static int encodeDelete(final MutableDirectBuffer buffer, final int offset, final long key)
    {
        buffer.putLong(offset + KEY_OFFSET, key, ReplyCodes.BYTE_ORDER);
        return KEY_LENGTH;
    }

    /**
     * @return the payload length of PUT(key, value).
     * @throws IllegalArgumentException if the value is longer than {@link #MAX_VALUE_BYTES}.
     */
    public static int encodePut(
        final MutableDirectBuffer buffer,
        final int offset,
        final long key,
        final DirectBuffer value,
        final int valueOffset,
        final int valueLength)
    {
        if (valueLength < 0 || valueLength > MAX_VALUE_BYTES)
        {
            throw new IllegalArgumentException("value length " + valueLength + " outside [0, " + MAX_VALUE_BYTES + "]");
        }
        buffer.putLong(offset + KEY_OFFSET, key, ReplyCodes.BYTE_ORDER);
        buffer.putBytes(offset + VALUE_OFFSET, value, valueOffset, valueLength);
        return VALUE_OFFSET + valueLength;
    }

    /**
     * @return the value length of a reply (0 unless a GET found the key).
     */
    public static int replyValueLength(final DirectBuffer reply, final int offset)
    {
        return reply.getInt(offset + REPLY_VALUE_LENGTH_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    /**
     * @return the store key of a key-value key.
     */
    public static long storeKey(final long key)
    {
        return Keys.key(TABLE, key);
    }

    static boolean isValidKey(final long key)
    {
        return key >= 0 && key <= Keys.MAX_ROW;
    }

    static long key(final DirectBuffer payload)
    {
        return payload.getLong(KEY_OFFSET, ReplyCodes.BYTE_ORDER);
    }

    static int reply(final MutableDirectBuffer reply, final int offset, final int code, final int valueLength)
    {
        reply.putInt(offset + ReplyCodes.CODE_OFFSET, code, ReplyCodes.BYTE_ORDER);
        reply.putInt(offset + REPLY_VALUE_LENGTH_OFFSET, valueLength, ReplyCodes.BYTE_ORDER);
        return REPLY_VALUE_OFFSET + valueLength;
    }

    /**
     * GET(key): replies the value, or NOT_FOUND.
     */
    static final class Get extends AbstractTransactionType
    {
        Get()
        {
            super(GET, "Get", KEY_LENGTH, MAX_REPLY_LENGTH);
        }

        public boolean declareKeys(final DirectBuffer payload, final int length, final KeySink keys)
        {
            if (length != KEY_LENGTH || !isValidKey(key(payload)))
            {
                return false;
            }
            keys.read(storeKey(key(payload)));
            return true;
        }

        public int execute(
            final DirectBuffer payload,
            final int length,
            final long seq,
            final StoreWriter store,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            if (length != KEY_LENGTH || !isValidKey(key(payload)))
            {
                return MALFORMED;
            }
            final int valueLength = store.get(storeKey(key(payload)), reply, replyOffset + REPLY_VALUE_OFFSET);
            if (StateStore.MISSING == valueLength)
            {
                return KeyValueApp.reply(reply, replyOffset, ReplyCodes.NOT_FOUND, 0);
            }
            if (valueLength > MAX_VALUE_BYTES)
            {
                throw new IllegalStateException(
                    "key-value row holds " + valueLength + " bytes, max " + MAX_VALUE_BYTES);
            }
            return KeyValueApp.reply(reply, replyOffset, ReplyCodes.OK, valueLength);
        }
    }

    /**
     * PUT(key, value): sets the value.
     */
    static final class Put extends AbstractTransactionType
    {
        Put()
        {
            super(PUT, "Put", MAX_PAYLOAD_LENGTH, REPLY_VALUE_OFFSET);
        }

        public boolean declareKeys(final DirectBuffer payload, final int length, final KeySink keys)
        {
            if (!isWellFormed(payload, length))
            {
                return false;
            }
            keys.write(storeKey(key(payload)));
            return true;
        }

        public int execute(
            final DirectBuffer payload,
            final int length,
            final long seq,
            final StoreWriter store,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            if (!isWellFormed(payload, length))
            {
                return MALFORMED;
            }
            store.put(seq, storeKey(key(payload)), payload, VALUE_OFFSET, length - VALUE_OFFSET);
            return KeyValueApp.reply(reply, replyOffset, ReplyCodes.OK, 0);
        }

        private static boolean isWellFormed(final DirectBuffer payload, final int length)
        {
            return length >= KEY_LENGTH && length <= MAX_PAYLOAD_LENGTH && isValidKey(key(payload));
        }
    }

    /**
     * DELETE(key): removes the value, or replies NOT_FOUND.
     */
    static final class Delete extends AbstractTransactionType
    {
        Delete()
        {
            super(DELETE, "Delete", KEY_LENGTH, REPLY_VALUE_OFFSET);
        }

        public boolean declareKeys(final DirectBuffer payload, final int length, final KeySink keys)
        {
            if (length != KEY_LENGTH || !isValidKey(key(payload)))
            {
                return false;
            }
            keys.write(storeKey(key(payload)));
            return true;
        }

        public int execute(
            final DirectBuffer payload,
            final int length,
            final long seq,
            final StoreWriter store,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            if (length != KEY_LENGTH || !isValidKey(key(payload)))
            {
                return MALFORMED;
            }
            final boolean existed = store.remove(seq, storeKey(key(payload)));
            return KeyValueApp.reply(reply, replyOffset, existed ? ReplyCodes.OK : ReplyCodes.NOT_FOUND, 0);
        }
    }
}
