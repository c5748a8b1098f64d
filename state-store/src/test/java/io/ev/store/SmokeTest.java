package io.ev.store;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SmokeTest
{
    @Test
    void smoke()
    {
        try (StateStore store = StateStore.open(StoreFixtures.context(1000, 16)))
        {
            final StoreWriter w = store.newWriter();
            final long empty = store.root();
            store.begin(0);
            StoreFixtures.put(w, 0, 1, new byte[] {1, 2, 3});
            StoreFixtures.put(w, 0, 2, new byte[] {4});
            StoreFixtures.put(w, 0, 1, new byte[] {5});
            final long r0 = store.seal(0);
            assertNotEquals(empty, r0);
            assertArrayEquals(new byte[] {5}, StoreFixtures.read(w, 1));
            store.begin(1);
            w.remove(1, 1);
            assertNull(StoreFixtures.read(w, 1));
            store.seal(1);
            store.rollback(1);
            assertEquals(r0, store.root());
            assertArrayEquals(new byte[] {5}, StoreFixtures.read(w, 1));
            store.rollback(0);
            assertEquals(empty, store.root());
            assertEquals(0, store.size());
        }
    }
}
