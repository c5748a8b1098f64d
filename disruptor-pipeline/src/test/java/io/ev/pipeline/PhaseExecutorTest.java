/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.ev.store.StateStore;
import io.ev.store.StateStoreException;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Contract of {@link PhaseExecutor}: {@link ParallelExecutor} (1..16 workers, seeded schedules)
 * and {@link SequentialExecutor}. Randomised tests print their seed; rerun one with
 * {@code -Dev.test.seed=<seed>}.
 */
class PhaseExecutorTest
{
    private static final int MAX_PAYLOAD = 24;
    private static final int MAX_REPLY = 12;
    private static final int ACCOUNTS = 16;
    /** Workers park up to 100 us when idle: fair to the other processes on a shared 2-core machine. */
    private static final Supplier<IdleStrategy> IDLE = () -> new BackoffIdleStrategy(10, 10, 1_000, 100_000);

    private static long seed()
    {
        final long seed = Long.getLong("ev.test.seed", System.nanoTime());
        System.out.println("PhaseExecutorTest seed " + seed + " (rerun with -Dev.test.seed=" + seed + ")");
        return seed;
    }

    private static StateStore openStore(final int writers)
    {
        return StateStore.open(new StateStore.Context()
            .maxEntries(1 << 12)
            .maxValueBytes(16)
            .averageValueBytes(8)
            .pageCount(64)
            .writers(writers)
            .maxOpenBatches(2)
            .undoBytesPerBatch(1 << 16));
    }

    /**
     * A batch of {@code count} requests; request i has payload {key = i + 1, 0, 0} and a random phase.
     */
    private static Batch phasedBatch(final long seq, final int count, final int phases, final Random random)
    {
        final Batch batch = new Batch(count, MAX_PAYLOAD, MAX_REPLY);
        batch.reset(seq);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[MAX_PAYLOAD]);
        for (int i = 0; i < count; i++)
        {
            payload.putLong(0, i + 1);
            batch.add(i % 7, i, 0, payload, 0, MAX_PAYLOAD);
            batch.phase(i, random.nextInt(phases));
        }
        batch.groupPhases();
        return batch;
    }

    /**
     * A batch of transfers between {@value #ACCOUNTS} accounts, mixed by {@link KeyConflictMixer}.
     */
    private static Batch transferBatch(final long seq, final int count, final Random random)
    {
        final Batch batch = new Batch(count, MAX_PAYLOAD, MAX_REPLY);
        batch.reset(seq);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[MAX_PAYLOAD]);
        for (int i = 0; i < count; i++)
        {
            final long from = 1 + random.nextInt(ACCOUNTS);
            final long to = 1 + (from + random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
            payload.putLong(0, from);
            payload.putLong(8, to);
            payload.putLong(16, 1 + random.nextInt(100));
            batch.add(i % 5, i, 1, payload, 0, MAX_PAYLOAD);
        }
        final TransferHandler handler = new TransferHandler(count);
        new KeyConflictMixer(count).mix(batch, handler);
        return batch;
    }

    private static byte[] replies(final Batch batch)
    {
        final byte[] all = new byte[batch.count() * (MAX_REPLY + 1)];
        int position = 0;
        for (int i = 0; i < batch.count(); i++)
        {
            final int length = batch.replyLength(i);
            all[position++] = (byte)length;
            batch.replies().getBytes(batch.replyOffset(i), all, position, length);
            position += length;
        }
        return Arrays.copyOf(all, position);
    }

    /**
     * Executes {@code batch} inside store batch batch.seq() and seals it.
     *
     * @return the root after the batch.
     */
    private static long executeAndSeal(
        final StateStore store, final PhaseExecutor executor, final Batch batch, final RequestHandler handler)
    {
        store.begin(batch.seq());
        executor.execute(batch, handler);
        return store.seal(batch.seq());
    }

    @ParameterizedTest(name = "workers = {0}, claim positions {1}, schedule seed {2}")
    @CsvSource({"1, false, 0", "2, false, 0", "4, false, 0", "16, false, 0", "2, true, 0", "4, true, 0",
        "16, true, 0", "4, true, 99"})
    @Timeout(30)
    void shouldExecuteEveryRequestOnceAndPhasesOneAfterAnother(
        final int workers, final boolean claim, final long scheduleSeed)
    {
        final Random random = new Random(seed());
        try (StateStore store = openStore(workers);
            ParallelExecutor executor = new ParallelExecutor(store, new ParallelExecutor.Context().workers(workers)
                .idleStrategy(IDLE).scheduleSeed(scheduleSeed).claimPositions(claim)))
        {
            assertEquals(workers, executor.workers());
            assertEquals(claim, executor.claimPositions());
            for (long seq = 1; seq <= 3; seq++)
            {
                final Batch batch = phasedBatch(seq, 150, 1 + random.nextInt(8), random);
                final RecordingHandler handler = new RecordingHandler(batch.count(), -1);
                executeAndSeal(store, executor, batch, handler);
                store.commit(seq);

                handler.assertExecutedOnce();
                handler.assertPhasesInOrder(batch);
                handler.assertReplies(batch);
                for (int phase = 0; phase < batch.phaseCount(); phase++)
                {
                    for (int position = batch.phaseStart(phase); position < batch.phaseEnd(phase); position++)
                    {
                        final String thread = handler.threads[batch.member(position)].getName();
                        if (claim)
                        {
                            assertTrue(thread.startsWith(ParallelExecutor.WORKER_NAME_PREFIX), "ran on " + thread);
                        }
                        else
                        {
                            final int q = position - batch.phaseStart(phase);
                            assertEquals(ParallelExecutor.WORKER_NAME_PREFIX + (q % workers), thread,
                                "round-robin within the phase");
                        }
                    }
                }
            }
        }
    }

    @Test
    void shouldExecuteSequentiallyInBatchOrderOnTheCallingThread()
    {
        final Random random = new Random(seed());
        try (StateStore store = openStore(1);
            SequentialExecutor executor = new SequentialExecutor(store))
        {
            final Batch batch = phasedBatch(1, 100, 5, random);
            final RecordingHandler handler = new RecordingHandler(batch.count(), -1);
            executeAndSeal(store, executor, batch, handler);

            handler.assertExecutedOnce();
            handler.assertReplies(batch);
            for (int i = 0; i < batch.count(); i++)
            {
                assertSame(Thread.currentThread(), handler.threads[i]);
                if (i > 0)
                {
                    assertTrue(handler.end[i - 1] < handler.start[i],
                        "request " + i + " ran before " + (i - 1) + " ended");
                }
            }
        }
    }

    @Test
    @Timeout(30)
    void shouldGiveTheSameRootAsSequentialForPutsOnDistinctKeys()
    {
        try (StateStore parallelStore = openStore(4);
            StateStore sequentialStore = openStore(1);
            ParallelExecutor parallel = new ParallelExecutor(parallelStore, 4, IDLE);
            SequentialExecutor sequential = new SequentialExecutor(sequentialStore))
        {
            final long emptyRoot = parallelStore.root();
            final Batch parallelBatch = phasedBatch(1, 256, 1, new Random(1));
            final Batch sequentialBatch = phasedBatch(1, 256, 1, new Random(1));
            final long parallelRoot = executeAndSeal(parallelStore, parallel, parallelBatch, new PutHandler());
            final long sequentialRoot = executeAndSeal(sequentialStore, sequential, sequentialBatch, new PutHandler());

            assertNotEquals(emptyRoot, parallelRoot);
            assertEquals(sequentialRoot, parallelRoot);
            assertEquals(256, parallelStore.size());
            assertArrayEquals(replies(sequentialBatch), replies(parallelBatch));
        }
    }

    @ParameterizedTest(name = "claim positions {0}")
    @ValueSource(booleans = {false, true})
    @Timeout(30)
    void shouldMatchSequentialForConflictingTransfersMixedIntoPhases(final boolean claim)
    {
        final long seed = seed();
        final Random parallelRandom = new Random(seed);
        final Random sequentialRandom = new Random(seed);
        try (StateStore parallelStore = openStore(4);
            StateStore sequentialStore = openStore(1);
            ParallelExecutor parallel = new ParallelExecutor(parallelStore,
                new ParallelExecutor.Context().workers(4).idleStrategy(IDLE).claimPositions(claim));
            SequentialExecutor sequential = new SequentialExecutor(sequentialStore))
        {
            for (long seq = 1; seq <= 3; seq++)
            {
                final Batch parallelBatch = transferBatch(seq, 200, parallelRandom);
                final Batch sequentialBatch = transferBatch(seq, 200, sequentialRandom);
                assertTrue(parallelBatch.phaseCount() > 1, "transfers between few accounts conflict");
                final TransferHandler handler = new TransferHandler(parallelBatch.count());
                final long parallelRoot = executeAndSeal(parallelStore, parallel, parallelBatch, handler);
                final long sequentialRoot = executeAndSeal(
                    sequentialStore, sequential, sequentialBatch, new TransferHandler(sequentialBatch.count()));
                parallelStore.commit(seq);
                sequentialStore.commit(seq);

                assertEquals(sequentialRoot, parallelRoot, "root after batch " + seq);
                assertArrayEquals(replies(sequentialBatch), replies(parallelBatch), "replies of batch " + seq);
            }
        }
    }

    @ParameterizedTest(name = "claim positions {0}")
    @ValueSource(booleans = {false, true})
    @Timeout(30)
    void shouldSurfaceAHandlerFailureAndStillCloseTheWorkers(final boolean claim)
    {
        final Random random = new Random(seed());
        try (StateStore store = openStore(4))
        {
            final ParallelExecutor executor = new ParallelExecutor(store,
                new ParallelExecutor.Context().workers(4).idleStrategy(IDLE).claimPositions(claim));
            final Batch batch = phasedBatch(3, 64, 4, random);
            final int failingPhase = 1;
            final int failAt = batch.member(batch.phaseStart(failingPhase));
            final RecordingHandler failing = new RecordingHandler(batch.count(), failAt);

            final IllegalStateException ex =
                assertThrows(IllegalStateException.class, () -> executor.execute(batch, failing));
            assertTrue(ex.getMessage().contains("request " + failAt + " of batch 3"), ex.getMessage());
            assertTrue(ex.getCause() instanceof InjectedFailure, String.valueOf(ex.getCause()));
            for (int i = 0; i < batch.count(); i++)
            {
                final int phase = batch.phaseOf(i);
                if (phase < failingPhase)
                {
                    assertEquals(1, failing.executions.get(i), "request " + i + " of an earlier phase");
                }
                else if (phase > failingPhase)
                {
                    assertEquals(0, failing.executions.get(i), "request " + i + " of a later phase");
                }
            }

            final RecordingHandler healthy = new RecordingHandler(batch.count(), -1);
            executor.execute(batch, healthy);
            healthy.assertExecutedOnce();
            healthy.assertPhasesInOrder(batch);

            executor.close();
            for (final Thread thread : healthy.threads)
            {
                assertFalse(thread.isAlive(), thread.getName() + " still alive after close");
            }
            executor.close();
            assertThrows(IllegalStateException.class, () -> executor.execute(batch, healthy));
        }
    }

    @Test
    @Timeout(30)
    void shouldBoundCloseWhenAHandlerIsStuck() throws Exception
    {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch never = new CountDownLatch(1);
        final AtomicReference<Thread> stuckThread = new AtomicReference<>();
        final RequestHandler stuck = new PutHandler()
        {
            public int execute(
                final Request request, final long seq, final StoreWriter writer, final MutableDirectBuffer reply,
                final int replyOffset)
            {
                if (0 == request.index())
                {
                    stuckThread.set(Thread.currentThread());
                    entered.countDown();
                    try
                    {
                        never.await();
                    }
                    catch (final InterruptedException ex)
                    {
                        throw new InjectedFailure("interrupted while stuck");
                    }
                }
                return 0;
            }
        };
        final ExecutorService coordinator = Executors.newSingleThreadExecutor();
        try (StateStore store = openStore(2))
        {
            final ParallelExecutor executor = new ParallelExecutor(store, new ParallelExecutor.Context()
                .workers(2).idleStrategy(IDLE).closeTimeoutMs(200));
            final Batch batch = phasedBatch(1, 4, 1, new Random(4));
            final Future<?> execution = coordinator.submit(() -> executor.execute(batch, stuck));
            assertTrue(entered.await(10, TimeUnit.SECONDS));

            final long startNs = System.nanoTime();
            final IllegalStateException closeFailure = assertThrows(IllegalStateException.class, executor::close);
            assertTrue(System.nanoTime() - startNs >= TimeUnit.MILLISECONDS.toNanos(200), "waited the timeout");
            assertTrue(closeFailure.getMessage().contains("ev-worker-0"), closeFailure.getMessage());

            final ExecutionException executeFailure =
                assertThrows(ExecutionException.class, () -> execution.get(10, TimeUnit.SECONDS));
            assertTrue(executeFailure.getCause().getMessage().contains("request 0 of batch 1"),
                String.valueOf(executeFailure.getCause()));
            await().atMost(10, TimeUnit.SECONDS).until(() -> !stuckThread.get().isAlive());
            executor.close();
        }
        finally
        {
            coordinator.shutdownNow();
        }
    }

    @Test
    void shouldSurfaceAHandlerFailureFromSequentialExecution()
    {
        try (StateStore store = openStore(1);
            SequentialExecutor executor = new SequentialExecutor(store))
        {
            final Batch batch = phasedBatch(5, 10, 1, new Random(2));
            final RecordingHandler failing = new RecordingHandler(batch.count(), 4);
            final IllegalStateException ex =
                assertThrows(IllegalStateException.class, () -> executor.execute(batch, failing));
            assertTrue(ex.getMessage().contains("request 4 of batch 5"), ex.getMessage());
            assertTrue(ex.getCause() instanceof InjectedFailure);
            assertEquals(0, failing.executions.get(5));
        }
    }

    @Test
    @Timeout(30)
    void shouldPermuteTheScheduleWithASeedButNotTheResults()
    {
        try (StateStore plainStore = openStore(4);
            StateStore seededStore = openStore(4);
            ParallelExecutor plain = new ParallelExecutor(plainStore, new ParallelExecutor.Context().workers(4)
                .idleStrategy(IDLE));
            ParallelExecutor seeded = new ParallelExecutor(seededStore, new ParallelExecutor.Context().workers(4)
                .idleStrategy(IDLE).scheduleSeed(0x5EED)))
        {
            assertEquals(0x5EED, seeded.scheduleSeed());
            final Batch plainBatch = transferBatch(1, 200, new Random(42));
            final Batch seededBatch = transferBatch(1, 200, new Random(42));
            final TransferHandler plainHandler = new TransferHandler(plainBatch.count());
            final TransferHandler seededHandler = new TransferHandler(seededBatch.count());
            final long plainRoot = executeAndSeal(plainStore, plain, plainBatch, plainHandler);
            final long seededRoot = executeAndSeal(seededStore, seeded, seededBatch, seededHandler);

            assertFalse(Arrays.equals(plainHandler.threadNames(), seededHandler.threadNames()),
                "the seed must change which worker runs which request");
            assertEquals(plainRoot, seededRoot);
            assertArrayEquals(replies(plainBatch), replies(seededBatch));

            final String[] firstSchedule = seededHandler.threadNames();
            seededStore.rollback(1);
            final TransferHandler again = new TransferHandler(seededBatch.count());
            assertEquals(seededRoot, executeAndSeal(seededStore, seeded, seededBatch, again));
            assertArrayEquals(firstSchedule, again.threadNames(), "same seed, seq and phases: same schedule");
        }
    }

    @Test
    @Timeout(30)
    void shouldExecuteWithoutAllocatingInSteadyState()
    {
        final com.sun.management.ThreadMXBean threadBean =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        try (StateStore store = openStore(4);
            ParallelExecutor executor = new ParallelExecutor(store, new ParallelExecutor.Context().workers(4)
                .idleStrategy(IDLE).scheduleSeed(99)))
        {
            final Batch batch = phasedBatch(1, 200, 4, new Random(3));
            final RecordingHandler handler = new RecordingHandler(batch.count(), -1);
            final long[] threadIds = new long[executor.workers() + 1];
            long[] allocatedBytes = new long[threadIds.length];
            for (int round = 0; round < 2; round++)
            {
                for (int i = 0; i < 100; i++)
                {
                    executor.execute(batch, handler);
                }
                for (int i = 0; i < batch.count(); i++)
                {
                    final String name = handler.threads[i].getName();
                    threadIds[Integer.parseInt(name.substring(ParallelExecutor.WORKER_NAME_PREFIX.length()))] =
                        handler.threads[i].getId();
                }
                threadIds[executor.workers()] = Thread.currentThread().getId();
                final long[] before = threadBean.getThreadAllocatedBytes(threadIds);
                for (int i = 0; i < 100; i++)
                {
                    executor.execute(batch, handler);
                }
                allocatedBytes = threadBean.getThreadAllocatedBytes(threadIds);
                for (int t = 0; t < threadIds.length; t++)
                {
                    allocatedBytes[t] -= before[t];
                }
            }
            System.out.println("ParallelExecutor: bytes allocated by 100 batches per worker, then coordinator: " +
                Arrays.toString(allocatedBytes));
            for (final long bytes : allocatedBytes)
            {
                assertTrue(bytes < 1024, Arrays.toString(allocatedBytes) + " bytes allocated in steady state");
            }
        }
    }

    @Test
    void shouldPermuteEveryPhasePosition()
    {
        for (final long scheduleSeed : new long[]{0, 1, 0x5EED, -7})
        {
            for (int size = 1; size <= 70; size++)
            {
                for (int phase = 0; phase < 3; phase++)
                {
                    final long hash = ParallelExecutor.scheduleHash(scheduleSeed, 11, phase);
                    final int multiplier = ParallelExecutor.scheduleMultiplier(scheduleSeed, hash, size);
                    final int offset = ParallelExecutor.scheduleOffset(scheduleSeed, hash, size);
                    final boolean[] seen = new boolean[size];
                    for (int k = 0; k < size; k++)
                    {
                        final int position = ParallelExecutor.scheduledPosition(k, multiplier, offset, size);
                        if (0 == scheduleSeed)
                        {
                            assertEquals(k, position, "seed 0 is the identity");
                        }
                        assertFalse(seen[position], "position " + position + " twice, size " + size);
                        seen[position] = true;
                    }
                }
            }
        }
    }

    @Test
    @Timeout(30)
    void shouldRunWithPinningRequestedAndBusySpinning()
    {
        final Random random = new Random(seed());
        try (StateStore store = openStore(2);
            ParallelExecutor executor = new ParallelExecutor(store, new ParallelExecutor.Context()
                .workers(2).pinCpus(true).idleStrategy(BusySpinIdleStrategy::new)))
        {
            final Batch batch = phasedBatch(1, 40, 3, random);
            final RecordingHandler handler = new RecordingHandler(batch.count(), -1);
            executor.execute(batch, handler);
            handler.assertExecutedOnce();
            handler.assertPhasesInOrder(batch);
            for (int worker = 0; worker < 2; worker++)
            {
                final int cpu = executor.pinnedCpu(worker);
                System.out.println("ev-worker-" + worker + " pinned to cpu " + cpu);
                assertTrue(ParallelExecutor.NOT_PINNED == cpu || cpu >= 0, "cpu " + cpu);
            }
        }
    }

    @Test
    void shouldRefuseBadOptionsNamingThem()
    {
        try (StateStore store = openStore(2))
        {
            final IllegalArgumentException zero = assertThrows(
                IllegalArgumentException.class, () -> new ParallelExecutor(store, 0, IDLE));
            assertTrue(zero.getMessage().contains("workers"), zero.getMessage());
            final IllegalArgumentException many = assertThrows(
                IllegalArgumentException.class,
                () -> new ParallelExecutor(store, ParallelExecutor.MAX_WORKERS + 1, IDLE));
            assertTrue(many.getMessage().contains("workers"), many.getMessage());
            final IllegalArgumentException idle = assertThrows(
                IllegalArgumentException.class, () -> new ParallelExecutor(store, 1, null));
            assertTrue(idle.getMessage().contains("idleStrategy"), idle.getMessage());

            try (ParallelExecutor executor = new ParallelExecutor(store, 2, IDLE))
            {
                final Batch ungrouped = new Batch(4, MAX_PAYLOAD, MAX_REPLY);
                ungrouped.reset(1);
                ungrouped.add(1, 1, 0, new UnsafeBuffer(new byte[8]), 0, 8);
                final IllegalArgumentException ex = assertThrows(
                    IllegalArgumentException.class, () -> executor.execute(ungrouped, new RecordingHandler(4, -1)));
                assertTrue(ex.getMessage().contains("groupPhases"), ex.getMessage());
            }
        }
        try (StateStore store = openStore(2))
        {
            assertThrows(StateStoreException.class, () -> new ParallelExecutor(store, 3, IDLE), "only 2 writers");
        }
    }

    static final class InjectedFailure extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        InjectedFailure(final String message)
        {
            super(message);
        }
    }

    /**
     * Records per request: executing thread, executions, and start/end ticks of one global clock.
     * Writes reply i as (i % (MAX_REPLY + 1)) bytes. Does not touch the store.
     */
    static final class RecordingHandler implements RequestHandler
    {
        final AtomicLong clock = new AtomicLong();
        final AtomicIntegerArray executions;
        final long[] start;
        final long[] end;
        final Thread[] threads;
        private final int failAt;

        RecordingHandler(final int count, final int failAt)
        {
            this.executions = new AtomicIntegerArray(count);
            this.start = new long[count];
            this.end = new long[count];
            this.threads = new Thread[count];
            this.failAt = failAt;
        }

        public void declareKeys(final Request request, final KeySink keys)
        {
        }

        public int execute(
            final Request request, final long seq, final StoreWriter writer, final MutableDirectBuffer reply,
            final int replyOffset)
        {
            final int i = request.index();
            start[i] = clock.incrementAndGet();
            executions.incrementAndGet(i);
            threads[i] = Thread.currentThread();
            if (i == failAt)
            {
                throw new InjectedFailure("injected failure of request " + i);
            }
            final int length = i % (MAX_REPLY + 1);
            for (int j = 0; j < length; j++)
            {
                reply.putByte(replyOffset + j, (byte)(i * 31 + j));
            }
            Thread.onSpinWait();
            end[i] = clock.incrementAndGet();
            return length;
        }

        void assertExecutedOnce()
        {
            for (int i = 0; i < executions.length(); i++)
            {
                assertEquals(1, executions.get(i), "executions of request " + i);
            }
        }

        void assertPhasesInOrder(final Batch batch)
        {
            for (int phase = 0; phase + 1 < batch.phaseCount(); phase++)
            {
                long lastEnd = 0;
                for (int position = batch.phaseStart(phase); position < batch.phaseEnd(phase); position++)
                {
                    lastEnd = Math.max(lastEnd, end[batch.member(position)]);
                }
                for (int position = batch.phaseStart(phase + 1); position < batch.phaseEnd(phase + 1); position++)
                {
                    final int i = batch.member(position);
                    assertTrue(lastEnd < start[i], "request " + i + " of phase " + (phase + 1) + " started at " +
                        start[i] + " before phase " + phase + " ended at " + lastEnd);
                }
            }
        }

        void assertReplies(final Batch batch)
        {
            for (int i = 0; i < batch.count(); i++)
            {
                final int length = i % (MAX_REPLY + 1);
                assertEquals(length, batch.replyLength(i), "reply length of request " + i);
                for (int j = 0; j < length; j++)
                {
                    assertEquals((byte)(i * 31 + j), batch.replies().getByte(batch.replyOffset(i) + j));
                }
            }
        }
    }

    /**
     * Puts key = payload[0..8) with value key * 3; replies with the value.
     */
    static class PutHandler implements RequestHandler
    {
        public void declareKeys(final Request request, final KeySink keys)
        {
            keys.write(request.payload().getLong(0));
        }

        public int execute(
            final Request request, final long seq, final StoreWriter writer, final MutableDirectBuffer reply,
            final int replyOffset)
        {
            final long key = request.payload().getLong(0);
            final UnsafeBuffer value = new UnsafeBuffer(new byte[Long.BYTES]);
            value.putLong(0, key * 3);
            writer.put(seq, key, value, 0, Long.BYTES);
            reply.putLong(replyOffset, key * 3);
            return Long.BYTES;
        }
    }

    /**
     * Moves payload[16..24) from account payload[0..8) to account payload[8..16); replies with the
     * new balance of the source. Records the executing thread's name.
     */
    static final class TransferHandler implements RequestHandler
    {
        private final Thread[] threads;

        TransferHandler(final int count)
        {
            this.threads = new Thread[count];
        }

        public void declareKeys(final Request request, final KeySink keys)
        {
            final DirectBuffer payload = request.payload();
            keys.write(payload.getLong(0));
            keys.write(payload.getLong(8));
        }

        public int execute(
            final Request request, final long seq, final StoreWriter writer, final MutableDirectBuffer reply,
            final int replyOffset)
        {
            threads[request.index()] = Thread.currentThread();
            final DirectBuffer payload = request.payload();
            final long from = payload.getLong(0);
            final long to = payload.getLong(8);
            final long amount = payload.getLong(16);
            final UnsafeBuffer value = new UnsafeBuffer(new byte[Long.BYTES]);
            final long fromBalance = balance(writer, from, value) - amount;
            final long toBalance = balance(writer, to, value) + amount;
            value.putLong(0, fromBalance);
            writer.put(seq, from, value, 0, Long.BYTES);
            value.putLong(0, toBalance);
            writer.put(seq, to, value, 0, Long.BYTES);
            reply.putLong(replyOffset, fromBalance);
            return Long.BYTES;
        }

        private static long balance(final StoreWriter writer, final long account, final UnsafeBuffer value)
        {
            return StateStore.MISSING == writer.get(account, value, 0) ? 0 : value.getLong(0);
        }

        String[] threadNames()
        {
            final String[] names = new String[threads.length];
            for (int i = 0; i < threads.length; i++)
            {
                names[i] = threads[i].getName();
            }
            return names;
        }
    }
}
