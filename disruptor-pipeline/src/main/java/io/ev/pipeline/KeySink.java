/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

/**
 * Receives the keys a request declares it reads and writes (for the mixer).
 */
public interface KeySink
{
    /**
     * @param key a key the request reads.
     */
    void read(long key);

    /**
     * @param key a key the request writes (a written key need not also be declared read).
     */
    void write(long key);
}
