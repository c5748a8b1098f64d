#!/usr/bin/env bash
# Interleaved A/B runs of JMH benchmark pairs: on a shared or virtualised host, drift over minutes
# is larger than the differences we measure, so each round runs every benchmark once (one fork),
# in alternating order, and the report gives each round's ratio and the median ratio.
#
# usage: perf/ab.sh ROUNDS BASELINE:CANDIDATE [BASELINE:CANDIDATE ...]
#   e.g. perf/ab.sh 5 StoreOpsBenchmark.rawChroniclePutLoop:StoreOpsBenchmark.storePut
#   a side may fix a JMH parameter: SealBenchmark.seal@recordCount=100000
# Extra JMH options via JMH_OPTS (default: -wi 3 -i 5 -w 1 -r 1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="$1"; shift
opts="${JMH_OPTS:--wi 3 -i 5 -w 1 -r 1}"
out="$(mktemp -d)"
score() { # benchmark[@param=value], round -> prints the score
    local name="${1%%@*}" params=() file
    [[ "$1" == *@* ]] && params=(-p "${1#*@}")
    file="$out/$2-${1//[^A-Za-z0-9.]/_}"
    # shellcheck disable=SC2086
    "$root/bin/ev" bench -f 1 $opts "${params[@]}" -rf csv -rff "$file.csv" "$name\$" > "$file.log" 2>&1
    awk -F, 'NR == 2 { print $5 }' "$file.csv"
}
for pair in "$@"; do
    base="${pair%%:*}"; cand="${pair##*:}"
    ratios=()
    for round in $(seq 1 "$rounds"); do
        if (( round % 2 )); then b=$(score "$base" "$round"); c=$(score "$cand" "$round")
        else c=$(score "$cand" "$round"); b=$(score "$base" "$round"); fi
        ratio=$(awk -v c="$c" -v b="$b" 'BEGIN { printf "%.3f", c / b }')
        ratios+=("$ratio")
        printf '%s round %d: %s = %.1f, %s = %.1f, ratio %s\n' "$pair" "$round" "$base" "$b" "$cand" "$c" "$ratio"
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf '%s median ratio over %d rounds: %s\n' "$pair" "$rounds" "$median"
done
