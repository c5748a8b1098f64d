/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.ev.journal.CrashPoint;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Crash points in the deterministic simulation: the failover simulation on the real store, executors
 * and SmallBank ({@link SmallBankFailoverSimulationTest}), with its one crash at a named step of the
 * protocol instead of a random moment: the replica whose code reaches {@code point} for the seeded
 * {@code hit}-th time crashes there (keeping its committed state, as journal recovery gives it) and
 * restarts as a backup that rejoins. The backup misreports every third batch's parallel token so that
 * the rollback and re-execution points are reached without races. Per seed the simulation's oracles
 * hold (replicas equal; every acknowledged batch in the history exactly once; the state is the
 * sequential execution of that history; every divergence repaired), and each seed must have crashed
 * at the point. The points of the batcher, journal and checkpoints (received, journaled, reply
 * released, mid-checkpoint) need a real engine: {@code CrashPointProcessTest}. The base seed is
 * printed; {@code -Dev.crashsim.seed=S -Dev.crashsim.seeds=1} reruns one, more seeds with
 * {@code -Dev.crashsim.seeds=N} (default 2).
 */
class CrashPointSimulationTest
{
    private static final int MISMATCH_EVERY = 3;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = CrashPoint.class, names = {"PRIMARY_SHIPPED", "PRIMARY_MID_EXECUTION", "PRIMARY_SEALED",
        "PRIMARY_TOKEN_RECEIVED", "PRIMARY_MID_ROLLBACK", "PRIMARY_MID_REEXECUTION", "PRIMARY_VERIFIED",
        "BACKUP_RECEIVED", "BACKUP_MID_EXECUTION", "BACKUP_SEALED", "BACKUP_TOKEN_SENT", "BACKUP_MID_ROLLBACK",
        "BACKUP_MID_REEXECUTION", "BACKUP_VERIFIED"})
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldConvergeWithEveryAcknowledgedBatchOnceAfterACrashAtThePoint(final CrashPoint point)
    {
        final long base = Long.getLong("ev.crashsim.seed", System.nanoTime());
        final int seeds = Integer.getInteger("ev.crashsim.seeds", 2);
        System.out.println("CrashPointSimulationTest " + point + " base seed " + base + " (-Dev.crashsim.seed=" + base +
            " -Dev.crashsim.seeds=1 reruns the first)");
        long crashes = 0;
        long promotions = 0;
        long detected = 0;
        long acknowledged = 0;
        for (int i = 0; i < seeds; i++)
        {
            final long seed = base + i;
            final boolean rare = point.name().contains("ROLLBACK") || point.name().contains("REEXECUTION");
            final int hit = 1 + new SplittableRandom(seed).nextInt(rare ? 3 : 10);
            final long[] result = new SmallBankFailoverSimulationTest.Simulation(seed, false, point, hit,
                MISMATCH_EVERY).run();
            assertEquals(1, result[0], "seed " + seed + ": the simulation did not crash at " + point + " hit " + hit);
            crashes += result[0];
            promotions += result[1];
            detected += result[2];
            acknowledged += result[3];
        }
        System.out.println("CrashPointSimulationTest " + point + ": " + seeds + " seeds, " + crashes + " crashes, " +
            promotions + " promotions, " + acknowledged + " requests acknowledged (none lost), " + detected +
            " divergences detected and repaired by the last primaries");
    }
}
