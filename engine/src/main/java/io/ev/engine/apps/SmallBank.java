/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.apps;

import io.ev.engine.ClientTable;
import io.ev.engine.TransactionRegistry;
import io.ev.store.Keys;
import io.ev.store.StateStore;

/**
 * SmallBank (Alomari et al., ICDE 2008, with OLTPBench's SendPayment) exactly as defined in
 * WORKLOADS.md: tables, type ids, default amounts and registration.
 * <pre>
 *  table     id  row        value
 *  ACCOUNTS   1  custid  -> name, ASCII "customer-&lt;custid&gt;" (loaded, never written after)
 *  SAVINGS    2  custid  -> balance, long cents (8 bytes, little-endian)
 *  CHECKING   3  custid  -> balance, long cents (8 bytes, little-endian)
 *  FEES       4  0       -> fee account balance, long cents (only SendPaymentWithFee writes it)
 * </pre>
 * A customer exists iff its SAVINGS and CHECKING rows exist: the transactions find unknown customers
 * by the missing balance rows they read anyway, so they never read ACCOUNTS (which they do not
 * declare). Money is a long of cents and every arithmetic step is overflow-checked.
 * <pre>
 *  type                 id  mix %  effect                                           keys
 *  Balance               1   15    reply s[x] + c[x]                                r: s[x], c[x]
 *  DepositChecking       2   15    abort if v &lt; 0; c[x] += v                       w: c[x]
 *  TransactSavings       3   15    abort if s[x] + v &lt; 0; s[x] += v                w: s[x]
 *  Amalgamate            4   15    t = s[x] + c[x]; s[x] = c[x] = 0; c[y] += t      w: s[x], c[x], c[y]
 *  WriteCheck            5   15    c[x] -= (s[x] + c[x] &lt; v) ? v + 1 : v          r: s[x]; w: c[x]
 *  SendPayment           6   25    abort if c[x] &lt; v; c[x] -= v; c[y] += v        w: c[x], c[y]
 *  SendPaymentWithFee    7    -    SendPayment, plus a fee from x to FEES (racy)    w: c[x], c[y] (FEES undeclared)
 * </pre>
 * Payload layouts are in {@link SmallBankCodec}, the reply layout in {@link SmallBankReply}.
 * <p>
 * Request deduplication ({@link TransactionRegistry#deduplicateRequests(boolean)}) is left to the caller:
 * {@link #registerAll} does not turn it on, because a driver that restarts its request ids at 0 on a
 * recovered store (as {@code bin/ev node} does) would then get stale-id or remembered replies. The store
 * sizing ({@link #storeContext(int, int)}) has room for the client records either way.
 */
public final class SmallBank
{
    /** Table of customer names. */
    public static final int ACCOUNTS_TABLE = 1;
    /** Table of savings balances. */
    public static final int SAVINGS_TABLE = 2;
    /** Table of checking balances. */
    public static final int CHECKING_TABLE = 3;
    /** Table of the one fee account (row {@link #FEE_ACCOUNT_ROW}). */
    public static final int FEES_TABLE = 4;
    /** Row of the fee account. */
    public static final long FEE_ACCOUNT_ROW = 0;
    /** Store key of the fee account. */
    public static final long FEE_ACCOUNT_KEY = Keys.key(FEES_TABLE, FEE_ACCOUNT_ROW);

    /** Type id of Balance(x). */
    public static final int BALANCE = 1;
    /** Type id of DepositChecking(x, v). */
    public static final int DEPOSIT_CHECKING = 2;
    /** Type id of TransactSavings(x, v). */
    public static final int TRANSACT_SAVINGS = 3;
    /** Type id of Amalgamate(x, y). */
    public static final int AMALGAMATE = 4;
    /** Type id of WriteCheck(x, v). */
    public static final int WRITE_CHECK = 5;
    /** Type id of SendPayment(x, y, v). */
    public static final int SEND_PAYMENT = 6;
    /** Type id of the deliberately racy SendPaymentWithFee(x, y, v); not registered by default. */
    public static final int SEND_PAYMENT_WITH_FEE = 7;

    /** Default DepositChecking amount. */
    public static final long DEPOSIT_CHECKING_AMOUNT_CENTS = 130;
    /** Default TransactSavings amount. */
    public static final long TRANSACT_SAVINGS_AMOUNT_CENTS = 2_020;
    /** Default WriteCheck amount. */
    public static final long WRITE_CHECK_AMOUNT_CENTS = 500;
    /** Default SendPayment amount. */
    public static final long SEND_PAYMENT_AMOUNT_CENTS = 500;
    /** Fee SendPaymentWithFee takes from the payer, on top of the amount. */
    public static final long FEE_CENTS = 10;

    /** Lowest initial balance of each account. */
    public static final long MIN_INITIAL_BALANCE_CENTS = 10_000;
    /** Highest initial balance of each account. */
    public static final long MAX_INITIAL_BALANCE_CENTS = 50_000;

    private SmallBank()
    {
    }

    /**
     * Registers the six SmallBank types and, if asked, the racy SendPaymentWithFee.
     *
     * @param registry where to register.
     * @param racyFee  also register {@link #SEND_PAYMENT_WITH_FEE} (concurrency-bug experiment only).
     * @return the registry.
     */
    public static TransactionRegistry registerAll(final TransactionRegistry registry, final boolean racyFee)
    {
        return registerAll(registry, racyFee, false);
    }

    /**
     * As {@link #registerAll(TransactionRegistry, boolean)}; {@code declareFeeKey} makes the fee
     * transaction declare the fee account (the fix of the experiment's bug).
     */
    public static TransactionRegistry registerAll(
        final TransactionRegistry registry, final boolean racyFee, final boolean declareFeeKey)
    {
        registry
            .register(new Balance())
            .register(new DepositChecking())
            .register(new TransactSavings())
            .register(new Amalgamate())
            .register(new WriteCheck())
            .register(new SendPayment());
        if (racyFee)
        {
            registry.register(new SendPaymentWithFee(declareFeeKey));
        }
        return registry;
    }

    /** Largest value a SmallBank row needs (customer name row, client record), with room to spare. */
    public static final int MAX_VALUE_BYTES = 64;
    /** Client records {@link #storeContext(int, int)} makes room for: Engine.Context's default maxClients. */
    public static final int CLIENT_ROWS = 1024;
    /** Length of a SmallBank client record (request deduplication): 12 + the reply length. */
    public static final int CLIENT_RECORD_BYTES = ClientTable.recordBytes(SmallBankReply.LENGTH);

    /**
     * The store sizing every SmallBank tool uses (demo, node, replay, benchmarks):
     * {@link #storeContext(int, int, int)} with room for {@value #CLIENT_ROWS} client records.
     *
     * @param accounts         SmallBank customers.
     * @param maxBatchRequests largest batch.
     * @return a store context (writers not set).
     */
    public static StateStore.Context storeContext(final int accounts, final int maxBatchRequests)
    {
        return storeContext(accounts, maxBatchRequests, CLIENT_ROWS);
    }

    /**
     * The store sizing for SmallBank: three rows per customer, ~32 customer rows per digest page (the
     * client records do not change the page count), plus {@code clientRows} client records of
     * {@link #CLIENT_RECORD_BYTES} (request deduplication; unused without it), with an average value size
     * weighted over both; undo room, per writer, for three balance writes and one client record of every
     * request of a full batch.
     *
     * @param accounts         SmallBank customers.
     * @param maxBatchRequests largest batch.
     * @param clientRows       client ids to make room for (the engine's maxClients when deduplicating).
     * @return a store context (writers not set).
     */
    public static StateStore.Context storeContext(final int accounts, final int maxBatchRequests, final int clientRows)
    {
        final long appEntries = (long)accounts * SmallBankLoader.ROWS_PER_CUSTOMER + 16;
        final long entries = appEntries + clientRows;
        final int pages = Integer.highestOneBit((int)Math.min(1 << 20, Math.max(16, appEntries / 32)));
        final long valueBytes = appEntries * Long.BYTES + (long)clientRows * CLIENT_RECORD_BYTES;
        final int averageValueBytes = (int)Math.max(Long.BYTES, (valueBytes + entries - 1) / entries);
        final long undoPerRequest = 3L * StateStore.Context.undoBytesPerWrite(32) +
            StateStore.Context.undoBytesPerWrite(CLIENT_RECORD_BYTES);
        return new StateStore.Context()
            .maxEntries(entries)
            .maxValueBytes(MAX_VALUE_BYTES)
            .averageValueBytes(averageValueBytes)
            .pageCount(pages)
            .undoBytesPerBatch((int)Math.min(Integer.MAX_VALUE, Math.max(1 << 20, maxBatchRequests * undoPerRequest)));
    }

    /**
     * @return the SAVINGS key of a customer.
     */
    public static long savingsKey(final long customer)
    {
        return Keys.key(SAVINGS_TABLE, customer);
    }

    /**
     * @return the CHECKING key of a customer.
     */
    public static long checkingKey(final long customer)
    {
        return Keys.key(CHECKING_TABLE, customer);
    }

    /**
     * @return the ACCOUNTS key of a customer.
     */
    public static long accountKey(final long customer)
    {
        return Keys.key(ACCOUNTS_TABLE, customer);
    }
}
