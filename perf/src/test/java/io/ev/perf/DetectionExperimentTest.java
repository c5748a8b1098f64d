/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The concurrency-bug experiment's oracle and bookkeeping on small runs (a few seconds in all). Races are
 * timing dependent, so the assertions are the ones that hold whatever the interleaving: no manifestation
 * where none is possible, and the counts agree with each other and with the protocol's counters.
 */
class DetectionExperimentTest
{
    private static final String[] SMALL = {"--accounts", "1000", "--batch", "128", "--requests", "2560"};
    private static final String[] SMALL_CLAIMED =
        {"--accounts", "1000", "--batch", "128", "--requests", "2560", "--split", "claim"};

    @Test
    @Timeout(60)
    void shouldSeeNoManifestationWithTheKeyMixerAndTheFeeKeyDeclared()
    {
        final DetectionExperiment.Result result = run("unreplicated-keys", SMALL);
        assertEquals(20, result.batches);
        assertEquals(2560, result.requests);
        assertEquals(0, result.manifestedEither);
        assertEquals(0, result.lostEither);
        assertEquals(0, result.committedWrong);
        assertEquals(0, result.sequentialNotConserving);
        assertTrue(result.finalEqualsReplay, "final state differs from the sequential replay");
        assertTrue(result.conserved, "money not conserved: " + result.conservationDifferenceCents + " cents");
    }

    @Test
    @Timeout(60)
    void shouldSeeNoManifestationWithOneWorkerEvenWithThePermissiveMixer()
    {
        final String[] args = {"--accounts", "1000", "--batch", "128", "--requests", "2560", "--workers", "1"};
        final DetectionExperiment.Result result = run("ev-permissive", args);
        assertEquals(0, result.manifestedEither);
        assertEquals(0, result.detected);
        assertEquals(0, result.committedWrong);
        assertTrue(result.finalEqualsReplay);
        assertTrue(result.conserved);
    }

    @Test
    @Timeout(60)
    void shouldAccountEveryReplicatedBatchConsistently()
    {
        for (final String[] args : List.of(SMALL, SMALL_CLAIMED))
        {
            for (final String configuration : List.of("ev-permissive", "ev-permissive-diversity"))
            {
                assertConsistent(configuration + (SMALL == args ? "" : " (claimed split)"), run(configuration, args));
            }
        }
    }

    private static void assertConsistent(final String name, final DetectionExperiment.Result result)
    {
        assertEquals(20, result.batches, name);
        assertEquals(0, result.detectedWithoutManifestation, name + ": detected a batch that did not manifest");
        assertEquals(0, result.sequentialNotConserving, name + ": a sequential run did not conserve money");
        assertEquals(result.detectedByCounter, result.detected, name);
        assertEquals(result.detected, result.repairedByReexecution + result.repairedByTransfer, name);
        assertEquals(result.manifestedEither, result.detected + result.undetected, name);
        // a detected batch is re-executed sequentially; an undetected one commits its parallel result
        assertEquals(result.undetected, result.committedWrong, name);
        assertEquals(result.undetected, result.manifestedBothIdentically, name);
        assertTrue(result.replicasAgree, name + ": the replicas ended with different roots");
        assertEquals(0, result.retransmits, name);
        if (0 == result.committedWrong)
        {
            assertTrue(result.finalEqualsReplay, name + ": every batch committed right, yet the replay differs");
        }
    }

    @Test
    void shouldParseOptionsAndNameTheBadOne()
    {
        final DetectionExperiment.Options options = DetectionExperiment.Options.parse(new String[] {
            "--requests", "1000", "--seed", "7", "--configs", "ev-permissive,unreplicated-keys", "--json"});
        assertEquals(1000, options.requests);
        assertEquals(7, options.seed);
        assertTrue(options.json);
        assertEquals(List.of("unreplicated-keys", "ev-permissive"),
            options.configurations().stream().map((configuration) -> configuration.name).toList());
        assertEquals(4, DetectionExperiment.Options.parse(new String[0]).configurations().size());
        assertEquals(6, DetectionExperiment.Options.parse(new String[] {"--configs", "all"}).configurations().size());
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> DetectionExperiment.Options.parse(new String[] {"--profile", "hot"}));
        assertEquals("--profile hot must be contended or uniform", ex.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> DetectionExperiment.Options.parse(new String[] {"--configs", "ev-nothing"}));
        assertEquals("round-robin", DetectionExperiment.Options.parse(new String[0]).split);
        assertEquals("claim", DetectionExperiment.Options.parse(new String[] {"--split", "claim"}).split);
        final IllegalArgumentException split = assertThrows(IllegalArgumentException.class,
            () -> DetectionExperiment.Options.parse(new String[] {"--split", "dynamic"}));
        assertEquals("--split dynamic must be round-robin or claim", split.getMessage());
    }

    private static DetectionExperiment.Result run(final String name, final String[] args)
    {
        final DetectionExperiment.Options options = DetectionExperiment.Options.parse(args);
        final DetectionExperiment.Configuration configuration = DetectionExperiment.CONFIGURATIONS.stream()
            .filter((candidate) -> candidate.name.equals(name)).findFirst().orElseThrow();
        final ByteArrayOutputStream progress = new ByteArrayOutputStream();
        final DetectionExperiment.Result result;
        try (PrintStream out = new PrintStream(progress, true, StandardCharsets.UTF_8))
        {
            result = DetectionExperiment.run(configuration, options, options.requests, out);
        }
        assertTrue(progress.toString(StandardCharsets.UTF_8).contains(name), "no progress line");
        return result;
    }
}
