/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Journal;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import io.ev.replication.ReplicationSettings;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Request deduplication through the whole engine: the client table is replicated state, so a client
 * that resubmits its last request id after a restart (journal recovery) or after failover (the backup
 * promoted) gets the original reply and the request does not execute again; an older id is stale.
 */
class RequestDeduplicationTest
{
    private static final int CUSTOMERS = 300;
    private static final long SEED = 29;
    private static final int CLIENT = 2;
    private static final int REQUESTS = 2_000;

    @TempDir
    Path dir;

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);

    @ParameterizedTest
    @CsvSource({"1, false", "2, true"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldAnswerTheLastRequestIdWithItsOriginalReplyAfterJournalRecovery(
        final int workers, final boolean checkpoint) throws Exception
    {
        final byte[] original;
        final long liveRoot;
        try (Engine engine = Engine.launch(context(workers, Engine.Role.STANDALONE, null, "node")))
        {
            original = submitAll(engine);
            if (checkpoint)
            {
                // the client records then come from the checkpoint, not from replay
                engine.requestCheckpoint();
                await().atMost(30, TimeUnit.SECONDS).until(() -> engine.counters().checkpoints() >= 1);
            }
            final byte[] retried = submitDeposit(engine, REQUESTS - 1);
            assertArrayEquals(original, retried, "a retry while running gets the original reply");
            liveRoot = engine.root();
        }
        try (Engine engine = Engine.launch(context(workers, Engine.Role.STANDALONE, null, "node")))
        {
            assertEquals(liveRoot, engine.root(), "recovery restores the client table with everything else");
            assertEquals(checkpoint ? 1 : REQUESTS + 1, engine.recoveryReport().requestsReplayed());
            assertRetriedWithoutExecution(engine, original);
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldAnswerTheLastRequestIdWithItsOriginalReplyAfterFailover() throws Exception
    {
        try (AeronTransport transport = AeronTransport.launch(new AeronTransport.Context()
                .aeronDir(dir.resolve("aeron")).termBufferLength(16 << 20));
            AeronLink linkA = transport.newIpcLink(10, 11);
            AeronLink linkB = transport.newIpcLink(11, 10);
            Engine b = Engine.launch(context(2, Engine.Role.BACKUP, linkB, "b")))
        {
            final byte[] original;
            try (Engine a = Engine.launch(context(2, Engine.Role.PRIMARY, linkA, "a")))
            {
                assertTrue(a.awaitPaired(TimeUnit.SECONDS.toNanos(30)), "the backup never paired");
                original = submitAll(a);
                assertEquals(0, a.counters().committedAlone(), "every batch was verified by the backup");
            }
            await().atMost(60, TimeUnit.SECONDS).until(() -> Engine.Role.PRIMARY == b.role());
            assertRetriedWithoutExecution(b, original);
            assertNull(b.failure());
        }
    }

    /**
     * The client resubmits its last request (another amount, so that an execution would show), then an
     * older one, then a new one.
     */
    private void assertRetriedWithoutExecution(final Engine engine, final byte[] original) throws Exception
    {
        final long root = engine.root();
        final long money = SmallBankOracle.totalMoney(engine.reader(), CUSTOMERS);
        assertArrayEquals(original, submitDeposit(engine, REQUESTS - 1), "the retry gets the original reply");
        assertEquals(root, engine.root(), "the retry executed nothing");
        final byte[] stale = submitDeposit(engine, REQUESTS - 2);
        assertEquals(ReplyCodes.STALE_REQUEST_ID, ReplyCodes.code(new UnsafeBuffer(stale), 0));
        assertEquals(root, engine.root(), "the stale request executed nothing");
        assertEquals(money, SmallBankOracle.totalMoney(engine.reader(), CUSTOMERS));
        final byte[] next = submitDeposit(engine, REQUESTS);
        assertEquals(ReplyCodes.OK, ReplyCodes.code(new UnsafeBuffer(next), 0));
        assertEquals(money + 7, SmallBankOracle.totalMoney(engine.reader(), CUSTOMERS), "a new id executes");
    }

    /**
     * Submits the SmallBank workload as request ids 0 .. REQUESTS - 2, then a DepositChecking as
     * REQUESTS - 1.
     *
     * @return the reply of the last request.
     */
    private byte[] submitAll(final Engine engine) throws Exception
    {
        final SmallBankWorkload workload = SmallBankWorkload.contended(CUSTOMERS, SEED, false);
        final FutureClient client = engine.newFutureClient(CLIENT);
        final CompletableFuture<?>[] replies = new CompletableFuture<?>[REQUESTS - 1];
        for (int i = 0; i < REQUESTS - 1; i++)
        {
            final int length = workload.next(payload, 0);
            replies[i] = client.submit(i, workload.typeId(), payload, 0, length);
        }
        CompletableFuture.allOf(replies).get(60, TimeUnit.SECONDS);
        final int length = SmallBankCodec.encodeDepositChecking(payload, 0, 17, 130);
        final byte[] last = client.submit(REQUESTS - 1, SmallBank.DEPOSIT_CHECKING, payload, 0, length)
            .get(30, TimeUnit.SECONDS);
        assertEquals(ReplyCodes.OK, ReplyCodes.code(new UnsafeBuffer(last), 0));
        return last;
    }

    private byte[] submitDeposit(final Engine engine, final long requestId) throws Exception
    {
        final int length = SmallBankCodec.encodeDepositChecking(payload, 0, 17, 7);
        return engine.newFutureClient(CLIENT).submit(requestId, SmallBank.DEPOSIT_CHECKING, payload, 0, length)
            .get(30, TimeUnit.SECONDS);
    }

    private Engine.Context context(final int workers, final Engine.Role role, final AeronLink link, final String node)
    {
        return new Engine.Context()
            .role(role)
            .link(link)
            .journal(new Journal.Context().dir(dir.resolve(node)))
            .replication(new ReplicationSettings()
                .retransmitNs(TimeUnit.MILLISECONDS.toNanos(5))
                .heartbeatNs(TimeUnit.MILLISECONDS.toNanos(20))
                .peerTimeoutNs(TimeUnit.SECONDS.toNanos(2)))
            .store(SmallBank.storeContext(CUSTOMERS, 256))
            .registry(SmallBank.registerAll(new TransactionRegistry(), false).deduplicateRequests(true))
            .workers(workers)
            .mixer(new KeyConflictMixer(256))
            .maxBatchRequests(256)
            .initializer((store, writer) -> SmallBankLoader.load(store, writer, CUSTOMERS, SEED))
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30))
            .countersFile(dir.resolve("counters-" + node + "-" + role + "-" + System.nanoTime() + ".dat"));
    }
}
