/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.store.StateStore;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The loader writes names and balances in [10,000, 50,000] cents, returns their total, is a function of
 * the seed, and chunks its batches to fit a small undo bound.
 */
final class SmallBankLoaderTest
{
    @Test
    void shouldLoadBalancesInRangeAndReturnTheirTotal()
    {
        final long seed = TestSeeds.seed("shouldLoadBalancesInRangeAndReturnTheirTotal");
        try (BankFixture bank = new BankFixture(200, seed, false))
        {
            long total = 0;
            for (int customer = 0; customer < 200; customer++)
            {
                for (final long balance : new long[]{ bank.savings(customer), bank.checking(customer) })
                {
                    assertTrue(balance >= SmallBank.MIN_INITIAL_BALANCE_CENTS, "seed " + seed);
                    assertTrue(balance <= SmallBank.MAX_INITIAL_BALANCE_CENTS, "seed " + seed);
                    total += balance;
                }
            }
            assertEquals(total, bank.initialTotalCents);
            assertEquals(total, bank.totalMoney());
            assertEquals(0, bank.balance(SmallBank.FEE_ACCOUNT_KEY));
            final UnsafeBuffer name = new UnsafeBuffer(new byte[BankFixture.MAX_VALUE_BYTES]);
            final int length = bank.writer.get(SmallBank.accountKey(123), name, 0);
            assertEquals("customer-123", name.getStringWithoutLengthAscii(0, length));
            assertEquals(StateStore.MISSING, bank.writer.get(SmallBank.savingsKey(200), name, 0));
        }
    }

    @Test
    void shouldChunkTheLoadToFitTheUndoBoundAndGiveTheSameRootForTheSameSeed()
    {
        final long seed = TestSeeds.seed("shouldChunkTheLoadToFitTheUndoBoundAndGiveTheSameRootForTheSameSeed");
        final int customers = 300;
        final StateStore.Context small = BankFixture.context(customers, 4096);
        final int perBatch = SmallBankLoader.maxCustomersPerBatch(small);
        assertTrue(perBatch >= 1 && perBatch < customers, "per batch " + perBatch);
        try (BankFixture chunked = new BankFixture(small, customers, seed, false);
            BankFixture whole = new BankFixture(customers, seed, false);
            BankFixture other = new BankFixture(customers, seed + 1, false))
        {
            final int batches = (customers + perBatch - 1) / perBatch;
            assertEquals(batches - 1, chunked.store.lastCommittedSeq());
            assertEquals(0, whole.store.lastCommittedSeq());
            assertEquals(whole.store.root(), chunked.store.root());
            assertEquals(whole.initialTotalCents, chunked.initialTotalCents);
            assertNotEquals(whole.store.root(), other.store.root());
        }
    }

    @Test
    void shouldRejectBadArgumentsWithoutLeavingABatchOpen()
    {
        try (StateStore store = StateStore.open(BankFixture.context(10, 1 << 16)))
        {
            assertThrows(IllegalArgumentException.class, () -> SmallBankLoader.load(store, store.newWriter(), 0, 1));
            assertEquals(StateStore.NULL_SEQ, store.newestOpenSeq());
        }
        try (StateStore store = StateStore.open(new StateStore.Context().maxEntries(100).maxValueBytes(8).pageCount(4)))
        {
            final IllegalArgumentException ex = assertThrows(
                IllegalArgumentException.class, () -> SmallBankLoader.load(store, store.newWriter(), 10, 1));
            assertTrue(ex.getMessage().contains("maxValueBytes"), ex.getMessage());
        }
        try (StateStore store = StateStore.open(BankFixture.context(10, 1 << 16).maxEntries(12)))
        {
            assertThrows(RuntimeException.class, () -> SmallBankLoader.load(store, store.newWriter(), 10, 1));
            assertEquals(StateStore.NULL_SEQ, store.newestOpenSeq());
            assertEquals(0, store.size());
        }
    }
}
