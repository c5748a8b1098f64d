/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.ev.journal.BatchEncoder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Failover, seed by seed, with up to K batches in flight (1, 2, 4): a client sends batches to
 * whichever replica is primary while the link loses, duplicates, delays and reorders messages,
 * replicas race in parallel execution, and either replica crashes (losing its open batches; its
 * committed state survives, as from its journal) and later restarts as a backup that rejoins by
 * page sync. The backup promotes itself when the primary falls silent. Oracles after every seed:
 * both replicas hold the same state; every batch is applied exactly once (each batch writes its own
 * key with a value only one application gives, and the shared keys hold the sum of every batch's
 * deltas); every acknowledged batch is among them; the primary acknowledges batches in seq order
 * and each replica commits in seq order; a batch committed on both replicas has the same root on
 * both (none committed on a token that did not match); every detected divergence was repaired; no
 * replica failed. A client whose primary crashed before the acknowledgements looks each
 * unacknowledged batch up on the new primary and resends it only if absent (what the engine's
 * request ids do). The base seed is printed; {@code -Dev.failover.seed=S -Dev.failover.seeds=1}
 * reruns one.
 */
class FailoverSimulationTest
{
    private static final long STEP_NS = 20_000;
    private static final long MAX_STEPS = 3_000_000;
    private static final long UNIQUE_KEY_BASE = 1_000;
    static ReplicationSettings settings(final int maxInFlight)
    {
        return new ReplicationSettings()
            .retransmitNs(TimeUnit.MILLISECONDS.toNanos(2))
            .heartbeatNs(TimeUnit.MILLISECONDS.toNanos(5))
            .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(60))
            .maxSyncFrameBytes(1 << 16)
            .syncPagesPerRequest(5)
            .maxInFlightBatches(maxInFlight);
    }

    @ParameterizedTest(name = "maxInFlightBatches {0}")
    @ValueSource(ints = {1, 2, 4})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldKeepEveryAcknowledgedBatchExactlyOnceAcrossCrashesFailoverAndRejoin(final int maxInFlight)
    {
        final long base = Long.getLong("ev.failover.seed", System.nanoTime());
        final int seeds = Integer.getInteger("ev.failover.seeds", 1_000);
        System.out.println("FailoverSimulationTest K=" + maxInFlight + " base seed " + base + " (-Dev.failover.seed=" +
            base + " -Dev.failover.seeds=1 reruns the first)");
        final long[] totals = new long[6];
        for (int i = 0; i < seeds; i++)
        {
            final long[] result = new Simulation(base + i, maxInFlight).run();
            for (int j = 0; j < totals.length; j++)
            {
                totals[j] += result[j];
            }
        }
        System.out.println("FailoverSimulationTest K=" + maxInFlight + ": " + seeds + " seeds, " + totals[0] +
            " crashes, " + totals[1] + " promotions, " + totals[2] + " syncs, " + totals[3] +
            " divergences detected, " + totals[4] + " crashes with several batches in flight, " + totals[5] +
            " batches caught up from the primary's journal");
        assertTrue(seeds < 100 || totals[0] > 0 && totals[1] > 0 && totals[2] > 0,
            "the seeds never crashed, promoted or synced: the test would not exercise failover");
        assertTrue(seeds < 100 || totals[5] > 0, "no rejoin ever caught up from the journal");
        assertTrue(seeds < 100 || maxInFlight == 1 || totals[4] > 0,
            "no crash ever caught several batches in flight: the test would not exercise pipelined failover");
    }

    /**
     * One replica: its state and its current role's replicator.
     */
    static final class Node
    {
        final String name;
        ModelReplica state;
        PrimaryReplicator primary;
        BackupReplicator backup;
        boolean up = true;
        long restartAtNs;
        long epoch = 1;

        Node(final String name, final ModelReplica state)
        {
            this.name = name;
            this.state = state;
        }
    }

    static final class Simulation
    {
        private final ReplicationSettings settings;
        private final int maxInFlight;
        private final long seed;
        private final SplittableRandom random;
        private final SimulatedNetwork network;
        private final Node[] nodes;
        private final List<long[]> batchDeltas = new ArrayList<>();
        private final Map<Long, Long> sharedOracle = new HashMap<>();
        private final BatchEncoder encoder = new BatchEncoder();
        private final UnsafeBuffer payload = new UnsafeBuffer(new byte[16]);
        private final boolean[] acknowledged;
        /** Batches begun on the current primary and not yet acknowledged: {seq, batch}, in seq order. */
        private final ArrayDeque<long[]> unacknowledged = new ArrayDeque<>();
        /** Batches to send again (their primary crashed before acknowledging them, and they are absent). */
        private final ArrayDeque<Integer> resend = new ArrayDeque<>();
        private Node unacknowledgedOn;
        private long crashesInFlight;
        private long crashes;
        private long promotions;
        private long syncs;
        private long caughtUp;
        private long detected;
        private int restarts;

        Simulation(final long seed, final int maxInFlight)
        {
            this.settings = settings(maxInFlight);
            this.maxInFlight = maxInFlight;
            this.seed = seed;
            this.random = new SplittableRandom(seed);
            this.network = new SimulatedNetwork(seed);
            network.connect("a", "b");
            for (final String[] direction : new String[][] {{"a", "b"}, {"b", "a"}})
            {
                network.direction(direction[0], direction[1])
                    .dropProbability(random.nextDouble() * 0.1)
                    .duplicateProbability(random.nextDouble() * 0.05)
                    .delayNs(10_000, 10_000 + random.nextInt(500_000));
            }
            nodes = new Node[] {
                new Node("a", new ModelReplica(seed * 31 + 1, 0.02, 0, 1_000, maxInFlight)),
                new Node("b", new ModelReplica(seed * 31 + 2, 0.02, 0, 2_000, maxInFlight))};
            if (random.nextBoolean())
            {
                nodes[0].primary = new PrimaryReplicator(network.endpoint("a"), nodes[0].state, 1, settings,
                    PrimaryReplicator.Peer.PAIRED);
                nodes[1].backup = new BackupReplicator(network.endpoint("b"), nodes[1].state, 1, settings,
                    BackupReplicator.Phase.PAIRED);
            }
            else
            {
                nodes[0].primary = new PrimaryReplicator(network.endpoint("a"), nodes[0].state, 1, settings,
                    PrimaryReplicator.Peer.LOST);
                nodes[1].backup = new BackupReplicator(network.endpoint("b"), nodes[1].state, 1, settings,
                    BackupReplicator.Phase.JOINING);
            }
            final int batches = 20 + random.nextInt(40);
            for (int b = 0; b < batches; b++)
            {
                final int shared = 1 + random.nextInt(8);
                final long[] deltas = new long[2 * shared];
                for (int i = 0; i < shared; i++)
                {
                    deltas[2 * i] = random.nextInt(20);
                    deltas[2 * i + 1] = 1 + random.nextInt(100);
                    sharedOracle.merge(deltas[2 * i], deltas[2 * i + 1], Long::sum);
                }
                batchDeltas.add(deltas);
            }
            acknowledged = new boolean[batches];
        }

        long[] run()
        {
            final double crashProbability = random.nextInt(4) == 0 ? 0 : 1.0 / (50 + random.nextInt(500));
            int next = 0;
            long steps = 0;
            while (true)
            {
                if (++steps > MAX_STEPS)
                {
                    fail("seed " + seed + ": no convergence after " + steps + " steps: " + describe());
                }
                final long nowNs = network.nowNs();
                maybeCrashOrRestart(crashProbability, nowNs);
                for (final Node node : nodes)
                {
                    work(node, nowNs);
                }
                final Node primary = currentPrimary();
                if (null != unacknowledgedOn && unacknowledgedOn != primary)
                {
                    // the primary crashed before acknowledging: look each batch up on the new one
                    if (null == primary)
                    {
                        network.advanceBy(STEP_NS);
                        continue;
                    }
                    for (final long[] batch : unacknowledged)
                    {
                        if (!isApplied(primary, (int)batch[1]))
                        {
                            resend.add((int)batch[1]);
                        }
                    }
                    unacknowledged.clear();
                    unacknowledgedOn = null;
                }
                if (null != primary)
                {
                    acknowledge(primary);
                    while (primary.primary.readyForBatch())
                    {
                        while (!resend.isEmpty() && isApplied(primary, resend.peekFirst()))
                        {
                            resend.pollFirst();
                        }
                        while (resend.isEmpty() && next < batchDeltas.size() && isApplied(primary, next))
                        {
                            next++;
                        }
                        final int batch = !resend.isEmpty() ? resend.pollFirst() :
                            next < batchDeltas.size() ? next++ : -1;
                        if (-1 == batch)
                        {
                            break;
                        }
                        final long seq = primary.primary.nextSeq();
                        final int length = encode(seq, batch);
                        primary.primary.begin(seq, encoder.buffer(), 0, length, nowNs);
                        unacknowledged.add(new long[] {seq, batch});
                        unacknowledgedOn = primary;
                        acknowledge(primary); // it may have committed at once (alone)
                    }
                }
                if (next >= batchDeltas.size() && resend.isEmpty() && unacknowledged.isEmpty() && converged(primary))
                {
                    break;
                }
                if (steps % (settings.retransmitNs() / STEP_NS) == 0 && null != primary)
                {
                    primary.primary.resendLastDecision();
                }
                network.advanceBy(STEP_NS);
            }
            check();
            return new long[] {crashes, promotions, syncs, detected, crashesInFlight, caughtUp};
        }

        /**
         * Takes the primary's commits, which must come in the order the batches were begun.
         */
        private void acknowledge(final Node primary)
        {
            for (long seq = primary.primary.pollCommitted(); -1 != seq; seq = primary.primary.pollCommitted())
            {
                final long[] oldest = unacknowledged.pollFirst();
                assertTrue(null != oldest && oldest[0] == seq, "seed " + seed + ": batch " + seq +
                    " acknowledged out of order (expected " + (null == oldest ? "none" : oldest[0]) + ")");
                acknowledged[(int)oldest[1]] = true;
            }
            if (unacknowledged.isEmpty())
            {
                unacknowledgedOn = null;
            }
        }

        private void work(final Node node, final long nowNs)
        {
            if (!node.up)
            {
                return;
            }
            if (null != node.primary)
            {
                node.primary.doWork(nowNs);
                assertNull(node.primary.failure(), "seed " + seed + ": primary " + node.name + " failed");
            }
            else
            {
                node.backup.doWork(nowNs);
                assertNull(node.backup.failure(), "seed " + seed + ": backup " + node.name + " failed");
                if (node.backup.primaryLost())
                {
                    syncs += node.backup.counters().syncs();
                    caughtUp += node.backup.counters().caughtUpBatches();
                    node.primary = node.backup.promote();
                    node.epoch = node.primary.epoch();
                    node.backup = null;
                    promotions++;
                }
            }
        }

        private void maybeCrashOrRestart(final double crashProbability, final long nowNs)
        {
            for (final Node node : nodes)
            {
                final Node other = node == nodes[0] ? nodes[1] : nodes[0];
                if (!node.up && nowNs >= node.restartAtNs && other.up && null != other.primary)
                {
                    // restarts from its journal (committed state) and rejoins as a backup
                    final Link link = network.restart(node.name);
                    node.state = node.state.restartedFromCommitted(seed * 131 + ++restarts);
                    if (random.nextInt(4) == 0)
                    {
                        // the primary's checkpoints pruned a recent journal cycle: it must refuse the
                        // catch-up mid-answer and the rejoin fall back to the page sync
                        other.state.pruned.add(other.state.lastCommittedSeq() - random.nextInt(3));
                    }
                    node.primary = null;
                    node.backup = new BackupReplicator(link, node.state, node.epoch, settings,
                        BackupReplicator.Phase.JOINING);
                    node.up = true;
                }
            }
            if (crashes < 3 && random.nextDouble() < crashProbability && paired())
            {
                final Node victim = nodes[random.nextInt(2)];
                if (currentPrimary().primary.inFlight() > 1)
                {
                    crashesInFlight++;
                }
                if (null != victim.primary)
                {
                    victim.epoch = victim.primary.epoch();
                    collect(victim.primary, 1);
                }
                else
                {
                    victim.epoch = victim.backup.epoch();
                    syncs += victim.backup.counters().syncs();
                    caughtUp += victim.backup.counters().caughtUpBatches();
                }
                network.crash(victim.name);
                victim.up = false;
                victim.restartAtNs = nowNs + settings.peerTimeoutNs() * (1 + random.nextInt(4));
                crashes++;
            }
        }

        private boolean paired()
        {
            final Node primary = currentPrimary();
            final Node other = primary == nodes[0] ? nodes[1] : nodes[0];
            return null != primary && other.up && null != other.backup &&
                PrimaryReplicator.Peer.PAIRED == primary.primary.peer() &&
                BackupReplicator.Phase.PAIRED == other.backup.phase();
        }

        private boolean converged(final Node primary)
        {
            return paired() && nodes[0].up && nodes[1].up && 0 == primary.primary.inFlight() &&
                (primary == nodes[0] ? nodes[1] : nodes[0]).backup.openBatches() == 0;
        }

        private Node currentPrimary()
        {
            for (final Node node : nodes)
            {
                if (node.up && null != node.primary)
                {
                    return node;
                }
            }
            return null;
        }

        private boolean isApplied(final Node node, final int batch)
        {
            return node.state.values.containsKey(UNIQUE_KEY_BASE + batch);
        }

        private int encode(final long seq, final int batch)
        {
            encoder.reset(seq);
            payload.putLong(0, UNIQUE_KEY_BASE + batch);
            payload.putLong(8, batch + 1);
            encoder.add(0, batch * 100L, 1, 0, payload, 0, 16);
            final long[] deltas = batchDeltas.get(batch);
            for (int i = 0; i < deltas.length / 2; i++)
            {
                payload.putLong(0, deltas[2 * i]);
                payload.putLong(8, deltas[2 * i + 1]);
                encoder.add(0, batch * 100L + i + 1, 1, 0, payload, 0, 16);
            }
            return encoder.finish();
        }

        /**
         * @param inHand how many detected divergences may still be unrepaired (the batch in hand of a
         *               crashing primary).
         */
        private void collect(final PrimaryReplicator primary, final int inHand)
        {
            final PrimaryReplicator.Counters counters = primary.counters();
            final long unrepaired = counters.detected() - counters.repairedByReexecution() -
                counters.repairedByTransfer();
            assertTrue(unrepaired <= inHand, "seed " + seed + ": " + unrepaired + " detected divergences not repaired");
            detected += counters.detected();
        }

        private void check()
        {
            final Node primary = currentPrimary();
            final Node backup = primary == nodes[0] ? nodes[1] : nodes[0];
            collect(primary.primary, 0);
            syncs += backup.backup.counters().syncs();
            caughtUp += backup.backup.counters().caughtUpBatches();
            for (int b = 0; b < acknowledged.length; b++)
            {
                assertTrue(!acknowledged[b] || isApplied(primary, b), "seed " + seed + ": acknowledged batch " + b +
                    " is missing");
            }
            assertEquals(primary.state.values, backup.state.values, "seed " + seed + ": replicas differ");
            for (final Node node : nodes)
            {
                final List<Long> order = node.state.commitOrder;
                for (int i = 1; i < order.size(); i++)
                {
                    assertTrue(order.get(i - 1) < order.get(i), "seed " + seed + ": " + node.name +
                        " committed batch " + order.get(i) + " after " + order.get(i - 1));
                }
            }
            for (final Map.Entry<Long, Long> committed : primary.state.committedRoots.entrySet())
            {
                final Long other = backup.state.committedRoots.get(committed.getKey());
                assertTrue(null == other || other.equals(committed.getValue()), "seed " + seed + ": batch " +
                    committed.getKey() + " committed with different roots");
            }
            assertEquals(primary.state.lastCommittedSeq(), backup.state.lastCommittedSeq(), "seed " + seed);
            final Map<Long, Long> expected = new HashMap<>(sharedOracle);
            for (int b = 0; b < batchDeltas.size(); b++)
            {
                expected.put(UNIQUE_KEY_BASE + b, (long)b + 1);
            }
            assertEquals(expected, primary.state.values,
                "seed " + seed + ": not every batch applied exactly once (acknowledged or not)");
            long requests = 0;
            for (final long[] deltas : batchDeltas)
            {
                requests += 1 + deltas.length / 2;
            }
            assertEquals(requests, primary.state.requestsInState(), "seed " + seed + ": request count");
            assertEquals(requests, backup.state.requestsInState(), "seed " + seed + ": request count (backup)");
        }

        private String describe()
        {
            final StringBuilder text = new StringBuilder();
            for (final Node node : nodes)
            {
                text.append(node.name).append(node.up ? " up " : " down ");
                if (null != node.primary)
                {
                    text.append("primary ").append(node.primary.state()).append(' ').append(node.primary.peer())
                        .append(" in flight ").append(node.primary.inFlight());
                }
                else if (null != node.backup)
                {
                    text.append("backup ").append(node.backup.phase()).append(" open ")
                        .append(node.backup.openBatches());
                }
                text.append(" committed ").append(node.state.lastCommittedSeq()).append("; ");
            }
            return text.toString();
        }
    }
}
