/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Declared keys cover what each execution writes: every request of a random workload runs alone in its
 * own batch, and the keys the store logged as written must be among the declared write keys; except
 * for the racy SendPaymentWithFee, whose undeclared fee-account write must show up.
 */
final class DeclaredKeysTest
{
    private static final int CUSTOMERS = 50;
    private static final int REQUESTS = 3_000;

    @Test
    void shouldWriteOnlyDeclaredKeysAndExposeTheRacyFeeWrite()
    {
        final long seed = TestSeeds.seed("shouldWriteOnlyDeclaredKeysAndExposeTheRacyFeeWrite");
        try (BankFixture bank = new BankFixture(CUSTOMERS, seed, true))
        {
            final SmallBankWorkload plain = new SmallBankWorkload(CUSTOMERS, seed, 10, 0.5, false);
            final SmallBankWorkload racy = new SmallBankWorkload(CUSTOMERS, seed + 1, 10, 0.5, true);
            int feeWrites = 0;
            int okWrites = 0;
            for (int i = 0; i < REQUESTS; i++)
            {
                final SmallBankWorkload workload = (i & 1) == 0 ? plain : racy;
                final int length = workload.next(bank.payload, 0);
                final int type = workload.typeId();
                final String message = "seed " + seed + " request " + i + " type " + type;
                bank.executeAlone(type, length);
                assertTrue(bank.declared, message);
                assertEquals(SmallBankReply.LENGTH, bank.decoded.length(), message);
                final boolean ok = ReplyCodes.OK == bank.decoded.code();
                if (SmallBank.SEND_PAYMENT_WITH_FEE == type)
                {
                    assertFalse(bank.declaredWrites.contains(SmallBank.FEE_ACCOUNT_KEY), message);
                    assertFalse(bank.declaredReads.contains(SmallBank.FEE_ACCOUNT_KEY), message);
                    assertEquals(ok, bank.writtenKeys.contains(SmallBank.FEE_ACCOUNT_KEY), message);
                    feeWrites += ok ? 1 : 0;
                    bank.writtenKeys.remove(SmallBank.FEE_ACCOUNT_KEY);
                }
                assertTrue(bank.declaredWrites.containsAll(bank.writtenKeys),
                    () -> message + " wrote " + bank.writtenKeys + " but declared " + bank.declaredWrites);
                okWrites += ok && !bank.writtenKeys.isEmpty() ? 1 : 0;
            }
            assertTrue(feeWrites > 100, "too few successful racy requests: " + feeWrites);
            assertTrue(okWrites > REQUESTS / 2, "too few successful writing requests: " + okWrites);
        }
    }
}
