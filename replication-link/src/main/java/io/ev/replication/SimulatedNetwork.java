/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A deterministic in-memory network for simulation tests of the replication protocol: named endpoints joined
 * in pairs, each end a {@link Link}, with seeded faults per direction and virtual time that only the caller
 * advances. The same seed and the same sequence of calls give the same deliveries: no wall clock, no threads,
 * no iteration over unordered collections.
 * <p>
 * A message offered is copied (the caller may reuse its buffer at once), given a delivery time
 * {@code nowNs + delay} (the delay drawn per message from the direction's {@code [minDelayNs, maxDelayNs]}, which
 * also reorders) and handed out by the receiver's {@link Link#poll} once its delivery time is {@code <= nowNs()},
 * in delivery-time order, ties in offer order. Faults per direction ({@link #direction(String, String)}):
 * <ul>
 *     <li>drop probability: the offer succeeds but the message is lost (the sender cannot tell);</li>
 *     <li>duplicate probability: a second copy, with its own delay, is delivered too;</li>
 *     <li>cut (one-way partition): offers are refused, {@link Link#isConnected()} is false, and messages not yet
 *     due are lost; messages already due stay in the receiver's buffer;</li>
 *     <li>in-flight limits (messages and bytes): over them an offer is refused (back pressure).</li>
 * </ul>
 * An endpoint can {@link #crash(String)} (everything in flight to and from it is lost; its link and its peer's
 * offers are refused) and {@link #restart(String)} with a fresh {@link Link}; the old link stays dead. Closing a
 * link takes its endpoint down the same way.
 * <p>
 * Per direction: {@code offered + duplicated == delivered + dropped + inFlight} at all times, where
 * {@code offered} counts accepted offers and {@code refused} the offers that returned false.
 * <p>
 * Not thread-safe; test code: allocates a copy per message.
 */
public final class SimulatedNetwork
{
    /** Delay of a message on a new direction, in nanoseconds (fixed: a healthy link keeps order). */
    public static final long DEFAULT_DELAY_NS = 50_000;

    /** Messages in flight per direction before offers are refused, on a new direction. */
    public static final int DEFAULT_IN_FLIGHT_LIMIT = 1024;

    /** Bytes in flight per direction before offers are refused, on a new direction. */
    public static final long DEFAULT_IN_FLIGHT_BYTES_LIMIT = 64L << 20;

    /** Returned by {@link #nextDeliveryTimeNs()} when nothing is in flight. */
    public static final long NO_PENDING_DELIVERY = Long.MAX_VALUE;

    private static final Comparator<Message> DELIVERY_ORDER = (a, b) ->
    {
        final int byTime = Long.compare(a.deliveryTimeNs, b.deliveryTimeNs);
        return 0 != byTime ? byTime : Long.compare(a.sequence, b.sequence);
    };

    private final long seed;
    private final SplittableRandom random;
    private final Map<String, Endpoint> endpointByName = new LinkedHashMap<>();
    private final List<Endpoint> endpoints = new ArrayList<>();
    private long nowNs;
    private long nextSequence;

    /**
     * @param seed of every random choice the network makes.
     */
    public SimulatedNetwork(final long seed)
    {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    /**
     * @return the seed this network was created with.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * @return virtual time in nanoseconds; starts at 0.
     */
    public long nowNs()
    {
        return nowNs;
    }

    /**
     * Moves virtual time forward to {@code nowNs}.
     *
     * @throws IllegalArgumentException if {@code nowNs} is before {@link #nowNs()}.
     */
    public void advanceTo(final long nowNs)
    {
        if (nowNs < this.nowNs)
        {
            throw new IllegalArgumentException("nowNs must not go backwards: " + nowNs + " < " + this.nowNs);
        }
        this.nowNs = nowNs;
    }

    /**
     * Moves virtual time forward by {@code deltaNs} (saturating at {@link Long#MAX_VALUE}).
     *
     * @throws IllegalArgumentException if {@code deltaNs} is negative.
     */
    public void advanceBy(final long deltaNs)
    {
        if (deltaNs < 0)
        {
            throw new IllegalArgumentException("deltaNs must be >= 0: " + deltaNs);
        }
        nowNs = saturatedAdd(nowNs, deltaNs);
    }

    /**
     * @return the earliest delivery time of a message in flight to a live endpoint, or
     * {@link #NO_PENDING_DELIVERY}: a simulation loop may {@link #advanceTo} it when it has nothing else to do.
     */
    public long nextDeliveryTimeNs()
    {
        long earliestNs = NO_PENDING_DELIVERY;
        for (int i = 0, size = endpoints.size(); i < size; i++)
        {
            final Message head = endpoints.get(i).inbox.peek();
            if (null != head && head.deliveryTimeNs < earliestNs)
            {
                earliestNs = head.deliveryTimeNs;
            }
        }
        return earliestNs;
    }

    /**
     * Joins endpoints {@code a} and {@code b} (created if new) in a bidirectional pair with default settings.
     *
     * @return this for a fluent API.
     * @throws IllegalArgumentException if {@code a} equals {@code b}.
     * @throws IllegalStateException if either endpoint is already joined.
     */
    public SimulatedNetwork connect(final String a, final String b)
    {
        if (a.equals(b))
        {
            throw new IllegalArgumentException("cannot connect endpoint to itself: " + a);
        }
        for (final String name : new String[] {a, b})
        {
            final Endpoint existing = endpointByName.get(name);
            if (null != existing && null != existing.outbound)
            {
                throw new IllegalStateException("already connected: " + name);
            }
        }
        final Endpoint endpointA = endpointByName.computeIfAbsent(a, this::newEndpoint);
        final Endpoint endpointB = endpointByName.computeIfAbsent(b, this::newEndpoint);
        endpointA.outbound = new Direction(endpointA, endpointB, random.split());
        endpointB.outbound = new Direction(endpointB, endpointA, random.split());
        return this;
    }

    /**
     * @return the current link of endpoint {@code name}: after a crash, the dead one until {@link #restart}.
     * @throws IllegalArgumentException if no endpoint has that name.
     */
    public Link endpoint(final String name)
    {
        return endpoint0(name).link;
    }

    /**
     * @return the settings and statistics of messages from {@code from} to {@code to}.
     * @throws IllegalArgumentException if the two are not a connected pair.
     */
    public Direction direction(final String from, final String to)
    {
        final Direction direction = endpoint0(from).outbound;
        if (null == direction || !direction.to.name.equals(to))
        {
            throw new IllegalArgumentException("not connected: " + from + " -> " + to);
        }
        return direction;
    }

    /**
     * Cuts messages from {@code from} to {@code to} only (one-way partition).
     *
     * @return this for a fluent API.
     */
    public SimulatedNetwork partitionOneWay(final String from, final String to)
    {
        direction(from, to).cut();
        return this;
    }

    /**
     * Cuts both directions between {@code a} and {@code b} (full partition).
     *
     * @return this for a fluent API.
     */
    public SimulatedNetwork partition(final String a, final String b)
    {
        direction(a, b).cut();
        direction(b, a).cut();
        return this;
    }

    /**
     * Heals both directions between {@code a} and {@code b}; other faults stay as configured.
     *
     * @return this for a fluent API.
     */
    public SimulatedNetwork heal(final String a, final String b)
    {
        direction(a, b).heal();
        direction(b, a).heal();
        return this;
    }

    /**
     * Crashes endpoint {@code name}: everything in flight to and from it is lost, its link is dead for good
     * (offers refused, polls empty, not connected) and its peer's offers are refused until {@link #restart}.
     * Idempotent.
     */
    public void crash(final String name)
    {
        final Endpoint endpoint = endpoint0(name);
        if (endpoint.down)
        {
            return;
        }
        endpoint.down = true;
        endpoint.link.dead = true;
        if (null != endpoint.outbound)
        {
            endpoint.outbound.dropInFlight(Long.MIN_VALUE);
            final Direction inbound = endpoint.outbound.to.outbound;
            if (null != inbound)
            {
                inbound.dropInFlight(Long.MIN_VALUE);
            }
        }
    }

    /**
     * Brings a crashed (or closed) endpoint back with an empty buffer.
     *
     * @return its fresh link.
     * @throws IllegalStateException if the endpoint is not down.
     */
    public Link restart(final String name)
    {
        final Endpoint endpoint = endpoint0(name);
        if (!endpoint.down)
        {
            throw new IllegalStateException("endpoint is not down: " + name);
        }
        endpoint.down = false;
        endpoint.link = new EndpointLink(endpoint);
        return endpoint.link;
    }

    /**
     * @return true while endpoint {@code name} is crashed or closed.
     */
    public boolean isDown(final String name)
    {
        return endpoint0(name).down;
    }

    private Endpoint endpoint0(final String name)
    {
        final Endpoint endpoint = endpointByName.get(name);
        if (null == endpoint)
        {
            throw new IllegalArgumentException("unknown endpoint: " + name);
        }
        return endpoint;
    }

    private Endpoint newEndpoint(final String name)
    {
        final Endpoint endpoint = new Endpoint(name);
        endpoints.add(endpoint);
        return endpoint;
    }

    private static long saturatedAdd(final long a, final long b)
    {
        return b > Long.MAX_VALUE - a ? Long.MAX_VALUE : a + b;
    }

    private static double checkProbability(final String name, final double probability)
    {
        if (!(probability >= 0.0 && probability <= 1.0))
        {
            throw new IllegalArgumentException(name + " must be in [0, 1]: " + probability);
        }
        return probability;
    }

    /**
     * Messages from one endpoint to its peer: fault settings (changeable at any time, effective for later
     * offers) and statistics for test oracles.
     */
    public final class Direction
    {
        private final Endpoint from;
        private final Endpoint to;
        private final SplittableRandom random;
        private double dropProbability;
        private double duplicateProbability;
        private long minDelayNs = DEFAULT_DELAY_NS;
        private long maxDelayNs = DEFAULT_DELAY_NS;
        private int inFlightLimit = DEFAULT_IN_FLIGHT_LIMIT;
        private long inFlightBytesLimit = DEFAULT_IN_FLIGHT_BYTES_LIMIT;
        private boolean cut;
        private long offered;
        private long refused;
        private long delivered;
        private long dropped;
        private long duplicated;
        private int inFlight;
        private long inFlightBytes;

        Direction(final Endpoint from, final Endpoint to, final SplittableRandom random)
        {
            this.from = from;
            this.to = to;
            this.random = random;
        }

        /**
         * @param probability that an accepted message is lost, in [0, 1]; default 0.
         * @return this for a fluent API.
         */
        public Direction dropProbability(final double probability)
        {
            dropProbability = checkProbability("dropProbability", probability);
            return this;
        }

        /**
         * @param probability that a delivered message is delivered twice, in [0, 1]; default 0.
         * @return this for a fluent API.
         */
        public Direction duplicateProbability(final double probability)
        {
            duplicateProbability = checkProbability("duplicateProbability", probability);
            return this;
        }

        /**
         * Each message's delay is drawn uniformly from {@code [minDelayNs, maxDelayNs]}; a range reorders.
         *
         * @return this for a fluent API.
         */
        public Direction delayNs(final long minDelayNs, final long maxDelayNs)
        {
            if (minDelayNs < 0)
            {
                throw new IllegalArgumentException("minDelayNs must be >= 0: " + minDelayNs);
            }
            if (minDelayNs > maxDelayNs)
            {
                throw new IllegalArgumentException(
                    "minDelayNs must be <= maxDelayNs: " + minDelayNs + " > " + maxDelayNs);
            }
            this.minDelayNs = minDelayNs;
            this.maxDelayNs = maxDelayNs;
            return this;
        }

        /**
         * @param messages in flight (at least 1) above which offers are refused.
         * @return this for a fluent API.
         */
        public Direction inFlightLimit(final int messages)
        {
            if (messages < 1)
            {
                throw new IllegalArgumentException("inFlightLimit must be >= 1: " + messages);
            }
            inFlightLimit = messages;
            return this;
        }

        /**
         * @param bytes in flight (at least 1) above which offers are refused.
         * @return this for a fluent API.
         */
        public Direction inFlightBytesLimit(final long bytes)
        {
            if (bytes < 1)
            {
                throw new IllegalArgumentException("inFlightBytesLimit must be >= 1: " + bytes);
            }
            inFlightBytesLimit = bytes;
            return this;
        }

        /**
         * One-way partition: offers are refused and messages not yet due are lost. Idempotent.
         *
         * @return this for a fluent API.
         */
        public Direction cut()
        {
            cut = true;
            dropInFlight(nowNs);
            return this;
        }

        /**
         * Ends a {@link #cut()}. Idempotent.
         *
         * @return this for a fluent API.
         */
        public Direction heal()
        {
            cut = false;
            return this;
        }

        /**
         * @return true while this direction is cut.
         */
        public boolean isCut()
        {
            return cut;
        }

        /**
         * @return true if an offer now would pass the cut and both endpoints being up (limits aside).
         */
        public boolean isUp()
        {
            return !cut && !from.down && !to.down;
        }

        /** @return offers accepted (each counted once, whether later delivered, dropped or duplicated). */
        public long offered()
        {
            return offered;
        }

        /** @return offers refused: cut, an endpoint down, or back pressure. */
        public long refused()
        {
            return refused;
        }

        /** @return messages handed to the receiver, duplicates included. */
        public long delivered()
        {
            return delivered;
        }

        /** @return messages lost: by drop probability, a cut or a crash. */
        public long dropped()
        {
            return dropped;
        }

        /** @return extra copies created by the duplicate probability. */
        public long duplicated()
        {
            return duplicated;
        }

        /** @return messages in flight now, due or not. */
        public int inFlight()
        {
            return inFlight;
        }

        /** @return bytes in flight now. */
        public long inFlightBytes()
        {
            return inFlightBytes;
        }

        @Override
        public String toString()
        {
            return from.name + "->" + to.name +
                "{offered=" + offered +
                ", refused=" + refused +
                ", delivered=" + delivered +
                ", dropped=" + dropped +
                ", duplicated=" + duplicated +
                ", inFlight=" + inFlight +
                ", cut=" + cut +
                '}';
        }

        boolean offer(final DirectBuffer buffer, final int offset, final int length)
        {
            if (!isUp() || !hasRoomFor(length))
            {
                refused++;
                return false;
            }
            final byte[] data = new byte[length];
            buffer.getBytes(offset, data, 0, length);
            offered++;
            if (dropProbability > 0.0 && random.nextDouble() < dropProbability)
            {
                dropped++;
                return true;
            }
            enqueue(data);
            if (duplicateProbability > 0.0 && random.nextDouble() < duplicateProbability && hasRoomFor(length))
            {
                duplicated++;
                enqueue(data);
            }
            return true;
        }

        private boolean hasRoomFor(final int length)
        {
            return inFlight < inFlightLimit && inFlightBytes + length <= inFlightBytesLimit;
        }

        private void enqueue(final byte[] data)
        {
            final long delayNs = minDelayNs == maxDelayNs ? minDelayNs :
                maxDelayNs == Long.MAX_VALUE ? random.nextLong(minDelayNs, maxDelayNs) :
                random.nextLong(minDelayNs, maxDelayNs + 1);
            inFlight++;
            inFlightBytes += data.length;
            to.inbox.add(new Message(saturatedAdd(nowNs, delayNs), nextSequence++, data, this));
        }

        void onDelivered(final Message message)
        {
            delivered++;
            inFlight--;
            inFlightBytes -= message.data.length;
        }

        void dropInFlight(final long dueBeforeOrAtNs)
        {
            to.inbox.removeIf((message) ->
            {
                if (message.direction == this && message.deliveryTimeNs > dueBeforeOrAtNs)
                {
                    dropped++;
                    inFlight--;
                    inFlightBytes -= message.data.length;
                    return true;
                }
                return false;
            });
        }
    }

    private static final class Message
    {
        final long deliveryTimeNs;
        final long sequence;
        final byte[] data;
        final Direction direction;

        Message(final long deliveryTimeNs, final long sequence, final byte[] data, final Direction direction)
        {
            this.deliveryTimeNs = deliveryTimeNs;
            this.sequence = sequence;
            this.data = data;
            this.direction = direction;
        }
    }

    private final class Endpoint
    {
        final String name;
        final PriorityQueue<Message> inbox = new PriorityQueue<>(DELIVERY_ORDER);
        Direction outbound;
        EndpointLink link;
        boolean down;

        Endpoint(final String name)
        {
            this.name = name;
            this.link = new EndpointLink(this);
        }
    }

    private final class EndpointLink implements Link
    {
        private final Endpoint endpoint;
        private final UnsafeBuffer messageBuffer = new UnsafeBuffer(new byte[0]);
        boolean dead;

        EndpointLink(final Endpoint endpoint)
        {
            this.endpoint = endpoint;
        }

        @Override
        public boolean offer(final DirectBuffer buffer, final int offset, final int length)
        {
            if (length < 0 || length > MAX_MESSAGE_LENGTH)
            {
                throw new IllegalArgumentException(
                    "length must be in [0, " + MAX_MESSAGE_LENGTH + "]: " + length);
            }
            final Direction outbound = endpoint.outbound;
            if (null == outbound)
            {
                return false;
            }
            if (dead)
            {
                outbound.refused++;
                return false;
            }
            return outbound.offer(buffer, offset, length);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            int count = 0;
            while (count < limit && !dead)
            {
                final Message head = endpoint.inbox.peek();
                if (null == head || head.deliveryTimeNs > nowNs)
                {
                    break;
                }
                endpoint.inbox.poll();
                head.direction.onDelivered(head);
                count++;
                messageBuffer.wrap(head.data);
                handler.onMessage(messageBuffer, 0, head.data.length);
            }
            return count;
        }

        @Override
        public boolean isConnected()
        {
            return !dead && null != endpoint.outbound && endpoint.outbound.isUp();
        }

        @Override
        public void close()
        {
            if (!dead)
            {
                crash(endpoint.name);
            }
        }

        @Override
        public String toString()
        {
            return "SimulatedLink{" + endpoint.name + (dead ? ", dead}" : "}");
        }
    }
}
