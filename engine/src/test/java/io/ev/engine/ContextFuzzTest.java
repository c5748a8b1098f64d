/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.engine.apps.SmallBank;
import io.ev.replication.ReplicationSettings;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Arbitrary values given to the embedding API's settings (docs/RELIABILITY.md, "Bad input"):
 * {@link Engine.Context} and {@link ReplicationSettings}, validated once in {@code conclude()}. Either every
 * setting is accepted, or {@link IllegalArgumentException} names a setting given a value and says what it
 * must be; no other exception.
 * <p>
 * jqwik prints the seed of a failing run; rerun it with {@code -Dev.fuzz.seed=<seed>}, and run more tries
 * with {@code -Dev.fuzz.tries=N} ({@link FuzzTries}).
 */
@AddLifecycleHook(FuzzTries.class)
class ContextFuzzTest
{
    private static final String[] ENGINE_SETTINGS = {"workers", "maxBatchRequests", "ringCapacity", "maxClients",
        "submitTimeoutNs", "closeTimeoutNs", "epoch", "verifyTimeoutNs", "checkpointIntervalRequests",
        "checkpointMaxCaptureBytes"};
    private static final String[] REPLICATION_SETTINGS = {"retransmitNs", "heartbeatNs", "peerTimeoutNs",
        "maxSyncFrameBytes", "syncPagesPerRequest", "maxInFlightBatches"};

    @Property(tries = 300)
    void shouldAcceptOrNameTheSettingThatIsWrong(
        @ForAll("values") final long workers, @ForAll("values") final long batch, @ForAll("values") final long ring,
        @ForAll("values") final long clients, @ForAll("values") final long submitNs,
        @ForAll("values") final long closeNs, @ForAll("values") final long epoch, @ForAll("values") final long verifyNs,
        @ForAll("values") final long interval, @ForAll("values") final long capture,
        @ForAll("values") final long retransmitNs, @ForAll("values") final long heartbeatNs,
        @ForAll("values") final long peerTimeoutNs, @ForAll("values") final long syncFrame,
        @ForAll("values") final long syncPages, @ForAll("values") final long inFlight)
    {
        final ReplicationSettings replication = new ReplicationSettings()
            .retransmitNs(retransmitNs).heartbeatNs(heartbeatNs).peerTimeoutNs(peerTimeoutNs)
            .maxSyncFrameBytes((int)syncFrame).syncPagesPerRequest((int)syncPages).maxInFlightBatches((int)inFlight);
        final Engine.Context ctx = new Engine.Context()
            .store(SmallBank.storeContext(10, 16))
            .registry(SmallBank.registerAll(new TransactionRegistry(), false))
            .workers((int)workers).maxBatchRequests((int)batch).ringCapacity((int)ring).maxClients((int)clients)
            .submitTimeoutNs(submitNs).closeTimeoutNs(closeNs).epoch(epoch).verifyTimeoutNs(verifyNs)
            .checkpointIntervalRequests(interval).checkpointMaxCaptureBytes(capture)
            .replication(replication);
        try
        {
            ctx.conclude();
        }
        catch (final IllegalArgumentException ex)
        {
            final String message = ex.getMessage();
            boolean named = false;
            for (final String setting : ENGINE_SETTINGS)
            {
                named |= message.startsWith("engine setting " + setting + " ");
            }
            for (final String setting : REPLICATION_SETTINGS)
            {
                named |= message.startsWith("replication setting " + setting + " ");
            }
            assertTrue(named, message);
            assertTrue(message.contains(" must be ") || message.contains(" outside ") || message.contains(" needs "),
                message);
        }
    }

    @Provide
    Arbitrary<Long> values()
    {
        return Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.longs().between(1, 64)),
            Tuple.of(2, Arbitraries.of(0L, -1L, 1L << 16, 1L << 20, 1_000_000L, 100_000_000L,
                (long)Integer.MAX_VALUE, (long)Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE)),
            Tuple.of(1, Arbitraries.longs()));
    }
}
