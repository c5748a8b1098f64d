/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ResourceMeterTest
{
    private static volatile Object sink;

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aThreadThatEndsInsideTheIntervalIsNotCountedAndTheSumNeverShrinks() throws Exception
    {
        final CountDownLatch measuring = new CountDownLatch(1);
        final Thread shortLived = new Thread(() ->
        {
            allocate(8 << 20); // before the interval: must not come out as a negative amount
            awaitQuietly(measuring);
        });
        shortLived.start();
        final ResourceMeter meter = new ResourceMeter();
        final ResourceMeter.Usage usage;
        try
        {
            while (Thread.State.WAITING != shortLived.getState() && shortLived.isAlive())
            {
                Thread.onSpinWait(); // until it allocated and waits for the interval to start
            }
            meter.start();
        }
        finally
        {
            measuring.countDown();
        }
        shortLived.join();
        usage = meter.stop(1);
        assertTrue(Double.isNaN(usage.allocatedBytesPerRequest()) || usage.allocatedBytesPerRequest() >= 0,
            "allocated " + usage.allocatedBytesPerRequest() + " B after a thread that allocated 8 MiB ended");
        assertTrue(Double.isNaN(usage.allocatedBytesPerRequest()) || usage.allocatedBytesPerRequest() < (8 << 20),
            "the ended thread's allocation before the interval was counted: " + usage.allocatedBytesPerRequest());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void allocationOfAThreadAliveAtBothEndsIsCounted()
    {
        final ResourceMeter meter = new ResourceMeter();
        meter.start();
        allocate(4 << 20);
        final ResourceMeter.Usage usage = meter.stop(2);
        assertTrue(Double.isNaN(usage.allocatedBytesPerRequest()) || usage.allocatedBytesPerRequest() >= (2 << 20),
            "4 MiB over 2 requests counted as " + usage.allocatedBytesPerRequest() + " B/request");
        assertTrue(Double.isNaN(usage.cpuNsPerRequest()) || usage.cpuNsPerRequest() >= 0);
    }

    private static void allocate(final int bytes)
    {
        for (int i = 0; i < bytes / 4096; i++)
        {
            sink = new byte[4096];
        }
    }

    private static void awaitQuietly(final CountDownLatch latch)
    {
        try
        {
            latch.await();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
