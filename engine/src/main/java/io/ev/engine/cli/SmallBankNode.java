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
            final SmallBankNode node = new SmallBankNode(
                Integer.parseInt(properties.getProperty("accounts")),
                Long.parseLong(properties.getProperty("seed")),
                Integer.parseInt(properties.getProperty("batch")),
                Boolean.parseBoolean(properties.getProperty("racyFee")),
                // directories written before request deduplication existed replay without it
                Boolean.parseBoolean(properties.getProperty("deduplicate", "false")));
            if (node.accounts < 2 || node.maxBatchRequests < 1)
            {
                throw new NumberFormatException("accounts " + node.accounts + ", batch " + node.maxBatchRequests);
            }
            return node;
        }
        catch (final NumberFormatException | NullPointerException ex)
        {
            throw new DataDirectoryException(file + " is malformed: " + ex.getMessage());
        }
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
