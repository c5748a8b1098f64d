/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bin/ev}: the engine's command line. Expected failures (bad arguments, failed invariants)
 * end with a message and a non-zero exit code, not a stack trace.
 */
@Command(
    name = "ev",
    mixinStandardHelpOptions = true,
    version = "ev 0.1.0",
    description = "EV engine: a multi-core transaction engine with Execute-Verify replication.",
    subcommands = {DemoCommand.class, NodeCommand.class, ReplayCommand.class, StatCommand.class,
        SoakCommand.class})
public final class EvCli
{
    /** Exit code: bad command line or configuration. */
    public static final int EXIT_USAGE = 2;
    /** Exit code: an invariant or oracle failed, or the engine stopped. */
    public static final int EXIT_INVARIANT_FAILED = 1;
    /**
     * Exit code: the data directory cannot be used (corrupt journal or checkpoint, in use, not ours), or
     * a write to it failed (disk full, I/O error: the node stopped; free space and restart it).
     */
    public static final int EXIT_DATA = 3;

    private EvCli()
    {
    }

    /**
     * @param args the command line.
     */
    public static void main(final String[] args)
    {
        System.exit(run(args));
    }

    /**
     * @return the exit code.
     */
    public static int run(final String... args)
    {
        final CommandLine commandLine = new CommandLine(new EvCli());
        commandLine.setExecutionExceptionHandler((ex, line, parseResult) ->
        {
            final boolean usage = ex instanceof IllegalArgumentException;
            final boolean data = ex instanceof SmallBankNode.DataDirectoryException ||
                ex instanceof io.ev.journal.JournalException || ex instanceof io.ev.store.StateStoreException;
            line.getErr().println("ev: " + (usage || data ? "" : ex.getClass().getSimpleName() + ": ") +
                ex.getMessage());
            if (!usage && !data && !(ex instanceof IllegalStateException))
            {
                ex.printStackTrace(line.getErr()); // not an error we expect: a bug, keep where it happened
            }
            return usage ? EXIT_USAGE : data ? EXIT_DATA : EXIT_INVARIANT_FAILED;
        });
        return commandLine.execute(args);
    }
}
