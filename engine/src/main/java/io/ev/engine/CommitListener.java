/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.pipeline.Batch;

/**
 * Observes every committed batch on the batcher thread, before its replies are released: for
 * oracles, recorders and (later) the journal's commit marker. Must not keep the batch.
 */
@FunctionalInterface
public interface CommitListener
{
    /**
     * @param batch the committed batch: requests, phases and replies.
     * @param root  the state root after the batch.
     */
    void onCommit(Batch batch, long root);
}
