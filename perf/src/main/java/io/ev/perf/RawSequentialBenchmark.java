/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.concurrent.TimeUnit;

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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The baseline of {@link EngineBenchmark}: the same pre-generated SmallBank requests executed by the
 * benchmark thread alone, straight through {@code TransactionRegistry.execute} on one store writer,
 * in batches of {@code maxBatchRequests} (begin, execute each, seal, commit) over a store of the same
 * size: the classic single-threaded state machine over our store. Score: requests per second.
 * {@code -prof gc} gives bytes per request.
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xms2g", "-Xmx2g" })
@State(Scope.Benchmark)
public class RawSequentialBenchmark
{
    /** Requests per batch, as the engine's batch bound. */
    @Param({ "1024" })
    int maxBatchRequests;

    /** WORKLOADS.md profile: uniform or contended. */
    @Param({ "uniform", "contended" })
    String profile;

    /** SmallBank customers. */
    @Param({ "100000" })
    int accounts;

    private RawSequential raw;

    /**
     * Opens and loads the store.
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        BenchmarkMain.requireJvmOptions();
        raw = new RawSequential(accounts, profile, maxBatchRequests);
    }

    /**
     * Closes the store.
     */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        raw.close();
    }

    /**
     * @return requests executed so far.
     */
    @Benchmark
    @OperationsPerInvocation(EngineBenchmark.REQUESTS_PER_INVOCATION)
    public long execute()
    {
        return raw.execute(EngineBenchmark.REQUESTS_PER_INVOCATION);
    }
}
