/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.journal;

/**
 * What an acknowledged (replied-to) request survives. See docs/formats.md and the measured cost
 * in docs/PERFORMANCE.md.
 */
public enum Durability
{
    /**
     * Default. Entries are written into the memory-mapped journal file before replies are released:
     * they are in the operating system's page cache, so a crash of the process (SIGKILL, JVM crash,
     * OOM) loses nothing acknowledged. A power loss or kernel crash may lose the last few seconds.
     */
    PROCESS_CRASH,
    /**
     * Every batch's entries are synced to the device (msync) before its replies are released:
     * an acknowledged request survives power loss, given a device that honours flushes.
     */
    POWER_LOSS
}
