/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulated network delivers like a healthy link when asked to, injects each fault as configured, and
 * replays exactly from a seed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SimulatedNetworkTest
{
    private static final String A = "primary";
    private static final String B = "backup";

    private final UnsafeBuffer sendBuffer = new UnsafeBuffer(new byte[64]);

    @Test
    void shouldDeliverInOrderExactlyOnceAfterTheDelay()
    {
        final SimulatedNetwork network = newNetwork("healthy");
        network.direction(A, B).delayNs(1_000, 1_000);
        final Link a = network.endpoint(A);
        final Link b = network.endpoint(B);
        assertTrue(a.isConnected());
        assertTrue(b.isConnected());

        for (int i = 0; i < 100; i++)
        {
            assertTrue(send(a, i));
            network.advanceBy(1);
        }
        assertEquals(1_000 - 100, network.nextDeliveryTimeNs() - network.nowNs());
        final List<Integer> received = new ArrayList<>();
        network.advanceTo(999);
        assertEquals(0, drain(b, received));
        network.advanceTo(1_000);
        assertEquals(1, drain(b, received));
        network.advanceTo(1_050);
        assertEquals(50, drain(b, received));
        network.advanceBy(1_000);
        assertEquals(49, drain(b, received));
        assertEquals(0, drain(b, received));
        assertEquals(0, drain(a, new ArrayList<>()));
        assertEquals(SimulatedNetwork.NO_PENDING_DELIVERY, network.nextDeliveryTimeNs());

        assertEquals(range(100), received);
        final SimulatedNetwork.Direction direction = network.direction(A, B);
        assertEquals(100, direction.offered());
        assertEquals(100, direction.delivered());
        assertEquals(0, direction.dropped());
        assertEquals(0, direction.duplicated());
        assertEquals(0, direction.inFlight());
        assertEquals(0, network.direction(B, A).offered());
    }

    @Test
    void shouldCopyTheMessageSoTheSenderMayReuseItsBuffer()
    {
        final SimulatedNetwork network = newNetwork("copy");
        final Link a = network.endpoint(A);
        sendBuffer.putInt(0, 7);
        assertTrue(a.offer(sendBuffer, 0, 4));
        sendBuffer.putInt(0, 8);
        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        final List<Integer> received = new ArrayList<>();
        drain(network.endpoint(B), received);
        assertEquals(List.of(7), received);
    }

    @Test
    void shouldDeliverNothingWhenDropProbabilityIsOne()
    {
        final SimulatedNetwork network = newNetwork("drop");
        network.direction(A, B).dropProbability(1.0);
        final Link a = network.endpoint(A);
        for (int i = 0; i < 100; i++)
        {
            assertTrue(send(a, i));
        }
        assertTrue(a.isConnected());
        network.advanceBy(1_000_000_000L);
        assertEquals(0, drain(network.endpoint(B), new ArrayList<>()));
        assertEquals(100, network.direction(A, B).offered());
        assertEquals(100, network.direction(A, B).dropped());
        assertEquals(0, network.direction(A, B).delivered());
        assertInvariant(network.direction(A, B));
    }

    @Test
    void shouldDuplicateMessages()
    {
        final SimulatedNetwork network = newNetwork("duplicate");
        network.direction(A, B).duplicateProbability(0.5).delayNs(0, 10_000);
        final Link a = network.endpoint(A);
        final int count = 500;
        for (int i = 0; i < count; i++)
        {
            assertTrue(send(a, i));
        }
        network.advanceBy(10_000);
        final List<Integer> received = new ArrayList<>();
        drain(network.endpoint(B), received);

        final int[] copies = new int[count];
        for (final int value : received)
        {
            copies[value]++;
        }
        int twice = 0;
        for (int i = 0; i < count; i++)
        {
            assertTrue(copies[i] == 1 || copies[i] == 2, "message " + i + " copies " + copies[i]);
            twice += copies[i] - 1;
        }
        final SimulatedNetwork.Direction direction = network.direction(A, B);
        assertEquals(twice, direction.duplicated());
        assertEquals(count + twice, direction.delivered());
        assertTrue(twice > count / 4 && twice < count * 3 / 4, "duplicates " + twice);
        assertInvariant(direction);

        direction.duplicateProbability(1.0);
        assertTrue(send(a, 1));
        network.advanceBy(10_000);
        received.clear();
        drain(network.endpoint(B), received);
        assertEquals(List.of(1, 1), received);
    }

    @Test
    void shouldReorderWithRandomDelays()
    {
        final SimulatedNetwork network = newNetwork("reorder");
        network.direction(A, B).delayNs(0, 100_000);
        final Link a = network.endpoint(A);
        final Link b = network.endpoint(B);
        final int count = 200;
        final List<Integer> received = new ArrayList<>();
        final List<Long> deliveredAtNs = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            assertTrue(send(a, i));
        }
        while (SimulatedNetwork.NO_PENDING_DELIVERY != network.nextDeliveryTimeNs())
        {
            network.advanceTo(network.nextDeliveryTimeNs());
            final int delivered = drain(b, received);
            for (int i = 0; i < delivered; i++)
            {
                deliveredAtNs.add(network.nowNs());
            }
        }

        assertEquals(count, received.size());
        assertEquals(range(count), received.stream().sorted().toList());
        assertNotEquals(range(count), received);
        for (int i = 1; i < count; i++)
        {
            assertTrue(deliveredAtNs.get(i - 1) <= deliveredAtNs.get(i));
        }
        assertTrue(deliveredAtNs.get(count - 1) <= 100_000);
    }

    @Test
    void shouldCutOneDirectionAndHeal()
    {
        final SimulatedNetwork network = newNetwork("one-way");
        final Link a = network.endpoint(A);
        final Link b = network.endpoint(B);
        network.direction(A, B).delayNs(100, 100);
        assertTrue(send(a, 1));
        network.advanceBy(100);
        assertTrue(send(a, 2));
        network.partitionOneWay(A, B);

        assertFalse(a.isConnected());
        assertTrue(b.isConnected());
        assertTrue(network.direction(A, B).isCut());
        assertFalse(send(a, 3));
        assertTrue(send(b, 4));
        network.advanceBy(1_000_000);
        final List<Integer> atB = new ArrayList<>();
        final List<Integer> atA = new ArrayList<>();
        drain(b, atB);
        drain(a, atA);
        assertEquals(List.of(1), atB, "a message already due survives the cut, one not due is lost");
        assertEquals(List.of(4), atA);
        assertEquals(1, network.direction(A, B).dropped());
        assertEquals(1, network.direction(A, B).refused());

        network.heal(A, B);
        assertTrue(a.isConnected());
        assertTrue(send(a, 5));
        network.advanceBy(1_000);
        drain(b, atB);
        assertEquals(List.of(1, 5), atB);
        assertInvariant(network.direction(A, B));
        assertInvariant(network.direction(B, A));
    }

    @Test
    void shouldCutBothDirectionsAndHeal()
    {
        final SimulatedNetwork network = newNetwork("full");
        final Link a = network.endpoint(A);
        final Link b = network.endpoint(B);
        assertTrue(send(a, 1));
        assertTrue(send(b, 2));
        network.partition(A, B);

        assertFalse(a.isConnected());
        assertFalse(b.isConnected());
        assertFalse(send(a, 3));
        assertFalse(send(b, 4));
        network.advanceBy(1_000_000);
        assertEquals(0, drain(a, new ArrayList<>()));
        assertEquals(0, drain(b, new ArrayList<>()));

        network.heal(A, B);
        assertTrue(a.isConnected());
        assertTrue(b.isConnected());
        assertTrue(send(a, 5));
        assertTrue(send(b, 6));
        network.advanceBy(1_000_000);
        final List<Integer> atA = new ArrayList<>();
        final List<Integer> atB = new ArrayList<>();
        drain(a, atA);
        drain(b, atB);
        assertEquals(List.of(6), atA);
        assertEquals(List.of(5), atB);
    }

    @Test
    void shouldLoseEverythingInFlightOnCrashAndGiveAFreshLinkOnRestart()
    {
        final SimulatedNetwork network = newNetwork("crash");
        final Link a = network.endpoint(A);
        final Link b = network.endpoint(B);
        assertTrue(send(a, 1));
        assertTrue(send(b, 2));
        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        assertTrue(send(a, 3));
        assertTrue(send(b, 4));
        network.crash(B);
        network.crash(B);

        assertTrue(network.isDown(B));
        assertFalse(b.isConnected());
        assertFalse(a.isConnected());
        assertFalse(send(b, 5));
        assertFalse(send(a, 6));
        network.advanceBy(1_000_000);
        assertEquals(0, drain(b, new ArrayList<>()));
        assertEquals(0, drain(a, new ArrayList<>()), "even a due message from the crashed endpoint is lost");
        assertEquals(2, network.direction(A, B).dropped());
        assertEquals(2, network.direction(B, A).dropped());
        assertThrows(IllegalStateException.class, () -> network.restart(A));

        final Link restarted = network.restart(B);
        assertNotSame(b, restarted);
        assertFalse(network.isDown(B));
        assertTrue(restarted.isConnected());
        assertTrue(a.isConnected());
        assertFalse(b.isConnected());
        assertFalse(send(b, 7), "the crashed link stays dead after restart");
        assertTrue(send(restarted, 8));
        assertTrue(send(a, 9));
        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        final List<Integer> atA = new ArrayList<>();
        final List<Integer> atB = new ArrayList<>();
        drain(a, atA);
        drain(b, atB);
        drain(restarted, atB);
        assertEquals(List.of(8), atA);
        assertEquals(List.of(9), atB);
        assertInvariant(network.direction(A, B));
        assertInvariant(network.direction(B, A));
    }

    @Test
    void shouldTakeTheEndpointDownOnClose()
    {
        final SimulatedNetwork network = newNetwork("close");
        final Link a = network.endpoint(A);
        final Link b = network.endpoint(B);
        b.close();
        b.close();
        assertTrue(network.isDown(B));
        assertFalse(a.isConnected());
        assertFalse(send(a, 1));
        assertTrue(network.restart(B).isConnected());
    }

    @Test
    void shouldRefuseOffersOverTheInFlightLimitsAndAcceptAgainAfterDelivery()
    {
        final SimulatedNetwork network = newNetwork("back-pressure");
        final SimulatedNetwork.Direction direction = network.direction(A, B).inFlightLimit(3);
        final Link a = network.endpoint(A);
        assertTrue(send(a, 1));
        assertTrue(send(a, 2));
        assertTrue(send(a, 3));
        assertFalse(send(a, 4));
        assertEquals(1, direction.refused());
        assertEquals(3, direction.inFlight());
        assertTrue(a.isConnected());

        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        final List<Integer> received = new ArrayList<>();
        assertEquals(1, network.endpoint(B).poll((buffer, offset, length) -> received.add(buffer.getInt(offset)), 1));
        assertTrue(send(a, 5));
        assertFalse(send(a, 6));

        direction.inFlightLimit(100).inFlightBytesLimit(4 * Integer.BYTES + 2);
        assertTrue(send(a, 7));
        assertEquals(4 * Integer.BYTES, direction.inFlightBytes());
        assertFalse(send(a, 8));
        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        drain(network.endpoint(B), received);
        assertEquals(List.of(1, 2, 3, 5, 7), received);
        assertEquals(0, direction.inFlightBytes());
        assertEquals(3, direction.refused());
        assertInvariant(direction);
    }

    @Test
    void shouldDeliverIdenticalSequencesForTheSameSeedAndDifferentOnesForAnother()
    {
        final long seed = seed("determinism");
        final List<String> first = runRandomScenario(seed, seed);
        final List<String> second = runRandomScenario(seed, seed);
        assertTrue(first.size() > 100, "deliveries " + first.size());
        assertEquals(first, second, "seed " + seed);
        assertNotEquals(first, runRandomScenario(seed + 1, seed), "seed " + seed);
    }

    @Test
    void shouldKeepStatisticsBalancedUnderRandomFaults()
    {
        final long baseSeed = seed("statistics");
        for (int i = 0; i < 200; i++)
        {
            runRandomScenario(baseSeed + i, baseSeed + i);
        }
    }

    @Test
    void shouldRefuseBadSettingsNamingTheSetting()
    {
        final SimulatedNetwork network = newNetwork("bad-settings");
        final SimulatedNetwork.Direction direction = network.direction(A, B);
        assertRefused("dropProbability", () -> direction.dropProbability(-0.1));
        assertRefused("dropProbability", () -> direction.dropProbability(1.1));
        assertRefused("dropProbability", () -> direction.dropProbability(Double.NaN));
        assertRefused("duplicateProbability", () -> direction.duplicateProbability(-0.1));
        assertRefused("duplicateProbability", () -> direction.duplicateProbability(2));
        assertRefused("minDelayNs", () -> direction.delayNs(10, 9));
        assertRefused("minDelayNs", () -> direction.delayNs(-1, 9));
        assertRefused("inFlightLimit", () -> direction.inFlightLimit(0));
        assertRefused("inFlightBytesLimit", () -> direction.inFlightBytesLimit(0));
        assertRefused("nowNs", () -> network.advanceTo(-1));
        assertRefused("deltaNs", () -> network.advanceBy(-1));
        assertRefused("length", () -> network.endpoint(A).offer(sendBuffer, 0, -1));
        assertRefused("length", () -> network.endpoint(A).offer(sendBuffer, 0, Link.MAX_MESSAGE_LENGTH + 1));
        assertRefused("unknown endpoint", () -> network.endpoint("nobody"));
        assertRefused("not connected", () -> network.direction(A, A));
        assertRefused("itself", () -> network.connect("c", "c"));
        assertThrows(IllegalStateException.class, () -> network.connect(A, "c"));

        assertEquals(0, direction.offered() + direction.refused());
        assertTrue(send(network.endpoint(A), 1));
        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        assertEquals(1, drain(network.endpoint(B), new ArrayList<>()), "the defaults survive refused settings");
    }

    @Test
    void shouldJoinSeveralPairsIndependently()
    {
        final SimulatedNetwork network = newNetwork("pairs").connect("c", "d");
        network.partition(A, B);
        assertTrue(send(network.endpoint("c"), 1));
        network.advanceBy(SimulatedNetwork.DEFAULT_DELAY_NS);
        final List<Integer> received = new ArrayList<>();
        drain(network.endpoint("d"), received);
        assertEquals(List.of(1), received);
        assertEquals(0, drain(network.endpoint(B), received));
    }

    /**
     * Random traffic both ways under faults changed at random (the calls drawn from {@code scenarioSeed});
     * checks the statistics balance throughout.
     *
     * @return every delivery as "time receiver payload".
     */
    private List<String> runRandomScenario(final long networkSeed, final long scenarioSeed)
    {
        final SimulatedNetwork network = new SimulatedNetwork(networkSeed).connect(A, B);
        final SplittableRandom random = new SplittableRandom(scenarioSeed ^ 0x5DEECE66DL);
        final List<String> log = new ArrayList<>();
        final String[] names = {A, B};
        final Link[] links = {network.endpoint(A), network.endpoint(B)};
        int payload = 0;
        for (int step = 0; step < 2_000; step++)
        {
            final int i = random.nextInt(2);
            final SimulatedNetwork.Direction direction = network.direction(names[i], names[1 - i]);
            final int action = random.nextInt(100);
            if (action < 60)
            {
                send(links[i], payload++);
            }
            else if (action < 80)
            {
                network.advanceBy(random.nextLong(20_000));
            }
            else if (action < 85)
            {
                direction.dropProbability(random.nextDouble() * 0.3)
                    .duplicateProbability(random.nextDouble() * 0.3);
            }
            else if (action < 90)
            {
                final long minDelayNs = random.nextLong(50_000);
                direction.delayNs(minDelayNs, minDelayNs + random.nextLong(50_000));
            }
            else if (action < 92)
            {
                direction.cut();
            }
            else if (action < 97)
            {
                network.heal(A, B);
            }
            else if (action < 98)
            {
                network.crash(names[i]);
            }
            else
            {
                restartAnyDown(network, names, links);
            }
            for (int j = 0; j < 2; j++)
            {
                final String receiver = names[j];
                links[j].poll(
                    (buffer, offset, length) -> log.add(
                        network.nowNs() + " " + receiver + " " + buffer.getInt(offset)),
                    random.nextInt(1, 4));
            }
            assertInvariant(network.direction(A, B));
            assertInvariant(network.direction(B, A));
        }
        return log;
    }

    private static void restartAnyDown(final SimulatedNetwork network, final String[] names, final Link[] links)
    {
        for (int i = 0; i < names.length; i++)
        {
            if (network.isDown(names[i]))
            {
                links[i] = network.restart(names[i]);
            }
        }
    }

    private static void assertInvariant(final SimulatedNetwork.Direction direction)
    {
        assertEquals(
            direction.offered() + direction.duplicated(),
            direction.delivered() + direction.dropped() + direction.inFlight(),
            direction.toString());
    }

    private static void assertRefused(final String setting, final Executable executable)
    {
        final IllegalArgumentException error = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(error.getMessage().contains(setting), error.getMessage());
    }

    private boolean send(final Link link, final int value)
    {
        sendBuffer.putInt(0, value);
        return link.offer(sendBuffer, 0, Integer.BYTES);
    }

    private static int drain(final Link link, final List<Integer> received)
    {
        return link.poll((buffer, offset, length) ->
        {
            assertEquals(Integer.BYTES, length);
            received.add(buffer.getInt(offset));
        }, Integer.MAX_VALUE);
    }

    private static List<Integer> range(final int count)
    {
        final List<Integer> values = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            values.add(i);
        }
        return values;
    }

    private SimulatedNetwork newNetwork(final String test)
    {
        return new SimulatedNetwork(seed(test)).connect(A, B);
    }

    private static long seed(final String test)
    {
        final long seed = Long.getLong("ev.test.seed", System.nanoTime());
        System.out.println("SimulatedNetworkTest " + test + " seed=" + seed);
        return seed;
    }
}
