/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.ev.engine.apps.KeyValueApp;
import io.ev.journal.Journal;
import io.ev.store.StateStore;
import io.ev.store.StateStoreException;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Store growth: the state store lives in memory (a Chronicle Map the engine creates without a file),
 * so a growing store never writes to the disk; its analogue of a full disk is a full store, either
 * {@code maxEntries} reached or Chronicle's memory, sized from {@code maxEntries x averageValueBytes},
 * exhausted by values far above the average. A request that needs a new entry then gets
 * {@link ReplyCodes#STORE_REJECTED}, the error names the setting, nothing of that request is written,
 * the engine goes on (updates, deletes, and inserts once a delete made room), and a restart from the
 * journal replays the refusal to the same state.
 */
class StoreFullTest
{
    private static final int CLIENT = 5;
    private static final int MAX_ENTRIES = 64;
    private static final int AVERAGE_VALUE_BYTES = 8;

    @TempDir
    Path dir;

    /**
     * Which limit the store reaches.
     */
    enum Limit
    {
        /** {@code maxEntries} entries. */
        ENTRIES(AVERAGE_VALUE_BYTES, "store holds its maximum of " + MAX_ENTRIES + " entries (setting maxEntries)"),
        /** Values 32 times the average: Chronicle's memory runs out first. */
        MEMORY(KeyValueApp.MAX_VALUE_BYTES, "(settings maxEntries, averageValueBytes");

        final int valueBytes;
        final String setting;

        Limit(final int valueBytes, final String setting)
        {
            this.valueBytes = valueBytes;
            this.setting = setting;
        }
    }

    @ParameterizedTest
    @EnumSource(Limit.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aFullStoreRejectsTheInsertWithItsSettingChangesNothingAndTheEngineGoesOn(final Limit limit)
        throws Exception
    {
        final List<Throwable> errors = new ArrayList<>();
        final long liveRoot;
        final long firstRefused;
        try (Engine engine = Engine.launch(context(errors::add)))
        {
            final FutureClient client = engine.newFutureClient(CLIENT);
            final Requests requests = new Requests(client, limit.valueBytes);
            long key = 0;
            int code = ReplyCodes.OK;
            long rootBefore = engine.root();
            while (ReplyCodes.OK == code && key <= MAX_ENTRIES)
            {
                rootBefore = engine.root();
                code = requests.put(key++);
            }
            firstRefused = key - 1;
            assertEquals(ReplyCodes.STORE_REJECTED, code, limit + ": inserted " + firstRefused + " keys");
            assertTrue(Limit.ENTRIES == limit ? MAX_ENTRIES == firstRefused : firstRefused > 0 && firstRefused <
                MAX_ENTRIES, limit + ": refused after " + firstRefused + " inserts");
            assertEquals(rootBefore, engine.root(), limit + ": the refused insert changed the state");
            assertNull(engine.failure(), "a full store does not stop the engine");
            assertEquals(1, errors.size(), String.valueOf(errors));
            final StateStoreException refusal = assertInstanceOf(StateStoreException.class, errors.get(0));
            assertEquals(StateStoreException.Reason.STORE_FULL, refusal.reason());
            assertTrue(refusal.getMessage().contains(limit.setting), refusal.getMessage());
            assertTrue(refusal.getMessage().contains("key"), refusal.getMessage());

            assertEquals(ReplyCodes.NOT_FOUND, requests.get(firstRefused), "nothing of the refused insert");
            assertEquals(ReplyCodes.STORE_REJECTED, requests.put(firstRefused + 1), "still full");
            assertEquals(ReplyCodes.OK, requests.put(0), "an update needs no new entry");
            assertEquals(ReplyCodes.OK, requests.get(0));
            assertEquals(ReplyCodes.OK, requests.delete(1), "a delete makes room");
            assertEquals(ReplyCodes.OK, requests.put(firstRefused), "an insert after the delete");
            assertEquals(ReplyCodes.OK, requests.get(firstRefused));
            assertNull(engine.failure());
            liveRoot = engine.root();
        }
        try (Engine engine = Engine.launch(context(errors::add)))
        {
            assertEquals(liveRoot, engine.root(), limit + ": the journal replays the refusals to the same state");
            assertEquals(ReplyCodes.NOT_FOUND, new Requests(engine.newFutureClient(CLIENT), limit.valueBytes)
                .get(firstRefused + 1));
        }
    }

    private Engine.Context context(final org.agrona.ErrorHandler errors)
    {
        return new Engine.Context()
            .store(new StateStore.Context().maxEntries(MAX_ENTRIES).maxValueBytes(KeyValueApp.MAX_VALUE_BYTES)
                .averageValueBytes(AVERAGE_VALUE_BYTES)
                .pageCount(16))
            .registry(KeyValueApp.registerAll(new TransactionRegistry(errors)))
            .workers(2)
            .journal(new Journal.Context().dir(dir).minFreeDiskBytes(0))
            .closeTimeoutNs(TimeUnit.SECONDS.toNanos(30));
    }

    /**
     * One request at a time (each its own batch), answered before the next.
     */
    private static final class Requests
    {
        private final FutureClient client;
        private final UnsafeBuffer payload = new UnsafeBuffer(new byte[KeyValueApp.MAX_PAYLOAD_LENGTH]);
        private final UnsafeBuffer value;
        private long requestId;

        Requests(final FutureClient client, final int valueBytes)
        {
            this.client = client;
            this.value = new UnsafeBuffer(new byte[valueBytes]);
        }

        int put(final long key) throws Exception
        {
            value.putLong(0, key);
            return send(KeyValueApp.PUT, KeyValueApp.encodePut(payload, 0, key, value, 0, value.capacity()));
        }

        int get(final long key) throws Exception
        {
            return send(KeyValueApp.GET, KeyValueApp.encodeGet(payload, 0, key));
        }

        int delete(final long key) throws Exception
        {
            return send(KeyValueApp.DELETE, KeyValueApp.encodeDelete(payload, 0, key));
        }

        private int send(final int type, final int length) throws Exception
        {
            final byte[] reply = client.submit(requestId++, type, payload, 0, length).get(30, TimeUnit.SECONDS);
            return ReplyCodes.code(new UnsafeBuffer(reply), 0);
        }
    }
}
