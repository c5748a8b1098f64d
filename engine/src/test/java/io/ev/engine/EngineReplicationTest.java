/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Journal;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.PermissiveMixer;
import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import io.ev.store.StateStore;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A PRIMARY and a BACKUP engine in one process over Aeron IPC, up to 4 batches in flight (the
 * default): every acknowledged batch was verified by both, and committed in seq order (the commit
 * listener's replay); the racy fee with the permissive mixer makes them diverge and the divergences
 * are repaired; with the key mixer and the fee key declared there are none and the state equals the
 * sequential replay of the primary's batches. A backup refuses submits.
 */
class EngineReplicationTest
{
    private static final int CUSTOMERS = 200;
    private static final long SEED = 11;
    private static final int CLIENT = 1;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldVerifyEveryBatchWithTheBackup(final boolean racy) throws Exception
    {
        final BatchRecorder recorder = new BatchRecorder();
        try (AeronTransport transport = AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(dir.resolve("aeron")).termBufferLength(16 << 20));
            AeronLink primaryLink = transport.newIpcLink(10, 11);
            AeronLink backupLink = transport.newIpcLink(11, 10);
            Engine backup = Engine.launch(context(racy).role(Engine.Role.BACKUP).link(backupLink));
            Engine primary = Engine.launch(context(racy).role(Engine.Role.PRIMARY).link(primaryLink)
                .commitListener(recorder)))
        {
            assertTrue(primary.awaitPaired(TimeUnit.SECONDS.toNanos(30)), "the backup never paired");
            await().atMost(30, TimeUnit.SECONDS).until(backup::isPaired);
            final FutureClient client = primary.newFutureClient(CLIENT);
            final SmallBankWorkload workload = SmallBankWorkload.contended(CUSTOMERS, SEED, true);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            final int requests = 5_000;
            final CompletableFuture<?>[] replies = new CompletableFuture<?>[requests];
            for (int i = 0; i < requests; i++)
            {
                final int length = workload.next(payload, 0);
                replies[i] = client.submit(i, workload.typeId(), payload, 0, length);
            }
            CompletableFuture.allOf(replies).get(60, TimeUnit.SECONDS);
            assertNull(primary.failure());
            final long batches = primary.counters().batches();
            await().atMost(30, TimeUnit.SECONDS).until(() -> backup.counters().batches() >= batches - 1);
            final Engine.EngineCounters counters = primary.counters();
            System.out.printf("EngineReplicationTest racy=%b: %d batches, %d divergences detected, %d repaired by " +
                "re-execution, %d by transfer, at most %d batches in flight, %d re-shipped%n", racy, batches,
                counters.divergencesDetected(), counters.repairedByReexecution(), counters.repairedByTransfer(),
                counters.mostBatchesInFlight(), counters.batchesReshipped());
            assertTrue(counters.mostBatchesInFlight() > 1, "the batcher never pipelined");
            assertTrue(counters.mostBatchesInFlight() <= primary.context().replication().maxInFlightBatches());
            assertEquals(counters.divergencesDetected(),
                counters.repairedByReexecution() + counters.repairedByTransfer());
            if (racy)
            {
                assertTrue(counters.divergencesDetected() > 0, "the racy fee never diverged the replicas");
            }
            else
            {
                assertEquals(0, counters.divergencesDetected(), "the key mixer must prevent every race");
                try (StateStore fresh = StateStore.open(SmallBank.storeContext(CUSTOMERS, 256).writers(3)))
                {
                    SmallBankLoader.load(fresh, fresh.newWriter(), CUSTOMERS, SEED);
                    assertNull(recorder.replay(fresh, SmallBank.registerAll(new TransactionRegistry(), true, true),
                        256));
                    assertEquals(fresh.root(), primary.root());
                }
            }
            assertEquals(Engine.REJECTED_NOT_PRIMARY, backup.submit(CLIENT, 1, SmallBank.BALANCE, payload, 0, 8));
        }
    }

    /**
     * Checkpoints need a batch boundary: with up to 4 batches in flight and a checkpoint every few
     * hundred requests (concurrent, then paused), both replicas take them (the primary by pausing
     * its window, the backup by holding new batches), nothing fails, and each journal recovers its
     * replica's root.
     */
    @ParameterizedTest
    @ValueSource(strings = {"CONCURRENT", "PAUSE"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldTakeCheckpointsAtBatchBoundariesWithBatchesInFlight(final String mode) throws Exception
    {
        long primaryRoot;
        long backupRoot;
        try (AeronTransport transport = AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(dir.resolve("aeron")).termBufferLength(16 << 20));
            AeronLink primaryLink = transport.newIpcLink(10, 11);
            AeronLink backupLink = transport.newIpcLink(11, 10);
            Engine backup = Engine.launch(journaled("b", mode).role(Engine.Role.BACKUP).link(backupLink));
            Engine primary = Engine.launch(journaled("a", mode).role(Engine.Role.PRIMARY).link(primaryLink)))
        {
            assertTrue(primary.awaitPaired(TimeUnit.SECONDS.toNanos(30)), "the backup never paired");
            final FutureClient client = primary.newFutureClient(CLIENT);
            final SmallBankWorkload workload = SmallBankWorkload.contended(CUSTOMERS, SEED, true);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            final int requests = 6_000;
            final CompletableFuture<?>[] replies = new CompletableFuture<?>[requests];
            for (int i = 0; i < requests; i++)
            {
                final int length = workload.next(payload, 0);
                replies[i] = client.submit(i, workload.typeId(), payload, 0, length);
            }
            CompletableFuture.allOf(replies).get(60, TimeUnit.SECONDS);
            await().atMost(30, TimeUnit.SECONDS).until(() -> backup.root() == primary.root());
            assertNull(primary.failure());
            assertNull(backup.failure());
            System.out.printf("EngineReplicationTest checkpoints %s: primary %d (at most %d batches in flight), " +
                "backup %d%n", mode, primary.counters().checkpoints(), primary.counters().mostBatchesInFlight(),
                backup.counters().checkpoints());
            assertTrue(primary.counters().mostBatchesInFlight() > 1, "the batcher never pipelined");
            assertTrue(primary.counters().checkpoints() > 1, "the primary took no periodic checkpoint");
            assertTrue(backup.counters().checkpoints() > 1, "the backup took no periodic checkpoint");
            primaryRoot = primary.root();
            backupRoot = backup.root();
        }
        for (final String node : new String[] {"a", "b"})
        {
            try (Engine recovered = Engine.launch(journaled(node, mode)))
            {
                assertEquals("a".equals(node) ? primaryRoot : backupRoot, recovered.root(), node + "'s journal");
                assertEquals(6_000, recovered.requestsInState(), node + "'s journal: every request once");
            }
        }
    }

    private Engine.Context journaled(final String node, final String mode)
    {
        return context(false)
            .journal(new Journal.Context().dir(dir.resolve(node)))
            .checkpointIntervalRequests(700)
            .checkpointMode(Engine.CheckpointMode.valueOf(mode))
            .countersFile(dir.resolve("counters-" + node + "-" + System.nanoTime() + ".dat"));
    }

    /**
     * A backup started with another deduplication setting than its primary would diverge on every batch:
     * the pair compares configuration digests at HELLO and the backup stops naming both; the primary
     * never pairs with it.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldRefuseABackupWithAnotherDeduplicationSetting()
    {
        final Engine.Context primaryContext = context(false);
        final Engine.Context backupContext = context(false);
        backupContext.registry().deduplicateRequests(true);
        try (AeronTransport transport = AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(dir.resolve("aeron")).termBufferLength(16 << 20));
            AeronLink primaryLink = transport.newIpcLink(10, 11);
            AeronLink backupLink = transport.newIpcLink(11, 10);
            Engine backup = Engine.launch(backupContext.store(SmallBank.storeContext(CUSTOMERS, 256))
                .role(Engine.Role.BACKUP).link(backupLink));
            Engine primary = Engine.launch(primaryContext.role(Engine.Role.PRIMARY).link(primaryLink)))
        {
            await().atMost(60, TimeUnit.SECONDS).until(() -> null != backup.failure());
            assertTrue(backup.failure().getMessage().contains("configuration digest"), backup.failure().getMessage());
            assertFalse(primary.isPaired());
        }
    }

    @Test
    void shouldRefuseReplicatedRolesWithoutALink()
    {
        assertThrows(IllegalArgumentException.class, () -> context(false).role(Engine.Role.PRIMARY).conclude());
        assertThrows(IllegalArgumentException.class, () -> context(false).role(Engine.Role.BACKUP).conclude());
    }

    private static Engine.Context context(final boolean racy)
    {
        return new Engine.Context()
            .store(SmallBank.storeContext(CUSTOMERS, 256))
            .registry(SmallBank.registerAll(new TransactionRegistry(), true, !racy))
            .workers(2)
            .mixer(racy ? new PermissiveMixer() : new KeyConflictMixer(256))
            .maxBatchRequests(256)
            .initializer((store, writer) -> SmallBankLoader.load(store, writer, CUSTOMERS, SEED))
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30));
    }
}
