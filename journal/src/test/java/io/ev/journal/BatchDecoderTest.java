/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder's structure check names what is wrong and never reads outside the entry, whatever its counts
 * and lengths say (entries also arrive from a primary, over the wire).
 */
class BatchDecoderTest
{
    private final BatchEncoder encoder = new BatchEncoder();
    private final BatchDecoder decoder = new BatchDecoder();
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[16]);

    @Test
    void shouldRefuseAPayloadLengthThatOverflowsPastTheEntry()
    {
        encoder.reset(5).add(1, 1, 1, 0, payload, 0, 16).add(2, 2, 1, 0, payload, 0, 16);
        final int length = encoder.finish();
        final UnsafeBuffer entry = new UnsafeBuffer(new byte[length]);
        entry.putBytes(0, encoder.buffer(), 0, length);
        assertNull(decoder.wrap(entry, length));
        // the first request's payload length: wraps the int sum negative when added to its position
        entry.putInt(BatchEncoder.REQUESTS_OFFSET + BatchEncoder.REQUEST_HEADER_LENGTH - Integer.BYTES,
            Integer.MAX_VALUE - 20);
        final String problem = decoder.wrap(entry, length);
        assertNotNull(problem);
        assertTrue(problem.contains("request 0 has payload length " + (Integer.MAX_VALUE - 20)), problem);
    }

    @Test
    void shouldCopyAnEntryToTheSameBytesAsEncodingItsRequestsAgain()
    {
        payload.putLong(0, 42);
        encoder.reset(7).add(1, 10, 2, 0, payload, 0, 16).add(3, 11, 4, 1, payload, 0, 8)
            .add(5, 12, 2, 1, payload, 0, 0);
        final int length = encoder.finish();
        final UnsafeBuffer entry = new UnsafeBuffer(new byte[length]);
        entry.putBytes(0, encoder.buffer(), 0, length);
        assertNull(decoder.wrap(entry, length));

        final BatchEncoder copy = new BatchEncoder().copyOf(7, decoder);
        assertEquals(length, copy.finish());
        assertEquals(3, copy.count());
        assertEquals(7, copy.seq());
        for (int i = 0; i < length; i++)
        {
            assertEquals(entry.getByte(i), copy.buffer().getByte(i), "byte " + i);
        }
        final BatchEncoder renumbered = new BatchEncoder().copyOf(8, decoder);
        renumbered.finish();
        assertEquals(8, renumbered.seq());
        assertNull(decoder.wrap(renumbered.buffer(), length));
        assertEquals(2, decoder.entry().getInt(BatchEncoder.PHASE_COUNT_OFFSET), "phases kept");
    }
}
