/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

/**
 * Seeds of randomised tests: a fresh one per run, printed, or the one given with
 * {@code -Dev.test.seed=N} to reproduce a failure.
 */
final class TestSeeds
{
    private TestSeeds()
    {
    }

    static long seed(final String testName)
    {
        final String given = System.getProperty("ev.test.seed");
        final long seed = null != given ? Long.parseLong(given) : System.nanoTime() ^ testName.hashCode();
        System.out.println(testName + ": seed " + seed + " (rerun with -Dev.test.seed=" + seed + ")");
        return seed;
    }
}
