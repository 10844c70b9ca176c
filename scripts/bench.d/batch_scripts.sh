#!/usr/bin/env bash
# The "Batch scripts" section of scripts/bench, runnable on its own: the same JOBS small jobs
# (is_prime of 1000003, 1000004, ...: well under a millisecond of work each) four ways from a
# shell script, each timed once as a whole (wall), its outputs counted and checked:
#   a shell loop of `offload run` against the running service at TARGET;
#   `offload each` against it, the numbers on stdin;
#   `xargs -P PARALLELISM`, one JVM per job (IsPrimeOnce, precompiled in CLASSES);
#   GNU `parallel -j PARALLELISM`, one JVM per job (skipped when parallel is not installed).
# Writes {"jobs", "parallelism", "rows": [{"how", "command", "seconds", "jobs_per_s"} or
# {"how", "command", "skipped"}]} to OUT_JSON. Exit status 0, or 1 when a way failed or answered
# wrongly.
#
#   scripts/bench.d/batch_scripts.sh OFFLOAD TARGET JAVA CLASSES PARALLELISM JOBS OUT_JSON
set -euo pipefail
export LC_ALL=C

[ $# -eq 7 ] || { echo "usage: $0 OFFLOAD TARGET JAVA CLASSES PARALLELISM JOBS OUT_JSON" >&2; exit 1; }
offload=$1 target=$2 java=$3 classes=$4 parallelism=$5 jobs=$6 out=$7

die() { echo "bench: batch scripts: $*" >&2; exit 1; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
seconds_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.6f", (b - a) / 1e6 }'; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/offload-bench-scripts.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
seq 1000003 $((1000003 + jobs - 1)) >"$scratch/numbers.txt"
# Every way must find as many primes as trial division does here.
expected=$(awk '{ p = $1 >= 2; for (i = 2; i * i <= $1; i++) if ($1 % i == 0) { p = 0; break }; c += p } END { print c + 0 }' \
  "$scratch/numbers.txt")

rows=()
# Runs one way ($3, through bash -c, with the numbers file as $1), times it, checks its JOBS
# output lines and its primes, and adds its row.
measure() { # how command_for_the_report script
  local how=$1 shown=$2 script=$3 start seconds lines primes
  start=$(now_us)
  bash -c "$script" _ "$scratch/numbers.txt" >"$scratch/out.txt" 2>"$scratch/err.txt" \
    || { cat "$scratch/err.txt" >&2; die "$how failed"; }
  seconds=$(seconds_since "$start")
  lines=$(wc -l <"$scratch/out.txt")
  primes=$(grep -Ec '"prime": ?true' "$scratch/out.txt" || true)
  [ "$lines" -eq "$jobs" ] || die "$how wrote $lines results, not $jobs"
  [ "$primes" -eq "$expected" ] || die "$how found $primes primes, not $expected"
  rows+=("$(printf '{"how": "%s", "command": "%s", "seconds": %s, "jobs_per_s": %s}' "$how" "$shown" "$seconds" \
    "$(awk -v j="$jobs" -v s="$seconds" 'BEGIN { printf "%.2f", j / s }')")")
  echo "bench: batch scripts: $how: $seconds s" >&2
}

# The scripts below read these from their environment, so no path is quoted into a script.
export OFFLOAD=$offload TARGET=$target JAVA_BIN=$java CLASSES=$classes PARALLELISM=$parallelism
measure "a shell loop of \`offload run\`" "while read n; do offload run is_prime \$n; done" \
  'while read -r n; do "$OFFLOAD" run is_prime "$n" --server "$TARGET"; done <"$1"'
measure "\`offload each\`" "offload each is_prime <numbers" \
  '"$OFFLOAD" each is_prime --server "$TARGET" --progress never <"$1"'
measure "\`xargs -P $parallelism\`, one JVM per job" "xargs -P $parallelism -n 1 java IsPrimeOnce <numbers" \
  'xargs -P "$PARALLELISM" -n 1 "$JAVA_BIN" -cp "$CLASSES" IsPrimeOnce <"$1"'
if command -v parallel >/dev/null 2>&1; then
  measure "GNU \`parallel -j $parallelism\`, one JVM per job" "parallel -j $parallelism java IsPrimeOnce <numbers" \
    'parallel --will-cite -j "$PARALLELISM" "$JAVA_BIN" -cp "$CLASSES" IsPrimeOnce <"$1"'
else
  rows+=("$(printf '{"how": "GNU `parallel -j %s`, one JVM per job", "command": "parallel -j %s java IsPrimeOnce <numbers", "skipped": "GNU parallel is not installed (apt-get install parallel)"}' "$parallelism" "$parallelism")")
fi

printf '{"jobs": %s, "parallelism": %s, "rows": [%s]}\n' "$jobs" "$parallelism" "$(IFS=,; echo "${rows[*]}")" >"$out"
