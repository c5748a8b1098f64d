/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.ev.replication.UdpFaultProxy;
import io.ev.replication.UdpFaultProxy.Direction;
import io.ev.replication.UdpFaultProxy.Faults;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static io.ev.engine.cli.CliTestSupport.status;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Link faults with real processes: a primary (A) and a backup (B) {@code bin/ev node} JVM over Aeron UDP on
 * loopback (peer timeout 2 s) with a {@link UdpFaultProxy} between them (A's peer endpoint is the proxy's port
 * toward B, B's the one toward A), the primary driving SmallBank at 10,000 requests/s. Once A acknowledged a
 * seeded 2,000-10,000 requests the scenario's fault starts:
 * <ul>
 *   <li>drop, duplicate, delay, reorder, or all four at once, both ways, until the drive ends: the pair stays
 *   paired at epoch 1 with nothing committed alone;</li>
 *   <li>a cut of {@value #SHORT_CUT_MS} ms (under half the peer timeout) toward the backup, toward the
 *   primary, or both ways: the pair stays paired at epoch 1 (nothing fails over);</li>
 *   <li>a one-way cut toward the backup until it promoted itself: the backup hears nothing and promotes
 *   (epoch 2); it only ever answered the primary, so the primary hears nothing either and may go on alone for
 *   the moment until the promoted backup's first heartbeat reaches it; then it is fenced. Held: everything
 *   acknowledged before the cut; what it acknowledged alone in that moment (if anything) is the documented
 *   loss of the full cut below;</li>
 *   <li>a full cut until both acted (docs/ARCHITECTURE.md "Failover and rejoin": a pair cannot tell a
 *   partition from a crash): the primary goes on alone and acknowledges, the backup promotes itself; after
 *   the cut heals the old primary hears epoch 2 and stops "fenced", and what it acknowledged alone is lost to
 *   the pair's history, exactly as documented: everything it acknowledged before the cut is held by the new
 *   primary, whose state is the sequential execution of the requests it holds;</li>
 *   <li>the same full cut with the backup started {@code --no-promote} (promotion left to an operator): the
 *   primary goes on alone, the backup waits, and after the cut it rejoins; nothing acknowledged is lost.</li>
 * </ul>
 * Each checks that every acknowledged request is held (but the documented loss), the replicas converge (same
 * {@code stateDigest} and {@code requestsInState} in {@code ev-node.status}; a fenced primary restarted as a
 * backup rejoins first), the driving primary's conservation holds when it finished its drive, and, once both
 * stopped, both data directories replay (as a restart recovers them) to that digest, conserving money, with every
 * request once. By default
 * one scenario runs, chosen by the seed so that successive runs cover them; {@code -Dev.linkfault.scenarios=all}
 * (or a comma-separated list of {@link Scenario} names) runs more. The seed and ports are printed; rerun with
 * {@code -Dev.linkfault.process.seed=<seed>}.
 */
class LinkFaultProcessTest
{
    private static final long DRIVE_REQUESTS = 40_000;
    private static final long SHORT_CUT_MS = 800;
    private static final long PEER_TIMEOUT_MS = 2_000;
    private static final long SEED = Long.getLong("ev.linkfault.process.seed", System.nanoTime());
    private static final Pattern ALONE = Pattern.compile("(\\d+) batches committed alone");

    @TempDir
    Path tmp;

    private final List<Process> processes = new ArrayList<>();
    private UdpFaultProxy proxy;
    private CliTestSupport.PrimaryOutput driving;
    private long startNs;
    private Path dirA;
    private Path dirB;
    private String endpointA;
    private String endpointB;

    /** The fault, and how long it lasts. */
    enum Scenario
    {
        /** 10 % of the datagrams lost, both ways, until the drive ends. */
        DROP(Faults.NONE.withDrop(0.10)),
        /** 20 % sent twice. */
        DUPLICATE(Faults.NONE.withDuplicate(0.20)),
        /** Each datagram held 1-15 ms (which also reorders). */
        DELAY(Faults.NONE.withDelayMs(1, 15)),
        /** 20 % held back 1-5 ms, overtaken by later ones. */
        REORDER(Faults.NONE.withReorder(0.20)),
        /** All four at once. */
        LOSSY(Faults.NONE.withDrop(0.05).withDuplicate(0.05).withReorder(0.05).withDelayMs(0, 3)),
        /** Nothing from A reaches B for {@value #SHORT_CUT_MS} ms. */
        SHORT_CUT_TO_BACKUP(null),
        /** Nothing from B reaches A for {@value #SHORT_CUT_MS} ms. */
        SHORT_CUT_TO_PRIMARY(null),
        /** Both ways for {@value #SHORT_CUT_MS} ms. */
        SHORT_FULL_CUT(null),
        /** Nothing from A reaches B until B promoted itself. */
        LONG_CUT_TO_BACKUP(null),
        /** Both ways until A went on alone and B promoted itself: split brain, then fencing. */
        LONG_FULL_CUT(null),
        /** Both ways, B started with --no-promote, until A went on alone and B outwaited the peer timeout. */
        LONG_FULL_CUT_NO_PROMOTE(null);

        final Faults lossy;

        Scenario(final Faults lossy)
        {
            this.lossy = lossy;
        }
    }

    static Stream<Scenario> scenarios()
    {
        return CliTestSupport.chosen("ev.linkfault.scenarios", Scenario.values(), Scenario::valueOf, SEED);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldLoseNoAcknowledgedRequestButAsDocumentedAndConverge(final Scenario scenario) throws Exception
    {
        final long seed = SEED + scenario.ordinal();
        try
        {
            switch (scenario)
            {
                case LONG_CUT_TO_BACKUP -> longCutToBackup(seed);
                case LONG_FULL_CUT -> longFullCut(seed);
                case LONG_FULL_CUT_NO_PROMOTE -> longFullCutNoPromote(seed);
                case SHORT_CUT_TO_BACKUP, SHORT_CUT_TO_PRIMARY, SHORT_FULL_CUT -> shortCut(seed, scenario);
                default -> lossy(seed, scenario);
            }
        }
        finally
        {
            for (final Process process : processes)
            {
                process.destroyForcibly();
            }
            if (null != proxy)
            {
                proxy.close();
            }
        }
    }

    private void lossy(final long seed, final Scenario scenario) throws Exception
    {
        final Process backup = startPair(seed, scenario, true, false);
        proxy.faults(scenario.lossy);
        awaitOrFail(() -> String.valueOf(DRIVE_REQUESTS).equals(status(dirA).getProperty("acknowledged")), 120,
            "the primary never acknowledged its " + DRIVE_REQUESTS + " requests under " + scenario.lossy);
        proxy.heal();
        awaitConverged(dirB, dirA, "1");
        final String summary = stop(processes.get(1), backup);
        assertStayedPaired(summary);
        final UdpFaultProxy.Counters ab = proxy.counters(Direction.A_TO_B);
        final UdpFaultProxy.Counters ba = proxy.counters(Direction.B_TO_A);
        final long injected = ab.dropped() + ab.duplicated() + ab.delayed() + ba.dropped() + ba.duplicated() +
            ba.delayed();
        assertTrue(injected > 0, "faults were injected: A_TO_B " + ab + ", B_TO_A " + ba);
        System.out.println("LinkFaultProcessTest " + scenario + " (" + scenario.lossy + "): acknowledged " +
            DRIVE_REQUESTS + ", lost 0, stayed paired at epoch 1, " + ALONE.matcher(summary).results().findFirst()
            .map(java.util.regex.MatchResult::group).orElse("?") + "; A_TO_B " + ab + "; B_TO_A " + ba + elapsed());
    }

    private void shortCut(final long seed, final Scenario scenario) throws Exception
    {
        final Process backup = startPair(seed, scenario, true, false);
        if (Scenario.SHORT_CUT_TO_PRIMARY != scenario)
        {
            proxy.faults(Direction.A_TO_B, Faults.CUT_OFF);
        }
        if (Scenario.SHORT_CUT_TO_BACKUP != scenario)
        {
            proxy.faults(Direction.B_TO_A, Faults.CUT_OFF);
        }
        // the cut itself (under half the peer timeout), not a synchronization
        await().pollDelay(Duration.ofMillis(SHORT_CUT_MS)).atMost(Duration.ofSeconds(10)).until(() -> true);
        proxy.heal();
        awaitConverged(dirB, dirA, "1");
        final String summary = stop(processes.get(1), backup);
        assertTrue(summary.contains("PRIMARY at epoch 1"), "no failover through a short cut: " + summary);
        assertTrue(summary.contains("conservation      ok"), "the driving primary's conservation: " + summary);
        final long cut = proxy.counters(Direction.A_TO_B).cut() + proxy.counters(Direction.B_TO_A).cut();
        assertTrue(cut > 0, "datagrams were cut");
        System.out.println("LinkFaultProcessTest " + scenario + ": acknowledged " + DRIVE_REQUESTS + ", lost 0, " +
            "stayed paired at epoch 1, " + cut + " datagrams cut, " + ALONE.matcher(summary).results().findFirst()
            .map(java.util.regex.MatchResult::group).orElse("?") + elapsed());
    }

    private void longCutToBackup(final long seed) throws Exception
    {
        final Process backup = startPair(seed, Scenario.LONG_CUT_TO_BACKUP, false, false);
        final Process primary = processes.get(1);
        final long ackedAtCut = acknowledged();
        proxy.faults(Direction.A_TO_B, Faults.CUT_OFF);
        awaitOrFail(() -> "PRIMARY".equals(status(dirB).getProperty("role")), 60,
            "the backup never promoted itself while it heard nothing from the primary");
        // B's messages still reach A: A learns epoch 2 and stops
        assertTrue(primary.waitFor(60, TimeUnit.SECONDS), () -> "the old primary was not fenced: " + diagnostics());
        driving.join();
        final String output = primaryOutput();
        assertTrue(0 != primary.exitValue() && output.contains("fenced"),
            "the old primary stopped fenced (" + primary.exitValue() + "): " + output);
        final long acked = acknowledged();
        final long inState = promotedHolds(seed, ackedAtCut);
        proxy.heal();
        final Process rejoined = CliTestSupport.startNode(processes, dirA, List.of(), "backup", endpointA,
            proxy.endpointTowardB(), seed);
        awaitConverged(dirA, dirB, "2");
        stop(rejoined, backup);
        System.out.println("LinkFaultProcessTest LONG_CUT_TO_BACKUP: acknowledged " + acked + " (" + ackedAtCut +
            " at the cut), new primary holds " + inState + ", lost by design (acknowledged alone before the fence) " +
            Math.max(0, acked - inState) + ", lost before the cut 0; old primary fenced and rejoined" + elapsed());
    }

    private void longFullCut(final long seed) throws Exception
    {
        final Process backup = startPair(seed, Scenario.LONG_FULL_CUT, false, false);
        final Process primary = processes.get(1);
        final long ackedAtCut = acknowledged();
        proxy.faults(Faults.CUT_OFF);
        final long ackedAlone = awaitBothActed(true);
        proxy.heal();
        assertTrue(primary.waitFor(60, TimeUnit.SECONDS), () -> "the old primary was not fenced after the cut " +
            "healed: " + diagnostics());
        driving.join();
        final String output = primaryOutput();
        assertTrue(0 != primary.exitValue() && output.contains("fenced"),
            "the old primary stopped fenced (" + primary.exitValue() + "): " + output);
        final long acked = acknowledged();
        // documented: what the old primary acknowledged before the cut is held, its solo commits are lost
        final long inState = promotedHolds(seed, ackedAtCut);
        assertTrue(acked > inState, "the old primary acknowledged requests alone (" + acked + ") that the new " +
            "primary (" + inState + ") does not hold: the documented loss of a partition with promotion on");
        final Process rejoined = CliTestSupport.startNode(processes, dirA, List.of(), "backup", endpointA,
            proxy.endpointTowardB(), seed);
        awaitConverged(dirA, dirB, "2");
        stop(rejoined, backup);
        System.out.println("LinkFaultProcessTest LONG_FULL_CUT: acknowledged " + acked + " (" + ackedAtCut +
            " before the cut, >= " + ackedAlone + " when it was seen alone), new primary holds " + inState +
            ", lost by design (solo commits of the fenced primary) " + (acked - inState) + ", lost before the cut 0;" +
            " old primary fenced and rejoined" + elapsed());
    }

    private void longFullCutNoPromote(final long seed) throws Exception
    {
        final Process backup = startPair(seed, Scenario.LONG_FULL_CUT_NO_PROMOTE, true, true);
        proxy.faults(Faults.CUT_OFF);
        awaitBothActed(false);
        // the backup outwaits the timeout once more: it would have promoted by now (the cut, not a synchronization)
        await().pollDelay(Duration.ofMillis(PEER_TIMEOUT_MS * 3 / 2)).atMost(Duration.ofSeconds(30))
            .until(() -> true);
        assertEquals("BACKUP", status(dirB).getProperty("role"), "the --no-promote backup did not promote itself");
        proxy.heal();
        awaitConverged(dirB, dirA, "1");
        final String summary = stop(processes.get(1), backup);
        final Matcher alone = ALONE.matcher(summary);
        assertTrue(alone.find() && Long.parseLong(alone.group(1)) > 0,
            "the primary committed batches alone through the cut: " + summary);
        assertTrue(summary.contains("PRIMARY at epoch 1"), "no failover: " + summary);
        assertTrue(summary.contains("conservation      ok"), "the driving primary's conservation: " + summary);
        System.out.println("LinkFaultProcessTest LONG_FULL_CUT_NO_PROMOTE: acknowledged " + DRIVE_REQUESTS +
            ", lost 0, " + alone.group(0) + ", backup rejoined at epoch 1" + elapsed());
    }

    /**
     * Waits until the primary went on alone and acknowledged 1,000 more requests, and (if {@code promotes}) the
     * backup promoted itself.
     *
     * @return what the primary had acknowledged when it was first seen alone.
     */
    private long awaitBothActed(final boolean promotes)
    {
        final long[] seenAlone = {-1};
        awaitOrFail(() ->
        {
            if (seenAlone[0] < 0 && "false".equals(status(dirA).getProperty("paired")))
            {
                seenAlone[0] = acknowledged();
            }
            return seenAlone[0] >= 0 && (acknowledged() >= seenAlone[0] + 1_000 ||
                String.valueOf(DRIVE_REQUESTS).equals(status(dirA).getProperty("acknowledged"))) &&
                (!promotes || "PRIMARY".equals(status(dirB).getProperty("role")));
        }, 60, "the primary never went on alone" + (promotes ? " or the backup never promoted itself" : ""));
        return seenAlone[0];
    }

    /**
     * Checks the promoted backup: epoch 2, holding at least {@code mustHold} requests, its state the sequential
     * execution of exactly the requests it holds.
     *
     * @return the requests it holds.
     */
    private long promotedHolds(final long seed, final long mustHold)
    {
        final Properties promoted = status(dirB);
        assertEquals("2", promoted.getProperty("epoch"), "the promoted backup is at the next epoch");
        final long inState = Long.parseLong(promoted.getProperty("requestsInState"));
        assertTrue(inState >= mustHold, "the new primary holds " + inState + " requests, the old one acknowledged " +
            mustHold + " that must be held: acknowledged requests lost");
        final SmallBankNode node = SmallBankNode.read(dirB);
        final long oracle = CrashRecoveryTest.oracleRoot(node.registry(), node.storeContext(),
            CliTestSupport.NODE_ACCOUNTS, CliTestSupport.NODE_BATCH, seed, inState, 0);
        assertEquals(String.format("%016x", oracle), promoted.getProperty("stateDigest"),
            "the new primary's state is the sequential execution of the first " + inState + " requests");
        return inState;
    }

    private void assertStayedPaired(final String summary)
    {
        final Matcher alone = ALONE.matcher(summary);
        assertTrue(alone.find() && 0 == Long.parseLong(alone.group(1)),
            "nothing was committed alone: the pair stayed paired: " + summary);
        assertTrue(summary.contains("PRIMARY at epoch 1"), "no failover: " + summary);
        assertTrue(summary.contains("conservation      ok"), "the driving primary's conservation: " + summary);
    }

    /**
     * Starts the proxy, backup B and driving primary A (a bounded drive served on afterwards when
     * {@code bounded}, else an endless one) and waits until A acknowledged a seeded number of requests.
     *
     * @return the backup.
     */
    private Process startPair(final long seed, final Scenario scenario, final boolean bounded,
        final boolean backupNoPromote) throws Exception
    {
        startNs = System.nanoTime();
        final long faultAfter = 2_000 + new SplittableRandom(seed).nextInt(8_000);
        endpointA = "127.0.0.1:" + CliTestSupport.freeUdpPort();
        endpointB = "127.0.0.1:" + CliTestSupport.freeUdpPort();
        proxy = UdpFaultProxy.launch(endpointA, endpointB, seed);
        dirA = tmp.resolve("a");
        dirB = tmp.resolve("b");
        System.out.println("LinkFaultProcessTest " + scenario + ": seed " + seed + " (-Dev.linkfault.process.seed=" +
            SEED + " -Dev.linkfault.scenarios=" + scenario + "), fault after committed >= " + faultAfter +
            ", primary " + endpointA + ", backup " + endpointB + ", " + proxy);
        final Process backup = CliTestSupport.startNode(processes, dirB, List.of(), "backup", endpointB,
            proxy.endpointTowardA(), seed, backupNoPromote ? new String[] {"--no-promote"} : new String[0]);
        final List<String> drive = new ArrayList<>(List.of("--drive", "smallbank", "--requests",
            Long.toString(bounded ? DRIVE_REQUESTS : 10_000_000), "--rate", "10000", "--window", "256"));
        if (bounded)
        {
            drive.add("--serve-after-drive");
        }
        final Process primary = CliTestSupport.startNode(processes, dirA, List.of(), "primary", endpointA,
            proxy.endpointTowardB(), seed, drive.toArray(new String[0]));
        driving = new CliTestSupport.PrimaryOutput(primary, faultAfter);
        driving.awaitThreshold(this::diagnostics);
        return backup;
    }

    /**
     * Waits until {@code rejoined} is the paired backup of {@code primary} at {@code epoch}, with the same
     * state digest and request count; at epoch 1 (a bounded drive) also every request acknowledged and held.
     */
    private void awaitConverged(final Path rejoined, final Path primary, final String epoch)
    {
        awaitOrFail(() -> CliTestSupport.converged(rejoined, primary, epoch, DRIVE_REQUESTS), 120,
            "the replicas never converged");
    }

    /**
     * Stops both replicas with SIGTERM (a clean stop, the summary printed, exit status 143).
     *
     * @return the driving primary's output (its summary), if it was one of them.
     */
    private String stop(final Process first, final Process second) throws Exception
    {
        CliTestSupport.stopCleanly(this::diagnostics, first, second);
        driving.join();
        CliTestSupport.assertReplaysConverge(dirA, dirB);
        return primaryOutput();
    }

    private String primaryOutput()
    {
        return null == driving ? "(not started)" : driving.text();
    }

    private long acknowledged()
    {
        return null == driving ? 0 : driving.acknowledged();
    }

    private String elapsed()
    {
        return " (" + (System.nanoTime() - startNs) / 1_000_000 + " ms from the start)";
    }

    private void awaitOrFail(final Callable<Boolean> condition, final int seconds, final String what)
    {
        CliTestSupport.awaitOrFail(condition, seconds, what, this::diagnostics);
    }

    private String diagnostics()
    {
        return "status a " + status(tmp.resolve("a")) + ", b " + status(tmp.resolve("b")) + "; primary acknowledged " +
            acknowledged() + "; " + proxy + " A_TO_B " + proxy.counters(Direction.A_TO_B) + " B_TO_A " +
            proxy.counters(Direction.B_TO_A) + "; primary output " + primaryOutput() + "; " + CliTestSupport.logs(tmp);
    }
}
