/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.replication;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import io.ev.journal.BatchDecoder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * A replica's state as a plain map, for protocol tests: requests add a delta to a key and reply
 * the new value. A seeded "race" corrupts parallel executions (adding a replica-specific amount,
 * so two replicas never corrupt the same way), and optionally sequential ones too (a
 * nondeterministic application), so that every protocol path is exercised. Up to
 * {@code maxOpenBatches} batches may be open (pipelining), each with its own undo map; opening more,
 * or breaking the order (begin after the newest, commit the oldest, import into the newest), throws.
 * Each commit records the batch's root and reply digest, so that tests can check that both replicas
 * committed every batch with the same token.
 */
final class ModelReplica implements ReplicaExecution
{
    static final int PAGES = 16;

    final Map<Long, Long> values = new HashMap<>();
    /** Seq -> root after the batch, as committed. */
    final Map<Long, Long> committedRoots = new HashMap<>();
    /** Seq -> the batch's journal entry, as committed here by execution (the model's journal: catch-up). */
    final Map<Long, byte[]> committedEntries = new HashMap<>();
    /** Seq -> reply digest of the batch, as committed. */
    final Map<Long, Long> committedReplyDigests = new HashMap<>();
    /** Seqs committed with records imported from the peer (their replies are this replica's own). */
    final Set<Long> transferred = new HashSet<>();
    /** Seqs in commit order. */
    final List<Long> commitOrder = new ArrayList<>();
    private final ArrayDeque<OpenBatch> open = new ArrayDeque<>();
    private final SplittableRandom random;
    private final double raceProbability;
    private final double sequentialRaceProbability;
    private final long raceAmount;
    private final int maxOpenBatches;
    private long lastCommittedSeq = -1;
    private long requests;
    private long root;
    long races;

    /**
     * One open batch: the pre-image of each key it wrote first, and its token.
     */
    private static final class OpenBatch
    {
        final Map<Long, Long> undo = new LinkedHashMap<>();
        final long seq;
        byte[] entry;
        int requests;
        long root;
        long replyDigest;
        boolean imported;

        OpenBatch(final long seq)
        {
            this.seq = seq;
        }
    }

    ModelReplica(
        final long seed, final double raceProbability, final double sequentialRaceProbability, final long raceAmount)
    {
        this(seed, raceProbability, sequentialRaceProbability, raceAmount, 1);
    }

    ModelReplica(
        final long seed,
        final double raceProbability,
        final double sequentialRaceProbability,
        final long raceAmount,
        final int maxOpenBatches)
    {
        this.random = new SplittableRandom(seed);
        this.raceProbability = raceProbability;
        this.sequentialRaceProbability = sequentialRaceProbability;
        this.raceAmount = raceAmount;
        this.maxOpenBatches = maxOpenBatches;
    }

    long configurationDigest;
    /** Seqs whose journal entries are gone (pruned cycles): catch-up of them is refused. */
    final Set<Long> pruned = new HashSet<>();

    @Override
    public boolean canServeCatchUp(final long fromSeq)
    {
        if (!committedRoots.containsKey(fromSeq - 1))
        {
            return false;
        }
        for (long seq = fromSeq; seq <= lastCommittedSeq; seq++)
        {
            if (!committedEntries.containsKey(seq) || !committedRoots.containsKey(seq))
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public long committedRoot(final long seq)
    {
        return committedRoots.get(seq);
    }

    @Override
    public int committedBatch(final long seq, final MutableDirectBuffer dst, final int offset)
    {
        final byte[] entry = committedEntries.get(seq);
        if (null == entry || pruned.contains(seq))
        {
            return -1;
        }
        dst.putBytes(offset, entry);
        return entry.length;
    }

    @Override
    public long configurationDigest()
    {
        return configurationDigest;
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
        final long next = open.isEmpty() ? lastCommittedSeq + 1 : open.peekLast().seq + 1;
        if (seq != next || open.size() >= maxOpenBatches)
        {
            throw new IllegalStateException("execute(" + seq + "): open " + openSeqs() + " (at most " +
                maxOpenBatches + "), committed " + lastCommittedSeq);
        }
        final OpenBatch opened = new OpenBatch(seq);
        opened.entry = new byte[batch.entryLength()];
        batch.entry().getBytes(0, opened.entry);
        open.addLast(opened);
        long digest = 17;
        while (batch.next())
        {
            opened.requests++;
            final DirectBuffer payload = batch.payload();
            final long key = payload.getLong(0);
            long delta = payload.getLong(8);
            if (random.nextDouble() < (sequential ? sequentialRaceProbability : raceProbability))
            {
                delta += raceAmount;
                races++;
            }
            write(opened, key, values.getOrDefault(key, 0L) + delta);
            digest = digest * 31 + values.get(key);
        }
        opened.replyDigest = digest;
        root = computeRoot();
        opened.root = root;
    }

    private void write(final OpenBatch batch, final long key, final long value)
    {
        if (!batch.undo.containsKey(key))
        {
            batch.undo.put(key, values.get(key));
        }
        values.put(key, value);
    }

    public long root()
    {
        return root;
    }

    public long replyDigest()
    {
        return open.isEmpty() ? 0 : open.peekLast().replyDigest;
    }

    public void rollback(final long seq)
    {
        find(seq);
        while (!open.isEmpty() && open.peekLast().seq >= seq)
        {
            undo(values, open.removeLast());
        }
        root = computeRoot();
    }

    private static void undo(final Map<Long, Long> values, final OpenBatch batch)
    {
        batch.undo.forEach((key, old) ->
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
    }

    public void commit(final long seq)
    {
        if (open.isEmpty() || open.peekFirst().seq != seq)
        {
            throw new IllegalStateException("commit(" + seq + "): the oldest open batch is " +
                (open.isEmpty() ? "none" : open.peekFirst().seq));
        }
        final OpenBatch batch = open.removeFirst();
        lastCommittedSeq = seq;
        requests += batch.requests;
        committedRoots.put(seq, batch.root);
        committedEntries.put(seq, batch.entry);
        committedReplyDigests.put(seq, batch.replyDigest);
        if (batch.imported)
        {
            transferred.add(seq);
        }
        commitOrder.add(seq);
    }

    private OpenBatch find(final long seq)
    {
        for (final OpenBatch batch : open)
        {
            if (batch.seq == seq)
            {
                return batch;
            }
        }
        throw new IllegalStateException("batch " + seq + " is not open (open: " + openSeqs() + ")");
    }

    private OpenBatch newest(final long seq)
    {
        if (open.isEmpty() || open.peekLast().seq != seq)
        {
            throw new IllegalStateException("batch " + seq + " is not the newest open batch (open: " + openSeqs() +
                ")");
        }
        return open.peekLast();
    }

    private String openSeqs()
    {
        final List<Long> seqs = new ArrayList<>();
        open.forEach(batch -> seqs.add(batch.seq));
        return seqs.toString();
    }

    int openBatches()
    {
        return open.size();
    }

    public long lastCommittedSeq()
    {
        return lastCommittedSeq;
    }

    public void forEachWrittenKey(final long seq, final KeyConsumer consumer)
    {
        for (final Long key : find(seq).undo.keySet())
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
        final OpenBatch batch = newest(seq);
        batch.imported = true;
        final int count = src.getInt(offset);
        int at = offset + 4;
        for (int i = 0; i < count; i++)
        {
            final long key = src.getLong(at);
            if (!batch.undo.containsKey(key))
            {
                batch.undo.put(key, values.get(key));
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
        batch.root = root;
    }

    /** Frame: page count (4) | pages x (page (4) | digest (8)) | record count (4) | records x (key (8) | value (8)). */
    public int exportPages(final int[] pages, final int count, final MutableDirectBuffer dst, final int offset)
    {
        if (!open.isEmpty())
        {
            throw new IllegalStateException("exportPages with batches " + openSeqs() + " open");
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
        if (!open.isEmpty())
        {
            throw new IllegalStateException("importPages with batches " + openSeqs() + " open");
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
        if (!open.isEmpty())
        {
            throw new IllegalStateException("adoptCommittedSeq with batches " + openSeqs() + " open");
        }
        lastCommittedSeq = seq;
    }

    /**
     * @return this replica's committed state as it would be recovered from its journal after a
     * crash (the open batches are lost), racing like this one.
     */
    ModelReplica restartedFromCommitted(final long seed)
    {
        final ModelReplica restarted =
            new ModelReplica(seed, raceProbability, sequentialRaceProbability, raceAmount, maxOpenBatches);
        restarted.values.putAll(values);
        final Iterator<OpenBatch> newestFirst = open.descendingIterator();
        while (newestFirst.hasNext())
        {
            undo(restarted.values, newestFirst.next());
        }
        restarted.committedRoots.putAll(committedRoots);
        restarted.committedEntries.putAll(committedEntries);
        restarted.committedReplyDigests.putAll(committedReplyDigests);
        restarted.transferred.addAll(transferred);
        restarted.commitOrder.addAll(commitOrder);
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
