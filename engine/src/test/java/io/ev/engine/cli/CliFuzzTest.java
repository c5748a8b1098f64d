/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
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

import static io.ev.engine.cli.CliTestSupport.runWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad command lines and bad manifests (docs/RELIABILITY.md, "Bad input"). A command line of
 * {@code bin/ev demo}, {@code node} or {@code replay} made of harmless valid options in random order plus one
 * bad element (an unknown option, a value that is not a number, out of range or not one of the choices, an
 * option without its value, a stray argument) ends with {@link EvCli#EXIT_USAGE}, a message naming the bad
 * option, no stack trace, and no data directory created. A data directory whose manifest
 * ({@code ev-node.properties}) has a missing, malformed, out-of-range or garbage value is refused by
 * {@code bin/ev replay} with {@link EvCli#EXIT_DATA} and a message naming the file, before anything is sized
 * from it.
 * <p>
 * jqwik prints the seed of a failing run; rerun it with {@code -Dev.fuzz.seed=<seed>}, and run more tries
 * with {@code -Dev.fuzz.tries=N} ({@link FuzzTries}).
 */
@AddLifecycleHook(FuzzTries.class)
class CliFuzzTest
{
    /** Option, then values that are valid and harmless; options whose values are numbers end in '#'. */
    private static final String[][] DEMO = {
        {"--requests#", "1", "50"}, {"--accounts#", "2", "100"}, {"--workers#", "1", "2"},
        {"--mixer", "keys", "permissive"}, {"--profile", "uniform", "contended"}, {"--seed", "-3", "42"},
        {"--replicas#", "1", "2"}, {"--batch#", "1", "64"}, {"--window#", "1", "64"},
        {"--durability", "process-crash", "power-loss"}};
    private static final String[][] NODE = {
        {"--role", "standalone"}, {"--peer-timeout-ms#", "3000", "9000"}, {"--heartbeat-ms#", "1", "500"},
        {"--await-backup-ms#", "0", "10"}, {"--requests#", "0", "10"}, {"--rate#", "0", "5"},
        {"--accounts#", "2", "100"}, {"--seed", "7"}, {"--batch#", "1", "64"}, {"--workers#", "1", "2"},
        {"--window#", "1", "64"}, {"--durability", "process-crash", "power-loss"},
        {"--checkpoint-every#", "0", "100"}, {"--checkpoint-mode", "concurrent", "pause"}};
    /**
     * Below every numeric option's range above, or not numbers of its type at all (seeds take any long: they
     * get the bad choices).
     */
    private static final String[] BAD_NUMBERS = {"-1", "-2147483648", "-99999999999", "1e3", "", " ", "NaN",
        "12abc", "-", "3.5", "9223372036854775808"};
    private static final long RUN_TIMEOUT_S = 60;
    private static final String[] MANIFEST_KEYS = {"format", "app", "accounts", "seed", "batch", "racyFee",
        "deduplicate"};

    private static Path root;
    private static int dirs;

    /** What the one bad element is. */
    enum Bad
    {
        UNKNOWN_OPTION, BAD_NUMBER, BAD_CHOICE, MISSING_VALUE, STRAY_ARGUMENT
    }

    /**
     * One generated command line: the command, how many valid options, the bad element and the noise that
     * picks them.
     */
    record CommandLineCase(String command, int validOptions, Bad bad, long noise)
    {
    }

    /**
     * One generated manifest: which key is damaged, how, and the noise that picks the value.
     */
    record ManifestCase(int key, int how, long noise)
    {
    }

    @BeforeContainer
    static void createRoot() throws IOException
    {
        root = Files.createTempDirectory("ev-cli-fuzz");
    }

    @AfterContainer
    static void deleteRoot() throws IOException
    {
        try (Stream<Path> paths = Files.walk(root))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(path);
            }
        }
    }

    @Property(tries = 150)
    void shouldExitWithAUsageErrorNamingTheBadOption(@ForAll("commandLines") final CommandLineCase commandLine)
    {
        final SplittableRandom random = new SplittableRandom(commandLine.noise());
        final Path data = root.resolve("data-" + dirs++);
        final List<String> args = new ArrayList<>();
        final String named = commandLine(commandLine, random, data, args);
        final String[] result = runWithin(RUN_TIMEOUT_S, args.toArray(new String[0]));
        final String output = args + "\nexit " + result[0] + "\nstdout: " + result[1] + "\nstderr: " + result[2];
        assertEquals(Integer.toString(EvCli.EXIT_USAGE), result[0], output);
        assertTrue(result[2].contains(named), "names " + named + ": " + output);
        assertFalse(result[2].contains("\tat "), "no stack trace: " + output);
        assertFalse(Files.exists(data), "a refused command line writes no data directory: " + output);
    }

    @Property(tries = 100)
    void shouldRefuseABadManifestNamingIt(@ForAll("manifests") final ManifestCase manifest) throws IOException
    {
        final SplittableRandom random = new SplittableRandom(manifest.noise());
        final Path data = root.resolve("data-" + dirs++);
        Files.createDirectories(data);
        final String[] values = {"1", "smallbank", Integer.toString(2 + random.nextInt(100)),
            Long.toString(random.nextLong()), Integer.toString(1 + random.nextInt(64)), "false", "true"};
        final int key = manifest.key() % MANIFEST_KEYS.length;
        final StringBuilder text = new StringBuilder("# fuzzed\n");
        for (int i = 0; i < MANIFEST_KEYS.length; i++)
        {
            if (i != key)
            {
                text.append(MANIFEST_KEYS[i]).append('=').append(values[i]).append('\n');
            }
            else if (0 != manifest.how() % 3)
            {
                text.append(MANIFEST_KEYS[i]).append('=').append(badValue(i, random)).append('\n');
            }
        }
        final byte[] bytes = 0 == manifest.how() % 7 ? garbage(random) :
            text.toString().getBytes(StandardCharsets.UTF_8);
        Files.write(data.resolve(SmallBankNode.MANIFEST), bytes);
        final boolean optional = key >= 5 && 0 == manifest.how() % 3; // a missing flag reads as false
        final String[] result = runWithin(RUN_TIMEOUT_S, "replay", "--data", data.toString());
        final String output = new String(bytes, StandardCharsets.ISO_8859_1) + "\nexit " + result[0] + "\nstdout: " +
            result[1] + "\nstderr: " + result[2];
        assertEquals(Integer.toString(EvCli.EXIT_DATA), result[0], output);
        assertFalse(result[2].contains("\tat "), "no stack trace: " + output);
        if (optional && 0 != manifest.how() % 7)
        {
            assertTrue(result[2].contains("holds no checkpoint and no journal entry"), output);
        }
        else
        {
            assertTrue(result[2].contains(SmallBankNode.MANIFEST), "names the manifest: " + output);
        }
    }

    @Example
    void shouldRefuseAManifestOutOfRangeOrWithAFlagThatIsNeitherTrueNorFalse() throws IOException
    {
        final String valid = "format=1\napp=smallbank\nseed=7\nracyFee=false\n";
        final String[][] cases = {
            {"accounts=2000000000\nbatch=16\ndeduplicate=true\n", "accounts 2000000000"},
            {"accounts=40\nbatch=1000000\ndeduplicate=true\n", "batch 1000000"},
            {"accounts=40\nbatch=16\ndeduplicate=yes\n", "deduplicate = yes"}};
        for (final String[] manifest : cases)
        {
            final Path data = root.resolve("data-" + dirs++);
            Files.createDirectories(data);
            Files.writeString(data.resolve(SmallBankNode.MANIFEST), valid + manifest[0], StandardCharsets.UTF_8);
            final String[] result = runWithin(RUN_TIMEOUT_S, "replay", "--data", data.toString());
            assertEquals(Integer.toString(EvCli.EXIT_DATA), result[0], result[2]);
            assertTrue(result[2].contains(SmallBankNode.MANIFEST) && result[2].contains(manifest[1]), result[2]);
        }
    }

    @Provide
    Arbitrary<CommandLineCase> commandLines()
    {
        return Combinators.combine(Arbitraries.of("demo", "node", "replay"), Arbitraries.integers().between(0, 6),
            Arbitraries.of(Bad.class), Arbitraries.longs()).as(CommandLineCase::new);
    }

    @Provide
    Arbitrary<ManifestCase> manifests()
    {
        return Combinators.combine(
            Arbitraries.integers().between(0, 1 << 10), Arbitraries.integers().between(0, 1 << 10),
            Arbitraries.longs()).as(ManifestCase::new);
    }

    /**
     * Builds the command line into {@code args}.
     *
     * @return the text the error message must contain (the bad option's name).
     */
    private static String commandLine(
        final CommandLineCase commandLine, final SplittableRandom random, final Path data, final List<String> args)
    {
        args.add(commandLine.command());
        final String[][] options = "demo".equals(commandLine.command()) ? DEMO :
            "node".equals(commandLine.command()) ? NODE : new String[][] {{"--json", ""}};
        final List<String[]> chosen = new ArrayList<>(List.of(options));
        Collections.shuffle(chosen, new java.util.Random(random.nextLong()));
        final List<String[]> valid = chosen.subList(0, Math.min(commandLine.validOptions(), chosen.size()));
        final List<String> numeric = new ArrayList<>();
        final List<String> choices = new ArrayList<>();
        for (final String[] option : options)
        {
            (option[0].endsWith("#") ? numeric : choices).add(option[0]);
        }
        final String named;
        final List<String> bad = new ArrayList<>();
        switch (commandLine.bad())
        {
            case BAD_NUMBER:
                // replay has no number: an unknown option instead
                named = numeric.isEmpty() ? "--no-such-option" : name(numeric.get(random.nextInt(numeric.size())));
                bad.add(named);
                bad.add(BAD_NUMBERS[random.nextInt(BAD_NUMBERS.length)]);
                break;
            case UNKNOWN_OPTION:
                named = "--no-such-option-" + Long.toHexString(random.nextLong() & 0xFFFFF);
                bad.add(named);
                break;
            case BAD_CHOICE:
                if (choices.size() > 1 || "demo".equals(commandLine.command()))
                {
                    named = name(choices.get(random.nextInt(choices.size())));
                    bad.add(named);
                    bad.add("x" + Long.toHexString(random.nextLong()));
                    break;
                }
                named = "--drive";
                bad.add(named);
                bad.add("tpcc");
                break;
            case MISSING_VALUE:
            {
                final String[] option = options[random.nextInt(options.length)];
                named = name(option[0]);
                if ("--json".equals(named))
                {
                    addValid(args, valid, random, "--data");
                    args.add("--data"); // replay: --data without its directory
                    return "--data";
                }
                addValid(args, valid, random, named);
                addData(commandLine.command(), data, args);
                args.add(named); // last: no value follows
                return named;
            }
            default:
                named = "stray-" + Long.toHexString(random.nextLong() & 0xFFFF);
                bad.add(named);
                break;
        }
        addValid(args, valid, random, named);
        addData(commandLine.command(), data, args);
        args.addAll(random.nextBoolean() ? 1 : args.size(), bad);
        return named;
    }

    private static void addValid(
        final List<String> args, final List<String[]> valid, final SplittableRandom random, final String except)
    {
        for (final String[] option : valid)
        {
            final String name = name(option[0]);
            if (!name.equals(except))
            {
                args.add(name);
                if (option.length > 1 && !option[1].isEmpty())
                {
                    args.add(option[1 + random.nextInt(option.length - 1)]);
                }
            }
        }
    }

    private static void addData(final String command, final Path data, final List<String> args)
    {
        if (!"replay".equals(command) || !args.contains("--data"))
        {
            args.add("--data");
            args.add(data.toString());
        }
    }

    private static String name(final String option)
    {
        return option.endsWith("#") ? option.substring(0, option.length() - 1) : option;
    }

    private static String badValue(final int key, final SplittableRandom random)
    {
        switch (key)
        {
            case 2:
                return random.nextBoolean() ? Long.toString(SmallBankNode.MAX_ACCOUNTS + 1L + random.nextInt(1 << 30)) :
                    Integer.toString(random.nextInt(-1000, SmallBankNode.MIN_ACCOUNTS));
            case 4:
                return random.nextBoolean() ? Integer.toString((1 << 16) + 1 + random.nextInt(1 << 20)) :
                    Integer.toString(random.nextInt(-1000, 1));
            case 5:
            case 6:
                return new String[] {"yes", "TRUE1", "1", "", "tru"}[random.nextInt(5)];
            default:
                return BAD_NUMBERS[random.nextInt(BAD_NUMBERS.length)] + "z";
        }
    }

    private static byte[] garbage(final SplittableRandom random)
    {
        final byte[] bytes = new byte[random.nextInt(0, 512)];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)random.nextInt(256);
        }
        return bytes;
    }
}
