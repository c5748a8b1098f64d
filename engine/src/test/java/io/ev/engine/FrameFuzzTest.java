/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

import io.ev.engine.SmallBankFailoverSimulationTest.Node;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.BatchEncoder;
import io.ev.journal.JournalFormat;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.Request;
import io.ev.replication.BackupReplicator;
import io.ev.replication.Messages;
import io.ev.replication.PrimaryReplicator;
import io.ev.replication.ReplicationSettings;
import io.ev.replication.SimulatedNetwork;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Bad wire frames from the peer (docs/RELIABILITY.md, "Bad input"), handed straight to the
 * {@link PrimaryReplicator} and {@link BackupReplicator} of a SmallBank pair on the real store, paired over
 * the {@link SimulatedNetwork}: frames shorter than the header, garbage, another schema or protocol version,
 * valid headers with the wrong length or absurd counts (KEYS, SYNC_REQUEST, SYNC_RECORDS end page, a batch
 * entry's request count and payload lengths, a repair frame's counts), and bits flipped in the parts of a
 * frame that carry their own checks (a BATCH's journal entry, a RECORDS or SYNC_RECORDS repair frame, a
 * KEYS list). The receiver is settled, holds an open batch whose decision has not arrived, or is syncing.
 * <p>
 * Asserted for every frame: the handler does not throw; a frame {@link Messages#check} refuses is counted as
 * malformed and, unless its schema or version differ (then the replicator stops with an error naming both),
 * changes nothing; no frame changes either replica's committed state (last committed seq, committed root) or
 * stops a replicator; afterwards the pair converges, paired, with equal roots, and commits a new batch.
 * <p>
 * Out of the model: values in the fields of control messages that carry no checksum (epochs, seqs, a TOKEN's
 * root, a HEARTBEAT's or BATCH's last committed seq): the protocol relies on the transport (Aeron over UDP)
 * for their integrity, and a peer that lies in them is a different fault (docs/ARCHITECTURE.md).
 * <p>
 * jqwik prints the seed of a failing run; rerun it with {@code -Dev.fuzz.seed=<seed>}, and run more tries
 * with {@code -Dev.fuzz.tries=N} ({@link FuzzTries}).
 */
@AddLifecycleHook(FuzzTries.class)
class FrameFuzzTest
{
    private static final long STEP_NS = 20_000;
    private static final int MAX_STEPS = 200_000;
    private static final int REQUESTS_PER_BATCH = 8;
    /** The failover simulation's settings: short timeouts in simulated time, small sync steps. */
    private static final ReplicationSettings SETTINGS = SmallBankFailoverSimulationTest.SETTINGS;
    /** Batch entry (docs/formats.md): request count after the 16-byte header and the seq. */
    private static final int ENTRY_COUNT_OFFSET = JournalFormat.HEADER_LENGTH + Long.BYTES;
    /** Batch entry: the first request's payload length, the last field of its 28-byte header at 32. */
    private static final int ENTRY_FIRST_PAYLOAD_LENGTH_OFFSET = ENTRY_COUNT_OFFSET + 2 * Integer.BYTES + 24;

    private static Pair pair;

    /** What the receiving replica is doing when the frame arrives. */
    enum Stage
    {
        SETTLED, BATCH_OPEN, SYNCING
    }

    /** What is wrong with the frame. */
    enum Damage
    {
        SHORT, GARBAGE, TYPED_GARBAGE, SCHEMA, VERSION, LENGTH, COUNT, FLIP
    }

    /**
     * One generated case; the bytes are made from {@code noise} against the pair's current epoch and seqs.
     */
    record FrameCase(Stage stage, boolean toBackup, Damage damage, short type, long noise)
    {
    }

    @BeforeContainer
    static void openPair()
    {
        pair = new Pair();
    }

    @AfterContainer
    static void closePair()
    {
        pair.close();
    }

    @Property(tries = 150)
    void shouldCountOrRefuseABadFrameWithoutChangingEitherReplica(@ForAll("frames") final FrameCase frameCase)
    {
        pair.prepare(frameCase.stage());
        final Node receiver = frameCase.toBackup() ? pair.b : pair.a;
        final ExpandableArrayBuffer frame = new ExpandableArrayBuffer(64);
        final SplittableRandom random = new SplittableRandom(frameCase.noise());
        final int offset = random.nextInt(16);
        final int length = pair.frame(frameCase, random, frame, offset);
        // the frame ends where its buffer ends: reading past it throws at once
        final UnsafeBuffer buffer = new UnsafeBuffer(frame.byteArray(), 0, offset + length);
        final String problem = Messages.check(buffer, offset, length);
        final boolean foreign = length >= Messages.HEADER_LENGTH &&
            (buffer.getShort(offset + Messages.SCHEMA_ID_OFFSET) != Messages.SCHEMA_ID ||
            buffer.getShort(offset + Messages.VERSION_OFFSET) != Messages.VERSION);
        final String what = frameCase + ", " + length + " bytes at offset " + offset + ", check: " + problem;
        final long[] before = pair.committedState();
        if (foreign)
        {
            assertNotNull(problem, what);
            pair.deliverToThrowawayReplicator(receiver, frameCase.toBackup(), buffer, offset, length, what);
        }
        else
        {
            final long malformed = malformed(receiver);
            if (frameCase.toBackup())
            {
                receiver.backup.onMessage(buffer, offset, length);
                assertNull(receiver.backup.failure(), what);
            }
            else
            {
                receiver.primary.onMessage(buffer, offset, length);
                assertNull(receiver.primary.failure(), what);
            }
            if (null != problem)
            {
                assertEquals(malformed + 1, malformed(receiver), "counted as malformed: " + what);
            }
        }
        assertEquals(before[0], pair.committedState()[0], "primary's committed seq: " + what);
        assertEquals(before[1], pair.committedState()[1], "primary's committed root: " + what);
        assertEquals(before[2], pair.committedState()[2], "backup's committed seq: " + what);
        assertEquals(before[3], pair.committedState()[3], "backup's committed root: " + what);
        pair.settle(what);
        pair.commitOneBatch(what);
    }

    @Provide
    Arbitrary<FrameCase> frames()
    {
        return Combinators.combine(
            Arbitraries.of(Stage.class), Arbitraries.of(true, false), Arbitraries.of(Damage.class),
            Arbitraries.integers().between(Messages.HELLO, Messages.CATCH_UP_BATCH).map(Integer::shortValue),
            Arbitraries.longs())
            .as(FrameCase::new);
    }

    private static long malformed(final Node node)
    {
        return null != node.backup ? node.backup.counters().malformed() : node.primary.counters().malformed();
    }

    /**
     * A primary (a) and a backup (b) over a lossless simulated network.
     */
    private static final class Pair implements AutoCloseable
    {
        final SimulatedNetwork network = new SimulatedNetwork(11);
        final SimulatedNetwork elsewhere = new SimulatedNetwork(13);
        final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
        final Node a;
        final Node b;
        final SmallBankWorkload workload = SmallBankWorkload.uniform(40, 7, false);
        final KeyConflictMixer mixer = new KeyConflictMixer(REQUESTS_PER_BATCH);
        final Batch batch = new Batch(REQUESTS_PER_BATCH, registry.maxPayloadBytes(), registry.maxReplyBytes());
        final BatchEncoder encoder = new BatchEncoder();
        final Request request = new Request();
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
        final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        final ExpandableArrayBuffer repair = new ExpandableArrayBuffer(1024);
        final byte[] recordsFrame;
        final byte[] pagesFrame;
        long steps;
        int throwaways;

        Pair()
        {
            network.connect("a", "b");
            elsewhere.connect("x", "y");
            a = new Node("a", registry, 7, 1);
            b = new Node("b", registry, 7, 0x9E3779B97F4A7C15L);
            a.primary = new PrimaryReplicator(network.endpoint("a"), a.replica, 1, SETTINGS,
                PrimaryReplicator.Peer.LOST);
            b.backup = new BackupReplicator(network.endpoint("b"), b.replica, 1, SETTINGS,
                BackupReplicator.Phase.JOINING);
            settle("pairing");
            commitOneBatch("first batch");
            final long[] keys = {SmallBank.savingsKey(3), SmallBank.checkingKey(17)};
            repair.checkLimit(a.replica.maxExportLength(keys.length));
            recordsFrame = new byte[a.replica.exportRecords(keys, keys.length, repair, 0)];
            repair.getBytes(0, recordsFrame);
            repair.checkLimit(1 << 16);
            pagesFrame = new byte[a.replica.exportPages(new int[] {0, 5}, 2, repair, 0)];
            repair.getBytes(0, pagesFrame);
        }

        long[] committedState()
        {
            return new long[] {a.store.lastCommittedSeq(), a.replica.committedRoot(), b.store.lastCommittedSeq(),
                b.replica.committedRoot()};
        }

        /**
         * Brings the pair to the stage: settled; or one batch the backup executed whose token the primary has
         * not heard; or the backup syncing after the primary committed a batch without it.
         */
        void prepare(final Stage stage)
        {
            if (Stage.BATCH_OPEN == stage)
            {
                network.partitionOneWay("b", "a");
                beginBatch();
                pump(() -> b.backup.openBatches() == 1, "backup executes the batch");
            }
            else if (Stage.SYNCING == stage)
            {
                network.partition("a", "b");
                beginBatch();
                pump(() -> a.primary.inFlight() == 0 && a.store.lastCommittedSeq() > b.store.lastCommittedSeq(),
                    "primary commits alone");
                network.heal("a", "b");
                pump(() -> BackupReplicator.Phase.SYNCING == b.backup.phase(), "backup syncs");
                network.partitionOneWay("a", "b");
            }
        }

        /**
         * Heals the network and runs until both are paired with nothing in flight and the same state.
         */
        void settle(final String what)
        {
            network.heal("a", "b");
            pump(() -> PrimaryReplicator.Peer.PAIRED == a.primary.peer() &&
                BackupReplicator.Phase.PAIRED == b.backup.phase() && a.primary.readyForBatch() &&
                0 == a.primary.inFlight() && -1 == b.backup.openSeq() &&
                a.store.lastCommittedSeq() == b.store.lastCommittedSeq(), "settle after " + what);
            assertEquals(Long.toHexString(a.store.root()), Long.toHexString(b.store.root()),
                "replicas differ: " + what);
        }

        void commitOneBatch(final String what)
        {
            final long seq = beginBatch();
            pump(() -> a.store.lastCommittedSeq() >= seq && b.store.lastCommittedSeq() >= seq &&
                0 == a.primary.inFlight() && -1 == b.backup.openSeq(), "commit a batch after " + what);
            assertEquals(0, a.primary.counters().committedAlone() - alone, "verified by the backup: " + what);
            assertEquals(Long.toHexString(a.store.root()), Long.toHexString(b.store.root()),
                "replicas differ: " + what);
        }

        private long alone;

        private long beginBatch()
        {
            alone = a.primary.counters().committedAlone();
            final long seq = a.primary.nextSeq();
            final int length = encodeBatch(seq);
            a.primary.begin(seq, encoder.buffer(), 0, length, network.nowNs());
            return seq;
        }

        private int encodeBatch(final long seq)
        {
            batch.reset(seq);
            for (int r = 0; r < REQUESTS_PER_BATCH; r++)
            {
                final int length = workload.next(payload, 0);
                batch.add(0, seq * REQUESTS_PER_BATCH + r, workload.typeId(), payload, 0, length);
            }
            mixer.mix(batch, registry);
            return EngineReplica.encode(batch, encoder, request);
        }

        private void pump(final BooleanSupplier done, final String what)
        {
            for (int i = 0; i < MAX_STEPS; i++)
            {
                final long nowNs = network.nowNs();
                a.primary.doWork(nowNs);
                b.backup.doWork(nowNs);
                assertNull(a.primary.failure(), what);
                assertNull(b.backup.failure(), what);
                while (-1 != a.primary.pollCommitted())
                {
                    steps++;
                }
                if (done.getAsBoolean())
                {
                    return;
                }
                if (++steps % (SETTINGS.retransmitNs() / STEP_NS) == 0)
                {
                    a.primary.resendLastDecision();
                }
                network.advanceBy(STEP_NS);
            }
            fail("no progress within " + MAX_STEPS + " steps: " + what + "; primary " + a.primary.peer() +
                " in flight " + a.primary.inFlight() + ", backup " + b.backup.phase() + " open " + b.backup.openSeq());
        }

        /**
         * A frame of another schema or version stops the replicator that gets it: give it to a fresh one on
         * the same replica, elsewhere, and check it names the problem.
         */
        void deliverToThrowawayReplicator(
            final Node receiver, final boolean toBackup, final UnsafeBuffer buffer, final int offset, final int length,
            final String what)
        {
            final String endpoint = 0 == (throwaways++ & 1) ? "x" : "y";
            final String failure;
            if (toBackup)
            {
                final BackupReplicator throwaway = new BackupReplicator(elsewhere.endpoint(endpoint), receiver.replica,
                    receiver.backup.epoch(), SETTINGS, BackupReplicator.Phase.PAIRED);
                throwaway.onMessage(buffer, offset, length);
                failure = throwaway.failure();
                assertEquals(1, throwaway.counters().malformed(), what);
            }
            else
            {
                final PrimaryReplicator throwaway = new PrimaryReplicator(elsewhere.endpoint(endpoint),
                    receiver.replica, receiver.primary.epoch(), SETTINGS, PrimaryReplicator.Peer.PAIRED);
                throwaway.onMessage(buffer, offset, length);
                failure = throwaway.failure();
                assertEquals(1, throwaway.counters().malformed(), what);
            }
            assertNotNull(failure, what);
            assertTrue(failure.contains("schema id") || failure.contains("version"), failure);
        }

        /**
         * Writes the case's frame at {@code offset}.
         *
         * @return its length.
         */
        int frame(final FrameCase frameCase, final SplittableRandom random, final ExpandableArrayBuffer frame,
            final int offset)
        {
            switch (frameCase.damage())
            {
                case SHORT:
                    return garbage(random, frame, offset, 0, random.nextInt(Messages.HEADER_LENGTH));
                case GARBAGE:
                    return garbage(random, frame, offset, 0, random.nextInt(Messages.HEADER_LENGTH, 400));
                case TYPED_GARBAGE:
                {
                    final int length = valid(frameCase.type(), random, frame, offset);
                    return garbage(random, frame, offset, Messages.HEADER_LENGTH, length);
                }
                case SCHEMA:
                {
                    final int length = valid(frameCase.type(), random, frame, offset);
                    frame.putShort(offset + Messages.SCHEMA_ID_OFFSET, (short)(Messages.SCHEMA_ID + 1 +
                        random.nextInt(0xFFFE)));
                    return length;
                }
                case VERSION:
                {
                    final int length = valid(frameCase.type(), random, frame, offset);
                    frame.putShort(offset + Messages.VERSION_OFFSET, (short)(Messages.VERSION + 1 +
                        random.nextInt(0xFFFE)));
                    return length;
                }
                case LENGTH:
                {
                    final int length = valid(frameCase.type(), random, frame, offset);
                    final int changed = random.nextBoolean() ? random.nextInt(Messages.HEADER_LENGTH, length + 1) :
                        length + 1 + random.nextInt(64);
                    return garbage(random, frame, offset, Math.min(length, changed), changed);
                }
                case COUNT:
                    return absurdCount(frameCase.type(), random, frame, offset);
                default:
                    return flipped(frameCase.type(), random, frame, offset);
            }
        }

        /**
         * A well-formed message of the type, at this pair's epoch, with seqs near the current ones.
         */
        private int valid(final short type, final SplittableRandom random, final ExpandableArrayBuffer frame,
            final int offset)
        {
            final long epoch = a.primary.epoch();
            final long seq = a.store.lastCommittedSeq() + random.nextInt(-1, 3);
            final int round = a.primary.round() + random.nextInt(-1, 2);
            switch (type)
            {
                case Messages.HELLO:
                    return Messages.hello(frame, offset, epoch, 1 + random.nextInt(2), a.store.pageCount(), seq,
                        random.nextLong(), random.nextLong(0, 1 << 20), random.nextLong(),
                        a.replica.configurationDigest());
                case Messages.BATCH:
                {
                    final int length = encodeBatch(seq);
                    return Messages.batch(frame, offset, epoch, seq, round, b.store.lastCommittedSeq(),
                        encoder.buffer(), 0, length);
                }
                case Messages.TOKEN:
                    return Messages.token(frame, offset, epoch, seq, round, random.nextInt(3), random.nextLong(),
                        random.nextLong());
                case Messages.DECISION:
                    return Messages.decision(frame, offset, epoch, seq, round, random.nextInt(3),
                        random.nextInt(0, 5));
                case Messages.KEYS:
                {
                    final int count = random.nextInt(0, 5);
                    final int length = Messages.keys(frame, offset, epoch, seq, round, count);
                    frame.checkLimit(offset + length);
                    for (int i = 0; i < count; i++)
                    {
                        Messages.keyEntry(frame, offset, i, random.nextLong(), random.nextLong());
                    }
                    return length;
                }
                case Messages.RECORDS:
                {
                    final int frameLength = repairFrame(random);
                    return Messages.records(frame, offset, epoch, seq, round, repair, 0, frameLength);
                }
                case Messages.HEARTBEAT:
                    return Messages.heartbeat(frame, offset, epoch, random.nextLong(), a.store.lastCommittedSeq(),
                        true, random.nextInt(0, 3));
                case Messages.CATCH_UP:
                    return Messages.catchUp(frame, offset, epoch, seq, random.nextLong());
                case Messages.CATCH_UP_BATCH:
                {
                    // a catch-up answer nobody asked for: refused (-1) or with garbage in place of the entry
                    final int entryLength = random.nextInt(0, 64);
                    frame.checkLimit(offset + Messages.CATCH_UP_FRAME_OFFSET + entryLength);
                    Messages.catchUpBatchHeader(frame, offset, epoch, random.nextBoolean() ? -1 : seq,
                        random.nextLong(), random.nextInt(0, 2));
                    for (int i = 0; i < entryLength; i++)
                    {
                        frame.putByte(offset + Messages.CATCH_UP_FRAME_OFFSET + i, (byte)random.nextInt());
                    }
                    return Messages.CATCH_UP_FRAME_OFFSET + entryLength;
                }
                case Messages.SYNC_REQUEST:
                {
                    final int first = 3 * random.nextInt(0, 6);
                    final int count = random.nextInt(0, 4);
                    final int length = Messages.syncRequest(frame, offset, epoch, a.store.lastCommittedSeq(), first,
                        count);
                    frame.checkLimit(offset + length);
                    for (int i = 0; i < count; i++)
                    {
                        Messages.syncDigest(frame, offset, i, random.nextLong());
                    }
                    return length;
                }
                default:
                {
                    final int first = 3 * random.nextInt(0, 6);
                    final int frameLength = repairFrame(random);
                    final int length = Messages.syncRecords(frame, offset, epoch, a.store.lastCommittedSeq(), first,
                        first + 3, frameLength);
                    frame.putBytes(offset + Messages.SYNC_HEADER_LENGTH, repair, 0, frameLength);
                    return length;
                }
            }
        }

        /**
         * A repair frame the primary made while settled, as a transfer (records of two keys) or a sync
         * (complete pages) ships it.
         */
        private int repairFrame(final SplittableRandom random)
        {
            final byte[] chosen = random.nextBoolean() ? recordsFrame : pagesFrame;
            repair.putBytes(0, chosen);
            return chosen.length;
        }

        /**
         * A well-formed header and length, with an absurd count inside: a KEYS or SYNC_REQUEST count, a
         * SYNC_RECORDS end page, a batch entry's request count or payload length (checksum recomputed, so that
         * the entry's structure checks are reached), a repair frame's record or page count.
         */
        private int absurdCount(final short type, final SplittableRandom random, final ExpandableArrayBuffer frame,
            final int offset)
        {
            final int length = valid(type, random, frame, offset);
            final int absurd = random.nextBoolean() ? random.nextInt() :
                (random.nextBoolean() ? Integer.MAX_VALUE - random.nextInt(64) :
                Integer.MIN_VALUE + random.nextInt(64));
            switch (type)
            {
                case Messages.KEYS:
                case Messages.SYNC_REQUEST:
                case Messages.SYNC_RECORDS:
                    frame.putInt(offset + Messages.BODY + 12, absurd);
                    return length;
                case Messages.BATCH:
                {
                    final int entry = offset + Messages.BATCH_FRAME_OFFSET;
                    final int entryLength = length - Messages.BATCH_FRAME_OFFSET;
                    final int at = random.nextBoolean() ? ENTRY_COUNT_OFFSET : ENTRY_FIRST_PAYLOAD_LENGTH_OFFSET;
                    frame.putInt(entry + at, absurd);
                    final java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(frame.byteArray(), entry, entryLength)
                        .slice();
                    frame.putInt(entry + JournalFormat.CRC_OFFSET,
                        JournalFormat.crc(crc, bytes, entryLength - JournalFormat.HEADER_LENGTH));
                    return length;
                }
                case Messages.RECORDS:
                    frame.putInt(offset + Messages.RECORDS_FRAME_OFFSET + 8 + 4 * random.nextInt(2), absurd);
                    return length;
                default:
                    return garbage(random, frame, offset, Messages.HEADER_LENGTH, length);
            }
        }

        /**
         * A well-formed message with one to three bits flipped where the frame has its own checks: a BATCH's
         * journal entry (checksum), a repair frame (page digests), a KEYS list (the primary only ships more).
         */
        private int flipped(final short type, final SplittableRandom random, final ExpandableArrayBuffer frame,
            final int offset)
        {
            final int length = valid(type, random, frame, offset);
            final int from;
            switch (type)
            {
                case Messages.BATCH:
                    from = Messages.BATCH_FRAME_OFFSET;
                    break;
                case Messages.RECORDS:
                    from = Messages.RECORDS_FRAME_OFFSET;
                    break;
                case Messages.SYNC_RECORDS:
                    from = Messages.SYNC_HEADER_LENGTH;
                    break;
                case Messages.KEYS:
                    from = Messages.KEYS_HEADER_LENGTH;
                    break;
                default:
                    return garbage(random, frame, offset, Messages.HEADER_LENGTH, length);
            }
            if (length > from)
            {
                for (int flips = 1 + random.nextInt(3); flips > 0; flips--)
                {
                    final int at = offset + from + random.nextInt(length - from);
                    frame.putByte(at, (byte)(frame.getByte(at) ^ (1 << random.nextInt(8))));
                }
            }
            return length;
        }

        private static int garbage(
            final SplittableRandom random, final ExpandableArrayBuffer frame, final int offset, final int from,
            final int length)
        {
            frame.checkLimit(offset + length);
            for (int i = from; i < length; i++)
            {
                frame.putByte(offset + i, (byte)random.nextInt(256));
            }
            return length;
        }

        public void close()
        {
            a.close();
            b.close();
        }
    }
}
