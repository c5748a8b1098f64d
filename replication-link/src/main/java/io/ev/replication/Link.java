/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import org.agrona.DirectBuffer;

/**
 * One replica's end of the replication link to its peer: ordered-when-healthy, message-framed,
 * unreliable under faults (a message may be lost, delayed, duplicated or reordered; the protocol
 * above copes). Two implementations share all protocol code: {@code AeronLink} (UDP unicast or IPC
 * over an embedded media driver) and {@code SimulatedNetwork}'s endpoints (seeded faults, virtual
 * time) for deterministic tests.
 * <p>
 * Not thread-safe: one thread offers and polls (the replica's protocol agent).
 */
public interface Link extends AutoCloseable
{
    /** Largest message the link carries, in bytes. */
    int MAX_MESSAGE_LENGTH = 16 << 20;

    /**
     * Sends one message. Zero allocation on the hot path.
     *
     * @return true if the message was accepted for sending; false under back pressure or while
     * the peer is not connected (the caller retries or gives up; nothing was sent).
     * @throws IllegalArgumentException if {@code length} is negative or above {@link #MAX_MESSAGE_LENGTH}.
     */
    boolean offer(DirectBuffer buffer, int offset, int length);

    /**
     * Delivers up to {@code limit} received messages to {@code handler}, on this thread. A message
     * buffer is valid only during the call.
     *
     * @return messages delivered.
     */
    int poll(MessageHandler handler, int limit);

    /**
     * @return true while the link believes the peer can receive (for Aeron: the publication has a
     * connected subscriber). Advisory: a connected link may still lose messages.
     */
    boolean isConnected();

    /**
     * Releases the link's resources. Idempotent.
     */
    @Override
    void close();

    /**
     * Receives one message.
     */
    @FunctionalInterface
    interface MessageHandler
    {
        /**
         * @param buffer holds the message at {@code [offset, offset + length)}, valid during the call.
         */
        void onMessage(DirectBuffer buffer, int offset, int length);
    }
}
