/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.ev.journal.BatchEncoder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Failover, seed by seed: a client sends batches to whichever replica is primary while the link
 * loses, duplicates, delays and reorders messages, replicas race in parallel execution, and either
 * replica crashes (losing its open batch; its committed state survives, as from its journal) and
 * later restarts as a backup that rejoins by page sync. The backup promotes itself when the primary
 * falls silent. Oracles after every seed: both replicas hold the same state; every batch is applied
 * exactly once (each batch writes its own key with a value only one application gives, and the
 * shared keys hold the sum of every batch's deltas); every acknowledged batch is among them; every
 * detected divergence was repaired; no replica failed. A client whose primary crashed before the
 * acknowledgement looks the batch up on the new primary and resends it only if absent (what the
 * engine's request ids do). The base seed is printed; {@code -Dev.failover.seed=S
 * -Dev.failover.seeds=1} reruns one.
 */
class FailoverSimulationTest
{
    private static final long STEP_NS = 20_000;
    private static final long MAX_STEPS = 3_000_000;
    private static final long UNIQUE_KEY_BASE = 1_000;
    private static final ReplicationSettings SETTINGS = new ReplicationSettings()
        .retransmitNs(TimeUnit.MILLISECONDS.toNanos(2))
        .heartbeatNs(TimeUnit.MILLISECONDS.toNanos(5))
        .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(60))
        .maxSyncFrameBytes(1 << 16)
        .syncPagesPerRequest(5);

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldKeepEveryAcknowledgedBatchExactlyOnceAcrossCrashesFailoverAndRejoin()
    {
        final long base = Long.getLong("ev.failover.seed", System.nanoTime());
        final int seeds = Integer.getInteger("ev.failover.seeds", 1_000);
        System.out.println("FailoverSimulationTest base seed " + base + " (-Dev.failover.seed=" + base +
            " -Dev.failover.seeds=1 reruns the first)");
        final long[] totals = new long[4];
        for (int i = 0; i < seeds; i++)
        {
            final long[] result = new Simulation(base + i).run();
            for (int j = 0; j < totals.length; j++)
            {
                totals[j] += result[j];
            }
        }
        System.out.println("FailoverSimulationTest: " + seeds + " seeds, " + totals[0] + " crashes, " + totals[1] +
            " promotions, " + totals[2] + " syncs, " + totals[3] + " divergences detected");
        assertTrue(totals[0] > 0 && totals[1] > 0 && totals[2] > 0,
            "the seeds never crashed, promoted or synced: the test would not exercise failover");
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
        private final long seed;
        private final SplittableRandom random;
        private final SimulatedNetwork network;
        private final Node[] nodes;
        private final List<long[]> batchDeltas = new ArrayList<>();
        private final Map<Long, Long> sharedOracle = new HashMap<>();
        private final BatchEncoder encoder = new BatchEncoder();
        private final UnsafeBuffer payload = new UnsafeBuffer(new byte[16]);
        private final boolean[] acknowledged;
        private long crashes;
        private long promotions;
        private long syncs;
        private long detected;
        private int restarts;

        Simulation(final long seed)
        {
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
                new Node("a", new ModelReplica(seed * 31 + 1, 0.02, 0, 1_000)),
                new Node("b", new ModelReplica(seed * 31 + 2, 0.02, 0, 2_000))};
            if (random.nextBoolean())
            {
                nodes[0].primary = new PrimaryReplicator(network.endpoint("a"), nodes[0].state, 1, SETTINGS,
                    PrimaryReplicator.Peer.PAIRED);
                nodes[1].backup = new BackupReplicator(network.endpoint("b"), nodes[1].state, 1, SETTINGS,
                    BackupReplicator.Phase.PAIRED);
            }
            else
            {
                nodes[0].primary = new PrimaryReplicator(network.endpoint("a"), nodes[0].state, 1, SETTINGS,
                    PrimaryReplicator.Peer.LOST);
                nodes[1].backup = new BackupReplicator(network.endpoint("b"), nodes[1].state, 1, SETTINGS,
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
            int inFlight = -1;
            Node inFlightOn = null;
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
                if (null != inFlightOn && inFlightOn != primary)
                {
                    // the primary crashed before acknowledging: look the batch up on the new one
                    if (null == primary)
                    {
                        network.advanceBy(STEP_NS);
                        continue;
                    }
                    if (!isApplied(primary, inFlight))
                    {
                        next = inFlight; // resend
                    }
                    inFlightOn = null;
                    inFlight = -1;
                }
                if (null != inFlightOn && primary.primary.isCommitted() &&
                    primary.primary.seq() == primary.state.lastCommittedSeq())
                {
                    acknowledged[inFlight] = true;
                    inFlightOn = null;
                    inFlight = -1;
                }
                if (null == inFlightOn && null != primary && primary.primary.readyForBatch())
                {
                    while (next < batchDeltas.size() && isApplied(primary, next))
                    {
                        next++;
                    }
                    if (next < batchDeltas.size())
                    {
                        final long seq = primary.state.lastCommittedSeq() + 1;
                        final int length = encode(seq, next);
                        primary.primary.begin(seq, encoder.buffer(), 0, length, nowNs);
                        inFlight = next;
                        inFlightOn = primary;
                        next++;
                        continue; // it may have committed at once (alone)
                    }
                }
                if (next >= batchDeltas.size() && null == inFlightOn && converged(primary))
                {
                    break;
                }
                if (steps % (SETTINGS.retransmitNs() / STEP_NS) == 0 && null != primary)
                {
                    primary.primary.resendLastDecision();
                }
                network.advanceBy(STEP_NS);
            }
            check();
            return new long[] {crashes, promotions, syncs, detected};
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
                    node.primary = null;
                    node.backup = new BackupReplicator(link, node.state, node.epoch, SETTINGS,
                        BackupReplicator.Phase.JOINING);
                    node.up = true;
                }
            }
            if (crashes < 3 && random.nextDouble() < crashProbability && paired())
            {
                final Node victim = nodes[random.nextInt(2)];
                if (null != victim.primary)
                {
                    victim.epoch = victim.primary.epoch();
                    collect(victim.primary, 1);
                }
                else
                {
                    victim.epoch = victim.backup.epoch();
                    syncs += victim.backup.counters().syncs();
                }
                network.crash(victim.name);
                victim.up = false;
                victim.restartAtNs = nowNs + SETTINGS.peerTimeoutNs() * (1 + random.nextInt(4));
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
            return paired() && nodes[0].up && nodes[1].up && primary.primary.readyForBatch() &&
                (primary == nodes[0] ? nodes[1] : nodes[0]).backup.openSeq() == -1;
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
            for (int b = 0; b < acknowledged.length; b++)
            {
                assertTrue(!acknowledged[b] || isApplied(primary, b), "seed " + seed + ": acknowledged batch " + b +
                    " is missing");
            }
            assertEquals(primary.state.values, backup.state.values, "seed " + seed + ": replicas differ");
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
                    text.append("primary ").append(node.primary.state()).append(' ').append(node.primary.peer());
                }
                else if (null != node.backup)
                {
                    text.append("backup ").append(node.backup.phase());
                }
                text.append(" committed ").append(node.state.lastCommittedSeq()).append("; ");
            }
            return text.toString();
        }
    }
}
