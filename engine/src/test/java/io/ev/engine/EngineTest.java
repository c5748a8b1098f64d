/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.ev.engine.apps.KeyValueApp;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import io.ev.store.StateStore;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The standalone engine end to end: replies only after commit, back pressure, bad submissions,
 * settings validation.
 */
class EngineTest
{
    private static final int CLIENT = 3;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldReleaseEveryReplyOnlyAfterItsBatchCommitted(final int workers)
    {
        final Set<Long> committed = ConcurrentHashMap.newKeySet();
        final AtomicReference<String> violation = new AtomicReference<>();
        final AtomicInteger replies = new AtomicInteger();
        final int requests = 5_000;
        final CommitListener recordCommits = (batch, root) ->
        {
            final Request request = new Request();
            for (int i = 0; i < batch.count(); i++)
            {
                batch.wrap(request, i);
                committed.add(request.requestId());
            }
        };
        try (Engine engine = Engine.launch(context(workers).commitListener(recordCommits)))
        {
            engine.registerClient(CLIENT, (clientId, requestId, type, seq, reply, offset, length) ->
            {
                if (!committed.contains(requestId) || ReplyCodes.OK != ReplyCodes.code(reply, offset))
                {
                    violation.compareAndSet(null, "reply to " + requestId + " before commit or not OK");
                }
                replies.incrementAndGet();
            });
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH]);
            final UnsafeBuffer value = new UnsafeBuffer(new byte[8]);
            for (int i = 0; i < requests; i++)
            {
                value.putLong(0, i);
                final int length = KeyValueApp.encodePut(payload, 0, i % 100, value, 0, 8);
                assertEquals(Engine.SUBMITTED, engine.submit(CLIENT, i, KeyValueApp.PUT, payload, 0, length));
            }
            await().atMost(30, SECONDS).until(() -> replies.get() == requests);
            assertNull(violation.get());
            assertEquals(requests, engine.counters().committed());
            assertEquals(0, engine.counters().aborted());
            assertTrue(engine.counters().batches() >= 1);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldRejectWhenRingFullAndResumeAfterwards() throws InterruptedException
    {
        final CountDownLatch stall = new CountDownLatch(1);
        final CountDownLatch stalled = new CountDownLatch(1);
        final CommitListener stallFirstBatch = (batch, root) ->
        {
            stalled.countDown();
            try
            {
                stall.await(30, SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        };
        final AtomicInteger replies = new AtomicInteger();
        try (Engine engine = Engine.launch(context(1).ringCapacity(4).maxBatchRequests(1)
            .backPressure(Engine.BackPressure.REJECT).commitListener(stallFirstBatch)))
        {
            engine.registerClient(CLIENT, (clientId, requestId, type, seq, reply, offset, length) ->
                replies.incrementAndGet());
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH]);
            final int length = KeyValueApp.encodeGet(payload, 0, 1);
            assertEquals(Engine.SUBMITTED, engine.submit(CLIENT, 0, KeyValueApp.GET, payload, 0, length));
            assertTrue(stalled.await(30, SECONDS));
            int accepted = 1;
            while (Engine.SUBMITTED == engine.submit(CLIENT, accepted, KeyValueApp.GET, payload, 0, length))
            {
                accepted++;
            }
            assertEquals(1 + 4, accepted, "one request in the stalled batch, four in the ring");
            assertEquals(1, engine.counters().rejected());
            stall.countDown();
            final int expected = accepted;
            await().atMost(30, SECONDS).until(() -> replies.get() == expected);
            assertEquals(Engine.SUBMITTED, engine.submit(CLIENT, accepted, KeyValueApp.GET, payload, 0, length));
        }
    }

    @Test
    void shouldRefuseBadSubmissionsWithReasonCodes()
    {
        final Engine engine = Engine.launch(context(1));
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH + 1]);
        assertEquals(Engine.REJECTED_UNKNOWN_CLIENT, engine.submit(CLIENT, 0, KeyValueApp.GET, payload, 0, 8));
        engine.registerClient(CLIENT, (clientId, requestId, type, seq, reply, offset, length) -> { });
        assertEquals(Engine.REJECTED_UNKNOWN_CLIENT, engine.submit(-1, 0, KeyValueApp.GET, payload, 0, 8));
        assertEquals(Engine.REJECTED_PAYLOAD_TOO_LARGE,
            engine.submit(CLIENT, 0, KeyValueApp.PUT, payload, 0, payload.capacity()));
        engine.close();
        assertEquals(Engine.REJECTED_CLOSED, engine.submit(CLIENT, 0, KeyValueApp.GET, payload, 0, 8));
        assertTrue(Engine.describeSubmit(Engine.REJECTED_CLOSED).contains("closed"));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldCompleteFuturesAfterCommitAndFailRejectedOnes() throws Exception
    {
        try (Engine engine = Engine.launch(context(2)))
        {
            final FutureClient client = engine.newFutureClient(CLIENT);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH + 1]);
            final UnsafeBuffer value = new UnsafeBuffer(new byte[] {42});
            final int put = KeyValueApp.encodePut(payload, 0, 9, value, 0, 1);
            assertEquals(ReplyCodes.OK, new UnsafeBuffer(client.submit(1, KeyValueApp.PUT, payload, 0, put)
                .get(30, SECONDS)).getInt(0, ReplyCodes.BYTE_ORDER));
            final int get = KeyValueApp.encodeGet(payload, 0, 9);
            final byte[] reply = client.submit(2, KeyValueApp.GET, payload, 0, get).get(30, SECONDS);
            assertEquals(42, reply[KeyValueApp.REPLY_VALUE_OFFSET]);
            final ExecutionException rejected = assertThrows(ExecutionException.class,
                () -> client.submit(3, KeyValueApp.PUT, payload, 0, payload.capacity()).get(30, SECONDS));
            assertEquals(Engine.REJECTED_PAYLOAD_TOO_LARGE,
                ((FutureClient.RejectedRequestException)rejected.getCause()).reason());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldPublishCountersForOtherProcessesAndDeleteThemOnClose()
    {
        final Path file;
        final Map<String, Long> counters = new HashMap<>();
        try (Engine engine = Engine.launch(context(1)))
        {
            file = engine.countersFile();
            final AtomicInteger replies = new AtomicInteger();
            engine.registerClient(CLIENT, (clientId, requestId, type, seq, reply, offset, length) ->
                replies.incrementAndGet());
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH]);
            final int length = KeyValueApp.encodeGet(payload, 0, 1);
            for (int i = 0; i < 10; i++)
            {
                assertEquals(Engine.SUBMITTED, engine.submit(CLIENT, i, KeyValueApp.GET, payload, 0, length));
            }
            assertEquals(Engine.REJECTED_UNKNOWN_CLIENT, engine.submit(CLIENT + 1, 0, KeyValueApp.GET, payload, 0, 8));
            await().atMost(30, SECONDS).until(() -> replies.get() == 10);
            assertEquals(ProcessHandle.current().pid(), CountersFile.read(file, counters::put));
        }
        assertEquals(10L, counters.get("requests submitted"));
        assertEquals(10L, counters.get("requests committed"));
        assertEquals(1L, counters.get("requests rejected: unknown client"));
        assertTrue(counters.get("batches committed") >= 1);
        assertTrue(!Files.exists(file), "counters file removed on close");
        assertThrows(IllegalArgumentException.class, () -> CountersFile.read(file, (label, value) -> { }));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldLeaveNoPartialWritesOfAFailedRequest(final int workers) throws Exception
    {
        final TransactionRegistry registry = KeyValueApp.registerAll(new TransactionRegistry())
            .register(new WriteThenThrow());
        final BatchRecorder recorder = new BatchRecorder();
        try (Engine engine = Engine.launch(context(workers).registry(registry).commitListener(recorder)))
        {
            final FutureClient client = engine.newFutureClient(CLIENT);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH]);
            final UnsafeBuffer value = new UnsafeBuffer(new byte[] {7});
            final List<CompletableFuture<byte[]>> replies = new ArrayList<>();
            for (int i = 0; i < 50; i++)
            {
                final int put = KeyValueApp.encodePut(payload, 0, i, value, 0, 1);
                replies.add(client.submit(2L * i, KeyValueApp.PUT, payload, 0, put));
                payload.putLong(0, 1_000 + i);
                replies.add(client.submit(2L * i + 1, WriteThenThrow.TYPE, payload, 0, Long.BYTES));
            }
            for (int i = 0; i < replies.size(); i++)
            {
                final int code = new UnsafeBuffer(replies.get(i).get(30, SECONDS)).getInt(0, ReplyCodes.BYTE_ORDER);
                assertEquals(i % 2 == 0 ? ReplyCodes.OK : ReplyCodes.EXECUTION_FAILED, code, "request " + i);
            }
            for (int i = 0; i < 50; i++)
            {
                final int get = KeyValueApp.encodeGet(payload, 0, 1_000 + i);
                final byte[] reply = client.submit(1_000 + i, KeyValueApp.GET, payload, 0, get).get(30, SECONDS);
                assertEquals(ReplyCodes.NOT_FOUND, new UnsafeBuffer(reply).getInt(0, ReplyCodes.BYTE_ORDER),
                    "key " + (1_000 + i) + " written by a failed request must not survive");
                final int put = KeyValueApp.encodeGet(payload, 0, i);
                final byte[] kept = client.submit(2_000 + i, KeyValueApp.GET, payload, 0, put).get(30, SECONDS);
                assertEquals(ReplyCodes.OK, new UnsafeBuffer(kept).getInt(0, ReplyCodes.BYTE_ORDER));
            }
            assertTrue(engine.counters().rollbacks() >= 1);
        }
        try (StateStore fresh = StateStore.open(context(1).store().writers(3)))
        {
            final TransactionRegistry replayRegistry = KeyValueApp.registerAll(new TransactionRegistry())
                .register(new WriteThenThrow());
            assertNull(recorder.replay(fresh, replayRegistry, Engine.Context.MAX_BATCH_REQUESTS_DEFAULT));
        }
    }

    /**
     * Writes the key in its payload, then throws: an application bug.
     */
    static final class WriteThenThrow implements TransactionType
    {
        static final int TYPE = 200;

        public int typeId()
        {
            return TYPE;
        }

        public String name()
        {
            return "WriteThenThrow";
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
            keys.write(KeyValueApp.storeKey(payload.getLong(0)));
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
            store.put(seq, KeyValueApp.storeKey(payload.getLong(0)), payload, 0, Long.BYTES);
            throw new IllegalStateException("application bug after a write");
        }
    }

    @Test
    void shouldNameTheSettingWhenConfigurationIsWrong()
    {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Engine.launch(context(0)))
            .getMessage().contains("workers"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Engine.launch(context(1).ringCapacity(3)))
            .getMessage().contains("ringCapacity"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> Engine.launch(context(1).role(Engine.Role.PRIMARY))).getMessage().contains("role"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> Engine.launch(new Engine.Context().registry(KeyValueApp.registerAll(new TransactionRegistry()))))
            .getMessage().contains("store"));
    }

    private static Engine.Context context(final int workers)
    {
        return new Engine.Context()
            .store(new StateStore.Context().maxEntries(1_000).maxValueBytes(KeyValueApp.MAX_VALUE_BYTES)
                .averageValueBytes(16).pageCount(64))
            .registry(KeyValueApp.registerAll(new TransactionRegistry()))
            .workers(workers)
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30));
    }
}
