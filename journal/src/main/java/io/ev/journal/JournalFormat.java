/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import org.agrona.DirectBuffer;

/**
 * Layout of one journal entry (one Chronicle Queue document), little-endian; docs/formats.md.
 * <pre>
 *  0            4          6                8                 12             16
 *  +------------+----------+----------------+-----------------+--------------+---------+
 *  | CRC32C (4) | type (2) | format ver (2) | body length (4) | reserved (4) | body ...|
 *  +------------+----------+----------------+-----------------+--------------+---------+
 *  the CRC32C covers bytes [4, 16 + body length): the rest of the header and the body.
 * </pre>
 */
public final class JournalFormat
{
    /** Format version written by this build; entries of any other version are refused. */
    public static final short FORMAT_VERSION = 1;

    /** A batch, appended before it executes. */
    public static final short TYPE_BATCH = 1;
    /** A batch's commit marker, appended after it was verified and committed, before replies. */
    public static final short TYPE_COMMIT = 2;
    /** A checkpoint was completed. */
    public static final short TYPE_CHECKPOINT = 3;
    /** Recovery skipped damaged tail entries; they precede this entry. */
    public static final short TYPE_TAIL_SKIPPED = 4;

    public static final int CRC_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int VERSION_OFFSET = 6;
    public static final int BODY_LENGTH_OFFSET = 8;
    public static final int HEADER_LENGTH = 16;

    /** Commit body: seq (8) | root (8) | reply digest (8) | request count (4) | reserved (4). */
    public static final int COMMIT_BODY_LENGTH = 32;
    /** Checkpoint body: seq (8) | root (8) | journal index (8) | request count (8). */
    public static final int CHECKPOINT_BODY_LENGTH = 32;
    /** Tail-skipped body: first skipped index (8) | skipped entries (4) | reserved (4). */
    public static final int TAIL_SKIPPED_BODY_LENGTH = 16;

    private JournalFormat()
    {
    }

    /**
     * @param crc   a reusable checksum (reset here).
     * @param entry a buffer holding a whole entry from position 0; its position and limit are
     *              changed and restored to 0 and capacity.
     * @return the CRC32C of an entry: bytes [4, 16 + bodyLength).
     */
    public static int crc(final CRC32C crc, final ByteBuffer entry, final int bodyLength)
    {
        crc.reset();
        entry.limit(HEADER_LENGTH + bodyLength).position(TYPE_OFFSET);
        crc.update(entry);
        entry.clear();
        return (int)crc.getValue();
    }

    /**
     * Checks an entry's length against its header and its checksum: what tells a damaged entry from a
     * whole one (the journal's reader, and a backup receiving a primary's batch entry).
     *
     * @param crc    a reusable checksum.
     * @param bytes  the entry from position 0 (see {@link #crc}).
     * @param entry  a view of the same bytes.
     * @param length the entry's length, header included.
     * @return null when the length and the checksum hold, else what is wrong.
     */
    public static String damage(final CRC32C crc, final ByteBuffer bytes, final DirectBuffer entry, final int length)
    {
        if (length < HEADER_LENGTH)
        {
            return "entry of " + length + " bytes is shorter than the " + HEADER_LENGTH + "-byte header";
        }
        final int bodyLength = entry.getInt(BODY_LENGTH_OFFSET);
        if (bodyLength != length - HEADER_LENGTH)
        {
            return "header says " + bodyLength + " body bytes but the entry holds " + (length - HEADER_LENGTH);
        }
        if (crc(crc, bytes, bodyLength) != entry.getInt(CRC_OFFSET))
        {
            return "checksum mismatch (damaged entry)";
        }
        return null;
    }

    /**
     * @return a readable name of an entry type.
     */
    public static String typeName(final int type)
    {
        switch (type)
        {
            case TYPE_BATCH:
                return "batch";
            case TYPE_COMMIT:
                return "commit";
            case TYPE_CHECKPOINT:
                return "checkpoint";
            case TYPE_TAIL_SKIPPED:
                return "tail-skipped";
            default:
                return "unknown type " + type;
        }
    }
}
