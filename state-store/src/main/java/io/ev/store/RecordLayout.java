/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import net.openhft.hashing.LongHashFunction;

/**
 * Layout of one record as stored in the Chronicle Map value, and of a writer's scratch area.
 * <pre>
 *  map value:
 *  +---------------------------+------------------+------------------+-----------+
 *  | payload (0..maxValueBytes)| version (8)      | record hash (8)  | flags (4) |
 *  +---------------------------+------------------+------------------+-----------+
 *                              ^ trailer, at value size - TRAILER_LENGTH
 *
 *  writer scratch (key and payload side by side, so the record hash is one xxh3 call):
 *  +-----------+---------------------------+---------+
 *  | key (8)   | payload                   | trailer |
 *  +-----------+---------------------------+---------+
 * </pre>
 * record hash = xxh3(key bytes (little endian) ++ payload); a tombstone (flag bit 0) is a record
 * deleted by a still-open batch: it reads as absent and contributes 0 to its page digest.
 */
final class RecordLayout
{
    static final int VERSION_OFFSET = 0;
    static final int HASH_OFFSET = VERSION_OFFSET + Long.BYTES;
    static final int FLAGS_OFFSET = HASH_OFFSET + Long.BYTES;
    static final int TRAILER_LENGTH = FLAGS_OFFSET + Integer.BYTES;

    static final int FLAG_TOMBSTONE = 1;

    static final int SCRATCH_KEY_OFFSET = 0;
    static final int SCRATCH_PAYLOAD_OFFSET = SCRATCH_KEY_OFFSET + Long.BYTES;

    static final LongHashFunction XX3 = LongHashFunction.xx3();

    private RecordLayout()
    {
    }

    /**
     * Spreads a key over pages: the splitmix64 finaliser, a bijection on 64-bit values.
     */
    static long mix(final long key)
    {
        long z = key;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
