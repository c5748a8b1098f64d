/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.ev.journal.Journal;
import io.ev.store.StateStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recovery after a state transfer that took a replica back: a former primary restarted as a backup recovers
 * batches its new primary never committed (journaled and committed by its recovery, or committed alone during a
 * partition), then rejoins by page sync to the primary's lower seq and checkpoints the transferred state
 * ({@code EngineReplica.adoptCommittedSeq}). That checkpoint is tagged with the journal index of the last entry,
 * the commit marker of an abandoned batch above the checkpoint's seq; recovery starts reading at that index and
 * must take the marker as covered by the checkpoint, not as damage (found by {@code bin/ev soak} and
 * {@code LinkFaultProcessTest}: the rejoined replica's data directory could not be recovered, CORRUPT, until its
 * next checkpoint).
 */
class AdoptedStateRecoveryTest
{
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldRecoverFromACheckpointOfATransferredStateBehindTheJournal() throws Exception
    {
        try (Engine engine = Engine.launch(context()))
        {
            JournalRecoveryTest.drive(engine, 3_000, 0);
        }
        final Engine.Context ctx = context();
        final long adoptedSeq;
        final long adoptedRoot;
        try (StateStore store = StateStore.open(ctx.store());
            Journal journal = Journal.open(new Journal.Context().dir(dir)))
        {
            final Recovery.Report report = new Recovery(store, store.newWriter(), journal, ctx.registry(),
                ctx.maxBatchRequests(), null).recover();
            assertTrue(report.lastSeq() >= 2, "several batches journaled: " + report.lastSeq());
            // the page sync's end: the peer's state as of one batch earlier (here the same records, relabelled),
            // checkpointed; the journal still ends with the commit marker of the batch above it
            adoptedSeq = report.lastSeq() - 1;
            store.adoptCommittedSeq(adoptedSeq);
            journal.checkpoints().take(store, report.requestsInState() - 1, false);
            adoptedRoot = store.root();
        }
        final long rootAfter;
        try (Engine engine = Engine.launch(context()))
        {
            final Recovery.Report report = engine.recoveryReport();
            assertEquals(adoptedSeq, report.checkpointSeq(), "recovered from the adopted state's checkpoint");
            assertEquals(0, report.batchesReplayed(), "nothing of the abandoned history replayed");
            assertEquals(adoptedRoot, engine.root());
            JournalRecoveryTest.drive(engine, 500, 3_000); // the next batches have the abandoned ones' seqs
            rootAfter = engine.root();
        }
        try (Engine engine = Engine.launch(context()))
        {
            assertEquals(rootAfter, engine.root(), "the new history after the adopted state recovers");
        }
    }

    private Engine.Context context()
    {
        return JournalRecoveryTest.context(1, new Journal.Context().dir(dir)).checkpointIntervalRequests(0);
    }
}
