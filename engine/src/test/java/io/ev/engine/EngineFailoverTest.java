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
import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import io.ev.replication.ReplicationSettings;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failover with two journaled engines in one process over Aeron IPC: the primary stops (closed;
 * the real-process SIGKILL version is {@code cli.FailoverProcessTest}); the backup promotes itself
 * after the peer timeout (epoch 2) and serves requests alone; the old primary restarts from its own
 * journal as a backup, is brought to the new primary's state by journal catch-up (the new primary
 * ships the batches it committed alone from its journal; the rejoining backup executes them
 * sequentially, checking each root) and verifies new batches
 * with it; both end with the same root and request count; the new primary's journal (written as a
 * backup, then as a primary) recovers that same root. Without journals the restarted replica starts
 * from the initial state and the page sync copies everything that changed.
 */
class EngineFailoverTest
{
    private static final int CUSTOMERS = 300;
    private static final long SEED = 23;
    private static final int CLIENT = 1;

    @TempDir
    Path dir;
    private boolean journaled;

    @ParameterizedTest(name = "journaled={0}")
    @ValueSource(booleans = {true, false})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldPromoteTheBackupAndRejoinTheOldPrimary(final boolean journaled) throws Exception
    {
        this.journaled = journaled;
        final SmallBankWorkload workload = SmallBankWorkload.contended(CUSTOMERS, SEED, true);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
        long finalRoot;
        long finalRequests;
        try (AeronTransport transport = AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(dir.resolve("aeron")).termBufferLength(16 << 20));
            AeronLink linkA = transport.newIpcLink(10, 11);
            AeronLink linkB = transport.newIpcLink(11, 10);
            Engine b = Engine.launch(context("b", Engine.Role.BACKUP, linkB)))
        {
            final Engine a = Engine.launch(context("a", Engine.Role.PRIMARY, linkA));
            assertTrue(a.awaitPaired(TimeUnit.SECONDS.toNanos(30)), "the backup never paired");
            submitAll(a, workload, payload, 2_000);
            assertEquals(0, a.counters().committedAlone(), "every batch was verified while paired");
            final long rootBeforeStop = a.root();
            a.close();

            await().atMost(60, TimeUnit.SECONDS).until(() -> Engine.Role.PRIMARY == b.role());
            assertEquals(2, b.epoch(), "the promoted backup is the primary of the next epoch");
            assertEquals(rootBeforeStop, b.root(), "the backup held every batch the old primary acknowledged");
            submitAll(b, workload, payload, 1_000);
            assertTrue(b.counters().committedAlone() > 0, "alone, the new primary commits without verification");

            try (Engine rejoined = Engine.launch(context("a", Engine.Role.BACKUP, linkA)))
            {
                assertEquals(journaled, rejoined.recoveryReport() != null,
                    "the old primary recovered from its journal");
                assertTrue(b.awaitPaired(TimeUnit.SECONDS.toNanos(60)), "the old primary never rejoined");
                assertEquals(b.root(), rejoined.root(), "catch-up or page sync brought the old primary up to date");
                submitAll(b, workload, payload, 1_000);
                final long batches = b.counters().batches();
                await().atMost(30, TimeUnit.SECONDS).untilAsserted(() ->
                {
                    assertEquals(b.root(), rejoined.root(), () -> "roots: primary " + b.counters().batches() +
                        " batches, " + b.counters().committedAlone() + " alone, paired " + b.isPaired() + "; backup " +
                        rejoined.counters().batches() + " batches, paired " + rejoined.isPaired() + ", failure " +
                        rejoined.failure() + ", requests " + b.requestsInState() + " / " + rejoined.requestsInState());
                    assertEquals(b.requestsInState(), rejoined.requestsInState(), "requests in state");
                });
                assertNull(b.failure());
                assertNull(rejoined.failure());
                assertEquals(2, rejoined.epoch());
                assertTrue(batches > 0);
                assertEquals(4_000, b.requestsInState(), "every acknowledged request exactly once");
                System.out.printf("EngineFailoverTest journaled=%b: %d batches caught up from the journal%n",
                    journaled, rejoined.counters().catchUpBatches());
                if (journaled)
                {
                    assertTrue(rejoined.counters().catchUpBatches() > 0,
                        "the old primary caught up from the new primary's journal");
                }
                finalRoot = b.root();
                finalRequests = b.requestsInState();
            }
        }
        if (!journaled)
        {
            return; // without a journal the restarted replica started from the initializer: a full sync
        }
        // the new primary's journal: batches as a backup, then as a primary
        try (Engine recovered = Engine.launch(context("b", Engine.Role.STANDALONE, null)))
        {
            assertEquals(finalRoot, recovered.root(), "journal replay of the promoted replica");
            assertEquals(finalRequests, recovered.requestsInState());
        }
    }

    private static void submitAll(
        final Engine engine, final SmallBankWorkload workload, final UnsafeBuffer payload, final int requests)
        throws Exception
    {
        final FutureClient client = engine.newFutureClient(CLIENT);
        final CompletableFuture<?>[] replies = new CompletableFuture<?>[requests];
        for (int i = 0; i < requests; i++)
        {
            final int length = workload.next(payload, 0);
            replies[i] = client.submit(i, workload.typeId(), payload, 0, length);
        }
        CompletableFuture.allOf(replies).get(60, TimeUnit.SECONDS);
    }

    private Engine.Context context(final String node, final Engine.Role role, final AeronLink link)
    {
        return new Engine.Context()
            .role(role)
            .link(link)
            .journal(journaled ? new Journal.Context().dir(dir.resolve(node)) : null)
            .replication(new ReplicationSettings()
                .retransmitNs(TimeUnit.MILLISECONDS.toNanos(5))
                .heartbeatNs(TimeUnit.MILLISECONDS.toNanos(20))
                .peerTimeoutNs(TimeUnit.SECONDS.toNanos(2)))
            .store(SmallBank.storeContext(CUSTOMERS, 256))
            .registry(SmallBank.registerAll(new TransactionRegistry(), true, true))
            .workers(2)
            .mixer(new KeyConflictMixer(256))
            .maxBatchRequests(256)
            .initializer((store, writer) -> SmallBankLoader.load(store, writer, CUSTOMERS, SEED))
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30))
            .countersFile(dir.resolve("counters-" + node + "-" + role + "-" + System.nanoTime() + ".dat"));
    }
}
