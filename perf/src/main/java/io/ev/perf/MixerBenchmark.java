/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.concurrent.TimeUnit;

import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One stage of the engine's batcher on its own: {@link KeyConflictMixer#mix} of a full batch of
 * {@value #BATCH_REQUESTS} SmallBank requests (key declaration, conflict map, phase grouping), in ns
 * per request. With one worker the engine still mixes every batch although its sequential executor
 * ignores the phases: this is the part of the engine's per-request overhead over the raw loop that
 * the mixer accounts for.
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = { "-Xms1g", "-Xmx1g" })
@State(Scope.Benchmark)
public class MixerBenchmark
{
    /** Requests in the mixed batch, as the engine's default batch bound. */
    public static final int BATCH_REQUESTS = 1024;

    /** WORKLOADS.md profile: uniform or contended. */
    @Param({ "uniform", "contended" })
    String profile;

    /** SmallBank customers. */
    @Param({ "100000" })
    int accounts;

    private final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
    private final KeyConflictMixer mixer = new KeyConflictMixer(BATCH_REQUESTS);
    private Batch batch;

    /**
     * Fills one batch with the first requests of the benchmark sequence.
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        BenchmarkMain.requireJvmOptions();
        final SmallBankRequests requests = new SmallBankRequests(BATCH_REQUESTS, accounts, profile);
        batch = new Batch(BATCH_REQUESTS, registry.maxPayloadBytes(), registry.maxReplyBytes());
        batch.reset(1);
        for (int i = 0; i < BATCH_REQUESTS; i++)
        {
            batch.add(0, i, requests.typeId(i), requests.payloads(), requests.offset(i), requests.length(i));
        }
    }

    /**
     * @return phases of the mixed batch.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH_REQUESTS)
    public int mix()
    {
        mixer.mix(batch, registry);
        return batch.phaseCount();
    }
}
