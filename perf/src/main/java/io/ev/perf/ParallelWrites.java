/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import io.ev.pipeline.Batch;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.ParallelExecutor;
import io.ev.pipeline.PermissiveMixer;
import io.ev.pipeline.PhaseExecutor;
import io.ev.pipeline.Request;
import io.ev.pipeline.RequestHandler;
import io.ev.pipeline.SequentialExecutor;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.perf.StoreFixtures.VALUE_BYTES;

/**
 * Overwrites a set of keys inside the open store batch with {@code workers} writers, the way the engine's
 * workers write: with one worker on the calling thread ({@link SequentialExecutor}, as the engine runs one
 * worker), with more on the threads of a {@link ParallelExecutor}, each through its own {@link StoreWriter}
 * (so each has its own undo log), the keys dealt round-robin. Each key is one request of a {@link Batch} whose
 * payload is the key and the new value; all requests are in one phase ({@link PermissiveMixer}: the keys are
 * distinct). The seal and rollback benchmarks use it, untimed, to leave pages dirtied and undo logs filled by
 * N writers on N threads before their timed seal or rollback on the calling (coordinator) thread.
 * Not thread safe: one coordinator thread calls {@link #write}.
 */
final class ParallelWrites implements AutoCloseable
{
    private static final int KEY_OFFSET = 0;
    private static final int VALUE_OFFSET = KEY_OFFSET + Long.BYTES;
    private static final int PAYLOAD_BYTES = VALUE_OFFSET + VALUE_BYTES;
    private static final int VERSION_OFFSET = Long.BYTES;

    private final Batch batch;
    private final PhaseExecutor executor;
    private final PermissiveMixer mixer = new PermissiveMixer();
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[PAYLOAD_BYTES]);
    private final RequestHandler handler = new KeyValueHandler();

    /**
     * @param store    the store; {@code workers - 1} more writers are taken from it for good when
     *                 {@code workers > 1} (so open it with {@code writers(workers + 1)} if {@code writer} is one).
     * @param writer   the writer of the calling thread, used when {@code workers == 1}.
     * @param workers  writers, in [1, {@link ParallelExecutor#MAX_WORKERS}].
     * @param maxKeys  most keys written by one {@link #write}.
     */
    ParallelWrites(final StateStore store, final StoreWriter writer, final int workers, final int maxKeys)
    {
        this.batch = new Batch(maxKeys, PAYLOAD_BYTES, 0);
        this.executor = 1 == workers ? new SequentialExecutor(writer) :
            new ParallelExecutor(store, new ParallelExecutor.Context().workers(workers));
        final UnsafeBuffer value = StoreFixtures.newValue();
        payload.putBytes(VALUE_OFFSET, value, 0, VALUE_BYTES);
    }

    /**
     * Writes {@code keys[from, from + count)} in open batch {@code seq}, every value carrying {@code version}
     * (so that record hashes and page digests really change), and returns once every write is visible to the
     * caller.
     */
    void write(final long seq, final long[] keys, final int from, final int count, final long version)
    {
        batch.reset(seq);
        payload.putLong(VALUE_OFFSET + VERSION_OFFSET, version);
        for (int i = 0; i < count; i++)
        {
            payload.putLong(KEY_OFFSET, keys[from + i]);
            batch.add(0, i, 0, payload, 0, PAYLOAD_BYTES);
        }
        mixer.mix(batch, handler);
        executor.execute(batch, handler);
    }

    public void close()
    {
        executor.close();
    }

    /**
     * Puts the request's value under its key.
     */
    private static final class KeyValueHandler implements RequestHandler
    {
        public void declareKeys(final Request request, final KeySink keys)
        {
            keys.write(request.payload().getLong(KEY_OFFSET));
        }

        public int execute(
            final Request request,
            final long seq,
            final StoreWriter writer,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            writer.put(seq, request.payload().getLong(KEY_OFFSET), request.payload(), VALUE_OFFSET, VALUE_BYTES);
            return 0;
        }
    }
}
