/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

/**
 * A pre-generated pseudo-random sequence of existing keys that cycles, so that a measured
 * operation picks its key without allocation or a random-number call.
 */
final class KeyCursor
{
    private final long[] keys;
    private final int mask;
    private int cursor;

    /**
     * @param length   keys in the sequence, a power of two.
     * @param keyRange keys are drawn from {@code [0, keyRange)} (see {@link StoreFixtures#randomKeys}).
     */
    KeyCursor(final int length, final long keyRange)
    {
        if (Integer.bitCount(length) != 1)
        {
            throw new IllegalArgumentException("key sequence length " + length + " must be a power of two");
        }
        this.keys = StoreFixtures.randomKeys(length, keyRange);
        this.mask = length - 1;
    }

    long next()
    {
        final long key = keys[cursor];
        cursor = (cursor + 1) & mask;
        return key;
    }
}
