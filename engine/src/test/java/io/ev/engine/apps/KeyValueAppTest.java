/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import java.nio.charset.StandardCharsets;

import io.ev.engine.ReplyCodes;
import io.ev.store.Keys;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GET, PUT and DELETE of the key-value app, their declared keys, NOT_FOUND and malformed requests.
 */
final class KeyValueAppTest
{
    private BankFixture fixture;

    @BeforeEach
    void setUp()
    {
        fixture = new BankFixture(2, 1, false);
    }

    @AfterEach
    void tearDown()
    {
        fixture.close();
    }

    @Test
    void shouldPutGetAndDelete()
    {
        final UnsafeBuffer value = new UnsafeBuffer("hello".getBytes(StandardCharsets.US_ASCII));
        final long key = 77;
        execute(KeyValueApp.GET, KeyValueApp.encodeGet(fixture.payload, 0, key));
        assertReply(ReplyCodes.NOT_FOUND, 0);
        assertEquals(fixture.rootBefore, fixture.rootAfter);
        assertTrue(fixture.declaredReads.contains(KeyValueApp.storeKey(key)));

        execute(KeyValueApp.PUT, KeyValueApp.encodePut(fixture.payload, 0, key, value, 0, value.capacity()));
        assertReply(ReplyCodes.OK, 0);
        assertTrue(fixture.declaredWrites.contains(KeyValueApp.storeKey(key)));
        assertTrue(fixture.declaredWrites.containsAll(fixture.writtenKeys));
        assertEquals(1, fixture.writtenKeys.size());

        execute(KeyValueApp.GET, KeyValueApp.encodeGet(fixture.payload, 0, key));
        assertReply(ReplyCodes.OK, value.capacity());
        assertEquals("hello", fixture.reply.getStringWithoutLengthAscii(KeyValueApp.REPLY_VALUE_OFFSET, 5));

        execute(KeyValueApp.DELETE, KeyValueApp.encodeDelete(fixture.payload, 0, key));
        assertReply(ReplyCodes.OK, 0);
        assertTrue(fixture.declaredWrites.containsAll(fixture.writtenKeys));
        execute(KeyValueApp.DELETE, KeyValueApp.encodeDelete(fixture.payload, 0, key));
        assertReply(ReplyCodes.NOT_FOUND, 0);
        assertTrue(fixture.writtenKeys.isEmpty());
        assertEquals(fixture.rootBefore, fixture.rootAfter);
        execute(KeyValueApp.GET, KeyValueApp.encodeGet(fixture.payload, 0, key));
        assertReply(ReplyCodes.NOT_FOUND, 0);
    }

    @Test
    void shouldRejectMalformedRequests()
    {
        final UnsafeBuffer big = new UnsafeBuffer(new byte[KeyValueApp.MAX_VALUE_BYTES]);
        final int length = KeyValueApp.encodePut(fixture.payload, 0, 5, big, 0, big.capacity());
        execute(KeyValueApp.PUT, length + 1);
        assertMalformed();
        execute(KeyValueApp.PUT, KeyValueApp.KEY_LENGTH - 1);
        assertMalformed();
        execute(KeyValueApp.GET, KeyValueApp.KEY_LENGTH + 1);
        assertMalformed();
        KeyValueApp.encodeDelete(fixture.payload, 0, Keys.MAX_ROW + 1);
        execute(KeyValueApp.DELETE, KeyValueApp.KEY_LENGTH);
        assertMalformed();
        KeyValueApp.encodeGet(fixture.payload, 0, -1);
        execute(KeyValueApp.GET, KeyValueApp.KEY_LENGTH);
        assertMalformed();
        execute(KeyValueApp.PUT, KeyValueApp.KEY_LENGTH);
        assertMalformed();
    }

    private void execute(final int type, final int length)
    {
        fixture.executeAlone(type, length);
    }

    private void assertReply(final int code, final int valueLength)
    {
        assertEquals(code, ReplyCodes.code(fixture.reply, 0), () -> ReplyCodes.describe(code));
        assertEquals(valueLength, KeyValueApp.replyValueLength(fixture.reply, 0));
        assertTrue(fixture.declared);
    }

    private void assertMalformed()
    {
        assertEquals(ReplyCodes.MALFORMED_REQUEST, ReplyCodes.code(fixture.reply, 0));
        assertFalse(fixture.declared);
        assertTrue(fixture.writtenKeys.isEmpty());
        assertEquals(fixture.rootBefore, fixture.rootAfter);
    }
}
