/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import io.ev.replication.UdpFaultProxy;
import io.ev.replication.UdpFaultProxy.Direction;
import io.ev.replication.UdpFaultProxy.Faults;
import org.agrona.IoUtil;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/ev soak}: a bounded soak of a replicated SmallBank pair under faults injected on a seeded schedule,
 * with the invariants checked after every fault and at the end of every round.
 * <p>
 * <b>Set-up.</b> Two real {@code bin/ev node} processes (replicas "a" and "b", each on its own data directory
 * under {@code --work}) over Aeron UDP on loopback, with a {@link UdpFaultProxy} between them. Real processes,
 * not engines in this JVM, because the faults are the real ones: SIGKILL (nothing flushed, the journal's mapped
 * files are what survives), SIGSTOP/SIGCONT (a whole process frozen, its clock jumping), the real media driver
 * and UDP path, and recovery from the journal on every restart. The price is that the client lives in the
 * driving primary's process ({@code --drive smallbank}), so the soak works in <b>rounds</b>.
 * <p>
 * <b>A round.</b> Start one replica as backup and the other as the driving primary (seeded choice; both hold the
 * same state, so this is the operator's restart of either as primary), which submits {@code --rate} requests/s
 * for up to {@code --round-seconds} from one client with request ids going on from the last one in the state
 * (request deduplication is on for {@code bin/ev node} data directories). In some rounds every backup misreports
 * the root of every M-th batch ({@code -Dev.fault.mismatch.every=M}, docs/RELIABILITY.md): forced divergences,
 * repaired by sequential re-execution. While the drive runs, faults follow one another after seeded gaps:
 * <ul>
 *   <li>{@code link-lossy}: drop, duplicate, reorder and delay datagrams both ways for 1-4 s;</li>
 *   <li>{@code link-cut}: cut one way or both for 10-35 % of the peer timeout (shorter: a longer cut is the
 *   documented partition ambiguity, LinkFaultProcessTest);</li>
 *   <li>{@code kill-backup}: SIGKILL the backup, restart it (as backup) after 0-2 peer timeouts: it recovers
 *   from its journal and rejoins;</li>
 *   <li>{@code pause-backup}: SIGSTOP the backup for a fifth of the timeout, or until the primary gave it up;</li>
 *   <li>{@code kill-primary}: SIGKILL the driving primary: the backup promotes itself, the old primary restarts
 *   as a backup and rejoins; the round's drive ends;</li>
 *   <li>{@code pause-primary}: SIGSTOP the primary briefly, or until the backup promoted itself: resumed, the
 *   stale primary must be fenced (it stops), then restarts as a backup.</li>
 * </ul>
 * <b>Checks.</b> After every fault: the pair forms again (primary and backup paired at one epoch) within two
 * minutes; an unexpected exit of a replica is a violation (a fenced primary is expected only when the other
 * promoted itself); at a failover the new primary holds every request the old one acknowledged. At the end of
 * a round (drive done, pair converged: same state digest and request count), both replicas stop cleanly and the
 * soak replays both data directories ({@code bin/ev replay}'s recovery: newest checkpoint, then every journaled
 * batch executed sequentially with its token checked against the commit marker) and checks: the two replayed
 * digests are equal and equal the primary's live digest (replay oracle), money is conserved over the replayed
 * history, every request is in the state exactly once (one client, ids in order: requests in state = last id +
 * 1) and every acknowledged request is held (first id of the round + acknowledged <= requests in state: lost
 * must be 0). The driving primary's own conservation check (its summary) must pass too.
 * <p>
 * A status line every second, a summary at the end ({@code --json} for scripts); exit status 1 naming the
 * violated invariant, with the work directory kept. {@code --minutes} bounds the run: the last round is sized to
 * end near it.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
    description = "Soak a replicated SmallBank pair (two bin/ev node processes over a fault-injecting UDP proxy) " +
        "under seeded faults, checking the invariants after every fault and round.")
public final class SoakCommand implements Callable<Integer>
{
    private static final int NODE_BATCH = 64;
    private static final long NODE_HEAP_MB = 256;
    private static final long PAIR_WITHIN_MS = 120_000;
    private static final long EXIT_WITHIN_MS = 60_000;
    private static final long POLL_MS = 50;

    /** What the schedule injects. */
    enum Kind
    {
        LINK_LOSSY("link-lossy"),
        LINK_CUT("link-cut"),
        KILL_BACKUP("kill-backup"),
        PAUSE_BACKUP("pause-backup"),
        KILL_PRIMARY("kill-primary"),
        PAUSE_PRIMARY("pause-primary"),
        DIVERGENCE("divergence");

        final String option;

        Kind(final String option)
        {
            this.option = option;
        }
    }

    @Option(names = "--minutes", description = "how long to soak (default ${DEFAULT-VALUE}); decimals allowed")
    double minutes = 1;

    @Option(names = "--seed", description = "seed of the schedule, the faults and the workload (default: the clock)")
    Long seed;

    @Option(names = "--rate", description = "requests per second the primary drives (default ${DEFAULT-VALUE})")
    long rate = 5_000;

    @Option(names = "--round-seconds", description = "longest drive of one round (default ${DEFAULT-VALUE})")
    long roundSeconds = 20;

    @Option(names = "--accounts", description = "SmallBank customers (default ${DEFAULT-VALUE})")
    int accounts = 1_000;

    @Option(names = "--peer-timeout-ms", description = "the replicas' --peer-timeout-ms (default ${DEFAULT-VALUE})")
    long peerTimeoutMs = 3_000;

    @Option(names = "--checkpoint-every", description = "the replicas' --checkpoint-every (default ${DEFAULT-VALUE})")
    long checkpointEvery = 20_000;

    @Option(names = "--faults", split = ",", description = "fault kinds to inject (default all): link-lossy, " +
        "link-cut, kill-backup, pause-backup, kill-primary, pause-primary, divergence; none = no faults")
    List<String> faultNames;

    @Option(names = "--work", description = "work directory for the data directories and logs, absent or empty " +
        "(default: a new temporary directory, deleted after a passing run)")
    Path work;

    @Option(names = "--keep", description = "keep the work directory after a passing run")
    boolean keep;

    @Option(names = "--json", description = "print the summary as one JSON object on stdout (progress on stderr)")
    boolean json;

    private final Set<Kind> kinds = new LinkedHashSet<>();
    private final Map<Kind, Long> injected = new EnumMap<>(Kind.class);
    private final List<Replica> replicas = new ArrayList<>();
    private SplittableRandom random;
    private UdpFaultProxy proxy;
    private Replica serving;
    private Replica standby;
    private Replica driver;
    private long startNs;
    private long deadlineNs;
    private int round;
    private long roundRequests;
    private long nextRequestId;
    private long driverAcked;
    private long acknowledged;
    private long held;
    private long lost;
    private long failovers;
    private long fenced;
    private long divergencesDetected;
    private long repairedByReexecution;
    private long repairedByTransfer;
    private long checksPassed;
    private volatile String phase = "starting";
    private String violation;

    public Integer call()
    {
        validate();
        final long soakSeed = null == seed ? System.nanoTime() : seed;
        random = new SplittableRandom(soakSeed);
        final PrintStream out = System.out;
        final PrintStream progress = json ? System.err : System.out;
        final boolean tempWork = null == work;
        final Path dir = prepareWork();
        startNs = System.nanoTime();
        deadlineNs = startNs + (long)(minutes * 60e9);
        progress.printf(Locale.ROOT, "soak: seed %d (--seed %d), %.2f min, work %s, faults %s%n", soakSeed, soakSeed,
            minutes, dir, kinds.stream().map(kind -> kind.option).collect(Collectors.joining(",")));
        final Thread hook = new Thread(this::destroyAll, "ev-soak-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        final Thread status = new Thread(() -> printStatus(progress), "ev-soak-status");
        status.setDaemon(true);
        try
        {
            final String endpointA = "127.0.0.1:" + freeUdpPort();
            final String endpointB = "127.0.0.1:" + freeUdpPort();
            proxy = UdpFaultProxy.launch(endpointA, endpointB, soakSeed);
            replicas.add(new Replica("a", dir.resolve("a"), endpointA, proxy.endpointTowardB()));
            replicas.add(new Replica("b", dir.resolve("b"), endpointB, proxy.endpointTowardA()));
            status.start();
            while (System.nanoTime() - deadlineNs < 0)
            {
                round(soakSeed);
            }
        }
        catch (final Violation ex)
        {
            violation = ex.getMessage();
        }
        catch (final IOException ex)
        {
            violation = "SOAK_FAILED: " + ex;
        }
        finally
        {
            phase = "done";
            status.interrupt();
            destroyAll();
            if (null != proxy)
            {
                proxy.close();
            }
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException ex)
            {
                // shutting down already
            }
        }
        summary(out, soakSeed, dir);
        if (null == violation && tempWork && !keep)
        {
            IoUtil.delete(dir.toFile(), true);
        }
        return null == violation ? 0 : EvCli.EXIT_INVARIANT_FAILED;
    }

    /**
     * One round: start the pair, drive, inject faults, converge, stop, replay and check.
     */
    private void round(final long soakSeed) throws IOException
    {
        round++;
        final boolean firstRound = 1 == round;
        serving = replicas.get(random.nextInt(2));
        standby = other(serving);
        driver = serving;
        driverAcked = 0;
        final long mismatchEvery = kinds.contains(Kind.DIVERGENCE) && random.nextBoolean() ?
            5 + random.nextInt(11) : 0;
        if (mismatchEvery > 0)
        {
            count(Kind.DIVERGENCE);
        }
        final long remainingS = Math.max(0, TimeUnit.NANOSECONDS.toSeconds(deadlineNs - System.nanoTime()));
        final long driveS = Math.max(2, Math.min(roundSeconds, remainingS));
        roundRequests = rate * driveS;
        // both data directories are created with the soak's seed (the initial balances); later rounds drive
        // other request streams from the same state
        final long driveSeed = firstRound ? soakSeed : random.nextLong();
        final long firstId = nextRequestId;
        final List<String> properties = 0 == mismatchEvery ? List.of() :
            List.of("-Dev.fault.mismatch.every=" + mismatchEvery);
        phase = "round " + round + " starting (" + serving.name + " drives " + roundRequests + " requests" +
            (mismatchEvery > 0 ? ", backups misreport every " + mismatchEvery + "th batch" : "") + ")";
        standby.start("backup", properties, soakSeed);
        serving.start("primary", properties, driveSeed, "--drive", "smallbank", "--requests",
            Long.toString(roundRequests), "--rate", Long.toString(rate), "--window", "256", "--serve-after-drive",
            "--await-backup-ms", Long.toString(PAIR_WITHIN_MS));
        awaitOrViolate(() -> requireRunning() && isPaired() && driver.acknowledged() > 0, PAIR_WITHIN_MS,
            "NOT_PAIRED", "the pair did not form and drive in round " + round);
        passed();
        phase = "round " + round + " driving";
        while (null != driver && driver.acknowledged() < roundRequests - rate)
        {
            final long gapMs = 500 + random.nextInt(2_500);
            waitFor(() -> null == driver || driver.acknowledged() >= roundRequests - rate, gapMs);
            if (null == driver || driver.acknowledged() >= roundRequests - rate || faultKinds().isEmpty())
            {
                break;
            }
            inject(faultKinds().get(random.nextInt(faultKinds().size())), properties);
        }
        if (null != driver)
        {
            phase = "round " + round + " finishing the drive";
            final long waitMs = TimeUnit.SECONDS.toMillis(roundRequests / rate) + PAIR_WITHIN_MS;
            awaitOrViolate(() -> requireRunning() && driver.acknowledged() >= roundRequests, waitMs,
                "DRIVE_STALLED", "the primary acknowledged " + driver.acknowledged() + " of " + roundRequests +
                " requests");
        }
        phase = "round " + round + " converging";
        awaitOrViolate(() -> requireRunning() && isConverged(), PAIR_WITHIN_MS, "NOT_CONVERGED",
            "the replicas did not converge (same state digest and request count) at the end of round " + round);
        passed();
        final Properties primaryStatus = serving.status();
        final long roundAcked = null == driver ? driverAcked : driver.acknowledged();
        phase = "round " + round + " stopping";
        final String driverOutput = stopPair();
        if (driverOutput.contains("conservation      FAILED"))
        {
            throw new Violation("CONSERVATION", "the driving primary's conservation check failed: " + driverOutput);
        }
        passed();
        phase = "round " + round + " replaying";
        verifyRound(firstId, roundAcked, primaryStatus);
        acknowledged += roundAcked;
    }

    /**
     * Injects one fault, ends it, and waits for the pair to form again.
     */
    private void inject(final Kind kind, final List<String> properties) throws IOException
    {
        count(kind);
        final long timeoutMs = peerTimeoutMs;
        switch (kind)
        {
            case LINK_LOSSY ->
            {
                final Faults faults = Faults.NONE.withDrop(random.nextDouble() * 0.1)
                    .withDuplicate(random.nextDouble() * 0.1).withReorder(random.nextDouble() * 0.1)
                    .withDelayMs(0, random.nextInt(6));
                final long ms = 1_000 + random.nextInt(3_000);
                phase = "round " + round + " link lossy for " + ms + " ms (" + faults + ")";
                proxy.faults(faults);
                waitFor(() -> false, ms);
                proxy.heal();
            }
            case LINK_CUT ->
            {
                final int which = random.nextInt(3);
                final long ms = timeoutMs / 10 + random.nextLong(timeoutMs / 4);
                phase = "round " + round + " link cut " + (0 == which ? "a->b" : 1 == which ? "b->a" : "both ways") +
                    " for " + ms + " ms";
                if (1 != which)
                {
                    proxy.faults(Direction.A_TO_B, Faults.CUT_OFF);
                }
                if (0 != which)
                {
                    proxy.faults(Direction.B_TO_A, Faults.CUT_OFF);
                }
                waitFor(() -> false, ms);
                proxy.heal();
            }
            case KILL_BACKUP ->
            {
                final long ms = random.nextLong(2 * timeoutMs);
                phase = "round " + round + " backup " + standby.name + " killed, restart in " + ms + " ms";
                standby.kill();
                waitFor(() -> false, ms);
                standby.start("backup", properties, null);
            }
            case PAUSE_BACKUP ->
            {
                final boolean longPause = random.nextBoolean();
                phase = "round " + round + " backup " + standby.name + " paused (" + (longPause ? "until given up" :
                    "short") + ")";
                standby.signal("STOP");
                waitFor(() -> longPause && "false".equals(serving.status().getProperty("paired")),
                    longPause ? 3 * timeoutMs : timeoutMs / 5);
                standby.signal("CONT");
            }
            case KILL_PRIMARY ->
            {
                phase = "round " + round + " primary " + serving.name + " killed";
                serving.kill();
            }
            default ->
            {
                final boolean longPause = random.nextBoolean();
                phase = "round " + round + " primary " + serving.name + " paused (" + (longPause ?
                    "until the backup promoted itself" : "short") + ")";
                serving.signal("STOP");
                waitFor(() -> longPause && "PRIMARY".equals(standby.status().getProperty("role")),
                    longPause ? 3 * timeoutMs : timeoutMs / 5);
                serving.signal("CONT");
            }
        }
        settle(kind, properties);
    }

    /**
     * Waits until the pair is formed again after a fault, handling a failover (the primary killed, or fenced
     * after the backup promoted itself): the new primary must hold every acknowledged request, the old one
     * restarts as a backup.
     */
    private void settle(final Kind kind, final List<String> properties) throws IOException
    {
        phase = phase + ", recovering";
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * PAIR_WITHIN_MS);
        while (true)
        {
            if (standby.exitedUnexpectedly())
            {
                throw new Violation("REPLICA_FAILED", "backup " + standby.name + " exited (" +
                    standby.process.exitValue() + ") after " + kind + ": " + standby.tail());
            }
            if (!serving.alive())
            {
                failover(kind, properties);
            }
            else if ("PRIMARY".equals(standby.status().getProperty("role")))
            {
                // the backup promoted itself while the primary lives (paused, cut off): it must be fenced
                final Replica old = serving;
                awaitOrViolate(() -> !old.alive(), EXIT_WITHIN_MS, "NOT_FENCED",
                    "the stale primary " + old.name + " still runs after " + standby.name + " promoted itself");
            }
            else if (isPaired())
            {
                passed();
                return;
            }
            if (System.nanoTime() - deadline > 0)
            {
                throw new Violation("NOT_PAIRED", "the pair did not form again within " + 2 * PAIR_WITHIN_MS / 1000 +
                    " s after " + kind + "; " + describe());
            }
            sleep(POLL_MS);
        }
    }

    private void failover(final Kind kind, final List<String> properties) throws IOException
    {
        final Replica old = serving;
        final boolean expected = old.killedByUs;
        final String output = old.tail();
        if (!expected && !output.contains("fenced"))
        {
            throw new Violation("REPLICA_FAILED", "primary " + old.name + " exited (" + old.process.exitValue() +
                ") after " + kind + ", not fenced: " + output);
        }
        if (!expected)
        {
            fenced++;
        }
        awaitOrViolate(() -> "PRIMARY".equals(standby.status().getProperty("role")), EXIT_WITHIN_MS, "NO_FAILOVER",
            "backup " + standby.name + " did not promote itself after primary " + old.name + " stopped");
        failovers++;
        if (old == driver)
        {
            driverAcked = old.acknowledged();
            final long inState = Long.parseLong(standby.status().getProperty("requestsInState"));
            final long mustHold = nextRequestId + driverAcked;
            if (inState < mustHold)
            {
                lost += mustHold - inState;
                throw new Violation("LOST_ACKNOWLEDGED", "primary " + old.name + " acknowledged requests up to id " +
                    (mustHold - 1) + " (" + driverAcked + " this round from id " + nextRequestId + "), the new " +
                    "primary " + standby.name + " holds " + inState + " requests");
            }
            passed();
            driver = null;
        }
        serving = standby;
        standby = old;
        phase = phase + ", " + serving.name + " promoted, " + old.name + " rejoins";
        old.start("backup", properties, null);
    }

    /**
     * Stops the backup, then the primary, with SIGTERM (clean stops; summaries printed).
     *
     * @return the driving primary's output, if it was still running.
     */
    private String stopPair()
    {
        standby.stop();
        final String output = serving.stop();
        return serving == driver ? output : "";
    }

    /**
     * Replays both stopped data directories and checks the invariants of the round.
     */
    private void verifyRound(final long firstId, final long roundAcked, final Properties primaryStatus)
    {
        final ReplayCommand.Replayed[] replayed = new ReplayCommand.Replayed[2];
        for (int i = 0; i < 2; i++)
        {
            final Replica replica = replicas.get(i);
            try
            {
                replayed[i] = ReplayCommand.replay(replica.dir);
            }
            catch (final RuntimeException ex)
            {
                throw new Violation("REPLAY", "replaying " + replica.dir + " failed: " + ex.getMessage());
            }
            if (!replayed[i].conservation())
            {
                throw new Violation("CONSERVATION", "replica " + replica.name + ": money at checkpoint " +
                    replayed[i].totalAtCheckpoint() + " + deltas " + replayed[i].sumOfDeltas() + " != " +
                    replayed[i].totalAtEnd());
            }
            passed();
            final long inState = replayed[i].report().requestsInState();
            if (replayed[i].lastRequestId() + 1 != inState)
            {
                throw new Violation("EXACTLY_ONCE", "replica " + replica.name + " holds " + inState + " requests " +
                    "but the client's last request id is " + replayed[i].lastRequestId() + " (ids 0.. in order: " +
                    "a request missing or applied twice)");
            }
            passed();
        }
        final String digestA = String.format(Locale.ROOT, "%016x", replayed[0].report().root());
        final String digestB = String.format(Locale.ROOT, "%016x", replayed[1].report().root());
        final long inState = replayed[0].report().requestsInState();
        if (!digestA.equals(digestB) || inState != replayed[1].report().requestsInState())
        {
            throw new Violation("DIGEST_MISMATCH", "replayed replicas differ: a " + digestA + " (" + inState +
                " requests), b " + digestB + " (" + replayed[1].report().requestsInState() + " requests)");
        }
        passed();
        if (!digestA.equals(primaryStatus.getProperty("stateDigest")))
        {
            throw new Violation("REPLAY", "the replayed state " + digestA + " differs from the primary's live " +
                "state " + primaryStatus.getProperty("stateDigest"));
        }
        passed();
        if (inState < firstId + roundAcked)
        {
            lost += firstId + roundAcked - inState;
            throw new Violation("LOST_ACKNOWLEDGED", "round " + round + " acknowledged " + roundAcked +
                " requests from id " + firstId + ", the replicas hold " + inState);
        }
        passed();
        held = inState;
        nextRequestId = inState;
    }

    /**
     * @return true.
     * @throws Violation {@code REPLICA_FAILED} if a replica's process exited on its own.
     */
    private boolean requireRunning()
    {
        for (final Replica replica : replicas)
        {
            if (replica.exitedUnexpectedly())
            {
                throw new Violation("REPLICA_FAILED", "replica " + replica.name + " exited (" +
                    replica.process.exitValue() + ") in round " + round + ": " + replica.tail());
            }
        }
        return true;
    }

    private boolean isPaired()
    {
        final Properties p = serving.status();
        final Properties b = standby.status();
        return "PRIMARY".equals(p.getProperty("role")) && "BACKUP".equals(b.getProperty("role")) &&
            "true".equals(p.getProperty("paired")) && "true".equals(b.getProperty("paired")) &&
            String.valueOf(p.getProperty("epoch")).equals(b.getProperty("epoch"));
    }

    private boolean isConverged()
    {
        final Properties p = serving.status();
        final Properties b = standby.status();
        return isPaired() && String.valueOf(p.getProperty("stateDigest")).equals(b.getProperty("stateDigest")) &&
            String.valueOf(p.getProperty("requestsInState")).equals(b.getProperty("requestsInState"));
    }

    private List<Kind> faultKinds()
    {
        return kinds.stream().filter(kind -> Kind.DIVERGENCE != kind).toList();
    }

    private Replica other(final Replica replica)
    {
        return replicas.get(0) == replica ? replicas.get(1) : replicas.get(0);
    }

    private void count(final Kind kind)
    {
        synchronized (injected)
        {
            injected.merge(kind, 1L, Long::sum);
        }
    }

    private long faultsInjected()
    {
        synchronized (injected)
        {
            return injected.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private synchronized void passed()
    {
        checksPassed++;
    }

    private String describe()
    {
        final StringBuilder text = new StringBuilder();
        for (final Replica replica : replicas)
        {
            text.append(replica.name).append(' ').append(replica.status()).append(" alive=").append(replica.alive())
                .append(" output: ").append(replica.tail()).append("; ");
        }
        return text.toString();
    }

    private void awaitOrViolate(final BooleanSupplier condition, final long ms, final String invariant,
        final String what)
    {
        if (!waitFor(condition, ms))
        {
            throw new Violation(invariant, what + " within " + ms / 1000 + " s; " + describe());
        }
    }

    /**
     * Polls {@code condition} until it holds or {@code ms} passed (a fault's duration when it never holds).
     *
     * @return whether it held.
     */
    private static boolean waitFor(final BooleanSupplier condition, final long ms)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!condition.getAsBoolean())
        {
            final long leftNs = deadline - System.nanoTime();
            if (leftNs <= 0)
            {
                return false;
            }
            sleep(Math.min(POLL_MS, TimeUnit.NANOSECONDS.toMillis(leftNs) + 1));
        }
        return true;
    }

    private static void sleep(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new Violation("INTERRUPTED", "the soak was interrupted");
        }
    }

    private void printStatus(final PrintStream progress)
    {
        try
        {
            while (!Thread.currentThread().isInterrupted())
            {
                Thread.sleep(1_000);
                final long elapsedS = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNs);
                final StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "soak %d:%02d/%d:%02d",
                    elapsedS / 60, elapsedS % 60, (long)(minutes * 60) / 60, (long)(minutes * 60) % 60));
                for (final Replica replica : replicas)
                {
                    final Properties status = replica.status();
                    line.append(" | ").append(replica.name).append(' ').append(!replica.alive() ? "down" :
                        null == status.getProperty("role") ? "starting" : status.getProperty("role") + " e" +
                        status.getProperty("epoch") + ("true".equals(status.getProperty("paired")) ? " paired" :
                        " unpaired"));
                }
                final Replica drive = driver;
                line.append(String.format(Locale.ROOT, " | acked %d%s | faults %d lost %d checks %d | %s",
                    acknowledged + (null == drive ? 0 : drive.acked.get()),
                    null == drive ? "" : " (round " + drive.acked.get() + "/" + roundRequests + ")", faultsInjected(),
                    lost, checksPassed, phase));
                progress.println(line);
                progress.flush();
            }
        }
        catch (final InterruptedException ex)
        {
            // the soak ended
        }
    }

    private void summary(final PrintStream out, final long soakSeed, final Path dir)
    {
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        final String faults;
        synchronized (injected)
        {
            faults = Arrays.stream(Kind.values()).map(kind -> kind.option + " " + injected.getOrDefault(kind, 0L))
                .collect(Collectors.joining(", "));
        }
        if (json)
        {
            final String byKind;
            synchronized (injected)
            {
                byKind = Arrays.stream(Kind.values()).map(kind -> "\"" + kind.option + "\":" +
                    injected.getOrDefault(kind, 0L)).collect(Collectors.joining(","));
            }
            out.printf(Locale.ROOT, "{\"seed\":%d,\"seconds\":%.1f,\"rounds\":%d,\"faultsInjected\":%d," +
                "\"faults\":{%s},\"acknowledged\":%d,\"held\":%d,\"lost\":%d,\"failovers\":%d,\"fenced\":%d," +
                "\"divergencesDetected\":%d,\"divergencesRepaired\":%d,\"repairedByReexecution\":%d," +
                "\"repairedByTransfer\":%d,\"checksPassed\":%d,\"violation\":%s,\"work\":\"%s\"}%n",
                soakSeed, seconds, round, faultsInjected(), byKind, acknowledged, held, lost, failovers, fenced,
                divergencesDetected, repairedByReexecution + repairedByTransfer, repairedByReexecution,
                repairedByTransfer, checksPassed, null == violation ? "null" : "\"" + jsonEscape(violation) + "\"",
                jsonEscape(dir.toString()));
        }
        else
        {
            out.printf(Locale.ROOT, "%n== soak summary ==%n");
            out.printf(Locale.ROOT, "seed              %d (rerun: bin/ev soak --seed %d --minutes %s)%n", soakSeed,
                soakSeed, minutes);
            out.printf(Locale.ROOT, "ran               %.1f s, %d rounds%n", seconds, round);
            out.printf(Locale.ROOT, "faults injected   %d: %s%n", faultsInjected(), faults);
            out.printf(Locale.ROOT, "requests          %d acknowledged, %d held, %d lost%n", acknowledged, held, lost);
            out.printf(Locale.ROOT, "failovers         %d (%d stale primaries fenced)%n", failovers, fenced);
            out.printf(Locale.ROOT, "divergences       %d detected, %d repaired (%d by re-execution, %d by transfer)%n",
                divergencesDetected, repairedByReexecution + repairedByTransfer, repairedByReexecution,
                repairedByTransfer);
            out.printf(Locale.ROOT, "checks            %d passed%n", checksPassed);
            out.printf(Locale.ROOT, "result            %s%n", null == violation ? "ok" : "VIOLATED " + violation);
            if (null != violation || keep)
            {
                out.printf(Locale.ROOT, "work              %s (data directories and node logs)%n", dir);
            }
        }
        out.flush();
    }

    private void destroyAll()
    {
        for (final Replica replica : replicas)
        {
            if (null != replica.process)
            {
                replica.process.destroyForcibly(); // SIGKILL also ends a stopped process
            }
        }
    }

    private Path prepareWork()
    {
        try
        {
            if (null == work)
            {
                return Files.createTempDirectory("ev-soak-");
            }
            if (Files.exists(work))
            {
                try (java.util.stream.Stream<Path> entries = Files.list(work))
                {
                    if (entries.findAny().isPresent())
                    {
                        throw new IllegalArgumentException("--work " + work + " must be absent or empty");
                    }
                }
            }
            return Files.createDirectories(work);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("--work " + work + ": " + ex);
        }
    }

    private void validate()
    {
        require(minutes > 0 && minutes <= 7 * 24 * 60, "--minutes " + BigDecimal.valueOf(minutes).stripTrailingZeros()
            .toPlainString() + " must be in (0, 10080]");
        require(rate >= 100 && rate <= 1_000_000, "--rate " + rate + " must be in [100, 1000000]");
        require(roundSeconds >= 2 && roundSeconds <= 3_600, "--round-seconds " + roundSeconds +
            " must be in [2, 3600]");
        require(accounts >= 2 && accounts <= 10_000_000, "--accounts " + accounts + " must be in [2, 10^7]");
        require(peerTimeoutMs >= 500 && peerTimeoutMs <= 60_000, "--peer-timeout-ms " + peerTimeoutMs +
            " must be in [500, 60000]");
        require(checkpointEvery >= 0, "--checkpoint-every " + checkpointEvery + " must be >= 0");
        if (null == faultNames)
        {
            kinds.addAll(Arrays.asList(Kind.values()));
        }
        else
        {
            for (final String name : faultNames)
            {
                if ("none".equals(name))
                {
                    continue;
                }
                final Kind kind = Arrays.stream(Kind.values()).filter(k -> k.option.equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("--faults: unknown kind '" + name + "' (kinds: " +
                    Arrays.stream(Kind.values()).map(k -> k.option).collect(Collectors.joining(", ")) + ", none)"));
                kinds.add(kind);
            }
        }
    }

    private static void require(final boolean valid, final String message)
    {
        if (!valid)
        {
            throw new IllegalArgumentException(message);
        }
    }

    private static int freeUdpPort() throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
    }

    private static String jsonEscape(final String text)
    {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "");
    }

    /**
     * @return the build's one list of JVM options (the resource bin/ev reads), for the node processes.
     */
    private static List<String> jvmOptions()
    {
        try (InputStream in = SoakCommand.class.getResourceAsStream("/io/ev/engine/jvm.options"))
        {
            if (null == in)
            {
                throw new IllegalStateException("resource io/ev/engine/jvm.options missing: build the engine module");
            }
            return Arrays.asList(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+"));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * One replica: its data directory, endpoints, and the process now running on it (if any).
     */
    private final class Replica
    {
        final String name;
        final Path dir;
        final String listen;
        final String peer;
        final AtomicLong acked = new AtomicLong();
        final ArrayDeque<String> lastLines = new ArrayDeque<>();
        volatile Process process;
        boolean collected = true;
        boolean killedByUs;
        boolean stopping;
        int starts;

        Replica(final String name, final Path dir, final String listen, final String peer)
        {
            this.name = name;
            this.dir = dir;
            this.listen = listen;
            this.peer = peer;
        }

        /**
         * Starts {@code bin/ev node} on this replica's directory (the same main class and class path as this
         * process), its output read into {@code <work>/<name>-<n>.log}.
         */
        void start(final String role, final List<String> properties, final Long nodeSeed, final String... extra)
            throws IOException
        {
            final List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(jvmOptions());
            command.add("-Xmx" + NODE_HEAP_MB + "m");
            command.addAll(properties);
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(EvCli.class.getName());
            command.addAll(List.of("node", "--role", role, "--data", dir.toString(), "--listen", listen, "--peer",
                peer, "--accounts", Integer.toString(accounts), "--batch", Integer.toString(NODE_BATCH),
                "--workers", "2", "--peer-timeout-ms", Long.toString(peerTimeoutMs), "--checkpoint-every",
                Long.toString(checkpointEvery)));
            if (null != nodeSeed)
            {
                command.addAll(List.of("--seed", Long.toString(nodeSeed)));
            }
            command.addAll(List.of(extra));
            collectCounters();
            acked.set(0);
            killedByUs = false;
            stopping = false;
            synchronized (lastLines)
            {
                lastLines.clear();
            }
            final Path log = dir.resolveSibling(name + "-" + ++starts + ".log");
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            collected = false;
            final Process started = process;
            final Thread reader = new Thread(() -> read(started, log), "ev-soak-" + name + "-" + starts);
            reader.setDaemon(true);
            reader.start();
        }

        private void read(final Process from, final Path log)
        {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(from.getInputStream(),
                StandardCharsets.UTF_8));
                Writer writer = Files.newBufferedWriter(log, StandardCharsets.UTF_8))
            {
                String line;
                while (null != (line = reader.readLine()))
                {
                    writer.write(line);
                    writer.write('\n');
                    writer.flush();
                    if (line.startsWith("committed="))
                    {
                        int end = "committed=".length();
                        while (end < line.length() && Character.isDigit(line.charAt(end)))
                        {
                            end++;
                        }
                        if (end > "committed=".length())
                        {
                            acked.accumulateAndGet(Long.parseLong(line.substring("committed=".length(), end)),
                                Math::max);
                        }
                    }
                    synchronized (lastLines)
                    {
                        lastLines.add(line);
                        if (lastLines.size() > 40)
                        {
                            lastLines.poll();
                        }
                    }
                }
            }
            catch (final IOException ex)
            {
                synchronized (lastLines)
                {
                    lastLines.add("(output: " + ex + ")");
                }
            }
        }

        /**
         * @return requests this process acknowledged: the larger of its last {@code committed=} line and its status
         * (a driving node prints no line for its last replies until it stops).
         */
        long acknowledged()
        {
            final String fromStatus = status().getProperty("acknowledged");
            if (null != fromStatus)
            {
                acked.accumulateAndGet(Long.parseLong(fromStatus), Math::max);
            }
            return acked.get();
        }

        boolean alive()
        {
            return null != process && process.isAlive();
        }

        boolean exitedUnexpectedly()
        {
            return null != process && !process.isAlive() && !killedByUs && !stopping;
        }

        /**
         * @return the output's last lines (all of it once the process ended and its output was read).
         */
        String tail()
        {
            if (null != process && !process.isAlive())
            {
                waitFor(() -> false, 200); // let the reader take the last lines
            }
            synchronized (lastLines)
            {
                return String.join("\n", lastLines);
            }
        }

        /**
         * @return the status file of the running process ({@code pid} matches), else an empty one.
         */
        Properties status()
        {
            final Properties status = new Properties();
            final Path file = dir.resolve(NodeCommand.STATUS);
            final Process current = process;
            if (null != current && Files.isRegularFile(file))
            {
                try (InputStream in = Files.newInputStream(file))
                {
                    status.load(in);
                }
                catch (final IOException ex)
                {
                    return new Properties(); // replaced while being read: the next poll reads the new one
                }
                if (!Long.toString(current.pid()).equals(status.getProperty("pid")))
                {
                    return new Properties(); // a previous process's
                }
            }
            return status;
        }

        void kill()
        {
            killedByUs = true;
            process.destroyForcibly();
            try
            {
                process.waitFor(EXIT_WITHIN_MS, TimeUnit.MILLISECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }

        void signal(final String signal)
        {
            try
            {
                final Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
                    .redirectErrorStream(true).start();
                if (!kill.waitFor(30, TimeUnit.SECONDS) || 0 != kill.exitValue())
                {
                    throw new Violation("SOAK_FAILED", "kill -" + signal + " " + process.pid() + " failed");
                }
            }
            catch (final IOException ex)
            {
                throw new Violation("SOAK_FAILED", "kill -" + signal + ": " + ex);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new Violation("INTERRUPTED", "the soak was interrupted");
            }
        }

        /**
         * SIGTERM: the node stops cleanly, prints its summary and writes its last status.
         *
         * @return its output's last lines.
         */
        String stop()
        {
            stopping = true;
            signal("TERM");
            try
            {
                if (!process.waitFor(EXIT_WITHIN_MS, TimeUnit.MILLISECONDS))
                {
                    throw new Violation("REPLICA_FAILED", "replica " + name + " did not stop on SIGTERM");
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new Violation("INTERRUPTED", "the soak was interrupted");
            }
            final String output = tail();
            if (0 != process.exitValue() && 143 != process.exitValue())
            {
                throw new Violation("REPLICA_FAILED", "replica " + name + " failed (" + process.exitValue() +
                    "): " + output);
            }
            collectCounters();
            return output;
        }

        /**
         * Adds the divergence counters of this replica's last process (its last status) to the soak's, once.
         */
        void collectCounters()
        {
            if (collected)
            {
                return;
            }
            collected = true;
            final Properties status = status();
            divergencesDetected += Long.parseLong(status.getProperty("divergencesDetected", "0"));
            repairedByReexecution += Long.parseLong(status.getProperty("repairedByReexecution", "0"));
            repairedByTransfer += Long.parseLong(status.getProperty("repairedByTransfer", "0"));
        }
    }

    /**
     * A violated invariant: its name and what was seen.
     */
    static final class Violation extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        Violation(final String invariant, final String detail)
        {
            super(invariant + ": " + detail);
        }
    }
}
