/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.util.ArrayList;
import java.util.List;

import io.ev.engine.apps.KeyValueApp;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankReply;
import io.ev.pipeline.Batch;
import io.ev.pipeline.KeySink;
import io.ev.pipeline.Request;
import io.ev.store.StateStore;
import io.ev.store.StateStoreException;
import io.ev.store.StoreWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Registration rules and dispatch of the registry, including every engine-level reply.
 */
final class TransactionRegistryTest
{
    private static final long KEY = 42;

    private final List<Throwable> errors = new ArrayList<>();
    private final TransactionRegistry registry = new TransactionRegistry(errors::add);
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[512]);
    private final UnsafeBuffer reply = new UnsafeBuffer(new byte[512]);
    private final LongArrayList declared = new LongArrayList();
    private final LongArrayList written = new LongArrayList();
    private final KeySink sink = new KeySink()
    {
        public void read(final long key)
        {
            declared.addLong(key);
        }

        public void write(final long key)
        {
            declared.addLong(key);
        }
    };
    private StateStore store;
    private StoreWriter writer;
    private long seq;

    @BeforeEach
    void setUp()
    {
        store = StateStore.open(new StateStore.Context().maxEntries(64).maxValueBytes(32).pageCount(16));
        writer = store.newWriter();
    }

    @AfterEach
    void tearDown()
    {
        store.close();
    }

    @Test
    void shouldRejectDuplicateTypeIdNamingBothTypes()
    {
        registry.register(new TestType(9, "First", Behaviour.OK));
        final IllegalArgumentException ex = assertThrows(
            IllegalArgumentException.class, () -> registry.register(new TestType(9, "Second", Behaviour.OK)));
        assertTrue(ex.getMessage().contains("First") && ex.getMessage().contains("Second"), ex.getMessage());
        assertEquals(1, registry.typeCount());
        assertThrows(IllegalArgumentException.class, () -> SmallBank.registerAll(registry, false)
            .register(new TestType(SmallBank.BALANCE, "Clash", Behaviour.OK)));
    }

    @Test
    void shouldRejectTypeIdsOutsideTheRange()
    {
        assertThrows(IllegalArgumentException.class, () -> registry.register(new TestType(-1, "Low", Behaviour.OK)));
        assertThrows(IllegalArgumentException.class, () -> registry.register(new TestType(256, "High", Behaviour.OK)));
        registry.register(new TestType(0, "Zero", Behaviour.OK)).register(new TestType(255, "Top", Behaviour.OK));
        assertEquals(2, registry.typeCount());
        assertNull(registry.type(256));
        assertNull(registry.type(-1));
        assertNull(registry.type(1));
    }

    @Test
    void shouldReportTheLargestReplyAndPayload()
    {
        assertEquals(ReplyCodes.CODE_LENGTH, registry.maxReplyBytes());
        assertEquals(0, registry.maxPayloadBytes());
        SmallBank.registerAll(registry, true);
        assertEquals(SmallBankReply.LENGTH, registry.maxReplyBytes());
        assertEquals(SmallBankCodec.MAX_PAYLOAD_LENGTH, registry.maxPayloadBytes());
        KeyValueApp.registerAll(registry);
        assertEquals(KeyValueApp.MAX_REPLY_LENGTH, registry.maxReplyBytes());
        assertEquals(KeyValueApp.MAX_PAYLOAD_LENGTH, registry.maxPayloadBytes());
        assertEquals(10, registry.typeCount());
    }

    @Test
    void shouldReplyUnknownTypeDeclaringAndWritingNothing()
    {
        SmallBank.registerAll(registry, false);
        for (final int type : new int[]{ 0, 200, SmallBank.SEND_PAYMENT_WITH_FEE, 1_000, -3 })
        {
            assertFalse(registry.declareKeys(type, payload, 8, sink));
            assertTrue(declared.isEmpty());
            assertEquals(ReplyCodes.CODE_LENGTH, execute(type, 8));
            assertEquals(ReplyCodes.UNKNOWN_TYPE, ReplyCodes.code(reply, 0));
            assertTrue(written.isEmpty());
        }
        assertEquals(0, registry.executionFailures());
    }

    @Test
    void shouldReplyMalformedForTruncatedWrongLengthOrOversizedPayloads()
    {
        SmallBank.registerAll(registry, false);
        KeyValueApp.registerAll(registry);
        SmallBankCodec.encodeSendPayment(payload, 0, 1, 2, 3);
        for (final int length : new int[]{ -1, 0, SmallBankCodec.PAYMENT_LENGTH - 1, SmallBankCodec.PAYMENT_LENGTH + 1,
            registry.maxPayloadBytes() + 1 })
        {
            assertFalse(registry.declareKeys(SmallBank.SEND_PAYMENT, payload, length, sink), "length " + length);
            assertTrue(declared.isEmpty());
            assertEquals(ReplyCodes.CODE_LENGTH, execute(SmallBank.SEND_PAYMENT, length));
            assertEquals(ReplyCodes.MALFORMED_REQUEST, ReplyCodes.code(reply, 0), "length " + length);
            assertTrue(written.isEmpty());
        }
        final SmallBankReply decoded = new SmallBankReply().wrap(reply, 0, ReplyCodes.CODE_LENGTH);
        assertEquals(ReplyCodes.MALFORMED_REQUEST, decoded.code());
        assertEquals(0, decoded.moneyDeltaCents());
        assertEquals(0, registry.executionFailures());
    }

    @Test
    void shouldReplyExecutionFailedWhenATypeThrowsAndReportTheError()
    {
        registry.register(new TestType(3, "Thrower", Behaviour.THROW_AFTER_WRITE));
        assertTrue(registry.declareKeys(3, payload, 0, sink));
        assertEquals(ReplyCodes.CODE_LENGTH, execute(3, 0));
        assertEquals(ReplyCodes.EXECUTION_FAILED, ReplyCodes.code(reply, 0));
        assertEquals(1, registry.executionFailures());
        assertEquals(1, errors.size());
        assertInstanceOf(IllegalStateException.class, errors.get(0));
        // the registry does not undo what the request wrote before it threw: the pipeline rolls back
        assertEquals(1, written.size());
        assertEquals(KEY, written.getLong(0));
    }

    @Test
    void shouldReplyStoreRejectedWhenTheStoreRefusesAWrite()
    {
        registry.register(new TestType(4, "Oversized", Behaviour.WRITE_TOO_LARGE));
        assertEquals(ReplyCodes.CODE_LENGTH, execute(4, 0));
        assertEquals(ReplyCodes.STORE_REJECTED, ReplyCodes.code(reply, 0));
        assertInstanceOf(StateStoreException.class, errors.get(0));
        assertTrue(written.isEmpty());
    }

    @Test
    void shouldReplyExecutionFailedForAnInvalidReplyLength()
    {
        registry.register(new TestType(5, "Liar", Behaviour.BAD_REPLY_LENGTH));
        assertEquals(ReplyCodes.CODE_LENGTH, execute(5, 0));
        assertEquals(ReplyCodes.EXECUTION_FAILED, ReplyCodes.code(reply, 0));
        assertEquals(1, registry.executionFailures());
    }

    @Test
    void shouldDeclareNothingWhenDeclarationThrows()
    {
        registry.register(new TestType(6, "BadDeclarer", Behaviour.THROW_AFTER_WRITE));
        registry.register(new TestType(7, "ThrowingDeclarer", Behaviour.THROW_IN_DECLARE));
        assertFalse(registry.declareKeys(7, payload, 0, sink));
        assertEquals(1, registry.declarationFailures());
        assertEquals(1, errors.size());
    }

    @Test
    void shouldDispatchThroughThePipelineRequestHandler()
    {
        SmallBank.registerAll(registry, false);
        registry.register(new TestType(9, "Ok", Behaviour.OK));
        final Batch batch = new Batch(4, registry.maxPayloadBytes(), registry.maxReplyBytes());
        final Request request = new Request();
        batch.reset(0);
        batch.add(1, 1, 9, payload, 0, 0);
        batch.add(1, 2, 77, payload, 0, 0);
        batch.wrap(request, 0);
        registry.declareKeys(request, sink);
        assertEquals(1, declared.size());
        declared.clear();
        batch.wrap(request, 1);
        registry.declareKeys(request, sink);
        assertTrue(declared.isEmpty());
        store.begin(0);
        for (int i = 0; i < batch.count(); i++)
        {
            batch.wrap(request, i);
            batch.replyLength(i, registry.execute(request, 0, writer, batch.replies(), batch.replyOffset(i)));
        }
        store.seal(0);
        store.commit(0);
        assertEquals(ReplyCodes.OK, ReplyCodes.code(batch.replies(), batch.replyOffset(0)));
        assertEquals(ReplyCodes.UNKNOWN_TYPE, ReplyCodes.code(batch.replies(), batch.replyOffset(1)));
        assertEquals(ReplyCodes.CODE_LENGTH, batch.replyLength(1));
    }

    @Test
    void shouldDescribeEveryCode()
    {
        final int[] codes = {
            ReplyCodes.OK, ReplyCodes.UNKNOWN_TYPE, ReplyCodes.MALFORMED_REQUEST, ReplyCodes.EXECUTION_FAILED,
            ReplyCodes.STORE_REJECTED, ReplyCodes.UNAVAILABLE, ReplyCodes.OUTCOME_UNKNOWN, ReplyCodes.STALE_REQUEST_ID,
            ReplyCodes.UNKNOWN_CUSTOMER, ReplyCodes.NEGATIVE_AMOUNT,
            ReplyCodes.INSUFFICIENT_FUNDS, ReplyCodes.SAME_ACCOUNT, ReplyCodes.AMOUNT_OVERFLOW, ReplyCodes.NOT_FOUND };
        for (final int code : codes)
        {
            assertFalse(ReplyCodes.describe(code).startsWith("UNDEFINED"), "code " + code);
            assertFalse(ReplyCodes.describe(code).startsWith("APPLICATION_CODE"), "code " + code);
        }
        assertEquals("UNDEFINED_CODE", ReplyCodes.describe(50));
        assertNotEquals(ReplyCodes.describe(ReplyCodes.UNKNOWN_CUSTOMER), ReplyCodes.describe(ReplyCodes.NOT_FOUND));
        assertSame(ReplyCodes.describe(999), ReplyCodes.describe(998));
    }

    private int execute(final int type, final int length)
    {
        declared.clear();
        written.clear();
        seq++;
        store.begin(seq);
        final int replyLength = registry.execute(type, payload, length, seq, writer, reply, 0);
        store.forEachWrittenKey(seq, written::addLong);
        store.seal(seq);
        store.commit(seq);
        return replyLength;
    }

    private enum Behaviour
    {
        OK, THROW_AFTER_WRITE, WRITE_TOO_LARGE, BAD_REPLY_LENGTH, THROW_IN_DECLARE
    }

    private static final class TestType implements TransactionType
    {
        private final int typeId;
        private final String name;
        private final Behaviour behaviour;

        TestType(final int typeId, final String name, final Behaviour behaviour)
        {
            this.typeId = typeId;
            this.name = name;
            this.behaviour = behaviour;
        }

        public int typeId()
        {
            return typeId;
        }

        public String name()
        {
            return name;
        }

        public int maxPayloadBytes()
        {
            return 0;
        }

        public int maxReplyBytes()
        {
            return ReplyCodes.CODE_LENGTH;
        }

        public boolean declareKeys(final DirectBuffer payload, final int length, final KeySink keys)
        {
            if (Behaviour.THROW_IN_DECLARE == behaviour)
            {
                throw new IllegalStateException("declare bug");
            }
            keys.write(KEY);
            return true;
        }

        public int execute(
            final DirectBuffer payload,
            final int length,
            final long seq,
            final StoreWriter store,
            final MutableDirectBuffer reply,
            final int replyOffset)
        {
            switch (behaviour)
            {
                case THROW_AFTER_WRITE:
                    store.put(seq, KEY, payload, 0, 8);
                    throw new IllegalStateException("application bug");
                case WRITE_TOO_LARGE:
                    store.put(seq, KEY, payload, 0, 100);
                    return ReplyCodes.writeCode(reply, replyOffset, ReplyCodes.OK);
                case BAD_REPLY_LENGTH:
                    return maxReplyBytes() + 1;
                default:
                    return ReplyCodes.writeCode(reply, replyOffset, ReplyCodes.OK);
            }
        }
    }
}
