/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

/**
 * Composes 64-bit store keys from a table id and a row id.
 * <pre>
 *   63        48 47                                           0
 *  +------------+----------------------------------------------+
 *  |  table id  |                    row id                    |
 *  +------------+----------------------------------------------+
 * </pre>
 */
public final class Keys
{
    /** Bits of the key that hold the row id. */
    public static final int ROW_BITS = 48;
    /** Largest table id. */
    public static final int MAX_TABLE = (1 << (Long.SIZE - ROW_BITS)) - 1;
    /** Largest row id. */
    public static final long MAX_ROW = (1L << ROW_BITS) - 1;

    private Keys()
    {
    }

    /**
     * @param table table id in [0, {@link #MAX_TABLE}].
     * @param row   row id in [0, {@link #MAX_ROW}].
     * @return the composed key.
     */
    public static long key(final int table, final long row)
    {
        if (table < 0 || table > MAX_TABLE)
        {
            throw new IllegalArgumentException("table id " + table + " outside [0, " + MAX_TABLE + "]");
        }
        if (row < 0 || row > MAX_ROW)
        {
            throw new IllegalArgumentException("row id " + row + " outside [0, " + MAX_ROW + "]");
        }
        return ((long)table << ROW_BITS) | row;
    }

    /**
     * @param key a composed key.
     * @return its table id.
     */
    public static int table(final long key)
    {
        return (int)(key >>> ROW_BITS);
    }

    /**
     * @param key a composed key.
     * @return its row id.
     */
    public static long row(final long key)
    {
        return key & MAX_ROW;
    }
}
