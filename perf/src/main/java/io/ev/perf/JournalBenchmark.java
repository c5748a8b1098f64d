/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.ev.journal.BatchEncoder;
import io.ev.journal.Durability;
import io.ev.journal.Journal;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Journal append cost (issue 4). One operation is one batch of {@code batchRequests} requests
 * (default 64) with {@code payloadBytes}-byte payloads (default 64): {@link BatchEncoder#reset}, one
 * {@link BatchEncoder#add} per request, then {@link Journal#append}; so requests/s =
 * {@code batchRequests} x the score (ops/s). Target: >= 5 million requests/s for {@link #appendBatch}.
 * <ul>
 *   <li>{@link #appendBatch}: the batch entry only;</li>
 *   <li>{@link #appendBatchAndCommit}: the batch entry and its commit marker, what the engine appends
 *       per batch; with {@code durability=POWER_LOSS} the commit marker waits for msync of everything
 *       appended, so this pair measures the cost of that durability level.</li>
 * </ul>
 * Disk use stays bounded: every measurement and warm-up iteration appends to a new journal in a new
 * temporary directory (created and opened in the iteration's setup, closed and deleted in its
 * teardown, both untimed), so at most one iteration's entries (about 6 KB a batch) exist at a time.
 * The trial's root directory ({@code java.io.tmpdir/ev-journal-bench-*}) is deleted at the end.
 * <p>
 * Not final: JMH generates subclasses of benchmark and state classes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xms1g", "-Xmx1g" })
@State(Scope.Benchmark)
public class JournalBenchmark
{
    /** Requests per batch entry. */
    @Param({ "64" })
    int batchRequests;

    /** Payload bytes of each request. */
    @Param({ "64" })
    int payloadBytes;

    /** What an acknowledged request survives; POWER_LOSS syncs at every commit marker. */
    @Param({ "PROCESS_CRASH", "POWER_LOSS" })
    String durability;

    private final BatchEncoder encoder = new BatchEncoder();
    private UnsafeBuffer payload;
    private Path root;
    private Path dir;
    private Journal journal;
    private long seq;
    private long requestId;
    private int iteration;

    /**
     * Creates the trial's root directory and the payload.
     */
    @Setup(Level.Trial)
    public void setUpTrial()
    {
        BenchmarkMain.requireJvmOptions();
        root = TempDirs.create("ev-journal-bench-");
        payload = new UnsafeBuffer(new byte[payloadBytes]);
        for (int i = 0; i < payloadBytes; i++)
        {
            payload.putByte(i, (byte)(i * 31 + 7));
        }
    }

    /**
     * Opens a new journal in a new directory.
     */
    @Setup(Level.Iteration)
    public void setUpIteration()
    {
        dir = root.resolve("iteration-" + iteration++);
        journal = Journal.open(new Journal.Context().dir(dir).durability(Durability.valueOf(durability)));
        seq = 1;
    }

    /**
     * Closes and deletes the iteration's journal.
     */
    @TearDown(Level.Iteration)
    public void tearDownIteration()
    {
        journal.close();
        TempDirs.delete(dir);
    }

    /**
     * Deletes the trial's root directory.
     */
    @TearDown(Level.Trial)
    public void tearDownTrial()
    {
        TempDirs.delete(root);
    }

    /**
     * @return the batch entry's journal index.
     */
    @Benchmark
    public long appendBatch()
    {
        encodeBatch();
        return journal.append(encoder);
    }

    /**
     * @return the commit marker's journal index.
     */
    @Benchmark
    public long appendBatchAndCommit()
    {
        final long batchSeq = encodeBatch();
        journal.append(encoder);
        return journal.appendCommit(batchSeq, batchSeq * 0x9E3779B97F4A7C15L, requestId, batchRequests);
    }

    /**
     * @return the trial's root directory (tests).
     */
    Path root()
    {
        return root;
    }

    private long encodeBatch()
    {
        final long batchSeq = seq++;
        encoder.reset(batchSeq);
        for (int i = 0; i < batchRequests; i++)
        {
            payload.putLong(0, requestId);
            encoder.add(1, requestId++, 1, 0, payload, 0, payloadBytes);
        }
        return batchSeq;
    }
}
