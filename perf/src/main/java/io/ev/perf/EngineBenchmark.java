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
 * Engine throughput, submit to reply: SmallBank ({@code accounts} customers, default 100,000,
 * profile uniform or contended) on an {@link io.ev.engine.Engine} launched once per trial. Each
 * invocation submits the next {@value #REQUESTS_PER_INVOCATION} pre-generated requests from the
 * benchmark thread, at most {@code 2 x maxBatchRequests} outstanding, and waits (spin, then yield)
 * until every reply arrived; the score is requests per second. Compare with
 * {@link RawSequentialBenchmark}, the same requests executed by one thread straight on the store,
 * but only within one JVM ({@code bin/ev ratio 9 engine}): on a noisy host the cross-fork ratio of
 * two JMH benchmarks is noise. Run with {@code -prof gc}: gc.alloc.rate.norm is bytes per request,
 * over all threads of the JVM (client, batcher, workers); target below 16 B.
 * <p>
 * {@code -p pin=true} sets {@link io.ev.engine.Engine.Context#pinCpus(boolean)}: with more than one worker,
 * worker i asks OpenHFT Affinity for CPU i (best effort; off by default). A {@code workers} value above the
 * available processors still runs and is marked oversubscribed ({@link HostCpus}); the client and the
 * batcher need two CPUs more, so the scaling curve is clean up to {@code cores - 2} workers.
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xms2g", "-Xmx2g" })
@State(Scope.Benchmark)
public class EngineBenchmark
{
    /** Requests per invocation: about ten full batches. */
    public static final int REQUESTS_PER_INVOCATION = 10_000;

    /** Engine workers; 1 executes on the batcher thread, more use the parallel phase executor. */
    @Param({ "1", "2", "4", "8", "16" })
    int workers;

    /** Largest batch; the window of outstanding requests is twice it. */
    @Param({ "1024" })
    int maxBatchRequests;

    /** WORKLOADS.md profile: uniform (p = 0) or contended (H = 100, p = 0.9). */
    @Param({ "uniform", "contended" })
    String profile;

    /** SmallBank customers. */
    @Param({ "100000" })
    int accounts;

    /** Pin worker i to CPU i (best effort, OpenHFT Affinity); only with more than one worker. */
    @Param({ "false" })
    boolean pin;

    private EngineDriver driver;

    /**
     * Launches the engine and loads SmallBank.
     */
    @Setup(Level.Trial)
    public void setUp()
    {
        BenchmarkMain.requireJvmOptions();
        HostCpus.announce("EngineBenchmark", workers, pin);
        driver = new EngineDriver(workers, maxBatchRequests, accounts, profile, null, null, null, null, pin);
    }

    /**
     * Closes the engine.
     */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        driver.close();
    }

    /**
     * @return requests replied so far.
     */
    @Benchmark
    @OperationsPerInvocation(REQUESTS_PER_INVOCATION)
    public long submitToReply()
    {
        return driver.run(REQUESTS_PER_INVOCATION);
    }
}
