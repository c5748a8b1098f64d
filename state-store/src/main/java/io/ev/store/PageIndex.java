/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.util.Arrays;

import net.openhft.chronicle.hash.Data;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import static io.ev.store.RecordLayout.FLAGS_OFFSET;
import static io.ev.store.RecordLayout.FLAG_TOMBSTONE;
import static io.ev.store.RecordLayout.TRAILER_LENGTH;

/**
 * Keys of a store grouped by page, pages ascending (optionally keys ascending within a page): one
 * scan of the map, then a counting sort by page. A snapshot of the keys at the time of the scan;
 * the caller decides whether it is still current. Memory: 4 bytes per page, and 16 bytes per key
 * listed during the build (8 after).
 * <pre>
 *  groups: every page (group = page), or the selected pages in ascending order
 *  keys:   | keys of group 0 | keys of group 1 | ... |     group g = keys[starts[g], starts[g + 1])
 * </pre>
 */
final class PageIndex
{
    private static final int NOT_SELECTED = -1;

    private final int[] starts;
    private final long[] keys;

    private PageIndex(final int[] starts, final long[] keys)
    {
        this.starts = starts;
        this.keys = keys;
    }

    /**
     * Scans the store's map. Coordinator only, while no writer runs.
     *
     * @param store    the store.
     * @param selected pages whose keys are wanted, or null for every page (groups are then pages).
     * @param liveOnly skip tombstones (keys deleted by a still-open batch); otherwise every
     *                 physical entry is listed.
     * @param sortKeys sort the keys within each page (else they are in map order).
     * @return the index.
     */
    static PageIndex build(
        final StateStore store, final IntHashSet selected, final boolean liveOnly, final boolean sortKeys)
    {
        final int pageCount = store.pageCount();
        final int[] groupOfPage = new int[pageCount];
        final int groupCount;
        if (null == selected)
        {
            for (int page = 0; page < pageCount; page++)
            {
                groupOfPage[page] = page;
            }
            groupCount = pageCount;
        }
        else
        {
            Arrays.fill(groupOfPage, NOT_SELECTED);
            for (final IntHashSet.IntIterator it = selected.iterator(); it.hasNext(); )
            {
                groupOfPage[it.nextValue()] = 0;
            }
            int group = 0;
            for (int page = 0; page < pageCount; page++)
            {
                if (NOT_SELECTED != groupOfPage[page])
                {
                    groupOfPage[page] = group++;
                }
            }
            groupCount = group;
        }
        final int[] starts = new int[groupCount + 1];
        final long physical = store.size();
        final long expected = null == selected ? physical : physical / pageCount * (groupCount + 1);
        final LongArrayList found = new LongArrayList(
            (int)Math.min(Integer.MAX_VALUE - 16, expected + 16), Long.MIN_VALUE);
        final UnsafeBuffer view = new UnsafeBuffer(0, 0);
        if (groupCount > 0)
        {
            store.map().forEachEntry(entry ->
            {
                final Data<Long> keyData = entry.key();
                final long key = keyData.bytes().readLong(keyData.offset());
                final int group = groupOfPage[store.page(key)];
                if (NOT_SELECTED == group)
                {
                    return;
                }
                if (liveOnly)
                {
                    final Data<byte[]> value = entry.value();
                    final int length = (int)value.size();
                    view.wrap(value.bytes().addressForRead(value.offset()), length);
                    if ((view.getInt(length - TRAILER_LENGTH + FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0)
                    {
                        return;
                    }
                }
                starts[group + 1]++;
                found.addLong(key);
            });
        }

        for (int group = 0; group < groupCount; group++)
        {
            starts[group + 1] += starts[group];
        }
        final int count = found.size();
        final int[] next = Arrays.copyOf(starts, groupCount);
        final long[] sorted = new long[count];
        for (int i = 0; i < count; i++)
        {
            final long key = found.getLong(i);
            sorted[next[groupOfPage[store.page(key)]]++] = key;
        }
        for (int group = 0; sortKeys && group < groupCount; group++)
        {
            if (starts[group + 1] - starts[group] > 1)
            {
                Arrays.sort(sorted, starts[group], starts[group + 1]);
            }
        }
        return new PageIndex(starts, sorted);
    }

    /**
     * @return the first position of a group's keys.
     */
    int start(final int group)
    {
        return starts[group];
    }

    /**
     * @return one past the last position of a group's keys.
     */
    int end(final int group)
    {
        return starts[group + 1];
    }

    long key(final int position)
    {
        return keys[position];
    }

    /**
     * Appends every key, in index order.
     */
    void appendTo(final LongArrayList out)
    {
        out.ensureCapacity(out.size() + keys.length);
        for (final long key : keys)
        {
            out.addLong(key);
        }
    }
}
