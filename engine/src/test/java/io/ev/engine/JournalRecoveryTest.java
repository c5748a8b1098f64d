/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.Durability;
import io.ev.journal.Journal;
import io.ev.journal.JournalException;
import io.ev.journal.JournalFormat;
import io.ev.store.StateStore;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine with its journal: a restarted engine recovers exactly the state the live one had,
 * verifying every commit marker; damaged checkpoints are skipped; a failing journal stops the engine
 * without acknowledging anything it did not journal.
 */
class JournalRecoveryTest
{
    private static final int CUSTOMERS = 2_000;
    private static final long SEED = 7;
    private static final int CLIENT = 1;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldRecoverTheLiveStateAndVerifyEveryToken(final int workers) throws Exception
    {
        final long liveRoot;
        final Engine.EngineCounters live;
        try (Engine engine = Engine.launch(context(workers, new Journal.Context().dir(dir))))
        {
            assertNull(engine.recoveryReport(), "a new data directory starts from the initializer");
            drive(engine, 20_000, 0);
            liveRoot = engine.root();
            live = engine.counters();
        }
        final long liveBatches = live.batches(); // read after close: the last increment follows the replies
        try (Engine engine = Engine.launch(context(workers, new Journal.Context().dir(dir))))
        {
            final Recovery.Report report = engine.recoveryReport();
            assertNotNull(report);
            assertEquals(liveRoot, report.root());
            assertEquals(liveRoot, engine.root());
            assertEquals(liveBatches, report.batchesReplayed());
            assertEquals(liveBatches, report.tokensVerified());
            assertEquals(20_000, report.requestsReplayed());
            assertEquals(0, report.uncommittedBatches());
            assertNull(report.tornTailWarning());
            // the recovered engine goes on and journals after the old batches
            drive(engine, 1_000, 20_000);
        }
        try (Engine engine = Engine.launch(context(workers, new Journal.Context().dir(dir))))
        {
            assertEquals(21_000, engine.recoveryReport().requestsReplayed());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.CheckpointMode.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldStartFromTheNewestCheckpointAndFallBackWhenItIsDamaged(final Engine.CheckpointMode mode)
        throws Exception
    {
        final long liveRoot;
        try (Engine engine = Engine.launch(context(2, new Journal.Context().dir(dir).checkpointsKept(2))
            .checkpointMode(mode)))
        {
            drive(engine, 5_000, 0);
            checkpoint(engine, 1);
            drive(engine, 5_000, 5_000);
            checkpoint(engine, 2);
            drive(engine, 5_000, 10_000);
            liveRoot = engine.root();
        }
        final List<Path> checkpoints;
        try (Engine engine = Engine.launch(context(2, new Journal.Context().dir(dir))))
        {
            assertEquals(liveRoot, engine.root());
            assertEquals(5_000, engine.recoveryReport().requestsReplayed(), "replay starts at the newest checkpoint");
            checkpoints = engine.journal().checkpoints().newestFirst();
        }
        assertEquals(2, checkpoints.size(), "only the newest checkpointsKept remain");
        flipByte(checkpoints.get(0), 100);
        try (Engine engine = Engine.launch(context(2, new Journal.Context().dir(dir))))
        {
            final Recovery.Report report = engine.recoveryReport();
            assertEquals(liveRoot, engine.root());
            assertEquals(checkpoints.get(1), report.checkpoint());
            assertEquals(10_000, report.requestsReplayed());
            assertEquals(1, report.warnings().size());
            assertTrue(report.warnings().get(0).contains(checkpoints.get(0).toString()), report.warnings().get(0));
        }
        flipByte(checkpoints.get(1), 100);
        final JournalException ex = assertThrows(JournalException.class,
            () -> Engine.launch(context(2, new Journal.Context().dir(dir))).close());
        assertEquals(JournalException.Reason.NO_VALID_CHECKPOINT, ex.reason());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldStopAndAnswerUnavailableWhenTheJournalFailsAndLoseNothingAcknowledged() throws Exception
    {
        final AtomicInteger appends = new AtomicInteger();
        final Journal.Context journal = new Journal.Context().dir(dir).faultInjector((type, seq) ->
        {
            if (JournalFormat.TYPE_BATCH == type && appends.incrementAndGet() > 20)
            {
                throw new IOException("injected: no space left on device");
            }
        });
        final long acknowledgedRoot;
        final long acknowledged;
        try (Engine engine = Engine.launch(context(1, journal)))
        {
            final FutureClient client = engine.newFutureClient(CLIENT);
            final SmallBankWorkload workload = SmallBankWorkload.uniform(CUSTOMERS, SEED, false);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            int ok = 0;
            int unavailable = 0;
            for (int i = 0; i < 200; i++)
            {
                final int length = workload.next(payload, 0);
                final CompletableFuture<byte[]> reply = client.submit(i, workload.typeId(), payload, 0, length);
                final int code = ReplyCodes.code(new UnsafeBuffer(reply.get(10, TimeUnit.SECONDS)), 0);
                if (ReplyCodes.UNAVAILABLE == code)
                {
                    unavailable++;
                    break;
                }
                ok++;
            }
            assertEquals(20, ok, "one request a batch: the 21st batch append fails");
            assertEquals(1, unavailable);
            assertNotNull(engine.failure());
            assertTrue(engine.failure().getMessage().contains("injected: no space left on device"),
                engine.failure().getMessage());
            assertEquals(Engine.REJECTED_CLOSED, engine.submit(CLIENT, 999, SmallBank.BALANCE, payload, 0, 8));
            acknowledgedRoot = engine.root();
            acknowledged = engine.counters().committed();
        }
        try (Engine engine = Engine.launch(context(1, new Journal.Context().dir(dir))))
        {
            assertEquals(acknowledged, engine.recoveryReport().requestsReplayed());
            assertEquals(acknowledgedRoot, engine.root());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldJournalWithPowerLossDurability() throws Exception
    {
        final long liveRoot;
        try (Engine engine = Engine.launch(context(2,
            new Journal.Context().dir(dir).durability(Durability.POWER_LOSS))))
        {
            drive(engine, 500, 0);
            liveRoot = engine.root();
        }
        try (Engine engine = Engine.launch(context(2, new Journal.Context().dir(dir))))
        {
            assertEquals(liveRoot, engine.root());
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldRefuseASecondEngineOnTheSameDataDirectory()
    {
        try (Engine first = Engine.launch(context(1, new Journal.Context().dir(dir))))
        {
            assertNull(first.failure());
            final JournalException ex = assertThrows(JournalException.class,
                () -> Engine.launch(context(1, new Journal.Context().dir(dir))).close());
            assertEquals(JournalException.Reason.IN_USE, ex.reason());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldTakeAConcurrentCheckpointWhileRequestsExecute() throws Exception
    {
        final long liveRoot;
        try (Engine engine = Engine.launch(context(2, new Journal.Context().dir(dir))
            .checkpointMode(Engine.CheckpointMode.CONCURRENT)))
        {
            drive(engine, 2_000, 0);
            engine.requestCheckpoint();
            long next = 2_000;
            while (engine.counters().checkpoints() < 1)
            {
                drive(engine, 500, next); // keeps batches committing while the checkpoint scans
                next += 500;
                assertEquals(0, engine.counters().checkpointsFailed(),
                    () -> engine.journal().checkpoints().lastFailure());
            }
            drive(engine, 1_000, next);
            liveRoot = engine.root();
        }
        try (Engine engine = Engine.launch(context(2, new Journal.Context().dir(dir))))
        {
            final Recovery.Report report = engine.recoveryReport();
            assertTrue(report.checkpointSeq() > 2, "recovered from the concurrent checkpoint, not the initial one");
            assertEquals(liveRoot, engine.root());
            assertEquals(report.batchesReplayed(), report.tokensVerified());
        }
    }

    private static void checkpoint(final Engine engine, final long expected)
    {
        engine.requestCheckpoint();
        await().atMost(30, TimeUnit.SECONDS).until(() -> engine.counters().checkpoints() >= expected);
        assertEquals(expected, engine.counters().checkpoints());
    }

    static void drive(final Engine engine, final int requests, final long firstRequestId) throws Exception
    {
        final FutureClient client = engine.newFutureClient(CLIENT);
        final SmallBankWorkload workload = SmallBankWorkload.uniform(CUSTOMERS, SEED + firstRequestId, false);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
        final CompletableFuture<?>[] replies = new CompletableFuture<?>[requests];
        for (int i = 0; i < requests; i++)
        {
            final int length = workload.next(payload, 0);
            replies[i] = client.submit(firstRequestId + i, workload.typeId(), payload, 0, length);
            assertNotNull(replies[i], "request " + i + " refused");
        }
        CompletableFuture.allOf(replies).get(30, TimeUnit.SECONDS);
    }

    static Engine.Context context(final int workers, final Journal.Context journal)
    {
        return new Engine.Context()
            .store(new StateStore.Context()
                .maxEntries(CUSTOMERS * SmallBankLoader.ROWS_PER_CUSTOMER + 16)
                .maxValueBytes(64)
                .averageValueBytes(8)
                .pageCount(256))
            .registry(SmallBank.registerAll(new TransactionRegistry(), false))
            .workers(workers)
            .maxBatchRequests(256)
            .initializer((store, writer) -> SmallBankLoader.load(store, writer, CUSTOMERS, SEED))
            .journal(journal)
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30));
    }

    private static void flipByte(final Path file, final long position) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(position);
            final int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0x5A);
        }
    }
}
