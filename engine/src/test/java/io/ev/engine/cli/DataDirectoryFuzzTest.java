/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import io.ev.engine.FuzzTries;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import static io.ev.engine.cli.CliTestSupport.field;
import static io.ev.engine.cli.CliTestSupport.run;
import static io.ev.engine.cli.CliTestSupport.runWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged data directories given to {@code bin/ev replay} (docs/RELIABILITY.md, "Bad input"): one file of a
 * node's directory (a journal cycle file, Chronicle's metadata file, a checkpoint, the manifest) has bytes
 * flipped, is cut short, is replaced by garbage or by a file of another type, or is gone. Recovery either
 * succeeds (the damage hit bytes it does not use, a torn tail it skips with a warning, or a checkpoint it
 * falls back from) with the node's own state digest or a prefix of its history, or refuses with exit code
 * {@link EvCli#EXIT_DATA} and one line naming the problem (the journal's {@code CORRUPT},
 * {@code UNSUPPORTED_VERSION}, ..., the store's {@code CORRUPT_INPUT}, a malformed manifest): never another
 * exit code, never a stack trace, never a hang.
 * <p>
 * jqwik prints the seed of a failing run; rerun it with {@code -Dev.fuzz.seed=<seed>}, and run more tries
 * with {@code -Dev.fuzz.tries=N} ({@link FuzzTries}).
 */
@AddLifecycleHook(FuzzTries.class)
class DataDirectoryFuzzTest
{
    private static final long REPLAY_TIMEOUT_S = 60;
    private static final String[] ACCEPTED_REASONS = {"CORRUPT", "UNSUPPORTED_VERSION", "NO_VALID_CHECKPOINT",
        "TOKEN_MISMATCH", "IO_ERROR", "CORRUPT_INPUT", "is malformed", "cannot read", "not an EV data directory",
        "this build reads format", "holds no checkpoint and no journal entry"};

    private static Path root;
    private static Path pristine;
    private static String digest;
    private static List<Path> files;
    /** Each file's bytes up to its last non-zero byte (Chronicle's files are mostly preallocated zeros). */
    private static final Map<Path, byte[]> USED = new HashMap<>();
    private static final Map<Path, Long> LENGTHS = new HashMap<>();
    private static int copies;

    /** What is done to the chosen file. */
    enum Damage
    {
        FLIP, TRUNCATE, GARBAGE, OTHER_TYPE, DELETE
    }

    /**
     * One generated case: the file (an index into the directory's files), the damage and the noise that
     * places it.
     */
    record DamageCase(int file, Damage damage, long noise)
    {
    }

    @BeforeContainer
    static void writeNode() throws IOException
    {
        root = Files.createTempDirectory("ev-data-fuzz");
        pristine = root.resolve("pristine");
        final String[] node = run("node", "--role", "standalone", "--data", pristine.toString(), "--drive",
            "smallbank", "--requests", "300", "--accounts", "40", "--batch", "16", "--checkpoint-every", "120",
            "--checkpoint-mode", "pause", "--json");
        assertEquals("0", node[0], node[1] + node[2]);
        digest = field(node[1], "stateDigest");
        try (Stream<Path> paths = Files.walk(pristine))
        {
            files = paths.filter(Files::isRegularFile)
                .filter(path -> !path.toString().contains("aeron") && !path.getFileName().toString().equals("ev.lock"))
                .map(pristine::relativize)
                .sorted()
                .toList();
        }
        for (final Path relative : files)
        {
            final byte[] bytes = Files.readAllBytes(pristine.resolve(relative));
            int last = bytes.length - 1;
            while (last >= 0 && 0 == bytes[last])
            {
                last--;
            }
            USED.put(relative, Arrays.copyOf(bytes, last + 1));
            LENGTHS.put(relative, (long)bytes.length);
        }
        assertTrue(files.stream().anyMatch(path -> path.toString().endsWith(".cq4")), files.toString());
        // paused checkpoints are taken at the batch boundary, so the directory always holds one taken after
        // the initial one (a concurrent one may still be running when the node stops: then only the initial
        // checkpoint is left and a journal deleted whole is no longer detectable as such)
        assertTrue(files.stream().filter(path -> path.toString().endsWith(".evsnap")).count() >= 2, files.toString());
    }

    @AfterContainer
    static void removeNode() throws IOException
    {
        delete(root);
    }

    @Property(tries = 25)
    void shouldRecoverOrRefuseADamagedDirectoryNamingTheProblem(@ForAll("damages") final DamageCase damageCase)
        throws Exception
    {
        final Path copy = root.resolve("copy-" + copies++);
        copyTree(copy);
        final Path relative = files.get(damageCase.file() % files.size());
        final Path file = copy.resolve(relative);
        final String what = damageCase + " on " + relative;
        damage(file, relative, damageCase);
        final String[] result = runWithin(REPLAY_TIMEOUT_S, "replay", "--data", copy.toString(), "--json");
        final String output = what + "\nstdout: " + result[1] + "\nstderr: " + result[2];
        assertFalse(result[2].contains("\tat "), "no stack trace: " + output);
        if ("0".equals(result[0]))
        {
            assertTrue(result[1].contains("\"conservation\":true"), output);
            final boolean tornTail = !result[1].contains("\"tornTail\":null");
            assertTrue(tornTail || digest.equals(field(result[1], "stateDigest")),
                "without a torn tail, recovery reaches the node's state: " + output);
        }
        else
        {
            assertEquals(Integer.toString(EvCli.EXIT_DATA), result[0], output);
            final String message = result[2].trim();
            assertTrue(message.startsWith("ev: ") && message.lines().count() == 1, output);
            boolean named = false;
            for (final String reason : ACCEPTED_REASONS)
            {
                named |= message.contains(reason);
            }
            assertTrue(named, "the refusal names the problem: " + output);
        }
        delete(copy);
    }

    @Example
    void shouldRefuseACycleFileReplacedByAnotherFileAsCorruptWithoutAStackTrace() throws Exception
    {
        final Path copy = root.resolve("copy-" + copies++);
        copyTree(copy);
        final Path cycle = files.stream().filter(path -> path.toString().endsWith(".cq4")).findFirst().orElseThrow();
        final Path checkpoint = files.stream().filter(path -> path.toString().endsWith(".evsnap")).findFirst()
            .orElseThrow();
        Files.write(copy.resolve(cycle), USED.get(checkpoint));
        final String[] result = runWithin(REPLAY_TIMEOUT_S, "replay", "--data", copy.toString(), "--json");
        assertEquals(Integer.toString(EvCli.EXIT_DATA), result[0], result[2]);
        assertTrue(result[2].contains("CORRUPT") && !result[2].contains("\tat "), result[2]);
        delete(copy);
    }

    @Example
    void shouldRefuseAJournalThatEndsBeforeItsNewestCheckpoint() throws Exception
    {
        final Path copy = root.resolve("copy-" + copies++);
        copyTree(copy);
        for (final Path relative : files)
        {
            if (relative.toString().endsWith(".cq4"))
            {
                Files.delete(copy.resolve(relative));
            }
        }
        final String[] result = runWithin(REPLAY_TIMEOUT_S, "replay", "--data", copy.toString(), "--json");
        assertEquals(Integer.toString(EvCli.EXIT_DATA), result[0], result[1] + result[2]);
        assertTrue(result[2].contains("CORRUPT") && result[2].contains("was taken when journal"), result[2]);
        delete(copy);
    }

    @Provide
    Arbitrary<DamageCase> damages()
    {
        return Combinators.combine(Arbitraries.integers().between(0, 1 << 16), Arbitraries.of(Damage.class),
            Arbitraries.longs()).as(DamageCase::new);
    }

    private static void damage(final Path file, final Path relative, final DamageCase damageCase) throws IOException
    {
        final SplittableRandom random = new SplittableRandom(damageCase.noise());
        final long used = USED.get(relative).length;
        switch (damageCase.damage())
        {
            case FLIP:
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
                {
                    for (int flips = 1 + random.nextInt(8); flips > 0 && used > 0; flips--)
                    {
                        final long at = random.nextLong(used);
                        raf.seek(at);
                        final int b = raf.read();
                        raf.seek(at);
                        raf.write(b ^ (1 << random.nextInt(8)));
                    }
                }
                break;
            case TRUNCATE:
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
                {
                    raf.setLength(used > 0 ? random.nextLong(used) : 0);
                }
                break;
            case GARBAGE:
            {
                final byte[] bytes = new byte[random.nextInt(1, 1 << 16)];
                for (int i = 0; i < bytes.length; i++)
                {
                    bytes[i] = (byte)random.nextInt(256);
                }
                Files.write(file, bytes);
                break;
            }
            case OTHER_TYPE:
            {
                final String name = relative.getFileName().toString();
                final String suffix = name.substring(name.lastIndexOf('.') + 1);
                final List<Path> others = files.stream()
                    .filter(other -> !other.getFileName().toString().endsWith(suffix))
                    .toList();
                Files.write(file, USED.get(others.get(random.nextInt(others.size()))));
                break;
            }
            default:
                Files.delete(file);
                break;
        }
    }

    /**
     * Copies the node's directory: each file's used bytes, then its length (sparse, as the original).
     */
    private static void copyTree(final Path to) throws IOException
    {
        for (final Path relative : files)
        {
            final Path target = to.resolve(relative);
            Files.createDirectories(target.getParent());
            try (RandomAccessFile raf = new RandomAccessFile(target.toFile(), "rw"))
            {
                raf.write(USED.get(relative));
                raf.setLength(LENGTHS.get(relative));
            }
        }
    }

    private static void delete(final Path dir) throws IOException
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(path);
            }
        }
    }
}
