#!/usr/bin/env bash
# Where the CPU time of a pinned bin/ev node run goes: per-CPU user / system / idle ticks and the kernel's
# writeback threads (kworker, jbd2, flush) over 8 s of steady state, then the run's throughput.
#   perf/scripts/cpu-split.sh standalone|pair PARENT_DIR [REQUESTS] [WARMUP]
# standalone: one node on CPU 0; pair: primary on CPU 0, backup on CPU 1 (UDP loopback), as bin/ev overhead
# runs them. PARENT_DIR holds the data directories (e.g. /tmp for the disk, /dev/shm for a tmpfs).
# With PROFILE=FILE it then samples every CPU for 6 s with `perf record -e cpu-clock -a -g` (Debian package
# linux-perf; root, or kernel.perf_event_paranoid <= 0) into FILE and prints each CPU's top kernel symbols and
# the call chains of the top one; page faults counted system-wide over 3 s follow.
set -euo pipefail
mode=${1:?standalone or pair}; parent=${2:?parent directory}; requests=${3:-10000000}; warmup=${4:-4000000}
cd "$(dirname "$0")/../.."
dir=$(mktemp -d "$parent/ev-cpu-split.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
common=(--accounts 100000 --workers 1 --seed 42)
drive=(--drive smallbank --requests $((requests + warmup)) --warmup "$warmup" --window 16384 --json)
case "$mode" in
  pair)
    taskset -c 1 bin/ev node --data "$dir/b" "${common[@]}" --role backup --listen 127.0.0.1:41452 \
        --peer 127.0.0.1:41451 --peer-timeout-ms 10000 --mtu 65504 > /dev/null 2>&1 &
    taskset -c 0 bin/ev node --data "$dir/p" "${common[@]}" --role primary --listen 127.0.0.1:41451 \
        --peer 127.0.0.1:41452 --peer-timeout-ms 10000 --mtu 65504 "${drive[@]}" > "$dir/out.json" 2> "$dir/progress" & ;;
  standalone)
    taskset -c 0 bin/ev node --data "$dir/s" "${common[@]}" --role standalone "${drive[@]}" \
        > "$dir/out.json" 2> "$dir/progress" & ;;
  *) echo "cpu-split.sh: mode $mode must be standalone or pair" >&2; exit 2 ;;
esac
driver=$!
committed() { grep -o 'committed=[0-9]*' "$dir/progress" | tail -1 | cut -d= -f2; }
until [ "$(committed)" -gt $((warmup + 500000)) ] 2>/dev/null; do # the driver's status line, once a second
  kill -0 "$driver" 2>/dev/null || { echo "cpu-split.sh: the node ended before its warm-up" >&2; exit 1; }
  sleep 0.5
done
cpus() { grep -E '^cpu[01] ' /proc/stat; }
kernel() { cat /proc/[0-9]*/task/*/stat 2>/dev/null |
  awk '$2 ~ /^\((kworker|jbd2|flush|ksoftirqd)/ { t += $14 + $15 } END { print t + 0 }'; }
c0=$(cpus); k0=$(kernel); sleep 8; c1=$(cpus); k1=$(kernel)
echo "over 8 s (USER_HZ ticks): cpu user / system / idle"
paste <(echo "$c0") <(echo "$c1") | awk '{ printf "%s %d / %d / %d\n", $1, $13-$2, $15-$4, $16-$5 }'
echo "kernel writeback threads (kworker, jbd2, flush, ksoftirqd): $((k1 - k0)) ticks"
if [ -n "${PROFILE:-}" ]; then
  perf record -q -e cpu-clock -F 999 -a -g -o "$PROFILE" -- sleep 6 2>/dev/null
  for cpu in 0 1; do
    echo "cpu$cpu top kernel symbols (% of all samples of the CPU):"
    perf report -i "$PROFILE" --cpu "$cpu" --no-children --sort sym --stdio -g none 2>/dev/null |
      grep '\[k\]' | head -6 || true
  done
  top=$(perf report -i "$PROFILE" --cpu 0 --no-children --sort sym --stdio -g none 2>/dev/null |
    grep '\[k\]' | grep -v -m1 'safe_halt' | awk '{ print $3 }' || true)
  echo "cpu0 call chains of $top:"
  perf report -i "$PROFILE" --cpu 0 --no-children --sort sym --stdio -G -S "$top" 2>/dev/null |
    grep -v '^#' | grep -E '^ +[|-]' | head -16 || true
  perf stat -e page-faults -a -- sleep 3 2>&1 | grep page-faults
fi
wait "$driver"
grep -o '"driveThroughputPerSec":[0-9.]*' "$dir/out.json"
