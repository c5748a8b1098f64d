/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The journal benchmarks run and clean up after themselves, and the replay ratio's two sides reach
 * the engine's root. Small sizes: a few seconds.
 */
class JournalPerfTest
{
    @ParameterizedTest
    @ValueSource(strings = { "PROCESS_CRASH", "POWER_LOSS" })
    @Timeout(30)
    void shouldAppendAndDeleteItsDirectories(final String durability)
    {
        final JournalBenchmark benchmark = new JournalBenchmark();
        benchmark.batchRequests = 64;
        benchmark.payloadBytes = 64;
        benchmark.durability = durability;
        benchmark.setUpTrial();
        final Path root = benchmark.root();
        try
        {
            for (int iteration = 0; iteration < 2; iteration++)
            {
                benchmark.setUpIteration();
                long last = -1;
                for (int i = 0; i < 10; i++)
                {
                    final long batchIndex = benchmark.appendBatch();
                    final long commitIndex = benchmark.appendBatchAndCommit();
                    assertTrue(batchIndex > last && commitIndex > batchIndex, "indexes must grow");
                    last = commitIndex;
                }
                benchmark.tearDownIteration();
            }
        }
        finally
        {
            benchmark.tearDownTrial();
        }
        assertFalse(Files.exists(root), root + " was not deleted");
    }

    @Test
    @Timeout(60)
    void shouldReplayToTheEnginesRootAndVerifyEveryToken()
    {
        // throws if a raw or replay round ends at another root, or a token was not verified
        InterleavedRatio.runReplay(1, 5_000, 1_000);
    }
}
