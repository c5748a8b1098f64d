/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The two sides of the engine benchmarks execute the same requests to the same state, and the load
 * generator runs end to end. Small sizes: the whole class takes a few seconds.
 */
class EngineDriverTest
{
    private static final int ACCOUNTS = 1_000;
    private static final int BATCH = 64;
    private static final int REQUESTS = 5_000;

    @ParameterizedTest
    @ValueSource(ints = { 1, 2 })
    @Timeout(30)
    void shouldReachTheSameTotalMoneyAsTheRawSequentialLoop(final int workers)
    {
        try (RawSequential raw = new RawSequential(ACCOUNTS, "uniform", BATCH);
            EngineDriver engine = new EngineDriver(workers, BATCH, ACCOUNTS, "uniform", null))
        {
            assertEquals(raw.initialTotalCents(), engine.initialTotalCents());
            assertEquals(REQUESTS, raw.execute(REQUESTS));
            assertEquals(REQUESTS, engine.run(REQUESTS));
            assertEquals(REQUESTS, engine.replied());
            assertNotEquals(raw.initialTotalCents(), raw.totalMoneyCents(), "the requests moved no money");
            assertEquals(raw.totalMoneyCents(), engine.totalMoneyCents());
            assertEquals(raw.aborted(), engine.engine().counters().aborted());
        }
    }

    @Test
    void shouldGenerateTheSameRequestsForTheSameProfile()
    {
        final SmallBankRequests first = new SmallBankRequests(1024, ACCOUNTS, "contended");
        final SmallBankRequests second = new SmallBankRequests(1024, ACCOUNTS, "contended");
        for (int i = 0; i < first.count(); i++)
        {
            assertEquals(first.typeId(i), second.typeId(i));
            assertEquals(first.length(i), second.length(i));
            assertEquals(first.payloads().getLong(first.offset(i)), second.payloads().getLong(second.offset(i)));
        }
        assertThrows(IllegalArgumentException.class, () -> new SmallBankRequests(1024, ACCOUNTS, "hot"));
    }

    @Test
    void shouldParseLoadOptionsAndNameTheBadOne()
    {
        final LoadGenerator.Options options = LoadGenerator.Options.parse(new String[] {
            "--rate", "25000", "--seconds", "3", "--workers", "2", "--accounts", "500", "--json"});
        assertEquals(LoadGenerator.Options.RATE_FIXED, options.mode);
        assertEquals(25_000, options.ratePerSec);
        assertEquals(2, options.workers);
        assertEquals(LoadGenerator.Options.RATE_PERCENT,
            LoadGenerator.Options.parse(new String[] {"--rate", "50%"}).mode);
        assertEquals(LoadGenerator.Options.RATE_MAX, LoadGenerator.Options.parse(new String[] {"--rate", "max"}).mode);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> LoadGenerator.Options.parse(new String[] {"--profile", "hot"}));
        assertEquals("--profile hot must be uniform or contended", ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoadGenerator.Options.parse(new String[] {"--rate"}));
    }

    @Test
    @Timeout(30)
    void shouldReplyToEveryOpenLoopRequestAndRecordItsLatency()
    {
        final LoadGenerator.Options options = LoadGenerator.Options.parse(new String[] {
            "--rate", "20000", "--seconds", "1", "--warmup-seconds", "0", "--accounts", "1000", "--json"});
        final LoadGenerator.Result result = LoadGenerator.run(options);
        assertEquals(20_000, result.submitted);
        assertEquals(result.submitted, result.completed);
        assertEquals(0, result.rejected);
        assertNotNull(result.latency);
        assertEquals(result.submitted, result.latency.getTotalCount());
    }
}
