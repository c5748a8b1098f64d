/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static io.ev.engine.cli.CliTestSupport.field;
import static io.ev.engine.cli.CliTestSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/ev node} and {@code bin/ev replay} in-process: a node run is recovered by replay to
 * the node's own state digest; a restarted node recovers and goes on; a damaged journal makes
 * replay exit with {@link EvCli#EXIT_DATA} and a message naming the file, without a stack trace.
 */
class NodeReplayCliTest
{
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldReplayToTheNodesDigestAndRefuseADamagedJournal() throws IOException
    {
        final Path data = dir.resolve("node");
        final String[] node = run("node", "--role", "standalone", "--data", data.toString(), "--drive", "smallbank",
            "--requests", "5000", "--accounts", "300", "--batch", "64", "--json");
        assertEquals("0", node[0], node[1] + node[2]);
        final String nodeDigest = field(node[1], "stateDigest");
        assertTrue(node[2].contains("committed="), "progress lines on stderr with --json: " + node[2]);

        final String[] replay = run("replay", "--data", data.toString(), "--json");
        assertEquals("0", replay[0], replay[1] + replay[2]);
        assertEquals(nodeDigest, field(replay[1], "stateDigest"));
        assertEquals("5000", field(replay[1], "requestsReplayed"));
        assertTrue(replay[1].contains("\"conservation\":true"), replay[1]);
        for (final String name : new String[] {"batchesReplayed", "recoverySeconds", "invariants"})
        {
            assertTrue(replay[1].contains("\"" + name + "\""), name + " missing: " + replay[1]);
        }

        final String[] restart = run("node", "--data", data.toString(), "--drive", "smallbank", "--requests",
            "100", "--json");
        assertEquals("0", restart[0], restart[1] + restart[2]);
        assertTrue(restart[1].contains("\"requestsReplayed\":5000"), restart[1]);

        final String[] again = run("replay", "--data", data.toString(), "--json");
        assertEquals("5100", field(again[1], "requestsReplayed"));
        assertEquals(field(restart[1], "stateDigest"), field(again[1], "stateDigest"));

        final Path cycle = cycleFile(data);
        flipByte(cycle, tenthBatchEntry(cycle) + 24);
        final String[] damaged = run("replay", "--data", data.toString());
        assertEquals(Integer.toString(EvCli.EXIT_DATA), damaged[0], damaged[1] + damaged[2]);
        assertTrue(damaged[2].contains(cycle.toString()) && damaged[2].contains("position"), damaged[2]);
        assertFalse(damaged[2].contains("\tat "), "no stack trace: " + damaged[2]);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldRefuseWhatIsNotADataDirectoryAndBadOptions()
    {
        final String[] missing = run("replay", "--data", dir.resolve("none").toString());
        assertEquals(Integer.toString(EvCli.EXIT_DATA), missing[0]);
        assertTrue(missing[2].contains("not an EV data directory"), missing[2]);
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("node", "--role", "primary", "--data", dir.toString()));
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("node", "--data", dir.toString(), "--durability", "never"));
        assertEquals(EvCli.EXIT_USAGE, EvCli.run("node", "--data", dir.toString(), "--drive", "tpcc"));
    }

    private static Path cycleFile(final Path data) throws IOException
    {
        try (Stream<Path> files = Files.list(data.resolve("journal")))
        {
            final List<Path> cycles = files.filter(p -> p.toString().endsWith(".cq4")).collect(Collectors.toList());
            assertEquals(1, cycles.size(), cycles.toString());
            return cycles.get(0);
        }
    }

    /**
     * @return the file offset of the tenth batch entry's journal header (type 1, format version 1,
     * a plausible body length), found by content.
     */
    private static long tenthBatchEntry(final Path cycle) throws IOException
    {
        final byte[] bytes = Files.readAllBytes(cycle);
        int found = 0;
        for (int i = 4; i + 12 < bytes.length; i++)
        {
            if (bytes[i] == 1 && bytes[i + 1] == 0 && bytes[i + 2] == 1 && bytes[i + 3] == 0)
            {
                final int bodyLength = (bytes[i + 4] & 0xFF) | (bytes[i + 5] & 0xFF) << 8 |
                    (bytes[i + 6] & 0xFF) << 16 | (bytes[i + 7] & 0xFF) << 24;
                if (bodyLength > 16 && bodyLength < 1 << 20 && ++found == 10)
                {
                    return i - 4;
                }
            }
        }
        throw new AssertionError("fewer than ten batch entries in " + cycle);
    }

    private static void flipByte(final Path file, final long position) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(position);
            final int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0x5A);
        }
    }
}
