/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import java.lang.management.ManagementFactory;

import io.ev.pipeline.KeySink;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The request generator, key declaration and the registry's dispatch allocate nothing per request
 * once warm (the least of a few rounds, measured with the JVM's per-thread allocation counter; JMH
 * -prof gc is the real proof).
 * Execution, measured with the store's batch control included, allocates less than one byte per request.
 */
final class AllocationTest
{
    private static final int CUSTOMERS = 100;
    private static final int WARM_UP_REQUESTS = 50_000;
    private static final int MEASURED_REQUESTS = 20_000;
    private static final int ROUNDS = 5;

    @Test
    void shouldGenerateAndDeclareWithoutAllocating()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported());
        final long seed = TestSeeds.seed("shouldGenerateAndDeclareWithoutAllocating");
        try (BankFixture bank = new BankFixture(CUSTOMERS, seed, true))
        {
            final SmallBankWorkload workload = SmallBankWorkload.contended(CUSTOMERS, seed, true);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
            final CountingSink sink = new CountingSink();
            generate(workload, bank, payload, sink, WARM_UP_REQUESTS);
            final long allocatedBytes = leastAllocatedBytes(
                threads, () -> generate(workload, bank, payload, sink, MEASURED_REQUESTS));
            assertTrue(sink.keys > MEASURED_REQUESTS);
            assertEquals(0, allocatedBytes, "seed " + seed + ": bytes allocated by " + MEASURED_REQUESTS + " requests");
        }
    }

    @Test
    void shouldExecuteWithoutAllocatingPerRequest()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long seed = TestSeeds.seed("shouldExecuteWithoutAllocatingPerRequest");
        try (BankFixture bank = new BankFixture(CUSTOMERS, seed, true))
        {
            final SmallBankWorkload workload = SmallBankWorkload.contended(CUSTOMERS, seed, true);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
            final UnsafeBuffer reply = new UnsafeBuffer(new byte[SmallBankReply.LENGTH]);
            execute(workload, bank, payload, reply, WARM_UP_REQUESTS);
            final long allocatedBytes = leastAllocatedBytes(
                threads, () -> execute(workload, bank, payload, reply, MEASURED_REQUESTS));
            final double perRequest = (double)allocatedBytes / MEASURED_REQUESTS;
            System.out.println("execute incl. store and batch control: " + perRequest + " bytes allocated per request");
            // the store's batch control may allocate a little per batch; nothing may be allocated per request
            assertTrue(perRequest < 1.0, "seed " + seed + ": " + perRequest + " bytes allocated per request");
        }
    }

    /**
     * Runs {@code rounds} rounds and keeps the least allocation: incidental allocation (JIT
     * deoptimisation, say) can hit one round, per-request allocation hits every round.
     */
    private static long leastAllocatedBytes(final com.sun.management.ThreadMXBean threads, final Runnable round)
    {
        final long thread = Thread.currentThread().getId();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < ROUNDS && least > 0; i++)
        {
            final long before = threads.getThreadAllocatedBytes(thread);
            round.run();
            least = Math.min(least, threads.getThreadAllocatedBytes(thread) - before);
        }
        return least;
    }

    private static void generate(
        final SmallBankWorkload workload,
        final BankFixture bank,
        final UnsafeBuffer payload,
        final CountingSink sink,
        final int requests)
    {
        for (int i = 0; i < requests; i++)
        {
            final int length = workload.next(payload, 0);
            bank.registry.declareKeys(workload.typeId(), payload, length, sink);
        }
    }

    private static void execute(
        final SmallBankWorkload workload,
        final BankFixture bank,
        final UnsafeBuffer payload,
        final UnsafeBuffer reply,
        final int requests)
    {
        final int batchRequests = 100;
        for (int done = 0; done < requests; )
        {
            final long seq = bank.store.lastCommittedSeq() + 1;
            bank.store.begin(seq);
            for (int i = 0; i < batchRequests; i++, done++)
            {
                final int length = workload.next(payload, 0);
                bank.registry.execute(workload.typeId(), payload, length, seq, bank.writer, reply, 0);
            }
            bank.store.seal(seq);
            bank.store.commit(seq);
        }
    }

    private static final class CountingSink implements KeySink
    {
        long keys;

        public void read(final long key)
        {
            keys++;
        }

        public void write(final long key)
        {
            keys++;
        }
    }
}
