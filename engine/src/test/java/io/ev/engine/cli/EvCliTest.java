/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.ev.engine.Engine;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.KeyValueApp;
import io.ev.store.StateStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/ev demo} in-process: a small run passes its invariants and prints one JSON object;
 * bad arguments exit with 2 and a message naming the option.
 */
class EvCliTest
{
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldRunDemoAndPassInvariants()
    {
        final PrintStream original = System.out;
        final ByteArrayOutputStream captured = new ByteArrayOutputStream();
        final int exit;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try
        {
            exit = EvCli.run("demo", "--requests", "20000", "--accounts", "500", "--workers", "2",
                "--profile", "contended", "--json");
        }
        finally
        {
            System.setOut(original);
        }
        final String json = captured.toString(StandardCharsets.UTF_8).trim();
        assertEquals(0, exit, json);
        assertTrue(json.startsWith("{") && json.endsWith("}"), json);
        assertTrue(json.contains("\"committed\":20000"), json);
        assertTrue(json.contains("\"conservation\":true"), json);
        assertTrue(json.contains("\"replayOracle\":true"), json);
        assertTrue(json.contains("\"replicas\":2") && json.contains("\"replicasAgree\":true"), json);
        assertTrue(json.contains("\"journalRecovery\":true"), json);
        for (final String field : new String[] {"aborted", "throughputPerSec", "p50", "p99", "p999", "max",
            "batches", "phasesPerBatch", "stateDigest"})
        {
            assertTrue(json.contains("\"" + field + "\""), field + " missing: " + json);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldPrintCountersOfARunningEngineAndFailWhenNoneRuns(@TempDir final Path directory)
    {
        assertEquals(EvCli.EXIT_INVARIANT_FAILED, EvCli.run("stat", "--dir", directory.toString()));
        final Engine.Context ctx = new Engine.Context()
            .store(new StateStore.Context().maxEntries(100).maxValueBytes(KeyValueApp.MAX_VALUE_BYTES)
                .averageValueBytes(16).pageCount(16))
            .registry(KeyValueApp.registerAll(new TransactionRegistry()))
            .countersFile(directory.resolve("counters-" + ProcessHandle.current().pid() + "-1.dat"));
        try (Engine engine = Engine.launch(ctx))
        {
            assertEquals(directory, engine.countersFile().getParent());
            final PrintStream original = System.out;
            final ByteArrayOutputStream captured = new ByteArrayOutputStream();
            final int exit;
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try
            {
                exit = EvCli.run("stat", "--dir", directory.toString(), "--json");
            }
            finally
            {
                System.setOut(original);
            }
            final String json = captured.toString(StandardCharsets.UTF_8);
            assertEquals(0, exit, json);
            assertTrue(json.contains("\"requests committed\":0"), json);
        }
    }

    @Test
    void shouldExitWithUsageErrorNamingTheOption()
    {
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("demo", "--workers", "0"));
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("demo", "--mixer", "random"));
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("demo", "--replicas", "3"));
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("demo", "--no-such-option"));
    }
}
