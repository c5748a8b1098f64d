/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The stage benchmarks with a {@code workers} parameter, and the journal replay benchmark, run through their
 * JMH lifecycle (trial setup, a few invocations with their fixtures, trial teardown) in a tiny configuration,
 * and what they compute is checked: several workers reach the same state as one. No timing is asserted.
 * Three workers: more than the CI host's two CPUs, so the oversubscribed path runs too. A few seconds in all.
 */
class StageBenchmarksTest
{
    private static final int INVOCATIONS = 8;

    @Test
    @Timeout(120)
    void shouldExecuteBatchesToTheSameStateWithOneAndWithThreeWorkers()
    {
        final long one = phaseExecution(1);
        final long three = phaseExecution(3);
        assertEquals(one, three, "the parallel executor must reach the sequential executor's root");
    }

    private static long phaseExecution(final int workers)
    {
        final PhaseExecutionBenchmark bench = new PhaseExecutionBenchmark();
        bench.workers = workers;
        bench.profile = "contended";
        bench.accounts = 1_000;
        bench.pin = false;
        bench.setUpTrial();
        try
        {
            final long before = bench.store().root();
            for (int i = 0; i < INVOCATIONS; i++)
            {
                bench.fillAndMix();
                bench.execute();
                bench.sealAndCommit();
            }
            assertEquals(INVOCATIONS, bench.batches());
            assertNotEquals(before, bench.store().root(), "the batches changed nothing");
            return bench.store().root();
        }
        finally
        {
            bench.tearDownTrial();
        }
    }

    @Test
    @Timeout(120)
    void shouldSealTheSameRootWhetherOneOrThreeWritersWroteTheBatch()
    {
        final long[] one = seal(1);
        final long[] three = seal(3);
        for (int i = 0; i < INVOCATIONS; i++)
        {
            assertEquals(one[i], three[i], "root of sealed batch " + i);
            assertNotEquals(i == 0 ? 0 : one[i - 1], one[i], "batch " + i + " changed nothing");
        }
    }

    private static long[] seal(final int workers)
    {
        final SealBenchmark bench = new SealBenchmark();
        bench.recordCount = 100_000;
        bench.workers = workers;
        bench.setUpTrial();
        try
        {
            final long[] roots = new long[INVOCATIONS];
            for (int i = 0; i < INVOCATIONS; i++)
            {
                bench.beginAndWrite();
                roots[i] = bench.seal();
                bench.commit();
            }
            return roots;
        }
        finally
        {
            bench.tearDownTrial();
        }
    }

    @Test
    @Timeout(120)
    void shouldRollBackThreeWritersUndoLogsToTheLoadedState()
    {
        final RollbackBenchmark bench = new RollbackBenchmark();
        bench.workers = 3;
        bench.setUpTrial();
        long committedRoot = 0;
        try
        {
            for (int i = 0; i < INVOCATIONS; i++)
            {
                bench.writeAndSeal();
                final long root = bench.rollback();
                assertEquals(0 == i ? root : committedRoot, root, "rollback " + i);
                committedRoot = root;
            }
        }
        finally
        {
            // throws if the store's root or size is not the loaded one
            bench.tearDownTrial();
        }
    }

    @Test
    @Timeout(120)
    void shouldReadAndReplayTheEnginesJournalAndDeleteIt()
    {
        final JournalReplayBenchmark bench = new JournalReplayBenchmark();
        bench.profile = "uniform";
        bench.accounts = 1_000;
        bench.requests = 5_000;
        bench.setUpTrial();
        final Path dir = bench.dir();
        try
        {
            final JournalReplayBenchmark.ReplayState state = new JournalReplayBenchmark.ReplayState();
            for (int i = 0; i < 2; i++)
            {
                assertEquals(5_000, bench.read());
                state.loadCheckpoint(bench);
                // throws unless the replay ends at the engine's root with every batch verified
                assertEquals(5_000, bench.replay(state));
            }
        }
        finally
        {
            bench.tearDownTrial();
        }
        assertFalse(Files.exists(dir), dir + " was not deleted");
    }
}
