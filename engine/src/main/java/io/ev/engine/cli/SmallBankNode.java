/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import io.ev.engine.Engine;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.store.StateStore;

/**
 * What a SmallBank data directory was created with, kept in {@code <dir>/ev-node.properties}, so
 * that {@code bin/ev node} (restart) and {@code bin/ev replay} rebuild the same store and registry.
 * Layout in docs/formats.md.
 */
final class SmallBankNode
{
    static final String MANIFEST = "ev-node.properties";
    static final String FORMAT = "1";
    /** The accounts a data directory may hold, as {@code --accounts} allows. */
    static final int MIN_ACCOUNTS = 2;
    static final int MAX_ACCOUNTS = 50_000_000;

    final int accounts;
    final long seed;
    final int maxBatchRequests;
    final boolean racyFee;
    final boolean deduplicate;

    SmallBankNode(
        final int accounts,
        final long seed,
        final int maxBatchRequests,
        final boolean racyFee,
        final boolean deduplicate)
    {
        this.accounts = accounts;
        this.seed = seed;
        this.maxBatchRequests = maxBatchRequests;
        this.racyFee = racyFee;
        this.deduplicate = deduplicate;
    }

    StateStore.Context storeContext()
    {
        return SmallBank.storeContext(accounts, maxBatchRequests);
    }

    TransactionRegistry registry()
    {
        return SmallBank.registerAll(new TransactionRegistry(), racyFee).deduplicateRequests(deduplicate);
    }

    static boolean exists(final Path dir)
    {
        return Files.exists(dir.resolve(MANIFEST));
    }

    void write(final Path dir)
    {
        final Properties properties = new Properties();
        properties.setProperty("format", FORMAT);
        properties.setProperty("app", "smallbank");
        properties.setProperty("accounts", Integer.toString(accounts));
        properties.setProperty("seed", Long.toString(seed));
        properties.setProperty("batch", Integer.toString(maxBatchRequests));
        properties.setProperty("racyFee", Boolean.toString(racyFee));
        properties.setProperty("deduplicate", Boolean.toString(deduplicate));
        try
        {
            Files.createDirectories(dir);
            final Path tmp = dir.resolve(MANIFEST + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp))
            {
                properties.store(out, "EV node data directory: what it was created with (do not edit)");
            }
            Files.move(tmp, dir.resolve(MANIFEST), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot write " + dir.resolve(MANIFEST) + ": " + ex, ex);
        }
    }

    /**
     * @throws DataDirectoryException if the manifest is missing, unreadable or malformed.
     */
    static SmallBankNode read(final Path dir)
    {
        final Path file = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(file))
        {
            throw new DataDirectoryException(dir + " is not an EV data directory (no " + MANIFEST + ")");
        }
        final Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file))
        {
            properties.load(in);
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            throw new DataDirectoryException("cannot read " + file + ": " + ex);
        }
        if (!FORMAT.equals(properties.getProperty("format")) || !"smallbank".equals(properties.getProperty("app")))
        {
            throw new DataDirectoryException(file + ": format " + properties.getProperty("format") + ", app " +
                properties.getProperty("app") + "; this build reads format " + FORMAT + ", app smallbank");
        }
        try
        {
            final int accounts = (int)number(properties, "accounts", Integer.MIN_VALUE, Integer.MAX_VALUE);
            final int batch = (int)number(properties, "batch", Integer.MIN_VALUE, Integer.MAX_VALUE);
            if (accounts < MIN_ACCOUNTS || accounts > MAX_ACCOUNTS)
            {
                throw new NumberFormatException("accounts " + accounts + " outside [" + MIN_ACCOUNTS + ", " +
                    MAX_ACCOUNTS + "]");
            }
            if (batch < 1 || batch > Engine.Context.MAX_BATCH_REQUESTS_LIMIT)
            {
                throw new NumberFormatException("batch " + batch + " outside [1, " +
                    Engine.Context.MAX_BATCH_REQUESTS_LIMIT + "]");
            }
            return new SmallBankNode(accounts, number(properties, "seed", Long.MIN_VALUE, Long.MAX_VALUE), batch,
                flag(properties, "racyFee"),
                // directories written before request deduplication existed replay without it
                flag(properties, "deduplicate"));
        }
        catch (final NumberFormatException ex)
        {
            throw new DataDirectoryException(file + " is malformed: " + ex.getMessage());
        }
    }

    private static long number(final Properties properties, final String key, final long min, final long max)
    {
        final String value = properties.getProperty(key);
        if (null == value)
        {
            throw new NumberFormatException(key + " is missing");
        }
        try
        {
            final long number = Long.parseLong(value.trim());
            if (number < min || number > max)
            {
                throw new NumberFormatException("out of range");
            }
            return number;
        }
        catch (final NumberFormatException ex)
        {
            throw new NumberFormatException(key + " = " + value + " is not a number in [" + min + ", " + max + "]");
        }
    }

    /**
     * @return the flag's value; absent is false (written before the flag existed); anything but true or false
     * is malformed (a typo must not turn a setting that changes the state off).
     */
    private static boolean flag(final Properties properties, final String key)
    {
        final String value = properties.getProperty(key, "false").trim();
        if (!"true".equals(value) && !"false".equals(value))
        {
            throw new NumberFormatException(key + " = " + value + " is neither true nor false");
        }
        return "true".equals(value);
    }

    /**
     * A data directory that cannot be used: reported without a stack trace.
     */
    static final class DataDirectoryException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        DataDirectoryException(final String message)
        {
            super(message);
        }
    }
}
