/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.ev.engine.ClientTable;
import io.ev.engine.Recovery;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.journal.Journal;
import io.ev.journal.JournalException;
import io.ev.pipeline.Batch;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.concurrent.UnsafeBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/ev replay}: recovers a data directory's state the way a restarting node does (newest
 * valid checkpoint, then every later journaled batch executed sequentially, each token checked
 * against its commit marker), checks the SmallBank invariants and prints what it did. Read-only:
 * it appends nothing (a restarting node, unlike this, records the torn tail it skipped and commits
 * journaled-but-uncommitted batches). Fails while a node holds the directory.
 * <p>
 * Invariants: every replayed token equals its commit marker; conservation over the replayed
 * history (money at the checkpoint + the deltas of every replayed reply = money at the end); when
 * replay starts from the initial checkpoint, the money there equals what the loader put in.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = "Recover a data directory, verify every token and the SmallBank invariants, print the digest.")
public final class ReplayCommand implements Callable<Integer>
{
    @Option(names = "--data", required = true, description = "data directory written by bin/ev node or demo")
    Path data;

    @Option(names = "--json", description = "print the result as one JSON object on stdout")
    boolean json;

    public Integer call()
    {
        final Replayed replayed = replay(data);
        final Recovery.Report report = replayed.report();
        final PrintStream out = System.out;
        if (json)
        {
            out.printf(Locale.ROOT, "{\"stateDigest\":\"%016x\",\"batchesReplayed\":%d,\"requestsReplayed\":%d," +
                "\"recoverySeconds\":%.3f,\"checkpointSeconds\":%.3f,\"replayRequestsPerSec\":%.1f," +
                "\"tokensVerified\":%d,\"uncommittedBatches\":%d,\"checkpointSeq\":%d,\"checkpoint\":\"%s\"," +
                "\"tornTail\":%s,\"skippedCheckpoints\":%d,\"invariants\":{\"tokens\":true,\"conservation\":%b}}%n",
                report.root(), report.batchesReplayed(), report.requestsReplayed(), replayed.seconds(),
                report.checkpointSeconds(), report.requestsReplayed() / Math.max(1e-9, report.seconds()),
                report.tokensVerified(), report.uncommittedBatches(), report.checkpointSeq(),
                jsonEscape(String.valueOf(report.checkpoint())),
                null == report.tornTailWarning() ? "null" : "\"" + jsonEscape(report.tornTailWarning()) + "\"",
                report.warnings().size(), replayed.conservation());
        }
        else
        {
            for (final String warning : report.warnings())
            {
                out.println("warning: " + warning);
            }
            if (null != report.tornTailWarning())
            {
                out.println("warning: " + report.tornTailWarning());
            }
            out.println(describe(report));
            out.printf(Locale.ROOT, "stateDigest       %016x%n", report.root());
            out.printf(Locale.ROOT, "batchesReplayed   %d (tokens verified %d, uncommitted %d)%n",
                report.batchesReplayed(), report.tokensVerified(), report.uncommittedBatches());
            out.printf(Locale.ROOT, "requestsReplayed  %d%n", report.requestsReplayed());
            out.printf(Locale.ROOT, "recoverySeconds   %.3f (checkpoint load %.3f s)%n", replayed.seconds(),
                report.checkpointSeconds());
            out.printf(Locale.ROOT, "invariants        tokens ok, conservation %s (money at checkpoint %d + " +
                "deltas %d vs %d)%n", replayed.conservation() ? "ok" : "FAILED", replayed.totalAtCheckpoint(),
                replayed.sumOfDeltas(), replayed.totalAtEnd());
        }
        return replayed.conservation() ? 0 : EvCli.EXIT_INVARIANT_FAILED;
    }

    /**
     * Recovers {@code data} read-only (as {@link #call()} does) and checks its invariants.
     *
     * @throws SmallBankNode.DataDirectoryException if it cannot be recovered (a token differs from its commit
     *                                              marker, damage, nothing to replay).
     */
    static Replayed replay(final Path data)
    {
        final SmallBankNode node = SmallBankNode.read(data);
        try (StateStore store = StateStore.open(node.storeContext().writers(2));
            Journal journal = Journal.open(new Journal.Context().dir(data)))
        {
            if (Recovery.isFresh(journal))
            {
                throw new SmallBankNode.DataDirectoryException(data + " holds no checkpoint and no journal " +
                    "entry: its node stopped before it finished starting and never acknowledged a request; " +
                    "nothing to replay");
            }
            final StoreWriter writer = store.newWriter();
            final SmallBankOracle oracle = new SmallBankOracle(0);
            final UnsafeBuffer reply = new UnsafeBuffer(0, 0);
            final long start = System.nanoTime();
            final Recovery recovery = new Recovery(store, writer, journal, node.registry(), node.maxBatchRequests,
                (Batch batch, long root) ->
                {
                    for (int i = 0; i < batch.count(); i++)
                    {
                        batch.wrapReply(reply, i);
                        oracle.onCommittedReply(reply, 0, batch.replyLength(i));
                    }
                });
            final long fromIndex = recovery.loadCheckpoint();
            final long totalAtCheckpoint = SmallBankOracle.totalMoney(writer, node.accounts);
            final Recovery.Report report = recovery.replay(fromIndex);
            final double seconds = (System.nanoTime() - start) / 1e9;
            final long total = SmallBankOracle.totalMoney(writer, node.accounts);
            final long lastRequestId = node.deduplicate ? ClientTable.lastRequestId(writer, NodeCommand.CLIENT_ID,
                new UnsafeBuffer(new byte[SmallBank.MAX_VALUE_BYTES])) : ClientTable.NO_REQUEST;
            return new Replayed(report, seconds, totalAtCheckpoint, oracle.sumOfDeltasCents(), total,
                SmallBankOracle.conserves(totalAtCheckpoint, oracle.sumOfDeltasCents(), total), lastRequestId);
        }
        catch (final JournalException ex)
        {
            throw new SmallBankNode.DataDirectoryException("cannot recover " + data + ": " + ex.getMessage());
        }
    }

    /**
     * What {@link #replay(Path)} found.
     *
     * @param report            the recovery's report (state digest, requests in state, tokens verified, ...).
     * @param seconds           the whole replay's wall time.
     * @param totalAtCheckpoint money at the checkpoint replay started from.
     * @param sumOfDeltas       money moved by the replayed replies.
     * @param totalAtEnd        money at the end.
     * @param conservation      whether the money adds up.
     * @param lastRequestId     the driving client's (id 0) last executed request id, or
     *                          {@link ClientTable#NO_REQUEST} (none, or no deduplication).
     */
    record Replayed(
        Recovery.Report report,
        double seconds,
        long totalAtCheckpoint,
        long sumOfDeltas,
        long totalAtEnd,
        boolean conservation,
        long lastRequestId)
    {
    }

    static String describe(final Recovery.Report report)
    {
        return String.format(Locale.ROOT, "recovered from %s (after batch %d): replayed %d batches, %d requests in " +
            "%.3f s; %d journaled-but-uncommitted batches re-executed%s", report.checkpoint(), report.checkpointSeq(),
            report.batchesReplayed(), report.requestsReplayed(), report.seconds(), report.uncommittedBatches(),
            null == report.tornTailWarning() ? "" : "; " + report.tornTailWarning());
    }

    static String json(final Recovery.Report report)
    {
        return String.format(Locale.ROOT, "{\"checkpointSeq\":%d,\"batchesReplayed\":%d,\"requestsReplayed\":%d," +
            "\"uncommittedBatches\":%d,\"seconds\":%.3f,\"tornTail\":%b}", report.checkpointSeq(),
            report.batchesReplayed(), report.requestsReplayed(), report.uncommittedBatches(), report.seconds(),
            null != report.tornTailWarning());
    }

    private static String jsonEscape(final String text)
    {
        return text.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
