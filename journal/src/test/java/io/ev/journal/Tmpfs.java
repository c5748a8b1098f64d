/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Mounts and unmounts a small tmpfs for the real full-disk tests (Linux, root or CAP_SYS_ADMIN).
 */
public final class Tmpfs
{
    private Tmpfs()
    {
    }

    /**
     * @return null when mounted, otherwise why not (the test skips with it).
     */
    public static String mount(final Path dir, final int megabytes) throws IOException, InterruptedException
    {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux"))
        {
            return "not Linux";
        }
        return run(List.of("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m", "tmpfs", dir.toString()));
    }

    /**
     * Unmounts lazily: files the JVM still maps (Chronicle releases its mappings on a background thread)
     * keep the tmpfs alive until they are unmapped, detached from the directory tree at once.
     */
    public static void unmount(final Path dir) throws IOException, InterruptedException
    {
        final String failed = run(List.of("umount", "--lazy", dir.toString()));
        if (null != failed)
        {
            throw new IllegalStateException("cannot unmount the test tmpfs " + dir + ": " + failed);
        }
    }

    private static String run(final List<String> command) throws IOException, InterruptedException
    {
        final Process process;
        try
        {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        }
        catch (final IOException ex)
        {
            return String.join(" ", command) + ": " + ex.getMessage();
        }
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!process.waitFor(30, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            return String.join(" ", command) + " did not end within 30 s";
        }
        return 0 == process.exitValue() ? null :
            String.join(" ", command) + " exited " + process.exitValue() + ": " + output;
    }
}
