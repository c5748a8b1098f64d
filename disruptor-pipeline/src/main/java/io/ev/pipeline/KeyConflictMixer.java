/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.pipeline;

import org.agrona.collections.Long2LongHashMap;

/**
 * Eve's rule: two requests conflict when they write the same key, or one reads a key the other
 * writes. Each request goes to the earliest phase after the last phase holding a request it
 * conflicts with (earlier in batch order), which is better than Eve's "current phase or a new
 * one". Every conflicting pair is thus ordered by phase as in batch order, so the phased
 * execution is conflict-equivalent to executing the batch sequentially.
 * <p>
 * A request declaring more than {@value #KEYS_PER_REQUEST_LIMIT} read or write keys gets a phase
 * of its own after every earlier request, and every later request goes after it.
 * <p>
 * Per key it keeps {@code (last write phase + 1) << 32 | (last read phase + 1)} in a primitive
 * map sized once for the largest batch; no allocation per batch.
 */
public final class KeyConflictMixer implements Mixer, KeySink
{
    private static final long MISSING = 0;
    private static final int KEYS_PER_REQUEST_LIMIT = 64;

    private final Long2LongHashMap lastPhases;
    private final long[] readKeys = new long[KEYS_PER_REQUEST_LIMIT];
    private final long[] writeKeys = new long[KEYS_PER_REQUEST_LIMIT];
    private final Request request = new Request();
    private int readCount;
    private int writeCount;
    private boolean overflow;

    /**
     * @param maxRequests the largest batch, to size the key map once.
     */
    public KeyConflictMixer(final int maxRequests)
    {
        lastPhases = new Long2LongHashMap(Math.max(16, maxRequests * 8), 0.65f, MISSING);
    }

    public void mix(final Batch batch, final RequestHandler handler)
    {
        lastPhases.clear();
        int highest = 0;
        int floor = 0;
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.wrap(request, i);
            readCount = 0;
            writeCount = 0;
            overflow = false;
            handler.declareKeys(request, this);
            final int phase;
            if (overflow)
            {
                // more keys than we track: run it after everything before and before everything after
                phase = highest + 1;
                floor = phase + 1;
            }
            else
            {
                phase = Math.max(floor, earliestPhase());
            }
            batch.phase(i, phase);
            highest = Math.max(highest, phase);
            record(phase);
        }
        batch.groupPhases();
    }

    public String name()
    {
        return "keys";
    }

    public void read(final long key)
    {
        if (readCount == KEYS_PER_REQUEST_LIMIT)
        {
            overflow = true;
            return;
        }
        readKeys[readCount++] = key;
    }

    public void write(final long key)
    {
        if (writeCount == KEYS_PER_REQUEST_LIMIT)
        {
            overflow = true;
            return;
        }
        writeKeys[writeCount++] = key;
    }

    private int earliestPhase()
    {
        int phase = 0;
        for (int i = 0; i < readCount; i++)
        {
            final long last = lastPhases.get(readKeys[i]);
            phase = Math.max(phase, (int)(last >>> 32));
        }
        for (int i = 0; i < writeCount; i++)
        {
            final long last = lastPhases.get(writeKeys[i]);
            phase = Math.max(phase, Math.max((int)(last >>> 32), (int)last));
        }
        return phase;
    }

    private void record(final int phase)
    {
        final long marker = phase + 1L;
        for (int i = 0; i < readCount; i++)
        {
            final long key = readKeys[i];
            final long last = lastPhases.get(key);
            if ((int)last < marker)
            {
                lastPhases.put(key, (last & 0xFFFF_FFFF_0000_0000L) | marker);
            }
        }
        for (int i = 0; i < writeCount; i++)
        {
            final long key = writeKeys[i];
            final long last = lastPhases.get(key);
            if ((last >>> 32) < marker)
            {
                lastPhases.put(key, (marker << 32) | (last & 0xFFFF_FFFFL));
            }
        }
    }
}
