/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.ev.engine.CountersFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/ev stat}: prints the live counters of running engines, read from their memory-mapped
 * counters files (another process; nothing is sent to the engine).
 */
@Command(name = "stat", mixinStandardHelpOptions = true,
    description = "Print the live counters of running engines (from their counters files).")
public final class StatCommand implements Callable<Integer>
{
    @Option(names = "--file", description = "one counters file (default: every running engine's in --dir)")
    Path file;

    @Option(names = "--dir", description = "where engines put counters files (default: ${DEFAULT-VALUE})")
    Path directory = CountersFile.defaultDirectory();

    @Option(names = "--json", description = "one JSON object per engine on stdout")
    boolean json;

    public Integer call() throws IOException
    {
        final PrintStream out = System.out;
        final List<Path> files = new ArrayList<>();
        if (null != file)
        {
            files.add(file);
        }
        else if (Files.isDirectory(directory))
        {
            try (Stream<Path> listing = Files.list(directory))
            {
                listing.filter(path -> path.getFileName().toString().matches("counters-\\d+-\\d+\\.dat"))
                    .sorted().forEach(files::add);
            }
        }
        int shown = 0;
        for (final Path path : files)
        {
            final long pid = Long.parseLong(path.getFileName().toString().replaceAll("counters-(\\d+)-.*", "$1"));
            if (null == file && ProcessHandle.of(pid).isEmpty())
            {
                System.err.println("ev stat: skipping " + path + ": its engine (pid " + pid + ") is not running");
                continue;
            }
            final StringBuilder jsonObject = new StringBuilder("{\"file\":\"").append(path).append('"');
            if (!json)
            {
                out.println(path);
            }
            final long writerPid = CountersFile.read(path, (label, value) ->
            {
                if (json)
                {
                    jsonObject.append(",\"").append(label).append("\":").append(value);
                }
                else
                {
                    out.printf(Locale.ROOT, "  %-42s %,d%n", label, value);
                }
            });
            out.println(json ? jsonObject.append(",\"pid\":").append(writerPid).append('}') : "");
            shown++;
        }
        if (0 == shown)
        {
            System.err.println("ev stat: no running engine found" + (null == file ? " in " + directory : ""));
            return EvCli.EXIT_INVARIANT_FAILED;
        }
        return 0;
    }
}
