/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.ev.pipeline.RequestRing.CLOSED;
import static io.ev.pipeline.RequestRing.OFFERED;
import static io.ev.pipeline.RequestRing.PAYLOAD_TOO_LARGE;
import static io.ev.pipeline.RequestRing.RING_FULL;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestRingTest
{
    private static final int MAX_PAYLOAD = 32;

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[MAX_PAYLOAD + 8]);
    private final Request request = new Request();

    /**
     * Payload of request (clientId, requestId): its length depends on requestId, byte j = clientId + requestId + j.
     */
    private static int fillPayload(final UnsafeBuffer buffer, final long clientId, final long requestId)
    {
        final int length = (int)(requestId % (MAX_PAYLOAD + 1));
        for (int j = 0; j < length; j++)
        {
            buffer.putByte(j, (byte)(clientId + requestId + j));
        }
        return length;
    }

    private int offer(final RequestRing ring, final long clientId, final long requestId)
    {
        final int length = fillPayload(payload, clientId, requestId);
        return ring.offer(clientId, requestId, (int)(requestId * 7), payload, 0, length);
    }

    private void assertRequest(final Batch batch, final int index, final long clientId, final long requestId)
    {
        batch.wrap(request, index);
        assertEquals(index, request.index());
        assertEquals(clientId, request.clientId(), "client of request " + index);
        assertEquals(requestId, request.requestId(), "request id of request " + index);
        assertEquals((int)(requestId * 7), request.type());
        final int length = (int)(requestId % (MAX_PAYLOAD + 1));
        assertEquals(length, request.payloadLength());
        for (int j = 0; j < length; j++)
        {
            assertEquals((byte)(clientId + requestId + j), request.payload().getByte(j), "payload byte " + j);
        }
    }

    private static Batch newBatch(final int maxRequests)
    {
        final Batch batch = new Batch(maxRequests, MAX_PAYLOAD, 8);
        batch.reset(1);
        return batch;
    }

    @Test
    void shouldPreserveContentAndOrderFromOneProducer()
    {
        try (RequestRing ring = new RequestRing(64, MAX_PAYLOAD))
        {
            for (long id = 0; id < 40; id++)
            {
                assertEquals(OFFERED, offer(ring, 3, id));
            }
            assertEquals(40, ring.size());
            final Batch batch = newBatch(64);
            assertEquals(40, ring.drainTo(batch, 64));
            assertEquals(40, batch.count());
            for (int i = 0; i < 40; i++)
            {
                assertRequest(batch, i, 3, i);
            }
            assertEquals(0, ring.size());
            assertEquals(0, ring.drainTo(batch, 64));
        }
    }

    @Test
    void shouldKeepContentAcrossManyWrapArounds()
    {
        try (RequestRing ring = new RequestRing(4, MAX_PAYLOAD))
        {
            final Batch batch = newBatch(4);
            long next = 0;
            for (int round = 0; round < 100; round++)
            {
                final int burst = 1 + round % 4;
                for (int i = 0; i < burst; i++)
                {
                    assertEquals(OFFERED, offer(ring, 9, next + i));
                }
                batch.reset(round);
                assertEquals(burst, ring.drainTo(batch, 4));
                for (int i = 0; i < burst; i++)
                {
                    assertRequest(batch, i, 9, next + i);
                }
                next += burst;
            }
        }
    }

    @Test
    @Timeout(30)
    void shouldDeliverEveryRequestExactlyOnceInProducerOrderFromManyProducers() throws Exception
    {
        final int producers = 4;
        final int perProducer = 5_000;
        final ExecutorService pool = Executors.newFixedThreadPool(producers);
        try (RequestRing ring = new RequestRing(256, MAX_PAYLOAD))
        {
            final CountDownLatch start = new CountDownLatch(1);
            final Future<?>[] futures = new Future<?>[producers];
            for (int p = 0; p < producers; p++)
            {
                final long clientId = p;
                futures[p] = pool.submit(() ->
                {
                    final UnsafeBuffer buffer = new UnsafeBuffer(new byte[MAX_PAYLOAD]);
                    final IdleStrategy idle = new BackoffIdleStrategy();
                    start.await();
                    for (long id = 0; id < perProducer; id++)
                    {
                        final int length = fillPayload(buffer, clientId, id);
                        final int result = ring.offer(
                            clientId, id, (int)(id * 7), buffer, 0, length, TimeUnit.SECONDS.toNanos(20), idle);
                        assertEquals(OFFERED, result, "offer of " + clientId + "/" + id);
                    }
                    return null;
                });
            }
            start.countDown();
            final long[] nextId = new long[producers];
            final Batch batch = newBatch(100);
            final IdleStrategy idle = new BackoffIdleStrategy();
            int received = 0;
            while (received < producers * perProducer)
            {
                batch.reset(received);
                final int drained = ring.drainTo(batch, 100);
                for (int i = 0; i < drained; i++)
                {
                    batch.wrap(request, i);
                    final int client = (int)request.clientId();
                    assertRequest(batch, i, client, nextId[client]);
                    nextId[client]++;
                }
                received += drained;
                idle.idle(drained);
            }
            for (final Future<?> future : futures)
            {
                future.get(10, TimeUnit.SECONDS);
            }
            for (int p = 0; p < producers; p++)
            {
                assertEquals(perProducer, nextId[p], "requests of producer " + p);
            }
            batch.reset(0);
            assertEquals(0, ring.drainTo(batch, 100));
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldReturnRingFullWhenFullAndChangeNothing()
    {
        try (RequestRing ring = new RequestRing(4, MAX_PAYLOAD))
        {
            for (long id = 0; id < 4; id++)
            {
                assertEquals(OFFERED, offer(ring, 1, id));
            }
            assertEquals(RING_FULL, offer(ring, 2, 99));
            assertEquals(RING_FULL, offer(ring, 2, 100));
            assertEquals(4, ring.size());
            final Batch batch = newBatch(8);
            assertEquals(4, ring.drainTo(batch, 8));
            for (int i = 0; i < 4; i++)
            {
                assertRequest(batch, i, 1, i);
            }
            assertEquals(OFFERED, offer(ring, 2, 101));
        }
    }

    @Test
    void shouldRejectPayloadTooLarge()
    {
        try (RequestRing ring = new RequestRing(4, MAX_PAYLOAD))
        {
            assertEquals(PAYLOAD_TOO_LARGE, ring.offer(1, 1, 0, payload, 0, MAX_PAYLOAD + 1));
            assertEquals(0, ring.size());
            assertEquals(OFFERED, ring.offer(1, 2, 0, payload, 0, MAX_PAYLOAD));
            assertEquals(1, ring.size());
            assertThrows(IndexOutOfBoundsException.class, () -> ring.offer(1, 3, 0, payload, payload.capacity(), 1));
            assertThrows(IndexOutOfBoundsException.class, () -> ring.offer(1, 3, 0, payload, 0, -1));
            assertEquals(1, ring.size());
        }
    }

    @Test
    void shouldReturnClosedAfterCloseAndStillDrainAccepted()
    {
        final RequestRing ring = new RequestRing(4, MAX_PAYLOAD);
        assertEquals(OFFERED, offer(ring, 1, 0));
        ring.close();
        ring.close();
        assertTrue(ring.isClosed());
        assertEquals(CLOSED, offer(ring, 1, 1));
        assertEquals(CLOSED, ring.offer(1, 2, 0, payload, 0, MAX_PAYLOAD + 1));
        assertEquals(CLOSED, ring.offer(1, 3, 0, payload, 0, 0, 1_000_000, new BackoffIdleStrategy()));
        final Batch batch = newBatch(4);
        assertEquals(1, ring.drainTo(batch, 4));
        assertRequest(batch, 0, 1, 0);
    }

    @Test
    @Timeout(10)
    void shouldTimeOutWithRingFullWhenNobodyDrains()
    {
        try (RequestRing ring = new RequestRing(2, MAX_PAYLOAD))
        {
            assertEquals(OFFERED, offer(ring, 1, 0));
            assertEquals(OFFERED, offer(ring, 1, 1));
            final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(50);
            final long startNs = System.nanoTime();
            assertEquals(RING_FULL, ring.offer(1, 2, 0, payload, 0, 0, timeoutNs, new BackoffIdleStrategy()));
            assertTrue(System.nanoTime() - startNs >= timeoutNs, "returned before the timeout");
            assertEquals(2, ring.size());
        }
    }

    @Test
    @Timeout(20)
    void shouldOfferOnceAConsumerDrainsWithinTheTimeout() throws Exception
    {
        final ExecutorService pool = Executors.newSingleThreadExecutor();
        try (RequestRing ring = new RequestRing(2, MAX_PAYLOAD))
        {
            assertEquals(OFFERED, offer(ring, 1, 0));
            assertEquals(OFFERED, offer(ring, 1, 1));
            final AtomicInteger waits = new AtomicInteger();
            final IdleStrategy countingIdle = new IdleStrategy()
            {
                private final BackoffIdleStrategy delegate = new BackoffIdleStrategy();

                public void idle(final int workCount)
                {
                    idle();
                }

                public void idle()
                {
                    waits.incrementAndGet();
                    delegate.idle();
                }

                public void reset()
                {
                    delegate.reset();
                }
            };
            final Future<Integer> blocked = pool.submit(() ->
            {
                final UnsafeBuffer buffer = new UnsafeBuffer(new byte[MAX_PAYLOAD]);
                final int length = fillPayload(buffer, 1, 2);
                return ring.offer(1, 2, 14, buffer, 0, length, TimeUnit.SECONDS.toNanos(15), countingIdle);
            });
            await().atMost(10, TimeUnit.SECONDS).until(() -> waits.get() > 0);
            final Batch batch = newBatch(4);
            assertEquals(1, ring.drainTo(batch, 1));
            assertEquals(OFFERED, blocked.get(10, TimeUnit.SECONDS));
            assertEquals(2, ring.drainTo(batch, 4));
            for (int i = 0; i < 3; i++)
            {
                assertRequest(batch, i, 1, i);
            }
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldDrainAtMostLimitAndBatchRoom()
    {
        try (RequestRing ring = new RequestRing(16, MAX_PAYLOAD))
        {
            for (long id = 0; id < 10; id++)
            {
                assertEquals(OFFERED, offer(ring, 5, id));
            }
            final Batch batch = newBatch(5);
            assertEquals(0, ring.drainTo(batch, 0));
            assertEquals(3, ring.drainTo(batch, 3));
            assertEquals(7, ring.size());
            assertEquals(2, ring.drainTo(batch, 10), "only the batch's room");
            assertTrue(batch.isFull());
            assertEquals(0, ring.drainTo(batch, 10));
            assertEquals(5, ring.size());
            for (int i = 0; i < 5; i++)
            {
                assertRequest(batch, i, 5, i);
            }
            batch.reset(2);
            assertEquals(5, ring.drainTo(batch, 10), "end of available events");
            for (int i = 0; i < 5; i++)
            {
                assertRequest(batch, i, 5, 5 + i);
            }
            assertEquals(0, ring.size());
        }
    }

    @Test
    void shouldOfferAndDrainWithoutAllocatingInSteadyState()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        try (RequestRing ring = new RequestRing(64, MAX_PAYLOAD))
        {
            final Batch batch = newBatch(64);
            final IdleStrategy idle = new BackoffIdleStrategy();
            long allocatedBytes = 0;
            for (int round = 0; round < 2; round++)
            {
                final long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 20_000; i++)
                {
                    batch.reset(i);
                    for (int j = 0; j < 16; j++)
                    {
                        ring.offer(1, j, 2, payload, 0, j, 1_000, idle);
                    }
                    assertEquals(16, ring.drainTo(batch, 64));
                }
                allocatedBytes = threads.getCurrentThreadAllocatedBytes() - before;
            }
            System.out.println("RequestRing: " + allocatedBytes + " bytes allocated by 320000 offers and drains");
            assertTrue(allocatedBytes < 1024, allocatedBytes + " bytes allocated in steady state");
        }
    }

    @Test
    void shouldRefuseBadArgumentsNamingThem()
    {
        assertMessageContains("capacity", () -> new RequestRing(0, 8));
        assertMessageContains("capacity", () -> new RequestRing(1, 8));
        assertMessageContains("capacity", () -> new RequestRing(3, 8));
        assertMessageContains("capacity", () -> new RequestRing(RequestRing.MAX_CAPACITY * 2, 8));
        assertMessageContains("maxPayloadBytes", () -> new RequestRing(4, -1));
        assertMessageContains("maxPayloadBytes", () -> new RequestRing(4, RequestRing.MAX_PAYLOAD_BYTES_LIMIT + 1));
        assertMessageContains("maxPayloadBytes", () -> new RequestRing(RequestRing.MAX_CAPACITY, 1 << 10));
        try (RequestRing ring = new RequestRing(4, MAX_PAYLOAD))
        {
            assertMessageContains("limit", () -> ring.drainTo(newBatch(4), -1));
            final Batch small = new Batch(4, MAX_PAYLOAD - 1, 8);
            assertMessageContains("maxPayloadBytes", () -> ring.drainTo(small, 4));
        }
    }

    private static void assertMessageContains(final String word, final Runnable action)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(ex.getMessage().contains(word), ex.getMessage());
    }
}
