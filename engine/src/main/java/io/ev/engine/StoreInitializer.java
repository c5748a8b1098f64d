/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.store.StateStore;
import io.ev.store.StoreWriter;

/**
 * Loads initial state before the engine accepts requests, committing its own batches; the engine
 * then numbers its batches from {@code store.lastCommittedSeq() + 1}.
 */
@FunctionalInterface
public interface StoreInitializer
{
    /**
     * @param store  the engine's store, no batch open.
     * @param writer a writer for the load (not used afterwards).
     */
    void initialize(StateStore store, StoreWriter writer);
}
