/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.ev.engine.Engine;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.replication.AeronLink;
import io.ev.replication.AeronTransport;
import io.ev.replication.Link;
import org.agrona.CloseHelper;
import org.agrona.concurrent.IdleStrategy;

/**
 * The backup of a replicated benchmark run, in the benchmark's process: an engine with role BACKUP
 * loaded like the primary, linked to it over Aeron UDP on loopback (two embedded media drivers, one
 * per replica, as two hosts would have) or IPC (one shared driver). The primary's engine is given
 * {@link #primaryLink()}.
 */
final class BackupReplica implements AutoCloseable
{
    private static final int TERM_BUFFER_LENGTH = 16 << 20;

    private final AeronTransport primaryTransport;
    private final AeronTransport backupTransport;
    private final AeronLink primaryLink;
    private final AeronLink backupLink;
    private final Engine backup;

    /**
     * @param transport        "udp" or "ipc".
     * @param workers          backup workers (as the primary's).
     * @param maxBatchRequests as the primary's.
     * @param accounts         SmallBank customers (as the primary's).
     * @param idleStrategy     the backup engine's idle strategy; null for the default.
     */
    BackupReplica(
        final String transport,
        final int workers,
        final int maxBatchRequests,
        final int accounts,
        final Supplier<IdleStrategy> idleStrategy)
    {
        AeronTransport first = null;
        AeronTransport second = null;
        AeronLink toBackup = null;
        AeronLink toPrimary = null;
        try
        {
            if ("ipc".equals(transport))
            {
                first = AeronTransport.launch(new AeronTransport.Context().termBufferLength(TERM_BUFFER_LENGTH));
                toBackup = first.newIpcLink(10, 11);
                toPrimary = first.newIpcLink(11, 10);
            }
            else
            {
                final String primaryEndpoint = "127.0.0.1:" + freeUdpPort();
                final String backupEndpoint = "127.0.0.1:" + freeUdpPort();
                first = AeronTransport.launch(new AeronTransport.Context().termBufferLength(TERM_BUFFER_LENGTH)
                    .listenEndpoint(primaryEndpoint).peerEndpoint(backupEndpoint));
                second = AeronTransport.launch(new AeronTransport.Context().termBufferLength(TERM_BUFFER_LENGTH)
                    .listenEndpoint(backupEndpoint).peerEndpoint(primaryEndpoint));
                toBackup = first.newLink();
                toPrimary = second.newLink();
            }
            final Engine.Context context = new Engine.Context()
                .role(Engine.Role.BACKUP)
                .link(toPrimary)
                .store(SmallBank.storeContext(accounts, maxBatchRequests))
                .registry(SmallBank.registerAll(new TransactionRegistry(), false))
                .workers(workers)
                .maxBatchRequests(maxBatchRequests)
                .initializer((store, writer) -> SmallBankLoader.load(store, writer, accounts, SmallBankRequests.SEED));
            if (null != idleStrategy)
            {
                context.idleStrategy(idleStrategy);
            }
            this.backup = Engine.launch(context);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(toPrimary, toBackup, second, first);
            throw ex;
        }
        this.primaryTransport = first;
        this.backupTransport = second;
        this.primaryLink = toBackup;
        this.backupLink = toPrimary;
    }

    /** @return the link the primary engine uses. */
    Link primaryLink()
    {
        return primaryLink;
    }

    Engine backup()
    {
        return backup;
    }

    /**
     * Waits until the primary and this backup are paired.
     *
     * @throws IllegalStateException if they are not within 30 s.
     */
    void awaitPaired(final Engine primary)
    {
        if (!primary.awaitPaired(TimeUnit.SECONDS.toNanos(30)) || !backup.awaitPaired(TimeUnit.SECONDS.toNanos(30)))
        {
            throw new IllegalStateException("the benchmark's backup did not pair with its primary within 30 s" +
                (null != backup.failure() ? ": " + backup.failure().getMessage() : ""));
        }
    }

    public void close()
    {
        CloseHelper.quietCloseAll(backup, backupLink, primaryLink, backupTransport, primaryTransport);
    }

    private static int freeUdpPort()
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("no free UDP port on loopback: " + ex, ex);
        }
    }
}
