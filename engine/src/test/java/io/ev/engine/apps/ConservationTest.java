/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ReplyCodes;
import io.ev.pipeline.Batch;
import io.ev.pipeline.Request;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded random workload executed sequentially through the pipeline's {@link Batch} and
 * {@link Request} in batches of 100 (begin, execute each request in batch order, seal, commit):
 * conservation holds (initial total + sum of committed money deltas == final total) for both profiles,
 * and also with the racy fee type, whose race needs concurrency. Re-executing the same workload on a
 * fresh store gives the same root and the same replies (the replay oracle).
 */
final class ConservationTest
{
    private static final int CUSTOMERS = 1_000;
    private static final int REQUESTS = 20_000;
    private static final int BATCH_REQUESTS = 100;
    private static final int CHECK_EVERY_BATCHES = 20;

    @Test
    void shouldConserveMoneyUnderUniformWorkload()
    {
        final long seed = TestSeeds.seed("shouldConserveMoneyUnderUniformWorkload");
        run(SmallBankWorkload.uniform(CUSTOMERS, seed, false), seed, false, REQUESTS);
    }

    @Test
    void shouldConserveMoneyUnderContendedWorkload()
    {
        final long seed = TestSeeds.seed("shouldConserveMoneyUnderContendedWorkload");
        run(SmallBankWorkload.contended(CUSTOMERS, seed, false), seed, false, REQUESTS);
    }

    @Test
    void shouldConserveMoneyWithRacyFeeTypeExecutedSequentially()
    {
        final long seed = TestSeeds.seed("shouldConserveMoneyWithRacyFeeTypeExecutedSequentially");
        final Outcome outcome = run(SmallBankWorkload.contended(CUSTOMERS, seed, true), seed, true, REQUESTS);
        assertTrue(outcome.feesCents > 0, "seed " + seed + ": no fee was charged");
    }

    @Test
    void shouldReplayToSameRootAndReplies()
    {
        final long seed = TestSeeds.seed("shouldReplayToSameRootAndReplies");
        final Outcome first = run(SmallBankWorkload.contended(CUSTOMERS, seed, true), seed, true, REQUESTS / 4);
        final Outcome second = run(SmallBankWorkload.contended(CUSTOMERS, seed, true), seed, true, REQUESTS / 4);
        assertEquals(first.root, second.root, "seed " + seed);
        assertEquals(first.replyDigest, second.replyDigest, "seed " + seed);
    }

    private static Outcome run(
        final SmallBankWorkload workload, final long seed, final boolean racyFee, final int requests)
    {
        final String message = "seed " + seed;
        try (BankFixture bank = new BankFixture(CUSTOMERS, seed, racyFee))
        {
            final SmallBankOracle oracle = new SmallBankOracle(bank.initialTotalCents);
            assertEquals(bank.initialTotalCents, bank.totalMoney(), message);
            final Batch batch = new Batch(
                BATCH_REQUESTS, bank.registry.maxPayloadBytes(), bank.registry.maxReplyBytes());
            final Request request = new Request();
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
            final int[] codes = new int[ReplyCodes.NOT_FOUND + 1];
            long replyDigest = 0;
            for (int done = 0, batches = 0; done < requests; batches++)
            {
                final long seq = bank.nextSeq();
                batch.reset(seq);
                for (int i = 0; i < BATCH_REQUESTS && done < requests; i++, done++)
                {
                    final int length = workload.next(payload, 0);
                    batch.add(1, done, workload.typeId(), payload, 0, length);
                }
                bank.store.begin(seq);
                for (int i = 0; i < batch.count(); i++)
                {
                    batch.wrap(request, i);
                    batch.replyLength(i, bank.registry.execute(
                        request, seq, bank.writer, batch.replies(), batch.replyOffset(i)));
                }
                bank.store.seal(seq);
                bank.store.commit(seq);
                for (int i = 0; i < batch.count(); i++)
                {
                    final int offset = batch.replyOffset(i);
                    final int length = batch.replyLength(i);
                    assertEquals(SmallBankReply.LENGTH, length, message);
                    codes[ReplyCodes.code(batch.replies(), offset)]++;
                    oracle.onCommittedReply(batch.replies(), offset, length);
                    for (int b = 0; b < length; b++)
                    {
                        replyDigest = replyDigest * 31 + batch.replies().getByte(offset + b);
                    }
                }
                if (batches % CHECK_EVERY_BATCHES == 0)
                {
                    oracle.checkConservation(bank.writer, CUSTOMERS);
                }
            }
            oracle.checkConservation(bank.writer, CUSTOMERS);
            assertEquals(requests, oracle.committedReplies(), message);
            assertEquals(0, codes[ReplyCodes.EXECUTION_FAILED] + codes[ReplyCodes.MALFORMED_REQUEST] +
                codes[ReplyCodes.UNKNOWN_TYPE] + codes[ReplyCodes.STORE_REJECTED], message);
            assertTrue(codes[ReplyCodes.OK] > requests / 2, message + ": too few OK replies " + codes[ReplyCodes.OK]);
            System.out.println(message + ": " + requests + " requests, OK " + codes[ReplyCodes.OK] +
                ", insufficient funds " + codes[ReplyCodes.INSUFFICIENT_FUNDS] + ", money delta " +
                oracle.sumOfDeltasCents() + " cents");
            return new Outcome(bank.store.root(), replyDigest, bank.balance(SmallBank.FEE_ACCOUNT_KEY));
        }
    }

    private static final class Outcome
    {
        final long root;
        final long replyDigest;
        final long feesCents;

        Outcome(final long root, final long replyDigest, final long feesCents)
        {
            this.root = root;
            this.replyDigest = replyDigest;
            this.feesCents = feesCents;
        }
    }
}
