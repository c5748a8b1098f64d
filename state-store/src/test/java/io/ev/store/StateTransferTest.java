/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Merkle-diff state transfer: a rejoining replica diffs its page digests against its peer's, the
 * peer exports the differing pages whole (keysInPages + exportPages, in chunks), the receiver
 * imports each chunk in a batch and adopts the peer's committed seq; both then hold the same
 * records and root. Tampered frames are refused and change nothing; an import rolls back.
 */
class StateTransferTest
{
    private static final int PAGES = 256;
    private static final int KEY_RANGE = 2_000;
    private static final int MAX_ENTRIES = 10_000;

    @Property(tries = 25)
    void shouldMakeReceiverEqualToPeerByCopyingDifferingPagesInChunks(@ForAll final long seed)
    {
        final Random random = new Random(seed);
        final String message = "seed " + seed;
        System.out.println("StateTransferTest " + message);
        final Divergence divergence = Divergence.random(random);
        try (StateStore peer = StateStore.open(context());
            StateStore receiver = StateStore.open(context()))
        {
            final StoreWriter peerWriter = peer.newWriter();
            final StoreWriter receiverWriter = receiver.newWriter();
            final long peerSeq = random.nextInt(12);
            load(peer, peerWriter, divergence.peer, peerSeq, random);
            load(receiver, receiverWriter, divergence.receiver, random.nextInt(12), random);

            final int[] differing = differingPages(peer, receiver);
            final IntArrayList walked = new IntArrayList();
            receiver.diffPages(peer.digestTree(), walked);
            assertArrayEquals(differing, walked.toIntArray(), message + ": per-page comparison agrees with the walk");
            assertEquals(expectedDifferingPages(peer, divergence), toSet(differing), message);
            assertTrue(differing.length >= 3, message + ": " + differing.length + " differing pages");

            final LongArrayList keys = new LongArrayList();
            peer.keysInPages(toSet(differing), keys);
            assertArrayEquals(expectedKeysInPages(peer, divergence.peer, differing), keys.toLongArray(), message);

            long transferSeq = receiver.lastCommittedSeq();
            int keyAt = 0;
            final int[] cuts = chunkCuts(random, differing.length);
            for (int chunk = 0; chunk + 1 < cuts.length; chunk++)
            {
                final int[] pages = Arrays.copyOfRange(differing, cuts[chunk], cuts[chunk + 1]);
                final int keyEnd = endOfPages(peer, keys, keyAt, pages[pages.length - 1]);
                final long[] chunkKeys = Arrays.copyOfRange(keys.toLongArray(), keyAt, keyEnd);
                keyAt = keyEnd;
                final int offset = random.nextInt(9);
                final MutableDirectBuffer frame = chunk % 2 == 0 ? new ExpandableDirectByteBuffer(16) :
                    new UnsafeBuffer(new byte[offset + peer.maxExportPagesLength(pages.length, chunkKeys.length)]);
                final int length = peer.exportPages(pages, pages.length, chunkKeys, chunkKeys.length, frame, offset);
                assertTrue(length <= peer.maxExportPagesLength(pages.length, chunkKeys.length), message);
                assertEquals(RecordsCodec.FLAG_COMPLETE_PAGES, frame.getShort(offset + RecordsCodec.FLAGS_OFFSET));
                assertEquals(pages.length, frame.getInt(offset + RecordsCodec.PAGE_COUNT_OFFSET), message);

                transferSeq++;
                receiver.begin(transferSeq);
                receiver.importRecords(transferSeq, frame, offset, length);
                receiver.seal(transferSeq);
                receiver.commit(transferSeq);
                for (final int page : pages)
                {
                    assertEquals(peer.pageDigest(page), receiver.pageDigest(page), message + " page " + page);
                }
            }
            assertEquals(keys.size(), keyAt, message + ": every key exported once");
            assertTrue(cuts.length >= 3, message + ": at least two chunks");

            receiver.adoptCommittedSeq(peerSeq);
            assertEquals(peerSeq, receiver.lastCommittedSeq(), message);
            assertEquals(peer.root(), receiver.root(), message);
            assertEquals(peer.size(), receiver.size(), message);
            StoreFixtures.assertMatches(message, receiver, receiverWriter, divergence.peer, KEY_RANGE);

            // batches after the adopted seq reuse the transfer's seqs: each must still roll back
            final NavigableMap<Long, byte[]> state = StoreFixtures.copy(divergence.peer);
            for (long seq = peerSeq + 1; seq <= transferSeq + 1; seq++)
            {
                final long root = receiver.root();
                receiver.begin(seq);
                StoreFixtures.randomWrites(random, receiverWriter, seq, StoreFixtures.copy(state), KEY_RANGE, 40, 4);
                receiver.seal(seq);
                receiver.rollback(seq);
                assertEquals(root, receiver.root(), message + " rollback of batch " + seq);
                StoreFixtures.assertMatches(message + " rollback of batch " + seq, receiver, receiverWriter, state,
                    KEY_RANGE);
                receiver.begin(seq);
                StoreFixtures.randomWrites(random, receiverWriter, seq, state, KEY_RANGE, 10, 4);
                receiver.seal(seq);
                receiver.commit(seq);
            }
            StoreFixtures.assertMatches(message + " after later batches", receiver, receiverWriter, state, KEY_RANGE);
        }
    }

    @Test
    void shouldRefuseTamperedCompletePagesFrameAndChangeNothing()
    {
        final Random random = new Random(7);
        final Divergence divergence = Divergence.random(random);
        try (StateStore peer = StateStore.open(context());
            StateStore receiver = StateStore.open(context()))
        {
            final StoreWriter receiverWriter = receiver.newWriter();
            load(peer, peer.newWriter(), divergence.peer, 3, random);
            load(receiver, receiverWriter, divergence.receiver, 5, random);
            final int[] pages = differingPages(peer, receiver);
            final LongArrayList keyList = new LongArrayList();
            peer.keysInPages(toSet(pages), keyList);
            final long[] keys = keyList.toLongArray();
            final ExpandableDirectByteBuffer frame = new ExpandableDirectByteBuffer(64);
            final int length = peer.exportPages(pages, pages.length, keys, keys.length, frame, 0);
            final long root = receiver.root();
            receiver.begin(6);

            // a value byte flipped: the page's records no longer give the sender's digest
            int record = RecordsCodec.HEADER_LENGTH + pages.length * RecordsCodec.PAGE_ENTRY_LENGTH;
            while (frame.getInt(record + Long.BYTES) == 0)
            {
                record += RecordsCodec.RECORD_HEADER_LENGTH;
            }
            final long tamperedKey = frame.getLong(record);
            final int lengthField = record + Long.BYTES;
            final int valueLength = frame.getInt(lengthField);
            final StateStoreException badValue =
                refused(receiver, frame, length, record + RecordsCodec.RECORD_HEADER_LENGTH, (byte)1);
            assertEquals(StateStoreException.Reason.DIGEST_MISMATCH, badValue.reason());
            assertTrue(badValue.getMessage().contains("page " + peer.page(tamperedKey)), badValue.getMessage());
            assertUnchanged(receiver, receiverWriter, root, divergence.receiver);

            // the sender's digest of the last page tampered
            final int pageEntry = RecordsCodec.HEADER_LENGTH + (pages.length - 1) * RecordsCodec.PAGE_ENTRY_LENGTH;
            final StateStoreException badDigest = refused(receiver, frame, length, pageEntry + Long.BYTES, (byte)1);
            assertEquals(StateStoreException.Reason.DIGEST_MISMATCH, badDigest.reason());
            assertTrue(badDigest.getMessage().contains("page " + pages[pages.length - 1]), badDigest.getMessage());

            // unknown flag, truncation, trailing garbage, pages out of order, a deletion record
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT,
                refused(receiver, frame, length, RecordsCodec.FLAGS_OFFSET, (byte)2).reason());
            for (final int cut : new int[] {1, 5, length / 2, length - RecordsCodec.HEADER_LENGTH})
            {
                assertEquals(StateStoreException.Reason.CORRUPT_INPUT, assertThrows(StateStoreException.class,
                    () -> receiver.importRecords(6, frame, 0, length - cut)).reason(), "cut " + cut);
            }
            frame.checkLimit(length + 3);
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT, assertThrows(StateStoreException.class,
                () -> receiver.importRecords(6, frame, 0, length + 3)).reason());
            final int secondPage = RecordsCodec.HEADER_LENGTH + RecordsCodec.PAGE_ENTRY_LENGTH;
            final int first = frame.getInt(RecordsCodec.HEADER_LENGTH);
            frame.putInt(RecordsCodec.HEADER_LENGTH, frame.getInt(secondPage));
            frame.putInt(secondPage, first);
            final StateStoreException swapped = assertThrows(StateStoreException.class,
                () -> receiver.importRecords(6, frame, 0, length));
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT, swapped.reason());
            frame.putInt(secondPage, frame.getInt(RecordsCodec.HEADER_LENGTH));
            frame.putInt(RecordsCodec.HEADER_LENGTH, first);
            frame.putInt(lengthField, RecordsCodec.ABSENT);
            final StateStoreException deletion = assertThrows(StateStoreException.class,
                () -> receiver.importRecords(6, frame, 0, length));
            assertEquals(StateStoreException.Reason.CORRUPT_INPUT, deletion.reason());
            assertTrue(deletion.getMessage().contains("key " + tamperedKey), deletion.getMessage());
            frame.putInt(lengthField, valueLength);
            assertUnchanged(receiver, receiverWriter, root, divergence.receiver);

            // the untouched frame still imports
            receiver.importRecords(6, frame, 0, length);
            assertEquals(peer.root(), receiver.seal(6));
            receiver.commit(6);
        }
    }

    @Test
    void shouldRestoreReceiverWhenTheBatchHoldingTheImportRollsBack()
    {
        final Random random = new Random(11);
        final Divergence divergence = Divergence.random(random);
        try (StateStore peer = StateStore.open(context());
            StateStore receiver = StateStore.open(context()))
        {
            final StoreWriter receiverWriter = receiver.newWriter();
            load(peer, peer.newWriter(), divergence.peer, 2, random);
            load(receiver, receiverWriter, divergence.receiver, 4, random);
            final long root = receiver.root();
            final long size = receiver.size();
            final int[] pages = differingPages(peer, receiver);
            final LongArrayList keys = new LongArrayList();
            peer.keysInPages(toSet(pages), keys);
            final int half = pages.length / 2;
            final int keyHalf = endOfPages(peer, keys, 0, pages[half - 1]);
            final ExpandableDirectByteBuffer frame = new ExpandableDirectByteBuffer(16);

            receiver.begin(5);
            int length = peer.exportPages(pages, half, keys.toLongArray(), keyHalf, frame, 0);
            receiver.importRecords(5, frame, 0, length);
            final long[] rest = Arrays.copyOfRange(keys.toLongArray(), keyHalf, keys.size());
            length = peer.exportPages(Arrays.copyOfRange(pages, half, pages.length), pages.length - half, rest,
                rest.length, frame, 0);
            receiver.importRecords(5, frame, 0, length);
            assertEquals(peer.root(), receiver.seal(5));
            StoreFixtures.assertMatches("imported", receiver, receiverWriter, divergence.peer, KEY_RANGE);

            receiver.rollback(5);
            assertEquals(root, receiver.root());
            assertEquals(size, receiver.size());
            StoreFixtures.assertMatches("rolled back", receiver, receiverWriter, divergence.receiver, KEY_RANGE);
            assertEquals(4, receiver.lastCommittedSeq());
        }
    }

    @Test
    void shouldDeleteKeysTheReceiverWroteBetweenChunks()
    {
        final Random random = new Random(13);
        final Divergence divergence = Divergence.random(random);
        try (StateStore peer = StateStore.open(context());
            StateStore receiver = StateStore.open(context()))
        {
            final StoreWriter receiverWriter = receiver.newWriter();
            load(peer, peer.newWriter(), divergence.peer, 1, random);
            load(receiver, receiverWriter, divergence.receiver, 1, random);
            final int[] pages = differingPages(peer, receiver);
            final LongArrayList keys = new LongArrayList();
            peer.keysInPages(toSet(pages), keys);
            final ExpandableDirectByteBuffer frame = new ExpandableDirectByteBuffer(16);
            final int keyFirst = endOfPages(peer, keys, 0, pages[0]);
            receiver.begin(2);
            receiver.importRecords(2, frame, 0, peer.exportPages(pages, 1, keys.toLongArray(), keyFirst, frame, 0));
            receiver.seal(2);
            receiver.commit(2);

            // after the first import indexed the receiver's keys, it writes new keys in the other pages
            final int[] rest = Arrays.copyOfRange(pages, 1, pages.length);
            receiver.begin(3);
            for (final int page : rest)
            {
                long key = KEY_RANGE;
                while (receiver.page(key) != page)
                {
                    key++;
                }
                StoreFixtures.put(receiverWriter, 3, key, new byte[] {3});
            }
            receiver.seal(3);
            receiver.commit(3);

            final long[] restKeys = Arrays.copyOfRange(keys.toLongArray(), keyFirst, keys.size());
            receiver.begin(4);
            receiver.importRecords(4, frame, 0,
                peer.exportPages(rest, rest.length, restKeys, restKeys.length, frame, 0));
            assertEquals(peer.root(), receiver.seal(4));
            receiver.commit(4);
            assertEquals(peer.size(), receiver.size());
            StoreFixtures.assertMatches("transferred", receiver, receiverWriter, divergence.peer, KEY_RANGE);
        }
    }

    @Test
    void shouldLowerVersionsSoThatBatchesReusingSeqsAboveTheAdoptedSeqRollBack()
    {
        try (StateStore peer = StateStore.open(context());
            StateStore receiver = StateStore.open(context()))
        {
            final StoreWriter peerWriter = peer.newWriter();
            final StoreWriter receiverWriter = receiver.newWriter();
            final NavigableMap<Long, byte[]> contents = new TreeMap<>(Map.of(1L, new byte[] {1}, 2L, new byte[] {2}));
            load(peer, peerWriter, contents, 0, new Random(1));
            load(receiver, receiverWriter, new TreeMap<>(), 9, new Random(2));
            final int[] pages = differingPages(peer, receiver);
            final LongArrayList keys = new LongArrayList();
            peer.keysInPages(toSet(pages), keys);
            final ExpandableDirectByteBuffer frame = new ExpandableDirectByteBuffer(16);
            final int length = peer.exportPages(pages, pages.length, keys.toLongArray(), keys.size(), frame, 0);
            receiver.begin(10);
            receiver.importRecords(10, frame, 0, length);
            receiver.seal(10);
            receiver.commit(10);
            assertEquals(10, receiver.pageVersion(receiver.page(1)));

            receiver.adoptCommittedSeq(0);
            assertEquals(0, receiver.lastCommittedSeq());
            assertEquals(0, receiver.pageVersion(receiver.page(1)));
            assertEquals(StateStoreException.Reason.BATCH_ORDER,
                assertThrows(StateStoreException.class, () -> receiver.begin(0)).reason());
            for (long seq = 1; seq < 10; seq++)
            {
                receiver.begin(seq);
                receiver.seal(seq);
                receiver.commit(seq);
            }
            final long root = receiver.root();
            receiver.begin(10);
            StoreFixtures.put(receiverWriter, 10, 1, new byte[] {7});
            receiverWriter.remove(10, 2);
            receiver.seal(10);
            receiver.rollback(10);
            assertEquals(root, receiver.root());
            StoreFixtures.assertMatches("after rollback", receiver, receiverWriter, contents, KEY_RANGE);
        }
    }

    @Test
    void shouldRefuseOutOfOrderCallsAndStaleKeyLists()
    {
        try (StateStore store = StateStore.open(context()))
        {
            final StoreWriter writer = store.newWriter();
            final NavigableMap<Long, byte[]> contents = new TreeMap<>();
            for (long key = 0; key < 50; key++)
            {
                contents.put(key, new byte[] {(byte)key});
            }
            load(store, writer, contents, 1, new Random(3));
            final int page = store.page(1);
            final IntHashSet pageSet = toSet(new int[] {page});
            final LongArrayList keys = new LongArrayList();
            store.keysInPages(pageSet, keys);
            final long[] keyArray = keys.toLongArray();
            final UnsafeBuffer frame = new UnsafeBuffer(new byte[store.maxExportPagesLength(1, keyArray.length)]);
            final int[] pages = {page};

            store.begin(2);
            assertEquals(StateStoreException.Reason.BATCH_ORDER, assertThrows(StateStoreException.class,
                () -> store.keysInPages(pageSet, new LongArrayList())).reason());
            assertEquals(StateStoreException.Reason.BATCH_ORDER, assertThrows(StateStoreException.class,
                () -> store.exportPages(pages, 1, keyArray, keyArray.length, frame, 0)).reason());
            assertEquals(StateStoreException.Reason.BATCH_ORDER, assertThrows(StateStoreException.class,
                () -> store.adoptCommittedSeq(5)).reason());
            store.seal(2);
            store.commit(2);

            final StateStoreException incomplete = assertThrows(StateStoreException.class,
                () -> store.exportPages(pages, 1, keyArray, keyArray.length - 1, frame, 0));
            assertEquals(StateStoreException.Reason.DIGEST_MISMATCH, incomplete.reason());
            assertTrue(incomplete.getMessage().contains("page " + page), incomplete.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> store.exportPages(new int[] {page, page}, 2, keyArray, keyArray.length, frame, 0));
            assertThrows(IllegalArgumentException.class,
                () -> store.exportPages(pages, 1, new long[] {1, 1}, 2, frame, 0));
            final long otherPageKey = findKeyOutside(store, page);
            assertThrows(IllegalArgumentException.class,
                () -> store.exportPages(pages, 1, new long[] {otherPageKey}, 1, frame, 0));
            assertThrows(IllegalArgumentException.class, () -> store.keysInPages(toSet(new int[] {PAGES}), keys));
            assertEquals(StateStoreException.Reason.BATCH_ORDER, assertThrows(StateStoreException.class,
                () -> store.adoptCommittedSeq(-2)).reason());

            store.adoptCommittedSeq(StateStore.NULL_SEQ);
            assertEquals(StateStore.NULL_SEQ, store.lastCommittedSeq());
            store.begin(0);
            store.seal(0);
            store.commit(0);
            store.adoptCommittedSeq(1_000);
            assertEquals(1_000, store.lastCommittedSeq());
            assertEquals(StateStoreException.Reason.BATCH_ORDER,
                assertThrows(StateStoreException.class, () -> store.begin(1_000)).reason());
            store.begin(1_001);
            store.rollback(1_001);
            StoreFixtures.assertMatches("unchanged", store, writer, contents, KEY_RANGE);
        }
    }

    @Test
    void shouldListOnlyCommittedKeysOfTheGivenPagesGroupedByAscendingPage()
    {
        try (StateStore store = StateStore.open(context()))
        {
            final StoreWriter writer = store.newWriter();
            final NavigableMap<Long, byte[]> contents = new TreeMap<>();
            final Random random = new Random(5);
            for (int i = 0; i < 500; i++)
            {
                contents.put((long)random.nextInt(KEY_RANGE), StoreFixtures.randomValue(random));
            }
            load(store, writer, contents, 2, random);
            store.begin(3);
            writer.remove(3, contents.firstKey());
            store.seal(3);
            store.commit(3);
            contents.remove(contents.firstKey());
            final int[] pages = {3, 17, 40, 41, 200, 255};
            final LongArrayList keys = new LongArrayList();
            keys.addLong(-5);
            store.keysInPages(toSet(pages), keys);
            assertEquals(-5, keys.getLong(0), "appends");
            keys.removeAt(0);
            assertArrayEquals(expectedKeysInPages(store, contents, pages), keys.toLongArray());
            final LongArrayList none = new LongArrayList();
            store.keysInPages(new IntHashSet(), none);
            assertEquals(0, none.size());
        }
    }

    private static StateStoreException refused(
        final StateStore receiver, final MutableDirectBuffer frame, final int length, final int at, final byte xor)
    {
        frame.putByte(at, (byte)(frame.getByte(at) ^ xor));
        try
        {
            return assertThrows(StateStoreException.class, () -> receiver.importRecords(6, frame, 0, length));
        }
        finally
        {
            frame.putByte(at, (byte)(frame.getByte(at) ^ xor));
        }
    }

    private static void assertUnchanged(
        final StateStore store, final StoreWriter reader, final long root, final NavigableMap<Long, byte[]> model)
    {
        assertEquals(root, store.seal(store.newestOpenSeq()));
        assertEquals(model.size(), store.size());
        StoreFixtures.assertMatches("unchanged", store, reader, model, KEY_RANGE);
    }

    private static StateStore.Context context()
    {
        return StoreFixtures.context(MAX_ENTRIES, PAGES).undoBytesPerBatch(1 << 20);
    }

    /**
     * Commits {@code contents} into an empty store over batches [0, lastSeq], each key in a random one.
     */
    private static void load(
        final StateStore store,
        final StoreWriter writer,
        final NavigableMap<Long, byte[]> contents,
        final long lastSeq,
        final Random random)
    {
        final List<Map.Entry<Long, byte[]>> entries = new ArrayList<>(contents.entrySet());
        final long[] batchOf = new long[entries.size()];
        for (int i = 0; i < batchOf.length; i++)
        {
            batchOf[i] = random.nextInt((int)lastSeq + 1);
        }
        for (long seq = 0; seq <= lastSeq; seq++)
        {
            store.begin(seq);
            for (int i = 0; i < batchOf.length; i++)
            {
                if (batchOf[i] == seq)
                {
                    StoreFixtures.put(writer, seq, entries.get(i).getKey(), entries.get(i).getValue());
                }
            }
            store.seal(seq);
            store.commit(seq);
        }
        assertEquals(lastSeq, store.lastCommittedSeq());
    }

    private static int[] differingPages(final StateStore first, final StateStore second)
    {
        final IntArrayList pages = new IntArrayList();
        for (int page = 0; page < first.pageCount(); page++)
        {
            if (first.pageDigest(page) != second.pageDigest(page))
            {
                pages.addInt(page);
            }
        }
        return pages.toIntArray();
    }

    private static IntHashSet expectedDifferingPages(final StateStore store, final Divergence divergence)
    {
        final long[] peer = StoreFixtures.expectedPageDigests(store, divergence.peer);
        final long[] receiver = StoreFixtures.expectedPageDigests(store, divergence.receiver);
        final IntHashSet pages = new IntHashSet();
        for (int page = 0; page < peer.length; page++)
        {
            if (peer[page] != receiver[page])
            {
                pages.add(page);
            }
        }
        return pages;
    }

    private static long[] expectedKeysInPages(
        final StateStore store, final NavigableMap<Long, byte[]> contents, final int[] pages)
    {
        final LongArrayList keys = new LongArrayList();
        final int[] sorted = pages.clone();
        Arrays.sort(sorted);
        for (final int page : sorted)
        {
            for (final long key : contents.keySet())
            {
                if (store.page(key) == page)
                {
                    keys.addLong(key);
                }
            }
        }
        return keys.toLongArray();
    }

    private static IntHashSet toSet(final int[] pages)
    {
        final IntHashSet set = new IntHashSet();
        for (final int page : pages)
        {
            set.add(page);
        }
        return set;
    }

    /**
     * @return cut points 0 = c0 < c1 < ... < cn = count splitting the pages into n >= 2 chunks.
     */
    private static int[] chunkCuts(final Random random, final int count)
    {
        final IntArrayList cuts = new IntArrayList();
        cuts.addInt(0);
        int at = 1 + random.nextInt(count - 1);
        while (at < count)
        {
            cuts.addInt(at);
            at += 1 + random.nextInt(Math.max(1, count / 2));
        }
        cuts.addInt(count);
        return cuts.toIntArray();
    }

    /**
     * @return the position after the keys, from {@code start}, whose page is at most {@code lastPage}.
     */
    private static int endOfPages(final StateStore store, final LongArrayList keys, final int start, final int lastPage)
    {
        int end = start;
        while (end < keys.size() && store.page(keys.getLong(end)) <= lastPage)
        {
            end++;
        }
        return end;
    }

    private static long findKeyOutside(final StateStore store, final int page)
    {
        long key = 0;
        while (store.page(key) == page)
        {
            key++;
        }
        return key;
    }

    /**
     * What a peer and a rejoining receiver hold: a common base, then the receiver has extra keys
     * (some in pages the peer holds nothing in), lacks keys, and holds other values; the peer
     * emptied some pages and wrote keys of its own.
     */
    private static final class Divergence
    {
        final NavigableMap<Long, byte[]> peer = new TreeMap<>();
        final NavigableMap<Long, byte[]> receiver = new TreeMap<>();

        static Divergence random(final Random random)
        {
            final Divergence divergence = new Divergence();
            for (int i = 0; i < 300; i++)
            {
                divergence.peer.put((long)random.nextInt(KEY_RANGE), StoreFixtures.randomValue(random));
            }
            divergence.receiver.putAll(divergence.peer);
            final List<Long> shared = new ArrayList<>(divergence.peer.keySet());
            for (int i = 0; i < 20; i++)
            {
                final Long key = shared.get(random.nextInt(shared.size()));
                if (i % 2 == 0)
                {
                    divergence.receiver.remove(key); // missing on the receiver
                }
                else
                {
                    divergence.receiver.put(key, StoreFixtures.randomValue(random)); // other value
                }
            }
            for (int i = 0; i < 10; i++)
            {
                divergence.receiver.put((long)random.nextInt(KEY_RANGE), StoreFixtures.randomValue(random));
                divergence.peer.put((long)random.nextInt(KEY_RANGE), StoreFixtures.randomValue(random));
            }
            // pages the peer emptied, and keys the receiver holds in pages where the peer has none
            final int page = pageOf(shared.get(random.nextInt(shared.size())));
            divergence.peer.keySet().removeIf(key -> pageOf(key) == page);
            int added = 0;
            for (long key = 0; key < KEY_RANGE && added < 3; key++)
            {
                final int keyPage = pageOf(key);
                if (divergence.peer.keySet().stream().noneMatch(other -> pageOf(other) == keyPage))
                {
                    divergence.receiver.put(key, StoreFixtures.randomValue(random));
                    added++;
                }
            }
            assertNotEquals(divergence.peer, divergence.receiver);
            return divergence;
        }

        private static int pageOf(final long key)
        {
            return (int)RecordLayout.mix(key) & (PAGES - 1);
        }
    }
}
