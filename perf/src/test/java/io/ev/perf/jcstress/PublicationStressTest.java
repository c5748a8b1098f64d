/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openjdk.jcstress.Options;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs every jcstress test of {@code io.ev.perf.jcstress} in forked JVMs ({@code bin/ev jcstress --quick}: one JVM
 * configuration, one fork, one 100 ms iteration per test; the report goes to {@code target/jcstress-test/}) and
 * fails on any forbidden or undeclared outcome, any test error, or a test that left no sample. The long version
 * takes jcstress options instead of {@code --quick}:
 * {@code mvn -pl perf -am verify -Dtest=PublicationStressTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dev.jcstress.args="-f 2 -iters 3 -time 1000 -sc false"}. jcstress picks its own samples (no seed to print):
 * a failure names the test and outcome, and {@code bin/ev jcstress -t <test>} reruns it.
 */
class PublicationStressTest
{
    /** Every test of the package: a test that drops out of jcstress's test list fails this test. */
    private static final Set<String> TESTS = Set.of(
        "ClaimedPhaseToPhasePublication",
        "PhaseDonePublication",
        "PhaseStartPublication",
        "PhaseToPhasePublication",
        "RingSlotPublication",
        "RingSlotReuse",
        "RingTwoProducers",
        "SamePageWriters",
        "SnapshotScanVersusWriter",
        "UndoLogRollback");

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void shouldSeeNoForbiddenOutcomeOnAnyPublicationPath() throws Exception
    {
        final String longArgs = System.getProperty("ev.jcstress.args", "").trim();
        final List<String> args = new ArrayList<>(longArgs.isEmpty() ? List.of() : Arrays.asList(longArgs.split(" +")));
        args.addAll(List.of("-r", "target/jcstress-test/"));
        final Options options = new Options(StressMain.arguments(longArgs.isEmpty(), args));
        assertTrue(options.parse(), "jcstress options " + args);

        final StressSummary summary = StressMain.runSelected(options, System.err);

        assertNotNull(summary, "no jcstress test selected");
        summary.print(System.out);
        final Set<String> names = new TreeSet<>();
        summary.tests().forEach((test) -> names.add(test.simpleName()));
        assertEquals(new TreeSet<>(TESTS), names);
        assertEquals(List.of(), summary.failed(), "tests with a forbidden outcome, an error or no sample");
    }
}
