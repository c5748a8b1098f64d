/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/ev report --quick} produces every file of the report; no timing is asserted. The Aeron Cluster
 * baseline is left out here (two cluster start-ups would double the test's time); {@code bin/ev report --quick}
 * runs it.
 */
class PerformanceReportTest
{
    @Test
    @Timeout(180)
    void shouldWriteEveryFileOfTheQuickReport(@TempDir final Path out) throws Exception
    {
        System.setProperty("java.awt.headless", "true");
        final PerformanceReport.Options options = PerformanceReport.Options.parse(new String[] {
            "--quick", "--max-workers", "1", "--cluster", "no", "--out", out.toString(), "--json"});
        final PerformanceReport.Report report = PerformanceReport.run(options, "test");

        assertEquals(3, report.subjects.size(), "raw, engine 1 worker, replicated");
        for (final String system : new String[] {"raw", "engine", "replicated"})
        {
            assertTrue(Files.size(out.resolve("latency-" + system + ".hgrm")) > 0, system);
        }
        final String json = Files.readString(out.resolve(ReportWriter.RESULTS_JSON), StandardCharsets.UTF_8);
        assertTrue(json.startsWith("{\"date\":") && json.contains("\"system\":\"replicated\"") &&
            json.contains("\"targets\":["), json);
        final String markdown = Files.readString(out.resolve(ReportWriter.REPORT_MD), StandardCharsets.UTF_8);
        assertTrue(markdown.contains("#### Throughput") && markdown.contains("#### Latency at") &&
            markdown.contains("#### Targets") && markdown.contains("](" + ReportWriter.LATENCY_PNG + ")"), markdown);
        for (final String png : new String[] {ReportWriter.LATENCY_PNG, ReportWriter.THROUGHPUT_PNG})
        {
            final BufferedImage image = ImageIO.read(out.resolve(png).toFile());
            assertNotNull(image, png + " is not a PNG");
            assertTrue(image.getWidth() > 100 && image.getHeight() > 100, png);
        }
    }

    @Test
    void shouldParseReportOptionsAndNameTheBadOne()
    {
        final PerformanceReport.Options quick =
            PerformanceReport.Options.parse(new String[] {"--quick", "--seconds", "3"});
        assertEquals(3, quick.seconds, "an option after --quick overrides it");
        assertEquals(1_000, quick.accounts);
        assertTrue(quick.out.toString().startsWith("ev-report-"));
        assertEquals("--max-workers 17 must be in [1, 16]", assertThrows(IllegalArgumentException.class,
            () -> PerformanceReport.Options.parse(new String[] {"--max-workers", "17"})).getMessage());
        assertEquals("--out pom.xml exists and is not a directory", assertThrows(IllegalArgumentException.class,
            () -> PerformanceReport.Options.parse(new String[] {"--out", "pom.xml"})).getMessage());
        assertEquals("--cluster maybe must be yes or no", assertThrows(IllegalArgumentException.class,
            () -> PerformanceReport.Options.parse(new String[] {"--cluster", "maybe"})).getMessage());
        assertEquals("--overhead maybe must be yes or no", assertThrows(IllegalArgumentException.class,
            () -> PerformanceReport.Options.parse(new String[] {"--overhead", "maybe"})).getMessage());
        assertEquals("--overhead-dir pom.xml is not a directory", assertThrows(IllegalArgumentException.class,
            () -> PerformanceReport.Options.parse(new String[] {"--overhead-dir", "pom.xml"})).getMessage());
    }

    @Test
    void theOverheadTargetsOwnSetupRunsByDefaultButNotInTheSmokeTest()
    {
        final PerformanceReport.Options full = PerformanceReport.Options.parse(new String[0]);
        assertTrue(full.overhead, "the one-core-per-replica run is part of the report");
        assertFalse(PerformanceReport.Options.parse(new String[] {"--quick"}).overhead);
        assertTrue(PerformanceReport.Options.parse(new String[] {"--quick", "--overhead", "yes"}).overhead);
        final ReplicationOverhead.Options overhead = PerformanceReport.overheadOptions(
            PerformanceReport.Options.parse(new String[] {"--rounds", "5", "--overhead-dir", "target"}));
        assertEquals(5, overhead.rounds);
        assertEquals(3_000_000, overhead.requests);
        assertEquals(4_000_000, overhead.warmup);
        assertFalse(overhead.neighbour);
        assertEquals(Path.of("target"), overhead.dir);
    }
}
