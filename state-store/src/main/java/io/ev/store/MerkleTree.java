/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.nio.ByteBuffer;
import java.util.Arrays;

import net.openhft.hashing.LongHashFunction;
import org.agrona.collections.IntArrayList;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Merkle tree with a fixed fan-out over the page digests held in the caller's off-heap page records
 * (level 0). Interior levels live in one off-heap array, level after level:
 * <pre>
 *  nodes: | level 1 (ceil(P/F) longs) | level 2 (ceil(P/F^2) longs) | ... | root (1 long) |
 * </pre>
 * A node's digest is xxh3 of its children's digests laid side by side (page digests are first
 * gathered from their strided page records; interior nodes are hashed in place). Recomputing
 * after a batch touches only the ancestors of dirty pages: cost O(d log d + d * levels) for d
 * dirty pages, independent of the number of records.
 * <p>
 * Not thread safe: recompute while no writer runs (the pipeline's batch barrier orders it).
 */
final class MerkleTree implements DigestTree
{
    /** Children per interior node. */
    static final int FANOUT = 16;
    private static final int FANOUT_SHIFT = 4;
    private static final LongHashFunction XX3 = LongHashFunction.xx3();

    private final UnsafeBuffer pages;
    private final int pageStride;
    private final UnsafeBuffer nodes;
    private final UnsafeBuffer gather = new UnsafeBuffer(ByteBuffer.allocateDirect(FANOUT * Long.BYTES));
    private final int[] widths;
    private final int[] levelOffsets;

    /**
     * @param pages off-heap page records whose first 8 bytes are the page digest, native order.
     * @param pageStride bytes from one page record to the next (8 for a plain digest array).
     * @param pageCount number of pages, a power of two.
     */
    MerkleTree(final UnsafeBuffer pages, final int pageStride, final int pageCount)
    {
        this.pages = pages;
        this.pageStride = pageStride;
        int levels = 1;
        int width = pageCount;
        do
        {
            width = (width + FANOUT - 1) >>> FANOUT_SHIFT;
            levels++;
        }
        while (width > 1);

        widths = new int[levels];
        levelOffsets = new int[levels];
        widths[0] = pageCount;
        int offset = 0;
        for (int level = 1; level < levels; level++)
        {
            widths[level] = (widths[level - 1] + FANOUT - 1) >>> FANOUT_SHIFT;
            levelOffsets[level] = offset;
            offset += widths[level];
        }
        nodes = new UnsafeBuffer(ByteBuffer.allocateDirect(offset * Long.BYTES));
    }

    public int fanout()
    {
        return FANOUT;
    }

    public int levels()
    {
        return widths.length;
    }

    public int width(final int level)
    {
        return widths[level];
    }

    public long node(final int level, final int index)
    {
        if (level == 0)
        {
            return pages.getLong(index * pageStride);
        }
        return nodes.getLong((levelOffsets[level] + index) * Long.BYTES);
    }

    /**
     * Recomputes every interior node: used at open, import and in tests.
     */
    void recomputeAll()
    {
        for (int level = 1; level < widths.length; level++)
        {
            for (int index = 0, width = widths[level]; index < width; index++)
            {
                recomputeNode(level, index);
            }
        }
    }

    /**
     * Recomputes the ancestors of the given pages. The array is sorted and overwritten in place.
     *
     * @param dirty page indexes, in any order, without duplicates.
     * @param count number of valid entries.
     */
    void recompute(final int[] dirty, final int count)
    {
        Arrays.sort(dirty, 0, count);
        int length = count;
        for (int level = 1; level < widths.length; level++)
        {
            int parents = 0;
            int lastParent = -1;
            for (int i = 0; i < length; i++)
            {
                final int parent = dirty[i] >>> FANOUT_SHIFT;
                if (parent != lastParent)
                {
                    recomputeNode(level, parent);
                    dirty[parents++] = parent;
                    lastParent = parent;
                }
            }
            length = parents;
        }
    }

    /**
     * Walks this tree and {@code other} top-down and lists the pages whose digests differ.
     *
     * @param other the tree to compare with: same page count and fan-out.
     * @param differingPages receives the differing page indexes in ascending order (cleared first).
     */
    void diff(final DigestTree other, final IntArrayList differingPages)
    {
        if (other.fanout() != FANOUT || other.levels() != levels() || other.width(0) != widths[0])
        {
            throw new StateStoreException(
                StateStoreException.Reason.INVALID_CONFIGURATION,
                "cannot diff trees of different shape: pages " + widths[0] + " vs " + other.width(0) +
                ", fanout " + FANOUT + " vs " + other.fanout());
        }
        differingPages.clear();
        final int top = levels() - 1;
        if (other.node(top, 0) != node(top, 0))
        {
            diffChildren(other, top, 0, differingPages);
        }
    }

    private void diffChildren(final DigestTree other, final int level, final int index, final IntArrayList out)
    {
        final int childLevel = level - 1;
        final int first = index << FANOUT_SHIFT;
        final int end = Math.min(first + FANOUT, widths[childLevel]);
        for (int child = first; child < end; child++)
        {
            if (other.node(childLevel, child) != node(childLevel, child))
            {
                if (childLevel == 0)
                {
                    out.addInt(child);
                }
                else
                {
                    diffChildren(other, childLevel, child, out);
                }
            }
        }
    }

    private void recomputeNode(final int level, final int index)
    {
        final int childLevel = level - 1;
        final int first = index << FANOUT_SHIFT;
        final int count = Math.min(FANOUT, widths[childLevel] - first);
        final long address;
        if (childLevel == 0 && pageStride != Long.BYTES)
        {
            for (int i = 0; i < count; i++)
            {
                gather.putLong(i * Long.BYTES, pages.getLong((first + i) * pageStride));
            }
            address = gather.addressOffset();
        }
        else if (childLevel == 0)
        {
            address = pages.addressOffset() + (long)first * Long.BYTES;
        }
        else
        {
            address = nodes.addressOffset() + (long)(levelOffsets[childLevel] + first) * Long.BYTES;
        }
        final long digest = XX3.hashMemory(address, (long)count * Long.BYTES);
        nodes.putLong((levelOffsets[level] + index) * Long.BYTES, digest);
    }
}
