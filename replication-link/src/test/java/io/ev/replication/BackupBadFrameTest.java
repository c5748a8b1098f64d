/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import io.ev.journal.BatchEncoder;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Frames a backup must survive without acting on them (found by the engine's FrameFuzzTest): a BATCH whose
 * journal entry was damaged is dropped before any of its fields is used (its last committed seq would
 * otherwise commit batches the primary never decided), and a refused sync frame starts the sync over
 * instead of stopping the backup.
 */
class BackupBadFrameTest
{
    private final SimulatedNetwork network = new SimulatedNetwork(1).connect("primary", "backup");
    private final ModelReplica state = new ModelReplica(1, 0, 0, 0, 4);
    private final ReplicationSettings settings = new ReplicationSettings().maxInFlightBatches(4);
    private final ExpandableArrayBuffer message = new ExpandableArrayBuffer(256);
    private final BatchEncoder encoder = new BatchEncoder();
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[16]);

    @Test
    void shouldDropABatchWithADamagedEntryBeforeCommittingWhatItSaysWasCommitted()
    {
        final BackupReplicator backup = new BackupReplicator(network.endpoint("backup"), state, 1, settings,
            BackupReplicator.Phase.PAIRED);
        deliver(backup, batch(0, -1, false));
        assertEquals(0, backup.openSeq(), "a whole batch executes");

        deliver(backup, batch(1, 0, true));
        assertEquals(1, backup.counters().malformed());
        assertEquals(-1, state.lastCommittedSeq(), "batch 0 was not committed on the word of a damaged message");
        assertEquals(1, backup.openBatches(), "the damaged batch was not executed");
        assertNull(backup.failure());

        deliver(backup, batch(1, 0, false));
        assertEquals(0, state.lastCommittedSeq(), "the same batch, whole, is acted on");
        assertEquals(1, backup.openSeq());
    }

    @Test
    void shouldStartTheSyncOverWithoutFailingWhenASyncFrameIsRefused()
    {
        final BackupReplicator backup = new BackupReplicator(network.endpoint("backup"), state, 1, settings,
            BackupReplicator.Phase.JOINING);
        backup.onMessage(message, 0, Messages.hello(message, 0, 1, Messages.ROLE_PRIMARY, state.pageCount(), 5,
            0x1234, 50, 1, state.configurationDigest()));
        assertEquals(BackupReplicator.Phase.SYNCING, backup.phase());

        final int length = Messages.syncRecords(message, 0, 1, 5, 0, 1, 4);
        message.putInt(Messages.SYNC_HEADER_LENGTH, 1_000); // a frame that says it holds 1,000 pages
        backup.onMessage(message, 0, length);
        assertNull(backup.failure(), "a refused sync frame does not stop the backup");
        assertNotNull(backup.syncRefusal());
        assertEquals(1, backup.counters().syncFailures());
        assertEquals(BackupReplicator.Phase.JOINING, backup.phase(), "it starts over with a HELLO");
    }

    /**
     * Hands {@link #message} to the backup as its poll would, then lets it run the duty cycle that
     * executes what arrived (a received batch executes after the poll, not in its handler).
     */
    private void deliver(final BackupReplicator backup, final int length)
    {
        backup.onMessage(message, 0, length);
        backup.doWork(network.nowNs());
    }

    /**
     * @return the length of a BATCH of one request, written to {@link #message}.
     */
    private int batch(final long seq, final long primaryCommitted, final boolean damaged)
    {
        payload.putLong(0, 42);
        payload.putLong(8, 7);
        encoder.reset(seq).add(3, seq, 1, 0, payload, 0, 16);
        final int entryLength = encoder.finish();
        final int length = Messages.batch(message, 0, 1, seq, 0, primaryCommitted, encoder.buffer(), 0, entryLength);
        if (damaged)
        {
            final int at = Messages.BATCH_FRAME_OFFSET + entryLength - 3;
            message.putByte(at, (byte)(message.getByte(at) ^ 0x10));
        }
        return length;
    }
}
