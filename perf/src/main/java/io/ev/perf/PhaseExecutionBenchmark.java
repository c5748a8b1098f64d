/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeyConflictMixer;
import io.ev.pipeline.ParallelExecutor;
import io.ev.pipeline.PhaseExecutor;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
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
 * The engine's execution stage on its own: one mixed batch of {@value #BATCH_REQUESTS} SmallBank requests
 * executed phase by phase with {@code workers} workers, as {@link io.ev.engine.Engine} picks its executor:
 * one worker runs the batch on the calling thread ({@link SequentialExecutor}, phases ignored), more run a
 * {@link ParallelExecutor} (the benchmark thread is the coordinator: it publishes each phase and waits at
 * the phase barrier). The handler is SmallBank's {@link TransactionRegistry}, on a store loaded with
 * {@code accounts} customers. Score: requests per second.
 * <p>
 * Each invocation: an untimed invocation-level setup begins store batch {@code seq}, fills the batch with
 * the next {@value #BATCH_REQUESTS} requests of the pre-generated sequence and mixes it
 * ({@link KeyConflictMixer}, {@code MixerBenchmark}'s subject); the timed method is
 * {@link PhaseExecutor#execute} alone; an untimed teardown seals and commits. One batch takes about a
 * millisecond, so {@code Level.Invocation}'s per-call timestamps are negligible. Compared with
 * {@code EngineBenchmark} this leaves out the ring, the client, the batcher's drain, the seal and the
 * replies: the difference is what they cost.
 * <p>
 * {@code -p pin=true} asks OpenHFT Affinity (through {@link ParallelExecutor.Context#pinCpus(boolean)}) to pin
 * worker i to CPU i, best effort; the CPUs the workers got are printed at the end of the trial. Off by
 * default. {@code workers} above the available processors still run and are marked oversubscribed
 * ({@link HostCpus}).
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xms1g", "-Xmx1g" })
@State(Scope.Thread)
public class PhaseExecutionBenchmark
{
    /** Requests per batch: the engine's default batch bound. */
    public static final int BATCH_REQUESTS = 1024;

    /** Worker threads: 1 executes on the benchmark thread, more use the parallel phase executor. */
    @Param({ "1", "2", "4", "8", "16" })
    int workers;

    /** WORKLOADS.md profile: uniform (p = 0) or contended (H = 100, p = 0.9). */
    @Param({ "uniform", "contended" })
    String profile;

    /** SmallBank customers. */
    @Param({ "100000" })
    int accounts;

    /** Pin worker i to CPU i (best effort, OpenHFT Affinity); only with more than one worker. */
    @Param({ "false" })
    boolean pin;

    /** Workers claim requests from a shared counter instead of round-robin shares (ParallelExecutor.Context). */
    @Param({ "false" })
    boolean claim;

    private final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
    private final KeyConflictMixer mixer = new KeyConflictMixer(BATCH_REQUESTS);
    private StateStore store;
    private PhaseExecutor executor;
    private SmallBankRequests requests;
    private Batch batch;
    private long cursor;
    private long seq;
    private long phases;
    private long batches;

    /**
     * Opens and loads the store and starts the workers.
     */
    @Setup(Level.Trial)
    public void setUpTrial()
    {
        BenchmarkMain.requireJvmOptions();
        HostCpus.announce("PhaseExecutionBenchmark", workers, pin);
        requests = new SmallBankRequests(SmallBankRequests.DEFAULT_COUNT, accounts, profile);
        batch = new Batch(BATCH_REQUESTS, registry.maxPayloadBytes(), registry.maxReplyBytes());
        store = StateStore.open(SmallBank.storeContext(accounts, BATCH_REQUESTS).writers(workers + 1));
        try
        {
            final StoreWriter writer = store.newWriter();
            SmallBankLoader.load(store, writer, accounts, SmallBankRequests.SEED);
            executor = 1 == workers ? new SequentialExecutor(writer) :
                new ParallelExecutor(store, new ParallelExecutor.Context().workers(workers).pinCpus(pin)
                    .claimPositions(claim));
        }
        catch (final RuntimeException ex)
        {
            store.close();
            throw ex;
        }
        seq = store.lastCommittedSeq() + 1;
    }

    /**
     * Reports the phases per batch and the CPUs of pinned workers, stops the workers and frees the store.
     */
    @TearDown(Level.Trial)
    public void tearDownTrial()
    {
        try
        {
            System.out.printf(Locale.ROOT, "%sPhaseExecutionBenchmark %.2f phases per batch over %d batches%s%n",
                HostCpus.LINE_PREFIX, (double)phases / Math.max(1, batches), batches, pinnedCpus());
            executor.close();
        }
        finally
        {
            store.close();
        }
    }

    private String pinnedCpus()
    {
        if (!(executor instanceof ParallelExecutor) || !pin)
        {
            return "";
        }
        final ParallelExecutor parallel = (ParallelExecutor)executor;
        final int[] cpus = new int[parallel.workers()];
        for (int i = 0; i < cpus.length; i++)
        {
            cpus[i] = parallel.pinnedCpu(i);
        }
        return "; workers pinned to CPUs " + Arrays.toString(cpus) + " (" + ParallelExecutor.NOT_PINNED +
            ": not pinned)";
    }

    /**
     * Untimed: begins store batch {@code seq}, fills the batch with the next requests and mixes it.
     */
    @Setup(Level.Invocation)
    public void fillAndMix()
    {
        store.begin(seq);
        batch.reset(seq);
        for (int i = 0; i < BATCH_REQUESTS; i++)
        {
            final long sequence = cursor++;
            batch.add(0, sequence, requests.typeId(sequence), requests.payloads(), requests.offset(sequence),
                requests.length(sequence));
        }
        mixer.mix(batch, registry);
        phases += batch.phaseCount();
        batches++;
    }

    /**
     * Executes the batch.
     *
     * @return the last request's reply length.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH_REQUESTS)
    public int execute()
    {
        executor.execute(batch, registry);
        return batch.replyLength(BATCH_REQUESTS - 1);
    }

    /**
     * Untimed: seals and commits the executed batch.
     */
    @TearDown(Level.Invocation)
    public void sealAndCommit()
    {
        store.seal(seq);
        store.commit(seq);
        seq++;
    }

    /**
     * @return batches executed so far (tests).
     */
    long batches()
    {
        return batches;
    }

    /**
     * @return the store (tests).
     */
    StateStore store()
    {
        return store;
    }
}
