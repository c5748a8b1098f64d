/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.SplittableRandom;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every message round-trips its fields at any offset; a peer speaking another schema or version,
 * a truncated message and garbage are refused by {@link Messages#check} with a message naming why.
 */
class MessagesTest
{
    private static final int OFFSET = 24;
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[4096]);

    @Test
    void shouldRoundTripEveryMessage()
    {
        int length = Messages.hello(buffer, OFFSET, 7, Messages.ROLE_BACKUP, 1024, 41, 0xABCDL, 99, 0x5EEDL, 0xC0DEL);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(Messages.HELLO, Messages.type(buffer, OFFSET));
        assertEquals(7, Messages.epoch(buffer, OFFSET));
        assertEquals(Messages.ROLE_BACKUP, Messages.helloRole(buffer, OFFSET));
        assertEquals(1024, Messages.helloPageCount(buffer, OFFSET));
        assertEquals(41, Messages.lastCommittedSeq(buffer, OFFSET));
        assertEquals(0xABCDL, Messages.helloRoot(buffer, OFFSET));
        assertEquals(99, Messages.helloRequests(buffer, OFFSET));
        assertEquals(0x5EEDL, Messages.helloIncarnation(buffer, OFFSET));
        assertEquals(0xC0DEL, Messages.helloConfigurationDigest(buffer, OFFSET));

        length = Messages.syncRequest(buffer, OFFSET, 7, 41, 256, 2);
        Messages.syncDigest(buffer, OFFSET, 0, 0x11L);
        Messages.syncDigest(buffer, OFFSET, 1, 0x22L);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(41, Messages.seq(buffer, OFFSET));
        assertEquals(256, Messages.syncFirstPage(buffer, OFFSET));
        assertEquals(2, Messages.syncCountOrEnd(buffer, OFFSET));
        assertEquals(0x22L, Messages.syncDigestAt(buffer, OFFSET, 1));
        assertNotNull(Messages.check(buffer, OFFSET, length - 1), "a digest cut short");

        length = Messages.syncRecords(buffer, OFFSET, 7, 41, 256, 300, 5);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(300, Messages.syncCountOrEnd(buffer, OFFSET));

        length = Messages.token(buffer, OFFSET, 7, 99, 5, 1, 0x1234L, 0x5678L);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(99, Messages.seq(buffer, OFFSET));
        assertEquals(5, Messages.round(buffer, OFFSET));
        assertEquals(1, Messages.attempt(buffer, OFFSET));
        assertEquals(0x1234L, Messages.tokenRoot(buffer, OFFSET));
        assertEquals(0x5678L, Messages.tokenReplyDigest(buffer, OFFSET));

        length = Messages.decision(buffer, OFFSET, 8, 99, 6, 2, Messages.DECISION_TRANSFER);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(6, Messages.round(buffer, OFFSET));
        assertEquals(Messages.DECISION_TRANSFER, Messages.decision(buffer, OFFSET));
        assertEquals(2, Messages.attempt(buffer, OFFSET));

        length = Messages.heartbeat(buffer, OFFSET, 8, 123_456, 98, true, 3);
        assertEquals(3, Messages.heartbeatPairing(buffer, OFFSET));
        assertTrue(Messages.heartbeatPaired(buffer, OFFSET));
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(123_456, Messages.firstLong(buffer, OFFSET));
        assertEquals(98, Messages.lastCommittedSeq(buffer, OFFSET));

        length = Messages.catchUp(buffer, OFFSET, 8, 17, 0xF00DL);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(17, Messages.firstLong(buffer, OFFSET));
        assertEquals(0xF00DL, Messages.catchUpRoot(buffer, OFFSET));

        Messages.catchUpBatchHeader(buffer, OFFSET, 8, 17, 0xBEEFL, Messages.CATCH_UP_LAST);
        length = Messages.CATCH_UP_FRAME_OFFSET + 5;
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(Messages.CATCH_UP_BATCH, Messages.type(buffer, OFFSET));
        assertEquals(17, Messages.seq(buffer, OFFSET));
        assertEquals(0xBEEFL, Messages.catchUpRoot(buffer, OFFSET));
        assertEquals(Messages.CATCH_UP_LAST, Messages.catchUpFlags(buffer, OFFSET));
        assertNotNull(Messages.check(buffer, OFFSET, Messages.CATCH_UP_FRAME_OFFSET - 1));

        length = Messages.keys(buffer, OFFSET, 8, 99, 4, 3);
        for (int i = 0; i < 3; i++)
        {
            Messages.keyEntry(buffer, OFFSET, i, 1000 + i, 2000 + i);
        }
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(4, Messages.round(buffer, OFFSET));
        assertEquals(3, Messages.keyCount(buffer, OFFSET));
        assertEquals(1002, Messages.key(buffer, OFFSET, 2));
        assertEquals(2002, Messages.keyPageDigest(buffer, OFFSET, 2));

        final UnsafeBuffer frame = new UnsafeBuffer(new byte[100]);
        frame.setMemory(0, 100, (byte)7);
        length = Messages.batch(buffer, OFFSET, 8, 99, 3, 97, frame, 10, 50);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(Messages.BATCH, Messages.type(buffer, OFFSET));
        assertEquals(99, Messages.seq(buffer, OFFSET));
        assertEquals(3, Messages.round(buffer, OFFSET));
        assertEquals(97, Messages.batchLastCommittedSeq(buffer, OFFSET));
        Messages.batchLastCommittedSeq(buffer, OFFSET, 98);
        assertEquals(98, Messages.batchLastCommittedSeq(buffer, OFFSET));
        assertEquals(Messages.BATCH_FRAME_OFFSET + 50, length);
        assertEquals(7, buffer.getByte(OFFSET + Messages.BATCH_FRAME_OFFSET + 49));
        assertNotNull(Messages.check(buffer, OFFSET, Messages.BATCH_FRAME_OFFSET - 1), "a BATCH without its entry");

        length = Messages.records(buffer, OFFSET, 8, 99, 3, frame, 10, 40);
        assertNull(Messages.check(buffer, OFFSET, length));
        assertEquals(Messages.RECORDS, Messages.type(buffer, OFFSET));
        assertEquals(3, Messages.round(buffer, OFFSET));
        assertEquals(Messages.RECORDS_FRAME_OFFSET + 40, length);
        assertEquals(7, buffer.getByte(OFFSET + Messages.RECORDS_FRAME_OFFSET + 39));
    }

    @Test
    void shouldRefuseAnotherVersionOrSchemaNamingIt()
    {
        final int length = Messages.token(buffer, OFFSET, 1, 1, 0, 0, 0, 0);
        buffer.putShort(OFFSET + Messages.VERSION_OFFSET, (short)1);
        final String version = Messages.check(buffer, OFFSET, length);
        assertNotNull(version);
        assertTrue(version.contains("version 1") && version.contains("version " + Messages.VERSION), version);

        buffer.putShort(OFFSET + Messages.VERSION_OFFSET, Messages.VERSION);
        buffer.putShort(OFFSET + Messages.SCHEMA_ID_OFFSET, (short)0x1234);
        final String schema = Messages.check(buffer, OFFSET, length);
        assertTrue(schema.contains("not an EV peer"), schema);
    }

    @Test
    void shouldRefuseTruncatedWrongLengthAndUnknownMessages()
    {
        int length = Messages.token(buffer, OFFSET, 1, 1, 0, 0, 0, 0);
        assertTrue(Messages.check(buffer, OFFSET, length - 1).contains("TOKEN message is"));
        assertTrue(Messages.check(buffer, OFFSET, 3).contains("shorter than the 16-byte header"));
        length = Messages.keys(buffer, OFFSET, 1, 1, 0, 4);
        assertTrue(Messages.check(buffer, OFFSET, length - 16).contains("says 4 keys"));
        buffer.putShort(OFFSET + Messages.TYPE_OFFSET, (short)99);
        assertTrue(Messages.check(buffer, OFFSET, length).contains("unknown message type 99"));
    }

    @Test
    void shouldRefuseAHelloOfAnUnknownRoleRatherThanReadItAsASecondPrimary()
    {
        final int length = Messages.hello(buffer, OFFSET, 1, Messages.ROLE_PRIMARY, 16, 0, 0, 0, 0, 0);
        assertNull(Messages.check(buffer, OFFSET, length));
        buffer.putInt(OFFSET + Messages.BODY, 83380358);
        final String problem = Messages.check(buffer, OFFSET, length);
        assertNotNull(problem);
        assertTrue(problem.contains("role 83380358"), problem);
        buffer.putInt(OFFSET + Messages.BODY, Messages.ROLE_BACKUP);
        assertTrue(Messages.check(buffer, OFFSET, length - 1).contains("HELLO message is"));
    }

    @Test
    void shouldNeverThrowOnGarbage()
    {
        final long seed = System.nanoTime();
        System.out.println("MessagesTest garbage seed " + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        final byte[] bytes = new byte[256];
        final UnsafeBuffer garbage = new UnsafeBuffer(bytes);
        for (int i = 0; i < 100_000; i++)
        {
            for (int b = 0; b < bytes.length; b++)
            {
                bytes[b] = (byte)random.nextInt(256);
            }
            if (random.nextBoolean())
            {
                garbage.putShort(0, Messages.SCHEMA_ID);
                garbage.putShort(2, Messages.VERSION);
                garbage.putShort(4, (short)random.nextInt(10));
            }
            final int length = random.nextInt(bytes.length + 1);
            final String problem = Messages.check(garbage, 0, length);
            if (null == problem)
            {
                assertTrue(length >= Messages.HEADER_LENGTH, "seed " + seed);
            }
        }
    }
}
