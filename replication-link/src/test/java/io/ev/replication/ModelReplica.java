/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import io.ev.journal.BatchDecoder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * A replica's state as a plain map, for protocol tests: requests add a delta to a key and reply
 * the new value. A seeded "race" corrupts parallel executions (adding a replica-specific amount,
 * so two replicas never corrupt the same way), and optionally sequential ones too (a
 * nondeterministic application), so that every protocol path is exercised.
 */
final class ModelReplica implements ReplicaExecution
{
    static final int PAGES = 16;

    final Map<Long, Long> values = new HashMap<>();
    private final Map<Long, Long> undo = new LinkedHashMap<>();
    private final SplittableRandom random;
    private final double raceProbability;
    private final double sequentialRaceProbability;
    private final long raceAmount;
    private long openSeq = -1;
    private long lastCommittedSeq = -1;
    private long requests;
    private int openRequests;
    private long replyDigest;
    private long root;
    long races;

    ModelReplica(
        final long seed, final double raceProbability, final double sequentialRaceProbability, final long raceAmount)
    {
        this.random = new SplittableRandom(seed);
        this.raceProbability = raceProbability;
        this.sequentialRaceProbability = sequentialRaceProbability;
        this.raceAmount = raceAmount;
    }

    /** Request payload: key (8) | delta (8). */
    static long apply(final Map<Long, Long> values, final long key, final long delta)
    {
        final long value = values.getOrDefault(key, 0L) + delta;
        values.put(key, value);
        return value;
    }

    public void execute(final long seq, final BatchDecoder batch, final boolean sequential)
    {
        if (openSeq != -1 || seq != lastCommittedSeq + 1)
        {
            throw new IllegalStateException(
                "execute(" + seq + "): open " + openSeq + ", committed " + lastCommittedSeq);
        }
        openSeq = seq;
        replyDigest = 17;
        openRequests = 0;
        while (batch.next())
        {
            openRequests++;
            final DirectBuffer payload = batch.payload();
            final long key = payload.getLong(0);
            long delta = payload.getLong(8);
            if (random.nextDouble() < (sequential ? sequentialRaceProbability : raceProbability))
            {
                delta += raceAmount;
                races++;
            }
            write(key, values.getOrDefault(key, 0L) + delta);
            replyDigest = replyDigest * 31 + values.get(key);
        }
        root = computeRoot();
    }

    private void write(final long key, final long value)
    {
        if (!undo.containsKey(key))
        {
            undo.put(key, values.get(key));
        }
        values.put(key, value);
    }

    public long root()
    {
        return root;
    }

    public long replyDigest()
    {
        return replyDigest;
    }

    public void rollback(final long seq)
    {
        check(seq);
        undo.forEach((key, old) ->
        {
            if (null == old)
            {
                values.remove(key);
            }
            else
            {
                values.put(key, old);
            }
        });
        undo.clear();
        openSeq = -1;
        root = computeRoot();
    }

    public void commit(final long seq)
    {
        check(seq);
        undo.clear();
        openSeq = -1;
        lastCommittedSeq = seq;
        requests += openRequests;
    }

    private void check(final long seq)
    {
        if (seq != openSeq)
        {
            throw new IllegalStateException("batch " + seq + " is not open (open: " + openSeq + ")");
        }
    }

    public long lastCommittedSeq()
    {
        return lastCommittedSeq;
    }

    public void forEachWrittenKey(final long seq, final KeyConsumer consumer)
    {
        check(seq);
        for (final Long key : undo.keySet())
        {
            consumer.accept(key, pageDigestOf(key));
        }
    }

    public long pageDigestOf(final long key)
    {
        return pageDigest(Math.floorMod(key, PAGES));
    }

    public int pageCount()
    {
        return PAGES;
    }

    public long pageDigest(final int page)
    {
        long digest = 0;
        for (final Map.Entry<Long, Long> entry : values.entrySet())
        {
            if (Math.floorMod(entry.getKey(), PAGES) == page)
            {
                digest += mix(entry.getKey() * 0x9E3779B97F4A7C15L + entry.getValue());
            }
        }
        return digest;
    }

    public int maxExportLength(final int keys)
    {
        return 4 + keys * 17;
    }

    /** Frame: count (4) | count x (key (8) | present (1) | value (8)). */
    public int exportRecords(final long[] keys, final int count, final MutableDirectBuffer dst, final int offset)
    {
        dst.putInt(offset, count);
        int at = offset + 4;
        for (int i = 0; i < count; i++)
        {
            final Long value = values.get(keys[i]);
            dst.putLong(at, keys[i]);
            dst.putByte(at + 8, (byte)(null == value ? 0 : 1));
            dst.putLong(at + 9, null == value ? 0 : value);
            at += 17;
        }
        return at - offset;
    }

    public void importRecords(final long seq, final DirectBuffer src, final int offset, final int length)
    {
        check(seq);
        final int count = src.getInt(offset);
        int at = offset + 4;
        for (int i = 0; i < count; i++)
        {
            final long key = src.getLong(at);
            if (!undo.containsKey(key))
            {
                undo.put(key, values.get(key));
            }
            if (0 == src.getByte(at + 8))
            {
                values.remove(key);
            }
            else
            {
                values.put(key, src.getLong(at + 9));
            }
            at += 17;
        }
        root = computeRoot();
    }

    /** Frame: page count (4) | pages x (page (4) | digest (8)) | record count (4) | records x (key (8) | value (8)). */
    public int exportPages(final int[] pages, final int count, final MutableDirectBuffer dst, final int offset)
    {
        if (openSeq != -1)
        {
            throw new IllegalStateException("exportPages with batch " + openSeq + " open");
        }
        int at = offset;
        dst.putInt(at, count);
        at += 4;
        for (int i = 0; i < count; i++)
        {
            dst.putInt(at, pages[i]);
            dst.putLong(at + 4, pageDigest(pages[i]));
            at += 12;
        }
        final int countAt = at;
        at += 4;
        int records = 0;
        for (int i = 0; i < count; i++)
        {
            for (final Map.Entry<Long, Long> entry : values.entrySet())
            {
                if (Math.floorMod(entry.getKey(), PAGES) == pages[i])
                {
                    dst.putLong(at, entry.getKey());
                    dst.putLong(at + 8, entry.getValue());
                    at += 16;
                    records++;
                }
            }
        }
        dst.putInt(countAt, records);
        return at - offset;
    }

    public void importPages(final DirectBuffer src, final int offset, final int length)
    {
        if (openSeq != -1)
        {
            throw new IllegalStateException("importPages with batch " + openSeq + " open");
        }
        final int pageCount = src.getInt(offset);
        final Map<Integer, Long> expected = new HashMap<>();
        int at = offset + 4;
        for (int i = 0; i < pageCount; i++)
        {
            expected.put(src.getInt(at), src.getLong(at + 4));
            at += 12;
        }
        final int records = src.getInt(at);
        at += 4;
        final Map<Long, Long> incoming = new HashMap<>();
        for (int i = 0; i < records; i++)
        {
            incoming.put(src.getLong(at), src.getLong(at + 8));
            at += 16;
        }
        if (at - offset != length)
        {
            throw new IllegalArgumentException("frame of " + length + " bytes holds " + (at - offset));
        }
        final Map<Long, Long> after = new HashMap<>(values);
        after.keySet().removeIf(key -> expected.containsKey(Math.floorMod(key, PAGES)));
        after.putAll(incoming);
        for (final Map.Entry<Integer, Long> page : expected.entrySet())
        {
            long digest = 0;
            for (final Map.Entry<Long, Long> entry : after.entrySet())
            {
                if (Math.floorMod(entry.getKey(), PAGES) == page.getKey())
                {
                    digest += mix(entry.getKey() * 0x9E3779B97F4A7C15L + entry.getValue());
                }
            }
            if (digest != page.getValue())
            {
                throw new IllegalArgumentException("page " + page.getKey() + " would not match the sender's digest");
            }
        }
        values.clear();
        values.putAll(after);
        root = computeRoot();
    }

    public long requestsInState()
    {
        return requests;
    }

    public void adoptCommittedSeq(final long seq, final long requests)
    {
        this.requests = requests;
        if (openSeq != -1)
        {
            throw new IllegalStateException("adoptCommittedSeq with batch " + openSeq + " open");
        }
        lastCommittedSeq = seq;
    }

    /**
     * @return this replica's committed state as it would be recovered from its journal after a
     * crash (the open batch is lost), racing like this one.
     */
    ModelReplica restartedFromCommitted(final long seed)
    {
        final ModelReplica restarted = new ModelReplica(seed, raceProbability, sequentialRaceProbability, raceAmount);
        restarted.values.putAll(values);
        undo.forEach((key, old) ->
        {
            if (null == old)
            {
                restarted.values.remove(key);
            }
            else
            {
                restarted.values.put(key, old);
            }
        });
        restarted.lastCommittedSeq = lastCommittedSeq;
        restarted.requests = requests;
        restarted.root = restarted.computeRoot();
        return restarted;
    }

    private long computeRoot()
    {
        long result = 0;
        for (int page = 0; page < PAGES; page++)
        {
            result = result * 1_000_003 + pageDigest(page);
        }
        return result;
    }

    private static long mix(final long value)
    {
        long z = value;
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
