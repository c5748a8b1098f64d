/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.lang.management.ManagementFactory;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fails the build when the forked test JVM does not run with the shared JVM options: Chronicle
 * would otherwise try to reach an outside analytics host.
 */
class JvmOptionsTest
{
    @Test
    void shouldDisableChronicleAnalyticsInForkedJvm()
    {
        assertEquals("true", System.getProperty("chronicle.analytics.disable"),
            "-Dchronicle.analytics.disable=true missing from the forked JVM (root pom property ev.jvm.options)");
    }

    @Test
    void shouldPassEverySharedOptionToForkedJvm()
    {
        final String expected = System.getProperty("ev.expected.jvm.options");
        assertNotNull(expected, "surefire did not pass ev.expected.jvm.options");
        assertTrue(expected.contains("-Dchronicle.analytics.disable=true"), expected);
        final List<String> actual = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (final String option : expected.trim().split("\\s+"))
        {
            assertTrue(actual.contains(option), "forked JVM lacks " + option + "; it has " + actual);
        }
    }
}
