/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

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
}
