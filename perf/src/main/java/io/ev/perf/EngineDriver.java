/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import io.ev.engine.Engine;
import io.ev.engine.ReplyListener;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.journal.Journal;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;

/**
 * A SmallBank engine driven from one client thread: {@link Engine#launch} with SmallBank loaded,
 * {@code CLIENT_ID} registered, and a closed-loop {@link #run} that submits the next requests of a
 * {@link SmallBankRequests} sequence with at most {@code window} outstanding and waits until every
 * reply arrived. Waiting spins ({@link Thread#onSpinWait()}) and then yields; it never sleeps.
 * Allocation-free per request. The reply listener runs on the engine's batcher thread; everything
 * else on the one client thread.
 */
final class EngineDriver implements AutoCloseable
{
    /** The client id of the closed-loop driver. */
    static final int CLIENT_ID = 0;
    /** Spins of a waiting client before it starts to yield. */
    static final int SPINS_BEFORE_YIELD = 100;

    private final Engine engine;
    private final SmallBankRequests requests;
    private final int window;
    private final int accounts;
    private final long[] initialTotalCents = new long[1];
    private final AtomicLong replied = new AtomicLong();
    private final ReplyListener observer;
    private final BackupReplica backupReplica;
    private long submitted;

    /**
     * Launches the engine and loads SmallBank.
     *
     * @param workers          engine workers.
     * @param maxBatchRequests engine batch bound; the window is twice it.
     * @param accounts         SmallBank customers.
     * @param profile          "uniform" or "contended".
     * @param observer         also told of every reply of {@code CLIENT_ID} (on the batcher thread),
     *                         before it counts as replied; null for none.
     */
    EngineDriver(
        final int workers,
        final int maxBatchRequests,
        final int accounts,
        final String profile,
        final ReplyListener observer)
    {
        this(workers, maxBatchRequests, accounts, profile, observer, null);
    }

    /**
     * As above, with the engine threads' idle strategy.
     *
     * @param idleStrategy the engine's idle strategies (batcher, workers); null for the engine default.
     */
    EngineDriver(
        final int workers,
        final int maxBatchRequests,
        final int accounts,
        final String profile,
        final ReplyListener observer,
        final Supplier<IdleStrategy> idleStrategy)
    {
        this(workers, maxBatchRequests, accounts, profile, observer, idleStrategy, null);
    }

    /**
     * As above, journaling to a data directory (the replay ratio writes its journal this way).
     *
     * @param journal the engine's journal settings; null for none (the engine default).
     */
    EngineDriver(
        final int workers,
        final int maxBatchRequests,
        final int accounts,
        final String profile,
        final ReplyListener observer,
        final Supplier<IdleStrategy> idleStrategy,
        final Journal.Context journal)
    {
        this(workers, maxBatchRequests, accounts, profile, observer, idleStrategy, journal, null);
    }

    /**
     * As above; with a transport ("udp" or "ipc") the engine is a PRIMARY paired with a
     * {@link BackupReplica} in this process before the constructor returns.
     *
     * @param replicaTransport null for a standalone engine.
     */
    EngineDriver(
        final int workers,
        final int maxBatchRequests,
        final int accounts,
        final String profile,
        final ReplyListener observer,
        final Supplier<IdleStrategy> idleStrategy,
        final Journal.Context journal,
        final String replicaTransport)
    {
        this(workers, maxBatchRequests, accounts, profile, observer, idleStrategy, journal, replicaTransport, false);
    }

    /**
     * As above, with the engine's worker pinning.
     *
     * @param pinCpus {@link Engine.Context#pinCpus(boolean)} of the engine (not of a backup replica): worker i
     *                asks for CPU i, best effort.
     */
    EngineDriver(
        final int workers,
        final int maxBatchRequests,
        final int accounts,
        final String profile,
        final ReplyListener observer,
        final Supplier<IdleStrategy> idleStrategy,
        final Journal.Context journal,
        final String replicaTransport,
        final boolean pinCpus)
    {
        this.requests = new SmallBankRequests(SmallBankRequests.DEFAULT_COUNT, accounts, profile);
        this.window = 2 * maxBatchRequests;
        this.accounts = accounts;
        this.observer = observer;
        final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
        final Engine.Context context = new Engine.Context();
        if (null != idleStrategy)
        {
            context.idleStrategy(idleStrategy);
        }
        if (null != journal)
        {
            context.journal(journal);
        }
        this.backupReplica = null == replicaTransport ? null :
            new BackupReplica(replicaTransport, workers, maxBatchRequests, accounts, idleStrategy);
        if (null != backupReplica)
        {
            context.role(Engine.Role.PRIMARY).link(backupReplica.primaryLink());
        }
        this.engine = Engine.launch(context
            .store(SmallBank.storeContext(accounts, maxBatchRequests))
            .registry(registry)
            .workers(workers)
            .pinCpus(pinCpus)
            .maxBatchRequests(maxBatchRequests)
            .initializer((store, writer) ->
                initialTotalCents[0] = SmallBankLoader.load(store, writer, accounts, SmallBankRequests.SEED)));
        engine.registerClient(CLIENT_ID, this::onReply);
        if (null != backupReplica)
        {
            backupReplica.awaitPaired(engine);
        }
    }

    private void onReply(
        final long clientId,
        final long requestId,
        final int type,
        final long batchSeq,
        final DirectBuffer reply,
        final int offset,
        final int length)
    {
        if (null != observer)
        {
            observer.onReply(clientId, requestId, type, batchSeq, reply, offset, length);
        }
        replied.lazySet(replied.get() + 1); // one writer: the batcher thread
    }

    /**
     * Submits the next {@code count} requests, at most {@code window} outstanding, and waits until
     * all of their replies arrived.
     *
     * @param count requests.
     * @return requests replied so far.
     * @throws IllegalStateException if a submit is rejected or the engine failed.
     */
    long run(final int count)
    {
        final long target = submitted + count;
        long repliedSeen = replied.get(); // re-read only when the window looks full: less cache-line traffic
        int spins = 0;
        while (submitted < target)
        {
            if (submitted - repliedSeen >= window)
            {
                repliedSeen = replied.get();
            }
            if (submitted - repliedSeen < window)
            {
                submit(CLIENT_ID, submitted, submitted);
                submitted++;
                spins = 0;
            }
            else
            {
                spins = idle(spins);
            }
        }
        awaitReplies(target);
        return target;
    }

    /**
     * Submits request {@code sequence} of the sequence under the given client and request id.
     *
     * @throws IllegalStateException if the engine rejects it.
     */
    void submit(final int clientId, final long requestId, final long sequence)
    {
        final int result = trySubmit(clientId, requestId, sequence);
        if (Engine.SUBMITTED != result)
        {
            throw new IllegalStateException("request " + requestId + " " + Engine.describeSubmit(result));
        }
    }

    /**
     * Offers request {@code sequence} of the sequence under the given client and request id.
     *
     * @return {@link Engine#SUBMITTED} or the engine's reason for rejecting it.
     */
    int trySubmit(final int clientId, final long requestId, final long sequence)
    {
        return engine.submit(clientId, requestId, requests.typeId(sequence), requests.payloads(),
            requests.offset(sequence), requests.length(sequence));
    }

    /**
     * Waits, spinning then yielding, until {@code target} replies of {@code CLIENT_ID} arrived.
     *
     * @throws IllegalStateException if the engine failed meanwhile.
     */
    void awaitReplies(final long target)
    {
        int spins = 0;
        while (replied.get() < target)
        {
            spins = idle(spins);
        }
    }

    private int idle(final int spins)
    {
        if (spins < SPINS_BEFORE_YIELD)
        {
            Thread.onSpinWait();
        }
        else
        {
            Thread.yield();
            if (null != engine.failure())
            {
                throw new IllegalStateException("engine failed: " + engine.failure(), engine.failure());
            }
        }
        return spins + 1;
    }

    /**
     * @return replies of {@code CLIENT_ID} so far.
     */
    long replied()
    {
        return replied.get();
    }

    Engine engine()
    {
        return engine;
    }

    SmallBankRequests requests()
    {
        return requests;
    }

    int window()
    {
        return window;
    }

    /**
     * @return the sum of all balances now; only while the engine is idle.
     */
    long totalMoneyCents()
    {
        return SmallBankOracle.totalMoney(engine.reader(), accounts);
    }

    /**
     * @return the sum of all balances after the load.
     */
    long initialTotalCents()
    {
        return initialTotalCents[0];
    }

    public void close()
    {
        engine.close();
        if (null != backupReplica)
        {
            backupReplica.close();
        }
    }
}
