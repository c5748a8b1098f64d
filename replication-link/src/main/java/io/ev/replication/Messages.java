/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The replication protocol's messages: layout, encoding and checking (docs/formats.md). Little
 * endian. Every message starts with the same header:
 * <pre>
 *  0              2               4          6              8
 *  +--------------+---------------+----------+--------------+-----------------+
 *  | schema id (2)| version (2)   | type (2) | reserved (2) | epoch (8)       |
 *  +--------------+---------------+----------+--------------+-----------------+
 * </pre>
 * Bodies, from offset {@link #HEADER_LENGTH}:
 * <pre>
 *  HELLO        role (4): 1 primary, 2 backup | page count (4) | last committed seq (8) | root (8) |
 *               requests in state (8) | incarnation (8): a backup's random id, new at each start (a
 *               primary's answer: its pairing count) | configuration digest (8): what must be equal on
 *               both replicas besides the state (the application's transaction types, request
 *               deduplication; {@link ReplicaExecution#configurationDigest()})
 *  BATCH        seq (8) | round (4) | reserved (4) | primary's last committed seq (8) | the journal's
 *               batch entry (header + body, journal format version 1)
 *  TOKEN        seq (8) | round (4) | attempt (4) | root (8) | reply digest (8)
 *  DECISION     seq (8) | round (4) | attempt (4) | decision (4): 1 commit, 2 re-execute
 *               sequentially, 3 transfer | reserved (4)
 *  KEYS         seq (8) | round (4) | count (4) | count x (key (8) | sender's digest of its page (8))
 *  RECORDS      seq (8) | round (4) | reserved (4) | a state-store repair frame (RecordsCodec, version 1)
 *  HEARTBEAT    sender's clock ns (8) | last committed seq (8) | paired (4): 1 if the sender verifies
 *               batches with the receiver, else 0 | pairing (4): the primary's pairing count
 *  CATCH_UP     first seq wanted (8) | requester's root after the seq before it (8)
 *  CATCH_UP_BATCH seq (8): -1 when the primary cannot serve the catch-up | root after it (8) | flags (4):
 *               1 the last batch of this answer | reserved (4) | the journal's batch entry (none when
 *               seq is -1)
 *  SYNC_REQUEST seq (8) | first page (4) | count (4) | count x the requester's page digest (8)
 *  SYNC_RECORDS seq (8) | first page (4) | end page (4) | a state-store repair frame of complete pages
 * </pre>
 * The round (version 3, pipelining) is the primary's count of discards within its epoch: it goes up
 * each time the primary abandons the executions of its in-flight batches (a re-execution decision
 * rolls back the batch and every later one; a lost backup). Every batch in flight belongs to the
 * current round, so a TOKEN, DECISION or BATCH of an older round is stale: a re-shipped batch is
 * never confused with its earlier execution. Versions: 1 synchronous protocol; 2 failover (HELLO,
 * HEARTBEAT, SYNC_*); 3 pipelining (round in the batch messages, the primary's last committed seq in
 * BATCH); 4 the configuration digest in HELLO, journal catch-up (CATCH_UP with the requester's root,
 * CATCH_UP_BATCH).
 * Encoding writes into a caller's buffer (zero allocation); {@link #check(DirectBuffer, int, int)}
 * validates a received message before any field is read, and names what is wrong.
 */
public final class Messages
{
    /** "EV" little-endian: the schema of every EV replication message. */
    public static final short SCHEMA_ID = 0x5645;
    /** The protocol version this build speaks; a peer with any other is refused. */
    public static final short VERSION = 4;

    public static final short HELLO = 1;
    public static final short BATCH = 2;
    public static final short TOKEN = 3;
    public static final short DECISION = 4;
    public static final short KEYS = 5;
    public static final short RECORDS = 6;
    public static final short HEARTBEAT = 7;
    public static final short CATCH_UP = 8;
    public static final short SYNC_REQUEST = 9;
    public static final short SYNC_RECORDS = 10;
    public static final short CATCH_UP_BATCH = 11;
    /** CATCH_UP_BATCH flag: the last batch of an answer (the backup asks for more after it). */
    public static final int CATCH_UP_LAST = 1;

    public static final int ROLE_PRIMARY = 1;
    public static final int ROLE_BACKUP = 2;

    public static final int DECISION_COMMIT = 1;
    public static final int DECISION_REEXECUTE = 2;
    public static final int DECISION_TRANSFER = 3;

    public static final int SCHEMA_ID_OFFSET = 0;
    public static final int VERSION_OFFSET = 2;
    public static final int TYPE_OFFSET = 4;
    public static final int EPOCH_OFFSET = 8;
    public static final int HEADER_LENGTH = 16;
    /** Offset of the first body field. */
    public static final int BODY = HEADER_LENGTH;

    public static final int HELLO_LENGTH = BODY + 48;
    public static final int TOKEN_LENGTH = BODY + 32;
    public static final int DECISION_LENGTH = BODY + 24;
    public static final int KEYS_HEADER_LENGTH = BODY + 16;
    public static final int KEY_ENTRY_LENGTH = 16;
    public static final int HEARTBEAT_LENGTH = BODY + 24;
    public static final int CATCH_UP_LENGTH = BODY + 16;
    /** CATCH_UP_BATCH: seq, root, flags, reserved, then the journal's batch entry. */
    public static final int CATCH_UP_FRAME_OFFSET = BODY + 24;
    public static final int SYNC_HEADER_LENGTH = BODY + 16;
    public static final int SYNC_DIGEST_LENGTH = Long.BYTES;
    /** BATCH: seq, round, reserved, last committed seq, then the journal's batch entry. */
    public static final int BATCH_FRAME_OFFSET = BODY + 24;
    /** RECORDS: seq, round, reserved, then the repair frame. */
    public static final int RECORDS_FRAME_OFFSET = BODY + 16;

    private Messages()
    {
    }

    /**
     * Writes the header.
     *
     * @return the offset of the body.
     */
    public static int header(final MutableDirectBuffer buffer, final int offset, final short type, final long epoch)
    {
        buffer.putShort(offset + SCHEMA_ID_OFFSET, SCHEMA_ID);
        buffer.putShort(offset + VERSION_OFFSET, VERSION);
        buffer.putShort(offset + TYPE_OFFSET, type);
        buffer.putShort(offset + TYPE_OFFSET + 2, (short)0);
        buffer.putLong(offset + EPOCH_OFFSET, epoch);
        return offset + BODY;
    }

    /**
     * @return the length of the HELLO message written at {@code offset}.
     */
    public static int hello(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final int role,
        final int pageCount,
        final long lastCommittedSeq,
        final long root,
        final long requests,
        final long incarnation,
        final long configurationDigest)
    {
        final int body = header(buffer, offset, HELLO, epoch);
        buffer.putInt(body, role);
        buffer.putInt(body + 4, pageCount);
        buffer.putLong(body + 8, lastCommittedSeq);
        buffer.putLong(body + 16, root);
        buffer.putLong(body + 24, requests);
        buffer.putLong(body + 32, incarnation);
        buffer.putLong(body + 40, configurationDigest);
        return HELLO_LENGTH;
    }

    public static int token(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int round,
        final int attempt,
        final long root,
        final long replyDigest)
    {
        final int body = header(buffer, offset, TOKEN, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, round);
        buffer.putInt(body + 12, attempt);
        buffer.putLong(body + 16, root);
        buffer.putLong(body + 24, replyDigest);
        return TOKEN_LENGTH;
    }

    public static int decision(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int round,
        final int attempt,
        final int decision)
    {
        final int body = header(buffer, offset, DECISION, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, round);
        buffer.putInt(body + 12, attempt);
        buffer.putInt(body + 16, decision);
        buffer.putInt(body + 20, 0);
        return DECISION_LENGTH;
    }

    public static int heartbeat(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long nowNs,
        final long lastCommitted,
        final boolean paired,
        final int pairing)
    {
        final int body = header(buffer, offset, HEARTBEAT, epoch);
        buffer.putLong(body, nowNs);
        buffer.putLong(body + 8, lastCommitted);
        buffer.putInt(body + 16, paired ? 1 : 0);
        buffer.putInt(body + 20, pairing);
        return HEARTBEAT_LENGTH;
    }

    /**
     * @return the length of a backup's CATCH_UP: committed batches from {@code fromSeq} on, whose
     * predecessor left this backup at {@code root}.
     */
    public static int catchUp(
        final MutableDirectBuffer buffer, final int offset, final long epoch, final long fromSeq, final long root)
    {
        final int body = header(buffer, offset, CATCH_UP, epoch);
        buffer.putLong(body, fromSeq);
        buffer.putLong(body + 8, root);
        return CATCH_UP_LENGTH;
    }

    /**
     * Writes a CATCH_UP_BATCH header; the journal's batch entry goes at {@link #CATCH_UP_FRAME_OFFSET}.
     * {@code seq} -1: the primary cannot serve the catch-up asked for (the backup syncs pages instead).
     */
    public static void catchUpBatchHeader(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final long root,
        final int flags)
    {
        final int body = header(buffer, offset, CATCH_UP_BATCH, epoch);
        buffer.putLong(body, seq);
        buffer.putLong(body + 8, root);
        buffer.putInt(body + 16, flags);
        buffer.putInt(body + 20, 0);
    }

    /** @return the root of a CATCH_UP (the requester's) or CATCH_UP_BATCH (after the batch). */
    public static long catchUpRoot(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 8);
    }

    /** @return the flags of a CATCH_UP_BATCH ({@link #CATCH_UP_LAST}). */
    public static int catchUpFlags(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 16);
    }

    /**
     * Writes a SYNC_REQUEST header; the caller then writes {@code count} digests with
     * {@link #syncDigest}.
     *
     * @return the message length once the digests are written.
     */
    public static int syncRequest(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int firstPage,
        final int count)
    {
        final int body = header(buffer, offset, SYNC_REQUEST, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, firstPage);
        buffer.putInt(body + 12, count);
        return SYNC_HEADER_LENGTH + count * SYNC_DIGEST_LENGTH;
    }

    public static void syncDigest(
        final MutableDirectBuffer buffer, final int offset, final int index, final long pageDigest)
    {
        buffer.putLong(offset + SYNC_HEADER_LENGTH + index * SYNC_DIGEST_LENGTH, pageDigest);
    }

    /**
     * Writes a SYNC_RECORDS header: the answer to a SYNC_REQUEST covering pages [firstPage,
     * endPage); the caller writes the repair frame at {@link #SYNC_HEADER_LENGTH}.
     *
     * @return the message length once a frame of {@code frameLength} bytes is written.
     */
    public static int syncRecords(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int firstPage,
        final int endPage,
        final int frameLength)
    {
        final int body = header(buffer, offset, SYNC_RECORDS, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, firstPage);
        buffer.putInt(body + 12, endPage);
        return SYNC_HEADER_LENGTH + frameLength;
    }

    /** @return the first page of a SYNC_REQUEST or SYNC_RECORDS. */
    public static int syncFirstPage(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 8);
    }

    /** @return the digest count of a SYNC_REQUEST, or the end page of a SYNC_RECORDS. */
    public static int syncCountOrEnd(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 12);
    }

    public static long syncDigestAt(final DirectBuffer buffer, final int offset, final int index)
    {
        return buffer.getLong(offset + SYNC_HEADER_LENGTH + index * SYNC_DIGEST_LENGTH);
    }

    /**
     * Writes a BATCH: its seq and round, the sender's last committed seq, then a copy of the
     * journal's batch entry.
     *
     * @return the message length.
     */
    public static int batch(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int round,
        final long lastCommittedSeq,
        final DirectBuffer entry,
        final int entryOffset,
        final int entryLength)
    {
        final int body = header(buffer, offset, BATCH, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, round);
        buffer.putInt(body + 12, 0);
        buffer.putLong(body + 16, lastCommittedSeq);
        buffer.putBytes(offset + BATCH_FRAME_OFFSET, entry, entryOffset, entryLength);
        return BATCH_FRAME_OFFSET + entryLength;
    }

    /**
     * Updates the sender's last committed seq of a BATCH already written (before a re-send).
     */
    public static void batchLastCommittedSeq(final MutableDirectBuffer buffer, final int offset, final long seq)
    {
        buffer.putLong(offset + BODY + 16, seq);
    }

    /** @return the sender's last committed seq carried by a BATCH. */
    public static long batchLastCommittedSeq(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 16);
    }

    /**
     * Writes a RECORDS: its seq and round, then a copy of the repair frame.
     *
     * @return the message length.
     */
    public static int records(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int round,
        final DirectBuffer frame,
        final int frameOffset,
        final int frameLength)
    {
        final int body = header(buffer, offset, RECORDS, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, round);
        buffer.putInt(body + 12, 0);
        buffer.putBytes(offset + RECORDS_FRAME_OFFSET, frame, frameOffset, frameLength);
        return RECORDS_FRAME_OFFSET + frameLength;
    }

    /**
     * Writes a KEYS header; the caller then writes {@code count} entries with {@link #keyEntry}.
     *
     * @return the message length once the entries are written.
     */
    public static int keys(
        final MutableDirectBuffer buffer,
        final int offset,
        final long epoch,
        final long seq,
        final int round,
        final int count)
    {
        final int body = header(buffer, offset, KEYS, epoch);
        buffer.putLong(body, seq);
        buffer.putInt(body + 8, round);
        buffer.putInt(body + 12, count);
        return KEYS_HEADER_LENGTH + count * KEY_ENTRY_LENGTH;
    }

    public static void keyEntry(
        final MutableDirectBuffer buffer, final int offset, final int index, final long key, final long pageDigest)
    {
        final int at = offset + KEYS_HEADER_LENGTH + index * KEY_ENTRY_LENGTH;
        buffer.putLong(at, key);
        buffer.putLong(at + 8, pageDigest);
    }

    public static short type(final DirectBuffer buffer, final int offset)
    {
        return buffer.getShort(offset + TYPE_OFFSET);
    }

    public static long epoch(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + EPOCH_OFFSET);
    }

    /** @return the seq of a BATCH, TOKEN, DECISION, KEYS or RECORDS message. */
    public static long seq(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY);
    }

    /** @return the round of a BATCH, TOKEN, DECISION, KEYS or RECORDS message. */
    public static int round(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 8);
    }

    /** @return the attempt of a TOKEN or DECISION (0 = parallel execution, 1 = sequential re-execution, ...). */
    public static int attempt(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 12);
    }

    public static long tokenRoot(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 16);
    }

    public static long tokenReplyDigest(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 24);
    }

    public static int decision(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 16);
    }

    /** @return whether a HEARTBEAT's sender verifies batches with the receiver. */
    public static boolean heartbeatPaired(final DirectBuffer buffer, final int offset)
    {
        return 1 == buffer.getInt(offset + BODY + 16);
    }

    /**
     * @return the primary's pairing count in a HEARTBEAT: one that predates a backup's pairing is
     * stale.
     */
    public static int heartbeatPairing(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 20);
    }

    public static int helloRole(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY);
    }

    public static int helloPageCount(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 4);
    }

    /** @return the last committed seq of a HELLO or HEARTBEAT. */
    public static long lastCommittedSeq(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 8);
    }

    public static long helloRoot(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 16);
    }

    /** @return a backup's incarnation: tells a retransmitted HELLO from a restarted backup's. */
    public static long helloIncarnation(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 32);
    }

    /** @return the sender's {@link ReplicaExecution#configurationDigest()}. */
    public static long helloConfigurationDigest(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 40);
    }

    /** @return the requests executed into the sender's state (a count kept for reports). */
    public static long helloRequests(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY + 24);
    }

    /** @return the sender's clock of a HEARTBEAT, or the first wanted seq of a CATCH_UP. */
    public static long firstLong(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BODY);
    }

    public static int keyCount(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + BODY + 12);
    }

    public static long key(final DirectBuffer buffer, final int offset, final int index)
    {
        return buffer.getLong(offset + KEYS_HEADER_LENGTH + index * KEY_ENTRY_LENGTH);
    }

    public static long keyPageDigest(final DirectBuffer buffer, final int offset, final int index)
    {
        return buffer.getLong(offset + KEYS_HEADER_LENGTH + index * KEY_ENTRY_LENGTH + 8);
    }

    /**
     * Checks a received message: schema, version, type, that its length fits the type, and that a HELLO
     * names a known role (another value would read as a second primary's claim).
     *
     * @return null when it may be read, else what is wrong (for the refusal message).
     */
    public static String check(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < HEADER_LENGTH)
        {
            return "message of " + length + " bytes is shorter than the " + HEADER_LENGTH + "-byte header";
        }
        final int schema = buffer.getShort(offset + SCHEMA_ID_OFFSET) & 0xFFFF;
        if (schema != SCHEMA_ID)
        {
            return String.format("schema id 0x%04x is not EV replication (0x%04x): not an EV peer", schema, SCHEMA_ID);
        }
        final int version = buffer.getShort(offset + VERSION_OFFSET);
        if (version != VERSION)
        {
            return "peer speaks EV replication protocol version " + version + ", this node speaks version " + VERSION +
                "; run the same version on both replicas";
        }
        final int type = type(buffer, offset);
        final int expected;
        switch (type)
        {
            case HELLO:
            {
                if (length != HELLO_LENGTH)
                {
                    return "HELLO message is " + length + " bytes, expected " + HELLO_LENGTH;
                }
                final int role = helloRole(buffer, offset);
                return ROLE_PRIMARY == role || ROLE_BACKUP == role ? null :
                    "HELLO message names role " + role + ", neither primary (1) nor backup (2)";
            }
            case TOKEN:
                expected = TOKEN_LENGTH;
                break;
            case DECISION:
                expected = DECISION_LENGTH;
                break;
            case HEARTBEAT:
                expected = HEARTBEAT_LENGTH;
                break;
            case CATCH_UP:
                expected = CATCH_UP_LENGTH;
                break;
            case SYNC_REQUEST:
            {
                if (length < SYNC_HEADER_LENGTH)
                {
                    return "SYNC_REQUEST message of " + length + " bytes is shorter than its header";
                }
                final long count = buffer.getInt(offset + BODY + 12);
                return count < 0 || SYNC_HEADER_LENGTH + count * SYNC_DIGEST_LENGTH != length ?
                    "SYNC_REQUEST message says " + count + " pages but is " + length + " bytes long" : null;
            }
            case CATCH_UP_BATCH:
                return length < CATCH_UP_FRAME_OFFSET ?
                    "CATCH_UP_BATCH message of " + length + " bytes is shorter than its header" : null;
            case SYNC_RECORDS:
                return length < SYNC_HEADER_LENGTH ?
                    "SYNC_RECORDS message of " + length + " bytes is shorter than its header" : null;
            case BATCH:
                return length < BATCH_FRAME_OFFSET ? "BATCH message of " + length + " bytes has no entry" : null;
            case RECORDS:
                return length < RECORDS_FRAME_OFFSET ? "RECORDS message of " + length + " bytes has no frame" : null;
            case KEYS:
            {
                if (length < KEYS_HEADER_LENGTH)
                {
                    return "KEYS message of " + length + " bytes is shorter than its header";
                }
                final long count = buffer.getInt(offset + BODY + 12);
                return count < 0 || KEYS_HEADER_LENGTH + count * KEY_ENTRY_LENGTH != length ?
                    "KEYS message says " + count + " keys but is " + length + " bytes long" : null;
            }
            default:
                return "unknown message type " + type;
        }
        return length != expected ?
            typeName(type) + " message is " + length + " bytes, expected " + expected : null;
    }

    /**
     * @return the name of a message type, for messages and logs.
     */
    public static String typeName(final int type)
    {
        switch (type)
        {
            case HELLO:
                return "HELLO";
            case BATCH:
                return "BATCH";
            case TOKEN:
                return "TOKEN";
            case DECISION:
                return "DECISION";
            case KEYS:
                return "KEYS";
            case RECORDS:
                return "RECORDS";
            case HEARTBEAT:
                return "HEARTBEAT";
            case CATCH_UP:
                return "CATCH_UP";
            case SYNC_REQUEST:
                return "SYNC_REQUEST";
            case SYNC_RECORDS:
                return "SYNC_RECORDS";
            case CATCH_UP_BATCH:
                return "CATCH_UP_BATCH";
            default:
                return "type " + type;
        }
    }
}
