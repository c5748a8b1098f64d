/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import io.ev.engine.apps.SmallBank;
import io.ev.engine.apps.SmallBankCodec;
import io.ev.engine.apps.SmallBankLoader;
import io.ev.engine.apps.SmallBankOracle;
import io.ev.engine.apps.SmallBankReply;
import io.ev.store.StoreWriter;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.agrona.concurrent.UnsafeBuffer;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad requests submitted to a running SmallBank engine (docs/RELIABILITY.md, "Bad input"): oversize,
 * truncated and padded payloads, garbage bytes, unknown type ids, customers that do not exist, negative and
 * overflowing amounts, and request ids that repeat or go back, sent to two engines, one with request
 * deduplication ({@link ClientTable}) and one without. Every request gets a reply with a defined code
 * ({@link ReplyCodes}) or a defined submit refusal; a refused request changes no balance (without
 * deduplication: the state root is unchanged; with it, only the client's record changes, and a retry or a
 * stale id changes nothing at all); an executed one changes the bank's total by exactly the delta its reply
 * reports (conservation). With deduplication the engine answers exactly as a model of the client table says:
 * a retry gets the remembered reply byte for byte, an older id {@link ReplyCodes#STALE_REQUEST_ID}.
 * <p>
 * jqwik prints the seed of a failing run; rerun it with {@code -Dev.fuzz.seed=<seed>}, and run more tries
 * with {@code -Dev.fuzz.tries=N} ({@link FuzzTries}).
 */
@AddLifecycleHook(FuzzTries.class)
class RequestFuzzTest
{
    private static final int CUSTOMERS = 8;
    private static final int CLIENTS = 4;
    private static final long SEED = 5;
    private static final int BATCH = 16;
    private static final long REPLY_TIMEOUT_S = 30;

    private static Path dir;
    private static Bank deduplicating;
    private static Bank plain;

    /** How a request's id relates to the client's last one. */
    enum IdChoice
    {
        NEXT, RETRY, OLDER, ANY
    }

    /** What is done to a well-formed payload. */
    enum Damage
    {
        NONE, TRUNCATED, PADDED, GARBAGE, OVERSIZE
    }

    /**
     * One generated request.
     */
    record FuzzRequest(int client, IdChoice idChoice, long anyId, int type, byte[] payload)
    {
        public String toString()
        {
            return "client " + client + ", id " + idChoice + (IdChoice.ANY == idChoice ? " " + anyId : "") +
                ", type " + type + ", payload " + payload.length + " bytes " + toHex(payload);
        }
    }

    @BeforeContainer
    static void openBanks() throws IOException
    {
        dir = Files.createTempDirectory("ev-request-fuzz");
        deduplicating = new Bank(true);
        plain = new Bank(false);
    }

    @AfterContainer
    static void closeBanks() throws IOException
    {
        deduplicating.close();
        plain.close();
        try (Stream<Path> paths = Files.walk(dir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(path);
            }
        }
    }

    @Property(tries = 400)
    void shouldAnswerEveryRequestWithADefinedCodeAndChangeNothingWhenRefusing(
        @ForAll("requests") final FuzzRequest request) throws Exception
    {
        plain.submitAndCheck(request);
        deduplicating.submitAndCheck(request);
    }

    @Property(tries = 100)
    void shouldRefuseAPayloadOutsideItsBufferOrAnUnknownClientNamingIt(
        @ForAll("clientIds") final int clientId,
        @ForAll("offsets") final int offset,
        @ForAll("offsets") final int length)
    {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
        final long root = plain.engine.root();
        final boolean knownClient = clientId >= 0 && clientId < CLIENTS;
        final boolean inBounds = offset >= 0 && length >= 0 && offset <= payload.capacity() - length;
        if (!knownClient)
        {
            assertEquals(Engine.REJECTED_UNKNOWN_CLIENT,
                plain.engine.submit(clientId, 1, SmallBank.BALANCE, payload, offset, length));
        }
        else if (length > plain.engine.context().registry().maxPayloadBytes())
        {
            assertEquals(Engine.REJECTED_PAYLOAD_TOO_LARGE,
                plain.engine.submit(clientId, 1, SmallBank.BALANCE, payload, offset, length));
        }
        else if (!inBounds)
        {
            final IndexOutOfBoundsException refused = assertThrows(IndexOutOfBoundsException.class,
                () -> plain.engine.submit(clientId, 1, SmallBank.BALANCE, payload, offset, length));
            assertTrue(refused.getMessage().contains("offset " + offset) &&
                refused.getMessage().contains("length " + length), refused.getMessage());
        }
        else
        {
            return; // a well-bounded request: the other property's business
        }
        assertEquals(root, plain.engine.root(), "a refused submit changes nothing");
        assertTrue(plain.engine.isIdle(), "a refused submit is not in the ring");
    }

    @Provide
    Arbitrary<FuzzRequest> requests()
    {
        final Arbitrary<long[]> customersAndAmount = Combinators.combine(customers(), customers(), amounts())
            .as((first, second, amount) -> new long[] {first, second, amount});
        final Arbitrary<Integer> types = Arbitraries.frequencyOf(
            Tuple.of(8, Arbitraries.integers().between(SmallBank.BALANCE, SmallBank.SEND_PAYMENT_WITH_FEE)),
            Tuple.of(1, Arbitraries.of(0, -1, 8, 255, 256, Integer.MIN_VALUE, Integer.MAX_VALUE)),
            Tuple.of(1, Arbitraries.integers()));
        final Arbitrary<Damage> damage = Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.just(Damage.NONE)),
            Tuple.of(1, Arbitraries.just(Damage.TRUNCATED)),
            Tuple.of(1, Arbitraries.just(Damage.PADDED)),
            Tuple.of(1, Arbitraries.just(Damage.GARBAGE)),
            Tuple.of(1, Arbitraries.just(Damage.OVERSIZE)));
        final Arbitrary<IdChoice> idChoice = Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.just(IdChoice.NEXT)),
            Tuple.of(2, Arbitraries.just(IdChoice.RETRY)),
            Tuple.of(1, Arbitraries.just(IdChoice.OLDER)),
            Tuple.of(1, Arbitraries.just(IdChoice.ANY)));
        return Combinators.combine(
            Arbitraries.integers().between(0, CLIENTS - 1), idChoice, Arbitraries.longs(), types, customersAndAmount,
            damage, Arbitraries.longs())
            .as((client, id, anyId, type, fields, how, noise) ->
                new FuzzRequest(client, id, anyId, type, payload(type, fields, how, noise)));
    }

    @Provide
    Arbitrary<Integer> clientIds()
    {
        return Arbitraries.oneOf(Arbitraries.integers().between(-2, CLIENTS + 2),
            Arbitraries.of(Integer.MIN_VALUE, Integer.MAX_VALUE, Engine.Context.MAX_CLIENTS_DEFAULT));
    }

    @Provide
    Arbitrary<Integer> offsets()
    {
        return Arbitraries.oneOf(Arbitraries.integers().between(-3, SmallBankCodec.MAX_PAYLOAD_LENGTH + 3),
            Arbitraries.of(Integer.MIN_VALUE, Integer.MAX_VALUE), Arbitraries.integers());
    }

    private static Arbitrary<Long> customers()
    {
        return Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.longs().between(0, CUSTOMERS - 1)),
            Tuple.of(2, Arbitraries.of(-1L, (long)CUSTOMERS, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 48, (1L << 48) - 1)),
            Tuple.of(1, Arbitraries.longs()));
    }

    private static Arbitrary<Long> amounts()
    {
        return Arbitraries.oneOf(
            Arbitraries.longs().between(-100_000, 100_000),
            Arbitraries.longs(),
            Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE, Long.MAX_VALUE - 1, Long.MIN_VALUE + 1, 0L, -1L));
    }

    private static byte[] payload(final int type, final long[] fields, final Damage damage, final long noise)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH]);
        final SplittableRandom random = new SplittableRandom(noise);
        final int length;
        switch (type)
        {
            case SmallBank.BALANCE:
                length = SmallBankCodec.encodeBalance(buffer, 0, fields[0]);
                break;
            case SmallBank.DEPOSIT_CHECKING:
                length = SmallBankCodec.encodeDepositChecking(buffer, 0, fields[0], fields[2]);
                break;
            case SmallBank.TRANSACT_SAVINGS:
                length = SmallBankCodec.encodeTransactSavings(buffer, 0, fields[0], fields[2]);
                break;
            case SmallBank.AMALGAMATE:
                length = SmallBankCodec.encodeAmalgamate(buffer, 0, fields[0], fields[1]);
                break;
            case SmallBank.WRITE_CHECK:
                length = SmallBankCodec.encodeWriteCheck(buffer, 0, fields[0], fields[2]);
                break;
            case SmallBank.SEND_PAYMENT:
            case SmallBank.SEND_PAYMENT_WITH_FEE:
                length = SmallBankCodec.encodeSendPayment(buffer, 0, fields[0], fields[1], fields[2]);
                break;
            default:
                length = random.nextInt(SmallBankCodec.MAX_PAYLOAD_LENGTH + 1);
                break;
        }
        final byte[] bytes = Arrays.copyOf(buffer.byteArray(), length);
        switch (damage)
        {
            case TRUNCATED:
                return Arrays.copyOf(bytes, random.nextInt(Math.max(1, length)));
            case PADDED:
                return garbage(random, Arrays.copyOf(bytes, length + 1 + random.nextInt(8)), length);
            case GARBAGE:
                return garbage(random, new byte[random.nextInt(SmallBankCodec.MAX_PAYLOAD_LENGTH + 8)], 0);
            case OVERSIZE:
                return garbage(random, new byte[SmallBankCodec.MAX_PAYLOAD_LENGTH + 1 + random.nextInt(4096)], 0);
            default:
                return bytes;
        }
    }

    private static byte[] garbage(final SplittableRandom random, final byte[] bytes, final int from)
    {
        for (int i = from; i < bytes.length; i++)
        {
            bytes[i] = (byte)random.nextInt(256);
        }
        return bytes;
    }

    private static String toHex(final byte[] bytes)
    {
        final StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.length, 48); i++)
        {
            hex.append(String.format("%02x", bytes[i]));
        }
        return bytes.length > 48 ? hex + "..." : hex.toString();
    }

    /**
     * One engine and what the test knows about it: each client's last request id and reply (the model of
     * the client table) and the bank's total, summed modulo 2^64 (arbitrary amounts may push the total past
     * a long while every balance fits).
     */
    static final class Bank implements AutoCloseable
    {
        final Engine engine;
        final boolean deduplicate;
        final FutureClient[] clients = new FutureClient[CLIENTS];
        final long[] lastId = new long[CLIENTS];
        final byte[][] lastReply = new byte[CLIENTS][];
        final StoreWriter reader;
        final long[] balances = new long[2 * CUSTOMERS + 1];

        Bank(final boolean deduplicate)
        {
            this.deduplicate = deduplicate;
            final String name = deduplicate ? "deduplicating" : "plain";
            engine = Engine.launch(new Engine.Context()
                .store(SmallBank.storeContext(CUSTOMERS, BATCH))
                .registry(SmallBank.registerAll(new TransactionRegistry(), true, true)
                    .deduplicateRequests(deduplicate))
                .workers(2)
                .maxBatchRequests(BATCH)
                .maxClients(CLIENTS)
                .initializer((store, writer) -> SmallBankLoader.load(store, writer, CUSTOMERS, SEED))
                .countersFile(dir.resolve("counters-" + name + ".dat")));
            for (int client = 0; client < CLIENTS; client++)
            {
                clients[client] = engine.newFutureClient(client);
                lastId[client] = 0;
            }
            reader = engine.reader();
        }

        void submitAndCheck(final FuzzRequest request) throws Exception
        {
            final String what = (deduplicate ? "deduplicating" : "plain") + " engine, " + request;
            final int client = request.client();
            final long requestId = requestId(request);
            final boolean known = null != lastReply[client];
            final long rootBefore = engine.root();
            final long[] before = balances();
            final UnsafeBuffer payload = new UnsafeBuffer(request.payload());
            final byte[] reply;
            try
            {
                reply = clients[client].submit(requestId, request.type(), payload, 0, payload.capacity())
                    .get(REPLY_TIMEOUT_S, TimeUnit.SECONDS);
            }
            catch (final ExecutionException ex)
            {
                final FutureClient.RejectedRequestException refused =
                    assertInstanceOf(FutureClient.RejectedRequestException.class, ex.getCause(), what);
                assertEquals(Engine.REJECTED_PAYLOAD_TOO_LARGE, refused.reason(), what);
                assertTrue(payload.capacity() > engine.context().registry().maxPayloadBytes(), what);
                assertEquals(rootBefore, engine.root(), what);
                return;
            }
            catch (final TimeoutException ex)
            {
                throw new AssertionError("no reply within " + REPLY_TIMEOUT_S + " s: " + what, ex);
            }
            await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1))
                .atMost(REPLY_TIMEOUT_S, TimeUnit.SECONDS)
                .until(engine::isIdle);
            final int code = ReplyCodes.code(new UnsafeBuffer(reply), 0);
            final String described = ReplyCodes.describe(code);
            assertFalse(described.startsWith("UNDEFINED_CODE") || described.startsWith("APPLICATION_CODE"),
                "undefined reply code " + code + ": " + what);
            assertEquals(code > ReplyCodes.OK && code < ReplyCodes.FIRST_APPLICATION_CODE ? ReplyCodes.CODE_LENGTH :
                SmallBankReply.LENGTH, reply.length, what);
            final long[] after = balances();
            if (deduplicate && known && requestId <= lastId[client])
            {
                if (requestId < lastId[client])
                {
                    assertEquals(ReplyCodes.STALE_REQUEST_ID, code, what);
                }
                else
                {
                    assertArrayEquals(lastReply[client], reply, "a retry gets the remembered reply: " + what);
                }
                assertEquals(rootBefore, engine.root(), "a retry or stale id changes nothing: " + what);
                return;
            }
            lastId[client] = requestId;
            lastReply[client] = reply;
            if (ReplyCodes.OK == code)
            {
                final SmallBankReply decoded = new SmallBankReply().wrap(new UnsafeBuffer(reply), 0, reply.length);
                assertEquals(total(before) + decoded.moneyDeltaCents(), total(after), "conservation: " + what);
            }
            else
            {
                assertArrayEquals(before, after, "a refused request moves no money: " + what);
                if (!deduplicate)
                {
                    assertEquals(rootBefore, engine.root(), "a refused request changes no record: " + what);
                }
            }
        }

        private long requestId(final FuzzRequest request)
        {
            final long last = lastId[request.client()];
            switch (request.idChoice())
            {
                case RETRY:
                    return last;
                case OLDER:
                    return last - 1 - (request.anyId() & 0xF);
                case ANY:
                    return request.anyId();
                default:
                    return last == Long.MAX_VALUE ? last : last + 1;
            }
        }

        private long[] balances()
        {
            for (int customer = 0; customer < CUSTOMERS; customer++)
            {
                balances[2 * customer] = SmallBankOracle.balanceCents(reader, SmallBank.savingsKey(customer));
                balances[2 * customer + 1] = SmallBankOracle.balanceCents(reader, SmallBank.checkingKey(customer));
            }
            final UnsafeBuffer scratch = new UnsafeBuffer(new byte[SmallBank.MAX_VALUE_BYTES]);
            balances[2 * CUSTOMERS] = reader.get(SmallBank.FEE_ACCOUNT_KEY, scratch, 0) < 0 ? 0 :
                SmallBankOracle.balanceCents(reader, SmallBank.FEE_ACCOUNT_KEY);
            return balances.clone();
        }

        private static long total(final long[] balances)
        {
            long total = 0;
            for (final long balance : balances)
            {
                total += balance;
            }
            return total;
        }

        public void close()
        {
            engine.close();
        }
    }
}
