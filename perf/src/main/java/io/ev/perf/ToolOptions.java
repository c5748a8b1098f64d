/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.Locale;
import java.util.function.Function;

import org.HdrHistogram.Histogram;

/**
 * What the command-line perf tools ({@code bin/ev load}, {@code link}, {@code cluster}, {@code report}, ...)
 * share: {@code --json} and {@code --help}, the parse loop ({@code --option value} pairs, then
 * {@link #validate()}), integer parsing and checks whose messages name the option, the error/help handling of
 * {@code main}, and the latency percentiles of the text summary. Public for the tools of
 * {@code io.ev.perf.cluster}; {@link LoadOptions} adds the options of the load generators.
 */
public abstract class ToolOptions
{
    boolean json;
    boolean help;

    /**
     * @return whether {@code --json} was given: the summary as one JSON object on stdout, status lines on stderr.
     */
    public final boolean json()
    {
        return json;
    }

    /**
     * Takes one {@code --option value} pair.
     *
     * @param option the option, e.g. {@code --seconds}.
     * @param value  its value.
     * @throws IllegalArgumentException for an unknown option or a bad value, naming the option.
     */
    protected abstract void set(String option, String value);

    /**
     * Checks the options once all are set.
     *
     * @throws IllegalArgumentException naming the first option out of range and its allowed values.
     */
    protected abstract void validate();

    /**
     * Sets {@code options} from {@code args}: {@code --json}, {@code --help} or {@code -h}, else
     * {@code --option value} pairs; then validates them.
     *
     * @param options the tool's options with their defaults.
     * @param args    the command line.
     * @param <T>     the tool's options.
     * @return {@code options}.
     * @throws IllegalArgumentException naming what is wrong.
     */
    public static <T extends ToolOptions> T parse(final T options, final String[] args)
    {
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if ("--json".equals(arg))
            {
                options.json = true;
                continue;
            }
            if ("--help".equals(arg) || "-h".equals(arg))
            {
                options.help = true;
                continue;
            }
            if (i + 1 >= args.length)
            {
                throw new IllegalArgumentException("option " + arg + " needs a value (or is unknown)");
            }
            options.set(arg, args[++i]);
        }
        options.validate();
        return options;
    }

    /**
     * The start of a tool's {@code main}: parses {@code args}; on an error prints it, prefixed with
     * {@code command}, and the usage on stderr and exits with status 2; for {@code --help} prints the usage on
     * stdout.
     *
     * @param command the tool's command, e.g. {@code "bin/ev load"}.
     * @param usage   the tool's usage text.
     * @param parser  the tool's parser.
     * @param args    the command line.
     * @param <T>     the tool's options.
     * @return the options to run with; null when there is nothing to run (the usage was printed).
     */
    public static <T extends ToolOptions> T parseOrExit(
        final String command, final String usage, final Function<String[], T> parser, final String[] args)
    {
        final T options;
        try
        {
            options = parser.apply(args);
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println(command + ": " + ex.getMessage());
            System.err.println(usage);
            System.exit(2);
            return null;
        }
        if (options.help)
        {
            System.out.println(usage);
            return null;
        }
        return options;
    }

    /**
     * @param option the option, for the message.
     * @param value  its value.
     * @return {@code value} as an int.
     * @throws IllegalArgumentException naming the option if it is not an integer.
     */
    protected static int parseInt(final String option, final String value)
    {
        try
        {
            return Integer.parseInt(value);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(option + " " + value + " must be an integer", ex);
        }
    }

    /**
     * @param valid   whether the check passed.
     * @param message what to say if not.
     * @throws IllegalArgumentException with {@code message} unless {@code valid}.
     */
    protected static void require(final boolean valid, final String message)
    {
        if (!valid)
        {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * @param latency a histogram of nanoseconds.
     * @return its p50, p90, p99, p99.9 and max in microseconds, as the text summaries print them.
     */
    public static String percentilesUs(final Histogram latency)
    {
        return String.format(Locale.ROOT, "p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us",
            latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(90) / 1e3,
            latency.getValueAtPercentile(99) / 1e3, latency.getValueAtPercentile(99.9) / 1e3,
            latency.getMaxValue() / 1e3);
    }

    /**
     * @param latency a histogram of nanoseconds.
     * @return {@code {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"count":..}} in nanoseconds.
     */
    public static String latencyJson(final Histogram latency)
    {
        return String.format(Locale.ROOT, "{\"p50\":%d,\"p90\":%d,\"p99\":%d,\"p999\":%d,\"max\":%d,\"count\":%d}",
            latency.getValueAtPercentile(50), latency.getValueAtPercentile(90), latency.getValueAtPercentile(99),
            latency.getValueAtPercentile(99.9), latency.getMaxValue(), latency.getTotalCount());
    }
}
