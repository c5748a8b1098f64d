/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Helpers for tests that start the CLI in a child JVM.
 */
final class CliTestSupport
{
    private CliTestSupport()
    {
    }

    /**
     * @return the build's one list of JVM options (the resource bin/ev reads).
     */
    static List<String> jvmOptions()
    {
        try (InputStream in = CliTestSupport.class.getResourceAsStream("/io/ev/engine/jvm.options"))
        {
            if (null == in)
            {
                throw new IllegalStateException("resource io/ev/engine/jvm.options missing: build the engine module");
            }
            final String options = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!options.contains("-Dchronicle.analytics.disable=true"))
            {
                throw new IllegalStateException("jvm.options lacks -Dchronicle.analytics.disable=true: " + options);
            }
            return Arrays.asList(options.split("\\s+"));
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot read jvm.options: " + ex, ex);
        }
    }
}
