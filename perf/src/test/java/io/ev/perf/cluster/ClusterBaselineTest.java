/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf.cluster;

import java.util.concurrent.TimeUnit;

import io.ev.perf.SmallBankRequests;
import io.ev.engine.ReplyCodes;
import io.ev.engine.TransactionRegistry;
import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankReply;
import io.ev.engine.apps.SmallBankWorkload;
import io.ev.store.StateStore;
import io.ev.store.StoreWriter;
import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Aeron Cluster baseline executes SmallBank as the engine does, and its three members agree.
 * Seeds: {@code -Dev.cluster.seed=S} repeats a run; each test prints the seed it used.
 */
class ClusterBaselineTest
{
    private static final int STRIDE = BitUtil.align(SmallBankReply.LENGTH, Long.BYTES);

    /**
     * The ledger against the engine's own SmallBank types on a state store: the same reply, byte for byte, for
     * every request of a contended stream (insufficient funds, amalgamated accounts, penalties) and for unknown
     * customers, unknown types and malformed payloads; then the same total.
     */
    @Test
    void ledgerRepliesAsTheEngineSmallBankDoes()
    {
        final long seed = seed("ledgerRepliesAsTheEngineSmallBankDoes");
        final int accounts = 40;
        final int requests = 10_000;
        final int batch = 1_000;
        final TransactionRegistry registry = SmallBank.registerAll(new TransactionRegistry(), false);
        final SmallBankLedger ledger = new SmallBankLedger(accounts, seed);
        final SmallBankWorkload workload = SmallBankWorkload.contended(accounts + 2, seed, false);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
        final UnsafeBuffer engineReply = new UnsafeBuffer(new byte[64]);
        final UnsafeBuffer ledgerReply = new UnsafeBuffer(new byte[64]);
        try (StateStore store = StateStore.open(SmallBank.storeContext(accounts, batch).writers(1)))
        {
            final StoreWriter writer = store.newWriter();
            assertEquals(SmallBankLoader.load(store, writer, accounts, seed), ledger.initialTotalCents(),
                "initial total");
            long seq = store.lastCommittedSeq() + 1;
            int aborted = 0;
            for (int first = 0; first < requests; first += batch, seq++)
            {
                store.begin(seq);
                for (int i = first; i < first + batch; i++)
                {
                    int length = workload.next(payload, 0);
                    int typeId = workload.typeId();
                    switch (i % 97)
                    {
                        case 0:
                            typeId = SmallBank.SEND_PAYMENT_WITH_FEE;
                            break;
                        case 1:
                            length--;
                            break;
                        case 2:
                            payload.putLong(SmallBankCodec.CUSTOMER_OFFSET, -1, ReplyCodes.BYTE_ORDER);
                            break;
                        case 3:
                            length = SmallBankCodec.encodeDepositChecking(payload, 0, i % accounts, -5);
                            typeId = SmallBank.DEPOSIT_CHECKING;
                            break;
                        default:
                            break;
                    }
                    final int engineLength = registry.execute(typeId, payload, length, seq, writer, engineReply, 0);
                    final int ledgerLength = ledger.execute(typeId, payload, 0, length, ledgerReply, 0);
                    assertEquals(engineLength, ledgerLength, "reply length of request " + i + " type " + typeId);
                    assertArrayEquals(bytes(engineReply, engineLength), bytes(ledgerReply, ledgerLength),
                        "reply of request " + i + " type " + typeId);
                    aborted += ReplyCodes.OK == ReplyCodes.code(ledgerReply, 0) ? 0 : 1;
                }
                store.seal(seq);
                store.commit(seq);
            }
            assertEquals(SmallBankOracle.totalMoney(writer, accounts), ledger.totalMoneyCents(), "total money");
            assertTrue(aborted > requests / 50, "the stream exercised the abort paths: " + aborted + " aborted");
        }
    }

    /**
     * Three members on loopback: a few hundred requests through one client session; every request gets one reply,
     * the replies are those of a local ledger executing the same requests in the order sent (one session: the log
     * keeps its order), money is conserved on every member and the members' balances are identical.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void threeMembersReplyInOrderAndConserveMoney()
    {
        final long seed = seed("threeMembersReplyInOrderAndConserveMoney");
        final int accounts = 200;
        final int requests = 500;
        final int window = 32;
        final SmallBankRequests stream = new SmallBankRequests(1024, accounts, "contended", seed);
        final byte[][] replies = new byte[requests][];
        final int[] duplicates = new int[1];
        final SmallBankLedger expected = new SmallBankLedger(accounts, seed);
        final SmallBankOracle oracle = new SmallBankOracle(expected.initialTotalCents());
        try (SmallBankCluster cluster = new SmallBankCluster(accounts, seed, "sleep", System.err))
        {
            final int leader = cluster.awaitLeader(TimeUnit.SECONDS.toNanos(20));
            final ClusterClient.ReplyHandler handler = (requestId, buffer, offset, length) ->
            {
                assertTrue(requestId >= 0 && requestId < requests, "reply to unknown request " + requestId);
                if (null != replies[(int)requestId])
                {
                    duplicates[0]++;
                }
                replies[(int)requestId] = bytes(buffer, offset, length);
                oracle.onCommittedReply(buffer, offset, length);
            };
            try (ClusterClient client = new ClusterClient(cluster, stream, handler))
            {
                long sent = 0;
                long received = 0;
                final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (received < requests && System.nanoTime() - deadlineNs < 0)
                {
                    while (sent < requests && sent - received < window && client.offer(sent))
                    {
                        sent++;
                    }
                    client.poll();
                    received = countReplies(replies);
                    Thread.yield();
                }
                System.out.println("ClusterBaselineTest: leader member " + leader + ", " + sent + " sent, " +
                    received + " replied, connect attempts " + client.connectAttempts());
            }
            assertEquals(0, duplicates[0], "duplicate replies");
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankRequests.STRIDE]);
            final UnsafeBuffer reply = new UnsafeBuffer(new byte[STRIDE]);
            for (int i = 0; i < requests; i++)
            {
                assertNotNull(replies[i], "no reply to request " + i);
                final int length = stream.length(i);
                payload.putBytes(0, stream.payloads(), stream.offset(i), length);
                final int replyLength = expected.execute(stream.typeId(i), payload, 0, length, reply, 0);
                assertArrayEquals(bytes(reply, replyLength), replies[i], "reply to request " + i);
            }
            assertTrue(cluster.awaitApplied(requests, TimeUnit.SECONDS.toNanos(10)), "every member executed all");
            assertEquals(expected.totalMoneyCents(), oracle.expectedTotalCents(), "conservation (local ledger)");
            for (int m = 0; m < SmallBankCluster.MEMBERS; m++)
            {
                final SmallBankClusteredService service = cluster.service(m);
                assertEquals(requests, service.applied(), "requests executed by member " + m);
                assertEquals(oracle.expectedTotalCents(), service.ledger().totalMoneyCents(),
                    "conservation on member " + m);
                assertEquals(expected.digest(), service.ledger().digest(), "balances of member " + m);
            }
            assertEquals(0, cluster.errors(), "component errors");
        }
    }

    private static long seed(final String test)
    {
        final long seed = Long.getLong("ev.cluster.seed", System.nanoTime());
        System.out.println("ClusterBaselineTest." + test + " seed " + seed + " (-Dev.cluster.seed=" + seed + ")");
        return seed;
    }

    private static int countReplies(final byte[][] replies)
    {
        int count = 0;
        for (final byte[] reply : replies)
        {
            count += null == reply ? 0 : 1;
        }
        return count;
    }

    private static byte[] bytes(final DirectBuffer buffer, final int length)
    {
        return bytes(buffer, 0, length);
    }

    private static byte[] bytes(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return bytes;
    }
}
