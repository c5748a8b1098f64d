/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.jcstress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import io.ev.pipeline.Batch;
import io.ev.pipeline.SequentialExecutor;
import io.ev.pipeline.SteppedExecutor;
import io.ev.store.ConcurrentSnapshot;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static io.ev.perf.jcstress.StressFixtures.ABSENT;
import static io.ev.perf.jcstress.StressFixtures.AFTER_UPDATE_INSERT_DELETE;
import static io.ev.perf.jcstress.StressFixtures.BEFORE;
import static io.ev.perf.jcstress.StressFixtures.CURRENT;
import static io.ev.perf.jcstress.StressFixtures.HANDLER;
import static io.ev.perf.jcstress.StressFixtures.K1;
import static io.ev.perf.jcstress.StressFixtures.K2;
import static io.ev.perf.jcstress.StressFixtures.K3;
import static io.ev.perf.jcstress.StressFixtures.K4;
import static io.ev.perf.jcstress.StressFixtures.OLD1;
import static io.ev.perf.jcstress.StressFixtures.OLD2;
import static io.ev.perf.jcstress.StressFixtures.OLD3;
import static io.ev.perf.jcstress.StressFixtures.OTHER;
import static io.ev.perf.jcstress.StressFixtures.UPDATE_INSERT_DELETE;
import static io.ev.perf.jcstress.StressFixtures.classify;
import static io.ev.perf.jcstress.StressFixtures.digests;
import static io.ev.perf.jcstress.StressFixtures.valueOf;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A concurrent snapshot's scan racing a worker. A snapshot of batch 0 begins; the worker executes batch 1 (update
 * {@code K1}, insert {@code K4}, delete {@code K3}) while the scan thread reads the store's records (it may meet any
 * mixture of batch 0 and batch 1). The arbiter is the coordinator afterwards: it seals and commits batch 1 (the
 * commit hands the undo log's pre-images to the snapshot), freezes the snapshot, finishes it, and imports the file
 * back, which verifies that its records reproduce batch 0's root. Result: records the scan met (2, 3 or 4, by the
 * interleaving), the finished snapshot's root, then after the import the values of K1..K4 and the page digests
 * ({@code 1} as batch 0, {@code 3} otherwise or a failure).
 */
@JCStressTest
@Description("Snapshot scan vs worker: copy-on-write through the undo log gives exactly batch 0 whatever the scan met")
@Outcome(id = "2, 1, 1, 1", expect = ACCEPTABLE, desc = "the scan met K4 before its insert, K3 after its delete")
@Outcome(id = "3, 1, 1, 1", expect = ACCEPTABLE, desc = "the scan met three live records")
@Outcome(id = "4, 1, 1, 1", expect = ACCEPTABLE, desc = "the scan met K3 before its delete, K4 after its insert")
@Outcome(expect = FORBIDDEN, desc = "the snapshot is not batch 0: a write of batch 1 leaked in, or it failed")
@State
public class SnapshotScanVersusWriter
{
    private static final Path DIRECTORY = directory();
    private static final AtomicLong FILES = new AtomicLong();

    private final StateStore store;
    private final SequentialExecutor sequential;
    private final SteppedExecutor executor;
    private final Batch batch = StressFixtures.batch(UPDATE_INSERT_DELETE);
    private final Path file = DIRECTORY.resolve("snapshot-" + FILES.incrementAndGet());
    private final ConcurrentSnapshot snapshot;

    public SnapshotScanVersusWriter()
    {
        final StateStore[] opened = new StateStore[1];
        sequential = StressFixtures.openCommitted(1, opened);
        store = opened[0];
        executor = new SteppedExecutor(store, 1);
        snapshot = store.beginConcurrentSnapshot(file, 0, 1 << 16);
        store.begin(1);
        executor.publishPhase(batch, HANDLER, 0);
    }

    private static Path directory()
    {
        try
        {
            final Path directory = Files.createTempDirectory("ev-jcstress-snapshots");
            directory.toFile().deleteOnExit();
            return directory;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    @Actor
    public void worker()
    {
        executor.doWork(0);
    }

    @Actor
    public void scanner()
    {
        snapshot.scan();
    }

    @Arbiter
    public void coordinator(final IIII_Result r)
    {
        try
        {
            r.r1 = (int)snapshot.scannedRecords();
            executor.checkFailures(batch, 0);
            store.seal(1);
            store.commit(1);
            store.freezeSnapshot();
            r.r2 = classify(snapshot.finish(), BEFORE.root, AFTER_UPDATE_INSERT_DELETE.root);
            store.importSnapshot(file, BEFORE.root);
            r.r3 = values(sequential.writer());
            r.r4 = digests(store, BEFORE, AFTER_UPDATE_INSERT_DELETE);
        }
        catch (final RuntimeException ex)
        {
            r.r2 = OTHER;
        }
        finally
        {
            executor.close();
            store.close();
            sequential.close();
            try
            {
                Files.deleteIfExists(file);
            }
            catch (final IOException ignore)
            {
                // the directory is deleted on exit if empty; a leftover file there is harmless
            }
        }
    }

    private static int values(final StoreWriter reader)
    {
        return OLD1 == valueOf(reader, K1) && OLD2 == valueOf(reader, K2) && OLD3 == valueOf(reader, K3) &&
            ABSENT == valueOf(reader, K4) ? CURRENT : OTHER;
    }
}
