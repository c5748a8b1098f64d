/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.journal.BatchEncoder;
import io.ev.journal.CrashPoint;
import io.ev.journal.CrashPoints;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.Mixer;
import io.ev.pipeline.ParallelExecutor;
import io.ev.pipeline.PermissiveMixer;
import io.ev.pipeline.Request;
import io.ev.replication.BackupReplicator;
import io.ev.replication.Link;
import io.ev.replication.PrimaryReplicator;
import io.ev.replication.ReplicationSettings;
import io.ev.replication.SimulatedNetwork;
import io.ev.store.StateStore;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Failover on the real store, executors and SmallBank, seed by seed, over the simulated network
 * with loss, duplication and delay: a client sends SmallBank batches to whichever replica is
 * primary; either replica crashes at a seeded moment (its open batch is lost; its committed state
 * survives, as journal recovery gives it) and restarts as a backup that rejoins by page sync, while
 * the other promotes itself or goes on alone. A client whose primary died before acknowledging
 * looks its batch up on the new primary (by batch number) and resends it only if absent. Oracles
 * after each seed: both replicas hold the same state; every acknowledged batch is in the committed
 * history exactly once; with the key mixer (no races) the state is the sequential execution of
 * that history (the replay oracle) and money is conserved over it; with the permissive mixer and
 * the racy fee every detected divergence was repaired. The base seed is printed;
 * {@code -Dev.sbfail.seed=S -Dev.sbfail.seeds=1} reruns one.
 */
class SmallBankFailoverSimulationTest
{
    private static final int CUSTOMERS = 40;
    private static final int BATCH = 32;
    private static final long STEP_NS = 20_000;
    private static final long MAX_STEPS = 2_000_000;
    static final ReplicationSettings SETTINGS = new ReplicationSettings()
        .retransmitNs(TimeUnit.MILLISECONDS.toNanos(2))
        .heartbeatNs(TimeUnit.MILLISECONDS.toNanos(5))
        .peerTimeoutNs(TimeUnit.MILLISECONDS.toNanos(60))
        .maxSyncFrameBytes(1 << 16)
        .syncPagesPerRequest(3);

    @ParameterizedTest(name = "{0}")
    @CsvSource({"keys", "permissive"})
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldKeepEveryAcknowledgedBatchExactlyOnceAcrossFailover(final String mixerName)
    {
        final long base = Long.getLong("ev.sbfail.seed", System.nanoTime());
        final int seeds = Integer.getInteger("ev.sbfail.seeds", 100);
        System.out.println("SmallBankFailoverSimulationTest " + mixerName + " base seed " + base +
            " (-Dev.sbfail.seed=" + base + " -Dev.sbfail.seeds=1 reruns the first)");
        long crashes = 0;
        long promotions = 0;
        for (int i = 0; i < seeds; i++)
        {
            final long[] result = new Simulation(base + i, "permissive".equals(mixerName)).run();
            crashes += result[0];
            promotions += result[1];
        }
        System.out.println("SmallBankFailoverSimulationTest " + mixerName + ": " + seeds + " seeds, " + crashes +
            " crashes, " + promotions + " promotions");
        assertTrue(crashes > 0 && promotions > 0, "no crash or promotion: the test would not exercise failover");
    }

    /**
     * One replica: a SmallBank store with a two-worker executor, and its current role.
     */
    static final class Node implements AutoCloseable
    {
        final String name;
        final StateStore store;
        final ParallelExecutor executor;
        final EngineReplica replica;
        PrimaryReplicator primary;
        BackupReplicator backup;
        boolean up = true;
        long restartAtNs;
        long epoch = 1;

        Node(final String name, final TransactionRegistry registry, final long seed, final long scheduleSeed)
        {
            this.name = name;
            store = StateStore.open(SmallBank.storeContext(CUSTOMERS, BATCH).writers(5));
            SmallBankLoader.load(store, store.newWriter(), CUSTOMERS, seed);
            executor = new ParallelExecutor(store, new ParallelExecutor.Context().workers(2)
                .scheduleSeed(scheduleSeed));
            replica = new EngineReplica(store, store.newWriter(), registry, executor, BATCH);
            replica.crashPointsOf("a".equals(name));
        }

        public void close()
        {
            executor.close();
            store.close();
        }
    }

    /**
     * Thrown by a crash point's handler: the replica whose code reached the point crashes there.
     */
    static final class SimulatedCrash extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        SimulatedCrash(final CrashPoint point)
        {
            super("simulated crash at " + point, null, false, false);
        }
    }

    static final class Simulation
    {
        private final long seed;
        private final boolean permissive;
        private final CrashPoint point;
        private final int hit;
        private final int mismatchEvery;
        private int hits;
        private final SplittableRandom random;
        private final SimulatedNetwork network;
        private final TransactionRegistry registry;
        private final Mixer mixer;
        private final List<byte[][]> batches = new ArrayList<>();
        private final List<int[]> types = new ArrayList<>();
        private final long[] historyBatch = new long[10_000];
        private final BatchEncoder encoder = new BatchEncoder();
        private final Request request = new Request();
        private final Batch batch;
        private long crashes;
        private long promotions;
        private long detected;
        private long acknowledgedRequests;
        private long firstSeq;

        Simulation(final long seed, final boolean permissive)
        {
            this(seed, permissive, null, 0, 0);
        }

        /**
         * @param point         null: crashes at seeded random moments; else the one crash, the {@code hit}-th
         *                      time either replica reaches {@code point} ({@link CrashPoints} handler).
         * @param mismatchEvery with a point: the backup reports a wrong root for the parallel execution of every
         *                      batch whose seq is a multiple of it (0: never), so that the rollback and
         *                      re-execution points are reached with the key mixer too.
         */
        Simulation(
            final long seed, final boolean permissive, final CrashPoint point, final int hit, final int mismatchEvery)
        {
            this.seed = seed;
            this.permissive = permissive;
            this.point = point;
            this.hit = hit;
            this.mismatchEvery = mismatchEvery;
            this.random = new SplittableRandom(seed);
            this.network = new SimulatedNetwork(seed);
            this.registry = SmallBank.registerAll(new TransactionRegistry(), true, !permissive);
            this.mixer = permissive ? new PermissiveMixer() : new KeyConflictMixer(BATCH);
            this.batch = new Batch(BATCH, registry.maxPayloadBytes(), registry.maxReplyBytes());
            network.connect("a", "b");
            for (final String[] direction : new String[][] {{"a", "b"}, {"b", "a"}})
            {
                network.direction(direction[0], direction[1])
                    .dropProbability(random.nextDouble() * 0.05)
                    .duplicateProbability(random.nextDouble() * 0.05)
                    .delayNs(10_000, 10_000 + random.nextInt(300_000));
            }
            final SmallBankWorkload workload = permissive ? SmallBankWorkload.contended(CUSTOMERS, seed, true) :
                SmallBankWorkload.uniform(CUSTOMERS, seed, true);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[256]);
            final int count = 10 + random.nextInt(20);
            for (int b = 0; b < count; b++)
            {
                final byte[][] requests = new byte[BATCH][];
                final int[] typeIds = new int[BATCH];
                for (int r = 0; r < BATCH; r++)
                {
                    final int length = workload.next(payload, 0);
                    requests[r] = new byte[length];
                    payload.getBytes(0, requests[r]);
                    typeIds[r] = workload.typeId();
                }
                batches.add(requests);
                types.add(typeIds);
            }
            java.util.Arrays.fill(historyBatch, -1);
        }

        long[] run()
        {
            try (Node a = new Node("a", registry, seed, 1);
                Node b = new Node("b", registry, seed, 0x9E3779B97F4A7C15L))
            {
                final Node[] nodes = {a, b};
                firstSeq = a.store.lastCommittedSeq() + 1;
                a.primary = new PrimaryReplicator(network.endpoint("a"), a.replica, 1, SETTINGS,
                    PrimaryReplicator.Peer.LOST);
                b.backup = new BackupReplicator(network.endpoint("b"), b.replica, 1, SETTINGS,
                    BackupReplicator.Phase.JOINING);
                if (null != point)
                {
                    CrashPoints.handler(new CrashPoints.Handler()
                    {
                        public void onHit(final CrashPoint reached)
                        {
                            if (reached == point && ++hits == hit)
                            {
                                throw new SimulatedCrash(reached);
                            }
                        }

                        public long tokenRoot(final long seq, final int attempt, final long root)
                        {
                            return mismatchEvery > 0 && 0 == attempt && 0 == seq % mismatchEvery ? ~root : root;
                        }
                    });
                }
                try
                {
                    simulate(nodes);
                }
                finally
                {
                    CrashPoints.handler(null);
                }
                check(nodes);
            }
            return new long[] {crashes, promotions, detected, acknowledgedRequests};
        }

        private void simulate(final Node[] nodes)
        {
            final double crashProbability = 1.0 / (30 + random.nextInt(300));
            final boolean[] acknowledged = new boolean[batches.size()];
            int next = 0;
            int inFlight = -1;
            long inFlightSeq = -1;
            Node inFlightOn = null;
            boolean started = false;
            for (long steps = 0; ; steps++)
            {
                if (steps > MAX_STEPS)
                {
                    fail("seed " + seed + ": no convergence");
                }
                final long nowNs = network.nowNs();
                maybeCrashOrRestart(nodes, crashProbability, nowNs);
                for (final Node node : nodes)
                {
                    work(node, nowNs);
                }
                final Node primary = currentPrimary(nodes);
                if (null != inFlightOn && inFlightOn != primary)
                {
                    if (null == primary)
                    {
                        network.advanceBy(STEP_NS);
                        continue;
                    }
                    if (primary.store.lastCommittedSeq() < inFlightSeq)
                    {
                        next = inFlight; // not in the new primary's history: resend
                    }
                    inFlightOn = null;
                }
                if (null != primary)
                {
                    for (long seq = primary.primary.pollCommitted(); -1 != seq; seq = primary.primary.pollCommitted())
                    {
                        if (null != inFlightOn && seq == inFlightSeq)
                        {
                            acknowledged[inFlight] = true;
                            inFlightOn = null;
                        }
                    }
                }
                started |= paired(nodes); // like bin/ev node's --await-backup-ms: load starts once paired
                if (started && null == inFlightOn && null != primary && primary.primary.readyForBatch() &&
                    next < batches.size())
                {
                    final long seq = primary.primary.nextSeq();
                    final int length = encode(seq, next);
                    historyBatch[(int)seq] = next;
                    try
                    {
                        primary.primary.begin(seq, encoder.buffer(), 0, length, nowNs);
                    }
                    catch (final SimulatedCrash ex)
                    {
                        crash(primary, nowNs); // the client does not know: it looks its batch up on the new primary
                    }
                    inFlight = next++;
                    inFlightSeq = seq;
                    inFlightOn = primary;
                    continue;
                }
                if (next >= batches.size() && null == inFlightOn && converged(nodes, primary))
                {
                    break;
                }
                if (steps % (SETTINGS.retransmitNs() / STEP_NS) == 0 && null != primary)
                {
                    primary.primary.resendLastDecision();
                }
                network.advanceBy(STEP_NS);
            }
            for (int i = 0; i < acknowledged.length; i++)
            {
                if (acknowledged[i])
                {
                    acknowledgedRequests += BATCH;
                    int copies = 0;
                    for (final long batchIndex : historyBatch)
                    {
                        copies += batchIndex == i ? 1 : 0;
                    }
                    assertTrue(copies >= 1, "seed " + seed + ": acknowledged batch " + i + " was lost");
                }
            }
        }

        private void work(final Node node, final long nowNs)
        {
            if (!node.up)
            {
                return;
            }
            try
            {
                workAlive(node, nowNs);
            }
            catch (final SimulatedCrash ex)
            {
                crash(node, nowNs);
            }
        }

        private void workAlive(final Node node, final long nowNs)
        {
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
                    node.primary = node.backup.promote();
                    node.epoch = node.primary.epoch();
                    node.backup = null;
                    node.replica.crashPointsOf(true);
                    promotions++;
                }
            }
        }

        private void maybeCrashOrRestart(final Node[] nodes, final double crashProbability, final long nowNs)
        {
            for (final Node node : nodes)
            {
                final Node other = node == nodes[0] ? nodes[1] : nodes[0];
                if (!node.up && nowNs >= node.restartAtNs && other.up && null != other.primary)
                {
                    final Link link = network.restart(node.name);
                    node.backup = new BackupReplicator(link, node.replica, node.epoch, SETTINGS,
                        BackupReplicator.Phase.JOINING);
                    node.replica.crashPointsOf(false);
                    node.up = true;
                }
            }
            if (null == point && crashes < 2 && random.nextDouble() < crashProbability && paired(nodes))
            {
                crash(nodes[random.nextInt(2)], nowNs);
            }
        }

        private void crash(final Node victim, final long nowNs)
        {
            victim.epoch = null != victim.primary ? victim.primary.epoch() : victim.backup.epoch();
            network.crash(victim.name);
            // what journal recovery gives: the committed state (the open batch is lost)
            while (StateStore.NULL_SEQ != victim.store.newestOpenSeq())
            {
                victim.replica.rollback(victim.store.newestOpenSeq());
            }
            victim.primary = null;
            victim.backup = null;
            victim.up = false;
            victim.restartAtNs = nowNs + SETTINGS.peerTimeoutNs() * (1 + random.nextInt(3));
            crashes++;
        }

        private boolean paired(final Node[] nodes)
        {
            final Node primary = currentPrimary(nodes);
            final Node other = primary == nodes[0] ? nodes[1] : nodes[0];
            return null != primary && other.up && null != other.backup &&
                PrimaryReplicator.Peer.PAIRED == primary.primary.peer() &&
                BackupReplicator.Phase.PAIRED == other.backup.phase();
        }

        private boolean converged(final Node[] nodes, final Node primary)
        {
            return paired(nodes) && primary.primary.readyForBatch() &&
                (primary == nodes[0] ? nodes[1] : nodes[0]).backup.openSeq() == -1;
        }

        private static Node currentPrimary(final Node[] nodes)
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

        private int encode(final long seq, final int index)
        {
            final byte[][] requests = batches.get(index);
            final int[] typeIds = types.get(index);
            batch.reset(seq);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[0]);
            for (int r = 0; r < requests.length; r++)
            {
                payload.wrap(requests[r]);
                batch.add(0, (long)index * BATCH + r, typeIds[r], payload, 0, requests[r].length);
            }
            mixer.mix(batch, registry);
            return EngineReplica.encode(batch, encoder, request);
        }

        private void check(final Node[] nodes)
        {
            final Node primary = currentPrimary(nodes);
            final Node backup = primary == nodes[0] ? nodes[1] : nodes[0];
            assertEquals(Long.toHexString(primary.store.root()), Long.toHexString(backup.store.root()),
                "seed " + seed + ": replicas differ");
            assertEquals(primary.store.lastCommittedSeq(), backup.store.lastCommittedSeq(), "seed " + seed);
            final long last = primary.store.lastCommittedSeq();
            final boolean[] seen = new boolean[batches.size()];
            for (long seq = firstSeq; seq <= last; seq++)
            {
                final long index = historyBatch[(int)seq];
                assertTrue(index >= 0, "seed " + seed + ": batch " + seq + " of the history is unknown");
                assertTrue(!seen[(int)index], "seed " + seed + ": batch " + index + " is in the history twice");
                seen[(int)index] = true;
            }
            final PrimaryReplicator.Counters counters = primary.primary.counters();
            detected = counters.detected();
            assertEquals(counters.detected(), counters.repairedByReexecution() + counters.repairedByTransfer(),
                "seed " + seed + ": every detected divergence of the last primary was repaired");
            if (!permissive)
            {
                assertEquals(Long.toHexString(replayRoot(last)), Long.toHexString(primary.store.root()),
                    "seed " + seed + ": the state is not the sequential execution of the committed history");
            }
        }

        /**
         * Executes the committed history sequentially on a fresh store; checks conservation there.
         */
        private long replayRoot(final long last)
        {
            try (StateStore store = StateStore.open(SmallBank.storeContext(CUSTOMERS, BATCH).writers(3)))
            {
                final long initial = SmallBankLoader.load(store, store.newWriter(), CUSTOMERS, seed);
                final SmallBankOracle oracle = new SmallBankOracle(initial);
                final SequentialReplay replay = new SequentialReplay(store, store.newWriter(), BATCH);
                final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
                for (long seq = firstSeq; seq <= last; seq++)
                {
                    encode(seq, (int)historyBatch[(int)seq]);
                    replay.executeAndCommit(batch, registry);
                    for (int i = 0; i < batch.count(); i++)
                    {
                        batch.wrapReply(reply, i);
                        oracle.onCommittedReply(reply, 0, batch.replyLength(i));
                    }
                }
                oracle.checkConservation(store.newWriter(), CUSTOMERS);
                return store.root();
            }
        }
    }
}
