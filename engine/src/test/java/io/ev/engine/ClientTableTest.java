/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import io.ev.engine.apps.KeyValueApp;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.ParallelExecutor;
import io.ev.pipeline.Request;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.Keys;
import io.ev.store.StateStore;
import io.ev.store.StateStoreException;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Request deduplication by the {@link ClientTable}, batch by batch through a {@link BatchRunner}: retries
 * in the same and in a later batch get the original reply and execute once; older ids are stale and
 * change nothing; failures are isolated and remembered; a client whose record the store refuses is not
 * executed; requests of one client may share a phase and parallel execution still equals sequential.
 */
class ClientTableTest
{
    private static final int CUSTOMERS = 20;
    private static final int BATCH = 64;
    private static final long LOAD_SEED = 5;

    private final List<Throwable> errors = new ArrayList<>();
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
    private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[SmallBank.MAX_VALUE_BYTES]);
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            closeables.get(i).close();
        }
    }

    @Test
    void shouldAnswerARetryWithTheOriginalReplyAndExecuteItOnce()
    {
        final Side side = new Side(ClientTableTest::smallBankStore, registry(true), null);
        final long before = side.checking(5);

        side.begin();
        side.add(3, 10, deposit(5, 130));
        side.add(3, 10, deposit(5, 130)); // retry in the same batch
        side.add(4, 0, deposit(6, 1));
        side.run();
        assertEquals(ReplyCodes.OK, side.code(0));
        assertArrayEquals(side.reply(0), side.reply(1), "a retry in the same batch gets the original reply");
        assertEquals(before + 130, side.checking(5), "executed once");
        assertEquals(1, side.runner.retried());
        assertEquals(10, ClientTable.lastRequestId(side.writer, 3, scratch));
        assertEquals(0, ClientTable.lastRequestId(side.writer, 4, scratch));
        final byte[] original = side.reply(0);

        final long root = side.store.root();
        side.begin();
        side.add(3, 10, deposit(5, 999_999)); // a retry is known by its id alone: the payload is not looked at
        side.run();
        assertArrayEquals(original, side.reply(0), "a retry in a later batch gets the original reply");
        assertEquals(before + 130, side.checking(5));
        assertEquals(root, side.store.root(), "a retry changes nothing");

        side.begin();
        side.add(3, 9, deposit(5, 130));
        side.add(3, 10, deposit(5, 130));
        side.run();
        assertEquals(ReplyCodes.STALE_REQUEST_ID, side.code(0));
        assertEquals(ReplyCodes.CODE_LENGTH, side.batch.replyLength(0));
        assertArrayEquals(original, side.reply(1));
        assertEquals(1, side.runner.stale());
        assertEquals(root, side.store.root(), "a stale id changes nothing");

        side.begin();
        side.add(3, 11, transactSavings(5, -1_000_000_000L)); // an abort is an outcome too
        side.run();
        assertEquals(ReplyCodes.INSUFFICIENT_FUNDS, side.code(0));
        final byte[] aborted = side.reply(0);
        side.begin();
        side.add(3, 11, transactSavings(5, 1));
        side.add(3, 12, deposit(5, 130));
        side.add(3, 12, deposit(5, 130));
        side.run();
        assertArrayEquals(aborted, side.reply(0), "the remembered abort, not an execution of the new payload");
        assertEquals(ReplyCodes.OK, side.code(1));
        assertArrayEquals(side.reply(1), side.reply(2));
        assertEquals(before + 260, side.checking(5));
        assertEquals(12, ClientTable.lastRequestId(side.writer, 3, scratch));
        assertTrue(errors.isEmpty(), errors::toString);
    }

    @Test
    void shouldExecuteEveryRequestWhenDeduplicationIsOff()
    {
        final Side side = new Side(ClientTableTest::smallBankStore, registry(false), null);
        final long before = side.checking(5);
        side.begin();
        side.add(3, 10, deposit(5, 130));
        side.add(3, 10, deposit(5, 130));
        side.add(3, 9, deposit(5, 130));
        side.run();
        assertEquals(before + 390, side.checking(5));
        assertEquals(ClientTable.NO_REQUEST, ClientTable.lastRequestId(side.writer, 3, scratch));
    }

    @Test
    void shouldIsolateAFailedRequestAndRememberItsFailure()
    {
        final ThrowAfterWrite failing = new ThrowAfterWrite();
        final Side side = new Side(ClientTableTest::smallBankStore, registry(true).register(failing), null);
        final long before = side.checking(2);
        payload.putLong(0, 2);

        side.begin();
        side.add(1, 5, ThrowAfterWrite.TYPE, Long.BYTES);
        side.add(1, 5, ThrowAfterWrite.TYPE, Long.BYTES);
        side.add(1, 6, deposit(2, 130));
        side.run();
        assertEquals(ReplyCodes.EXECUTION_FAILED, side.code(0));
        assertArrayEquals(side.reply(0), side.reply(1));
        assertEquals(ReplyCodes.OK, side.code(2));
        assertEquals(1, failing.executions.get(), "the failing request ran once, its in-batch retry not at all");
        assertEquals(1, side.runner.reexecutions());
        assertEquals(before + 130, side.checking(2), "no partial write of the failed request survives");
        assertEquals(6, ClientTable.lastRequestId(side.writer, 1, scratch));

        side.begin();
        side.add(1, 5, ThrowAfterWrite.TYPE, Long.BYTES);
        side.run();
        assertEquals(ReplyCodes.STALE_REQUEST_ID, side.code(0));
        assertEquals(1, failing.executions.get());

        side.begin();
        side.add(1, 7, ThrowAfterWrite.TYPE, Long.BYTES);
        side.run();
        side.begin();
        side.add(1, 7, ThrowAfterWrite.TYPE, Long.BYTES);
        side.run();
        assertEquals(ReplyCodes.EXECUTION_FAILED, side.code(0), "a remembered failure is the retry's reply");
        assertEquals(0, side.runner.reexecutions(), "a remembered failure is not isolated again");
        assertEquals(2, failing.executions.get());
        assertEquals(before + 130, side.checking(2));
    }

    @Test
    void shouldNotExecuteAClientWhoseRecordTheStoreRefuses()
    {
        // room for the SmallBank rows (the customers' and the fee account) and exactly one client record
        final Side side = new Side(() -> SmallBank.storeContext(CUSTOMERS, BATCH, 0)
            .maxEntries((long)CUSTOMERS * SmallBankLoader.ROWS_PER_CUSTOMER + 2), registry(true), null);
        final long before1 = side.checking(1);
        final long before2 = side.checking(2);

        side.begin();
        side.add(1, 0, deposit(1, 130));
        side.add(2, 0, deposit(2, 130));
        side.add(2, 0, deposit(2, 130));
        side.add(1, 1, deposit(1, 130));
        side.run();
        assertEquals(ReplyCodes.OK, side.code(0), errors::toString);
        assertEquals(ReplyCodes.STORE_REJECTED, side.code(1));
        assertEquals(ReplyCodes.STORE_REJECTED, side.code(2));
        assertEquals(ReplyCodes.OK, side.code(3));
        assertEquals(0, side.runner.reexecutions(), "a refused client executed nothing, so nothing to isolate");
        assertEquals(before1 + 260, side.checking(1));
        assertEquals(before2, side.checking(2));
        assertEquals(1, ClientTable.lastRequestId(side.writer, 1, scratch));
        assertEquals(ClientTable.NO_REQUEST, ClientTable.lastRequestId(side.writer, 2, scratch),
            "a refused request is not remembered: it may be retried");
        assertEquals(1, errors.size(), errors::toString);
        assertInstanceOf(StateStoreException.class, errors.get(0));
    }

    @Test
    void shouldRefuseAStoreThatCannotHoldTheClientRecordsBeforeBeginning()
    {
        final TransactionRegistry registry = KeyValueApp.registerAll(registry(true));
        final Side side = new Side(ClientTableTest::smallBankStore, registry, null);
        side.begin();
        side.add(3, 10, deposit(5, 130));
        final long openBefore = side.store.newestOpenSeq();
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> side.runner.executeAndSeal(side.batch, registry));
        assertTrue(ex.getMessage().contains("maxValueBytes is " + SmallBank.MAX_VALUE_BYTES), ex.getMessage());
        assertTrue(ex.getMessage().contains(Integer.toString(registry.clientRecordBytes())), ex.getMessage());
        assertEquals(openBefore, side.store.newestOpenSeq(), "no batch was begun");
    }

    @Test
    void shouldSizeSmallBankStoresForTheClientRecords()
    {
        final StateStore.Context ctx = SmallBank.storeContext(100, 256);
        assertEquals(100L * SmallBankLoader.ROWS_PER_CUSTOMER + 16 + SmallBank.CLIENT_ROWS, ctx.maxEntries());
        assertEquals(ClientTable.recordBytes(registry(true).maxReplyBytes()), SmallBank.CLIENT_RECORD_BYTES);
        assertTrue(SmallBank.CLIENT_RECORD_BYTES <= ctx.maxValueBytes());
        assertEquals(Keys.MAX_TABLE, ClientTable.TABLE);
    }

    /**
     * Random batches of four clients (new ids, retries, stale ids, jumps) through the key mixer: the
     * mixer does not serialise a client's requests, yet parallel execution on three workers gives the
     * roots and replies of sequential execution, and every reply obeys the deduplication rule.
     */
    @Test
    void shouldMatchSequentialExecutionWhenRequestsOfOneClientShareAPhase()
    {
        final long seed = Long.getLong("ev.test.seed", System.nanoTime());
        System.out.println("ClientTableTest seed " + seed + " (rerun with -Dev.test.seed=" + seed + ")");
        final SplittableRandom random = new SplittableRandom(seed);
        final TransactionRegistry registry = registry(true);
        final Side parallel = new Side(ClientTableTest::smallBankStore, registry, 3);
        final Side sequential = new Side(ClientTableTest::smallBankStore, registry, null);
        final KeyConflictMixer mixer = new KeyConflictMixer(BATCH);
        final SmallBankWorkload workload = SmallBankWorkload.uniform(CUSTOMERS, seed, false);
        final long[] lastIssued = new long[4];
        Arrays.fill(lastIssued, -1);
        final Map<Long, Long> modelLast = new HashMap<>();
        final Map<Long, byte[]> modelReply = new HashMap<>();
        final Request request = new Request();
        int sharedPhases = 0;
        int retries = 0;
        int stale = 0;
        for (int b = 0; b < 40; b++)
        {
            parallel.begin();
            sequential.begin();
            final int count = 1 + random.nextInt(BATCH);
            for (int i = 0; i < count; i++)
            {
                final int client = random.nextInt(lastIssued.length);
                final int dice = random.nextInt(100);
                final long id;
                if (dice < 15 && lastIssued[client] >= 0)
                {
                    id = lastIssued[client]; // retry
                }
                else if (dice < 25 && lastIssued[client] > 0)
                {
                    id = random.nextLong(lastIssued[client]); // stale
                }
                else
                {
                    id = lastIssued[client] + 1 + (dice < 30 ? random.nextInt(5) : 0);
                    lastIssued[client] = id;
                }
                final int length = workload.next(payload, 0);
                parallel.add(client, id, workload.typeId(), length);
                sequential.add(client, id, workload.typeId(), length);
            }
            mixer.mix(parallel.batch, registry);
            sharedPhases += phasesSharedByAClient(parallel.batch, request);
            parallel.run();
            sequential.run();
            final String context = "seed " + seed + " batch " + b;
            assertEquals(Long.toHexString(sequential.store.root()), Long.toHexString(parallel.store.root()), context);
            for (int i = 0; i < count; i++)
            {
                assertArrayEquals(sequential.reply(i), parallel.reply(i), context + " request " + i);
                parallel.batch.wrap(request, i);
                final Long last = modelLast.get(request.clientId());
                final byte[] reply = parallel.reply(i);
                if (null != last && request.requestId() < last)
                {
                    stale++;
                    assertEquals(ReplyCodes.STALE_REQUEST_ID, parallel.code(i), context + " request " + i);
                }
                else if (null != last && request.requestId() == last)
                {
                    retries++;
                    assertArrayEquals(modelReply.get(request.clientId()), reply, context + " retry " + i);
                }
                else
                {
                    modelLast.put(request.clientId(), request.requestId());
                    modelReply.put(request.clientId(), reply);
                }
            }
        }
        for (int client = 0; client < lastIssued.length; client++)
        {
            final Long last = modelLast.get((long)client);
            assertEquals(null == last ? ClientTable.NO_REQUEST : last,
                ClientTable.lastRequestId(parallel.writer, client, scratch));
        }
        assertTrue(sharedPhases > 0, "seed " + seed + ": no phase held two requests of one client");
        assertTrue(retries > 0 && stale > 0, "seed " + seed + ": retries " + retries + ", stale " + stale);
        assertTrue(errors.isEmpty(), errors::toString);
    }

    @Test
    void shouldRunDeduplicatedBatchesWithoutAllocatingPerRequest()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final Side side = new Side(ClientTableTest::smallBankStore, registry(true), null);
        final SmallBankWorkload workload = SmallBankWorkload.uniform(CUSTOMERS, LOAD_SEED, false);
        final long[] nextId = new long[8];
        runRetryingBatches(side, workload, nextId, 20_000);
        final long thread = Thread.currentThread().getId();
        long least = Long.MAX_VALUE;
        for (int round = 0; round < 5 && least > 0; round++)
        {
            final long before = threads.getThreadAllocatedBytes(thread);
            runRetryingBatches(side, workload, nextId, 10_000);
            least = Math.min(least, threads.getThreadAllocatedBytes(thread) - before);
        }
        final double perRequest = least / 10_000.0;
        System.out.println("deduplicated batches incl. store batch control: " + perRequest + " bytes per request");
        assertTrue(perRequest < 1.0, perRequest + " bytes allocated per request");
        assertTrue(side.runner.retried() > 0);
    }

    /**
     * Batches of 64 requests from eight clients, every fourth request a retry of its client's last id.
     */
    private void runRetryingBatches(
        final Side side, final SmallBankWorkload workload, final long[] nextId, final int requests)
    {
        for (int done = 0; done < requests; done += BATCH)
        {
            side.begin();
            for (int i = 0; i < BATCH; i++)
            {
                final int client = i % nextId.length;
                final long id = (i & 3) == 3 ? nextId[client] - 1 : nextId[client]++;
                side.add(client, id, workload.typeId(), workload.next(payload, 0));
            }
            side.run();
        }
    }

    private static int phasesSharedByAClient(final Batch batch, final Request request)
    {
        int shared = 0;
        for (int phase = 0; phase < batch.phaseCount(); phase++)
        {
            final long[] seen = new long[batch.phaseEnd(phase) - batch.phaseStart(phase)];
            int n = 0;
            boolean found = false;
            for (int p = batch.phaseStart(phase); p < batch.phaseEnd(phase); p++)
            {
                batch.wrap(request, batch.member(p));
                for (int k = 0; k < n; k++)
                {
                    found |= seen[k] == request.clientId();
                }
                seen[n++] = request.clientId();
            }
            shared += found ? 1 : 0;
        }
        return shared;
    }

    private static StateStore.Context smallBankStore()
    {
        return SmallBank.storeContext(CUSTOMERS, BATCH);
    }

    private TransactionRegistry registry(final boolean deduplicate)
    {
        return SmallBank.registerAll(new TransactionRegistry(errors::add), false).deduplicateRequests(deduplicate);
    }

    private int deposit(final long customer, final long cents)
    {
        return SmallBankCodec.encodeDepositChecking(payload, 0, customer, cents) | SmallBank.DEPOSIT_CHECKING << 16;
    }

    private int transactSavings(final long customer, final long cents)
    {
        return SmallBankCodec.encodeTransactSavings(payload, 0, customer, cents) | SmallBank.TRANSACT_SAVINGS << 16;
    }

    /**
     * A loaded SmallBank store with a runner (sequential, or parallel on some workers) and one batch.
     */
    private final class Side
    {
        final StateStore store;
        final StoreWriter writer;
        final BatchRunner runner;
        final Batch batch;
        final UnsafeBuffer replyView = new UnsafeBuffer(0, 0);
        private final TransactionRegistry registry;

        Side(
            final Supplier<StateStore.Context> context,
            final TransactionRegistry registry,
            final Integer workers)
        {
            this.store = StateStore.open(context.get().writers(null == workers ? 3 : workers + 3));
            closeables.add(store);
            this.writer = store.newWriter();
            this.registry = registry;
            SmallBankLoader.load(store, writer, CUSTOMERS, LOAD_SEED);
            final StoreWriter batchWriter = store.newWriter();
            if (null == workers)
            {
                this.runner = new BatchRunner(store, new SequentialExecutor(batchWriter), batchWriter, BATCH);
            }
            else
            {
                final ParallelExecutor executor = new ParallelExecutor(store, new ParallelExecutor.Context()
                    .workers(workers).idleStrategy(BusySpinIdleStrategy::new));
                closeables.add(executor::close);
                this.runner = new BatchRunner(store, executor, batchWriter, BATCH);
            }
            this.batch = new Batch(BATCH, registry.maxPayloadBytes(), registry.maxReplyBytes());
        }

        void begin()
        {
            batch.reset(store.lastCommittedSeq() + 1);
        }

        /**
         * @param typeAndLength the payload length in the low 16 bits, the type id above.
         */
        void add(final long client, final long requestId, final int typeAndLength)
        {
            add(client, requestId, typeAndLength >>> 16, typeAndLength & 0xFFFF);
        }

        void add(final long client, final long requestId, final int type, final int length)
        {
            batch.add(client, requestId, type, payload, 0, length);
        }

        void run()
        {
            if (0 == batch.phaseCount())
            {
                batch.groupPhases();
            }
            runner.executeAndSeal(batch, registry);
            store.commit(batch.seq());
        }

        byte[] reply(final int index)
        {
            batch.wrapReply(replyView, index);
            final byte[] bytes = new byte[batch.replyLength(index)];
            replyView.getBytes(0, bytes);
            return bytes;
        }

        int code(final int index)
        {
            batch.wrapReply(replyView, index);
            return ReplyCodes.code(replyView, 0);
        }

        long checking(final long customer)
        {
            return SmallBankOracle.balanceCents(writer, SmallBank.checkingKey(customer));
        }
    }

    /**
     * Writes the CHECKING row of the customer in its payload, then throws: an application bug.
     */
    private static final class ThrowAfterWrite implements TransactionType
    {
        static final int TYPE = 201;
        final AtomicInteger executions = new AtomicInteger();

        public int typeId()
        {
            return TYPE;
        }

        public String name()
        {
            return "ThrowAfterWrite";
        }

        public int maxPayloadBytes()
        {
            return Long.BYTES;
        }

        public int maxReplyBytes()
        {
            return ReplyCodes.CODE_LENGTH;
        }

        public boolean declareKeys(final DirectBuffer payload, final int length, final KeySink keys)
        {
            keys.write(SmallBank.checkingKey(payload.getLong(0)));
            return true;
        }

        public int execute(
            final DirectBuffer payload,
            final int length,
            final long seq,
            final StoreWriter store,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            executions.incrementAndGet();
            store.put(seq, SmallBank.checkingKey(payload.getLong(0)), payload, 0, Long.BYTES);
            throw new IllegalStateException("application bug after a write");
        }
    }
}
