/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import io.ev.journal.BatchEncoder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Execute-Verify protocol between a primary and a backup over the simulated network, seed by
 * seed, with up to K batches in flight (K = 1, Eve's synchronous protocol; 2; 4): message loss,
 * duplication, delay and reordering, and replicas whose parallel executions race (and, for some
 * seeds, whose sequential executions do too). Oracles after every seed: every batch commits, on
 * the primary in seq order as {@link PrimaryReplicator#pollCommitted()} reports it, and on both
 * replicas in seq order; both replicas end in the same state; without sequential nondeterminism
 * that state is the sequential execution of every request exactly once; every batch committed with
 * the same root on both replicas and, unless repaired by transfer, the same reply digest (no batch
 * commits on a token that did not match); no replica ever holds more than K open batches; the
 * counters account for every detected divergence. The base seed is printed;
 * {@code -Dev.sim.seed=S -Dev.sim.seeds=1} reruns one, {@code -Dev.sim.seeds=N} runs more.
 */
class ReplicationSimulationTest
{
    private static final long STEP_NS = 20_000;
    private static final long RETRANSMIT_NS = 2_000_000;
    private static final long MAX_STEPS_PER_BATCH = 200_000;

    @ParameterizedTest(name = "maxInFlightBatches {0}")
    @ValueSource(ints = {1, 2, 4})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldCommitEveryBatchInOrderIdenticallyOnBothReplicasUnderLinkFaultsAndRaces(final int maxInFlight)
    {
        final long base = Long.getLong("ev.sim.seed", System.nanoTime());
        final int seeds = Integer.getInteger("ev.sim.seeds", 1_000);
        System.out.println("ReplicationSimulationTest K=" + maxInFlight + " base seed " + base + " (-Dev.sim.seed=" +
            base + " -Dev.sim.seeds=1 reruns the first)");
        long detected = 0;
        long transfers = 0;
        long discarded = 0;
        int mostInFlight = 0;
        for (int i = 0; i < seeds; i++)
        {
            final Result result = simulate(base + i, maxInFlight);
            detected += result.detected;
            transfers += result.transfers;
            discarded += result.discarded;
            mostInFlight = Math.max(mostInFlight, result.mostInFlight);
        }
        assertTrue(detected > 0, "the races were never detected: the test would not exercise re-execution");
        assertTrue(seeds < 100 || transfers > 0, "no transfer in " + seeds + " seeds");
        assertEquals(maxInFlight, mostInFlight, "the window never filled");
        if (maxInFlight > 1)
        {
            assertTrue(seeds < 100 || discarded > 0, "no later batch was ever rolled back with an earlier one");
        }
        System.out.println("ReplicationSimulationTest K=" + maxInFlight + ": " + seeds + " seeds, " + detected +
            " divergences detected, " + transfers + " repaired by transfer, " + discarded +
            " later batches rolled back and re-shipped");
    }

    static Result simulate(final long seed, final int maxInFlight)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final SimulatedNetwork network = new SimulatedNetwork(seed);
        network.connect("primary", "backup");
        for (final String[] direction : new String[][] {{"primary", "backup"}, {"backup", "primary"}})
        {
            network.direction(direction[0], direction[1])
                .dropProbability(random.nextDouble() * 0.2)
                .duplicateProbability(random.nextDouble() * 0.1)
                .delayNs(10_000, 10_000 + random.nextInt(1_000_000));
        }
        final boolean sequentialRaces = random.nextInt(4) == 0;
        final double sequentialRace = sequentialRaces ? 0.02 : 0;
        final ModelReplica primaryState = new ModelReplica(seed * 31 + 1, 0.02, sequentialRace, 1_000, maxInFlight);
        final ModelReplica backupState = new ModelReplica(seed * 31 + 2, 0.02, sequentialRace, 2_000, maxInFlight);
        final ReplicationSettings settings =
            new ReplicationSettings().retransmitNs(RETRANSMIT_NS).maxInFlightBatches(maxInFlight);
        final PrimaryReplicator primary = new PrimaryReplicator(
            network.endpoint("primary"), primaryState, 1, settings, PrimaryReplicator.Peer.PAIRED);
        final BackupReplicator backup = new BackupReplicator(
            network.endpoint("backup"), backupState, 1, settings, BackupReplicator.Phase.PAIRED);
        final Map<Long, Long> oracle = new HashMap<>();
        final BatchEncoder encoder = new BatchEncoder();
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[16]);
        final int batches = 20 + random.nextInt(30);
        long begun = 0;
        long reported = 0;
        int mostInFlight = 0;
        long steps = 0;
        while (reported < batches)
        {
            if (null != primary.failure() || ++steps > MAX_STEPS_PER_BATCH * batches)
            {
                fail("seed " + seed + ": batch " + reported + " did not commit (" + primary.state() + ", " +
                    primary.failure() + ")");
            }
            while (begun < batches && primary.readyForBatch())
            {
                encoder.reset(begun);
                final int requests = 1 + random.nextInt(20);
                for (int r = 0; r < requests; r++)
                {
                    final long key = random.nextInt(50);
                    final long delta = 1 + random.nextInt(100);
                    payload.putLong(0, key);
                    payload.putLong(8, delta);
                    encoder.add(0, begun * 100 + r, 1, 0, payload, 0, 16);
                    ModelReplica.apply(oracle, key, delta);
                }
                primary.begin(begun, encoder.buffer(), 0, encoder.finish(), network.nowNs());
                begun++;
            }
            mostInFlight = Math.max(mostInFlight, primary.inFlight());
            for (long seq = primary.pollCommitted(); -1 != seq; seq = primary.pollCommitted())
            {
                assertEquals(reported, seq, "seed " + seed + ": batches reported committed out of order");
                reported++;
            }
            primary.doWork(network.nowNs());
            backup.doWork();
            network.advanceBy(STEP_NS);
        }
        // the backup learns the last commits from the decisions (re-sent if lost) and heartbeats
        steps = 0;
        while (backup.openBatches() != 0 && ++steps < MAX_STEPS_PER_BATCH)
        {
            if (steps % (RETRANSMIT_NS / STEP_NS) == 0)
            {
                primary.resendLastDecision();
            }
            primary.doWork(network.nowNs());
            backup.doWork();
            network.advanceBy(STEP_NS);
        }
        assertEquals(0, backup.openBatches(), "seed " + seed + ": the backup never committed the last batches");
        assertEquals(primaryState.values, backupState.values, "seed " + seed + ": replicas differ");
        if (!sequentialRaces)
        {
            assertEquals(oracle, primaryState.values, "seed " + seed + ": state is not the sequential execution");
        }
        final List<Long> inOrder = LongStream.range(0, batches).boxed().collect(Collectors.toList());
        assertEquals(inOrder, primaryState.commitOrder, "seed " + seed + ": primary's commit order");
        assertEquals(inOrder, backupState.commitOrder, "seed " + seed + ": backup's commit order");
        for (long seq = 0; seq < batches; seq++)
        {
            assertEquals(primaryState.committedRoots.get(seq), backupState.committedRoots.get(seq),
                "seed " + seed + ": batch " + seq + " committed with different roots");
            if (!backupState.transferred.contains(seq))
            {
                assertEquals(primaryState.committedReplyDigests.get(seq), backupState.committedReplyDigests.get(seq),
                    "seed " + seed + ": batch " + seq + " committed with different replies");
            }
        }
        final PrimaryReplicator.Counters counters = primary.counters();
        assertEquals(batches, counters.committed(), "seed " + seed);
        assertEquals(counters.detected(), counters.repairedByReexecution() + counters.repairedByTransfer(),
            "seed " + seed + ": every detected divergence was repaired");
        assertNull(backup.failure());
        return new Result(counters.detected(), counters.repairedByTransfer(), counters.discarded(), mostInFlight);
    }

    /**
     * A backup that answers each batch long after {@code retransmitNs} (a slow link here; a deep pipeline
     * in practice: the backup answers a batch after executing the K before it) must not be sent every
     * batch again: the primary's re-send timeout adapts to the answers' waits. A fixed timeout re-sent each
     * batch several times. With no loss, every re-send is a spurious one.
     */
    @ParameterizedTest(name = "maxInFlightBatches {0}")
    @ValueSource(ints = {1, 4, 8})
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldAdaptTheResendTimeoutToABackupThatAnswersSlowly(final int maxInFlight)
    {
        final SimulatedNetwork network = new SimulatedNetwork(7);
        network.connect("primary", "backup");
        final long oneWayNs = 3 * RETRANSMIT_NS; // a round trip of 3 retransmit timeouts
        network.direction("primary", "backup").delayNs(oneWayNs, oneWayNs);
        network.direction("backup", "primary").delayNs(oneWayNs, oneWayNs);
        final ModelReplica primaryState = new ModelReplica(1, 0, 0, 0, maxInFlight);
        final ModelReplica backupState = new ModelReplica(2, 0, 0, 0, maxInFlight);
        final ReplicationSettings settings =
            new ReplicationSettings().retransmitNs(RETRANSMIT_NS).maxInFlightBatches(maxInFlight);
        final PrimaryReplicator primary = new PrimaryReplicator(
            network.endpoint("primary"), primaryState, 1, settings, PrimaryReplicator.Peer.PAIRED);
        final BackupReplicator backup = new BackupReplicator(
            network.endpoint("backup"), backupState, 1, settings, BackupReplicator.Phase.PAIRED);
        final BatchEncoder encoder = new BatchEncoder();
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[16]);
        final int batches = 200;
        long begun = 0;
        long reported = 0;
        for (long steps = 0; reported < batches; steps++)
        {
            assertTrue(steps < MAX_STEPS_PER_BATCH * batches, "batch " + reported + " did not commit");
            while (begun < batches && primary.readyForBatch())
            {
                encoder.reset(begun);
                payload.putLong(0, begun % 50);
                payload.putLong(8, 1);
                encoder.add(0, begun, 1, 0, payload, 0, 16);
                primary.begin(begun, encoder.buffer(), 0, encoder.finish(), network.nowNs());
                begun++;
            }
            while (-1 != primary.pollCommitted())
            {
                reported++;
            }
            primary.doWork(network.nowNs());
            backup.doWork();
            network.advanceBy(STEP_NS);
        }
        assertNull(primary.failure());
        assertEquals(primaryState.values, backupState.values);
        // before the first answer the timeout is retransmitNs (then doubled per re-send): the first
        // batches are re-sent a few times; once answers come, nothing is
        final long retransmits = primary.counters().retransmits();
        System.out.println("ReplicationSimulationTest K=" + maxInFlight + " slow backup: " + retransmits +
            " re-sends for " + batches + " batches");
        assertTrue(retransmits <= 4, retransmits + " re-sends for " + batches + " batches without loss");
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldRefuseAPeerSpeakingAnotherProtocolVersion()
    {
        final SimulatedNetwork network = new SimulatedNetwork(1);
        network.connect("primary", "backup");
        final PrimaryReplicator primary =
            new PrimaryReplicator(network.endpoint("primary"), new ModelReplica(1, 0, 0, 0), 1, RETRANSMIT_NS);
        final BatchEncoder encoder = new BatchEncoder().reset(0);
        primary.begin(0, encoder.buffer(), 0, encoder.finish(), 0);
        final UnsafeBuffer message = new UnsafeBuffer(new byte[64]);
        final int length = Messages.token(message, 0, 1, 0, 0, 0, 0, 0);
        message.putShort(Messages.VERSION_OFFSET, (short)1);
        assertTrue(network.endpoint("backup").offer(message, 0, length));
        network.advanceBy(10_000_000);
        primary.doWork(network.nowNs());
        assertEquals(PrimaryReplicator.State.FAILED, primary.state());
        assertNotNull(primary.failure());
        assertTrue(primary.failure().contains("version 1"), primary.failure());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldRefuseABackupWithAnotherConfiguration()
    {
        final SimulatedNetwork network = new SimulatedNetwork(3);
        network.connect("primary", "backup");
        final ModelReplica primaryState = new ModelReplica(1, 0, 0, 0);
        final ModelReplica backupState = new ModelReplica(1, 0, 0, 0);
        primaryState.configurationDigest = 0xAAL;
        backupState.configurationDigest = 0xBBL;
        final ReplicationSettings settings = new ReplicationSettings().retransmitNs(RETRANSMIT_NS);
        final PrimaryReplicator primary = new PrimaryReplicator(network.endpoint("primary"), primaryState, 1,
            settings, PrimaryReplicator.Peer.LOST);
        final BackupReplicator backup = new BackupReplicator(network.endpoint("backup"), backupState, 1, settings,
            BackupReplicator.Phase.JOINING);
        for (int i = 0; i < 100 && null == backup.failure(); i++)
        {
            network.advanceBy(RETRANSMIT_NS);
            backup.doWork(network.nowNs());
            primary.doWork(network.nowNs());
        }
        assertNotNull(primary.refusal(), "the primary refused the backup");
        assertTrue(primary.refusal().contains("configuration digest bb") && primary.refusal().contains("is aa"),
            primary.refusal());
        assertNotNull(backup.failure(), "the backup stopped");
        assertTrue(backup.failure().contains("configuration digest is aa, this backup's bb"), backup.failure());
        assertNotEquals(PrimaryReplicator.Peer.PAIRED, primary.peer());
    }

    /**
     * A replica that itself did not run for longer than the peer timeout (a pause) must not act on the
     * silence it slept through: it judges the silence again from its resume, and acts only when the
     * peer stays silent for a whole timeout after it.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldNotActOnASilenceThatWasItsOwnPause()
    {
        final SimulatedNetwork network = new SimulatedNetwork(4);
        network.connect("primary", "backup");
        network.partition("primary", "backup"); // each hears nothing: only the clocks decide
        final ReplicationSettings settings = new ReplicationSettings();
        final long timeout = settings.peerTimeoutNs();
        final PrimaryReplicator primary = new PrimaryReplicator(network.endpoint("primary"),
            new ModelReplica(1, 0, 0, 0), 1, settings, PrimaryReplicator.Peer.PAIRED);
        final BackupReplicator backup = new BackupReplicator(network.endpoint("backup"),
            new ModelReplica(1, 0, 0, 0), 1, settings, BackupReplicator.Phase.PAIRED);
        primary.doWork(0);
        backup.doWork(0);

        primary.doWork(timeout + 1); // paused over the whole timeout, nothing heard
        backup.doWork(timeout + 1);
        assertEquals(PrimaryReplicator.Peer.PAIRED, primary.peer(), "a resumed primary must not go on alone");
        assertFalse(backup.primaryLost(), "a resumed backup must not promote itself");
        assertEquals(1, primary.counters().stalls());
        assertEquals(1, backup.counters().stalls());

        for (long now = timeout + 1; now <= 2 * timeout + timeout / 5; now += timeout / 10)
        {
            primary.doWork(now); // running now; the peer stays silent
            backup.doWork(now);
        }
        assertEquals(PrimaryReplicator.Peer.LOST, primary.peer(), "a whole timeout of silence after the resume");
        assertTrue(backup.primaryLost());
        assertEquals(1, primary.counters().stalls());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void shouldFenceAPrimaryWhenItsBackupAnswersFromANewerEpoch()
    {
        final SimulatedNetwork network = new SimulatedNetwork(2);
        network.connect("primary", "backup");
        final PrimaryReplicator primary =
            new PrimaryReplicator(network.endpoint("primary"), new ModelReplica(1, 0, 0, 0), 1, RETRANSMIT_NS);
        final BatchEncoder encoder = new BatchEncoder().reset(0);
        primary.begin(0, encoder.buffer(), 0, encoder.finish(), 0);
        final UnsafeBuffer message = new UnsafeBuffer(new byte[64]);
        final int length = Messages.token(message, 0, 2, 0, 0, 0, 0, 0);
        assertTrue(network.endpoint("backup").offer(message, 0, length));
        network.advanceBy(10_000_000);
        primary.doWork(network.nowNs());
        assertEquals(PrimaryReplicator.State.FAILED, primary.state());
        assertTrue(primary.failure().contains("fenced"), primary.failure());
    }

    static final class Result
    {
        final long detected;
        final long transfers;
        final long discarded;
        final int mostInFlight;

        Result(final long detected, final long transfers, final long discarded, final int mostInFlight)
        {
            this.detected = detected;
            this.transfers = transfers;
            this.discarded = discarded;
            this.mostInFlight = mostInFlight;
        }
    }
}
