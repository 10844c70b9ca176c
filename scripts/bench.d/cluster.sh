#!/usr/bin/env bash
# scripts/bench --cluster: an offload cluster (services sharing one PostgreSQL store) on this
# machine, and writes DIR/cluster.json and DIR/cluster.md (DIR: --out, default bench-results).
#
#   scripts/bench --cluster [--out DIR] [--quick]
#
# What it measures, each in this run, on the tests' own PostgreSQL server (scripts/lib/postgres.sh):
#   capacity: 1, 2 and 3 services of 2 workers each, a batch of sleep jobs (50 ms each, so that
#     the 2 cores are not the limit) through the first service, after an unmeasured one: 1,200
#     jobs a service, so that every count runs for the same 30 s at best. Capacity is the jobs
#     done over the time from the first job's start to the last job's end, as the store recorded
#     them (`offload list --json`: submitted_at + queued_ms, + run_ms): the batch client's own
#     start-up and connection, and its exit, are not in it. The ratio of 3 services to 1 is taken
#     of those figures, against the target (>= 2.7x). The batch process's wall time is reported
#     beside them, for what a user waits, and the CPU time the services' own JVMs spent a job
#     during the batch (not their workers', PostgreSQL's or the client's);
#   dispatch overhead: one service at a time on PostgreSQL and on SQLite (--durability process),
#     no-op jobs one at a time (`offload bench --in-flight 1`): p50 and p99 per job, and the
#     difference, which is what a round trip to PostgreSQL costs a job;
#   claims: the latency of the claims the 3 services made from the shared queue (the histogram of
#     offload_store_claims_seconds on each service's --metrics), p50 and p99.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
# shellcheck source=../lib/jdk.sh
source "$root/scripts/lib/jdk.sh"
# shellcheck source=../lib/postgres.sh
source "$root/scripts/lib/postgres.sh"
offload_find_jdk
offload="$root/scripts/offload"

say() { echo "bench --cluster: $*" >&2; }
die() { echo "bench --cluster: error: $*" >&2; exit 1; }

out="$root/bench-results"
quick=false
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --quick) quick=true; shift ;;
    *) echo "bench --cluster: unknown argument: $1 (see scripts/bench --help)" >&2; exit 2 ;;
  esac
done

# Sleep jobs of 50 ms on 2 workers: 40 jobs/s a service at best, so 1,200 jobs a service take 30 s
# on any count of services. --quick is for trying the script, not for figures.
sleep_ms=50 workers=2 jobs_per_service=1200 warmup_jobs=400 seq_jobs=2000 seq_warmup=3000
$quick && jobs_per_service=120 warmup_jobs=40 seq_jobs=200 seq_warmup=200

tmp=$(mktemp -d "${TMPDIR:-/tmp}/offload-bench-cluster.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  offload_postgres_stop || true
  rm -rf "$tmp"
}
trap cleanup EXIT

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
seconds_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }
# A loopback port nobody answers on (the service itself reports a clash).
free_port() {
  local port i
  for i in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "found no free port on 127.0.0.1"
}
# From `offload list --json` on stdin: the jobs submitted at or after $1 (ms since the epoch);
# prints their count, the first start and the last end (submitted_at + queued_ms, + run_ms), in ms
# since the epoch. submitted_at is ISO-8601 UTC, with or without milliseconds.
job_span() {
  jq -r --argjson since "$1" '
    def epoch_ms: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$")
      | (.s + "Z" | fromdateiso8601) * 1000 + ((.f // "") + "000" | .[0:3] | tonumber);
    [.[] | (.submitted_at | epoch_ms) as $at | select($at >= $since)
      | {start: ($at + .queued_ms), end: ($at + .queued_ms + .run_ms)}]
    | "\(length) \(map(.start) | min // 0) \(map(.end) | max // 0)"'
}
# CPU time (user + system) the processes have used so far, in milliseconds: the services' own JVMs,
# not their workers, PostgreSQL or the batch client.
cpu_ms() {
  local pid ticks=0 t
  for pid in "$@"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat") || die "cannot read the CPU time of pid $pid"
    ticks=$((ticks + t))
  done
  echo $((ticks * 1000 / $(getconf CLK_TCK)))
}
# A number from `offload bench --json` output (its first level), by key.
bench_field() { tr -d '\n' <"$2" | sed -n "s/.*\"$1\" *: *\([0-9.]*\).*/\1/p"; }

# jq reads the jobs' timings from `offload list --json` (job_span); as root, apt-get installs it.
if ! command -v jq >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
    && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null 2>&1; }; }
  command -v jq >/dev/null 2>&1 || die "needs jq to read offload list --json: install it (apt-get install jq)"
fi
# The launcher builds what is stale; PostgresServer's class path comes from the it module's build.
"$offload" --version >/dev/null || die "offload does not build"
if [ ! -f "$root/it/target/test-classpath.txt" ]; then
  say "building the it module's test classes (PostgresServer)"
  (cd "$root" && mvn -B -q -Dstyle.color=never install -DskipTests) || die "mvn install -DskipTests failed"
fi
say "starting PostgreSQL"
offload_postgres_start "$root" "$tmp/postgres.log" || die "PostgreSQL did not start (see above)"
say "PostgreSQL at $OFFLOAD_PG_URL"

# Starts a service (name, store args...) on its own socket and --metrics port; sets started_pid,
# started_target and started_metrics, once it says it is serving.
start() {
  local name=$1 port line
  shift
  port=$(free_port)
  started_target="unix:$tmp/$name.sock" started_metrics="http://127.0.0.1:$port/metrics"
  mkfifo "$tmp/$name.fifo"
  "$offload" serve --workers "$workers" --listen "$started_target" --state-dir "$tmp/state-$name" --name "$name" \
    --metrics "127.0.0.1:$port" "$@" >/dev/null 2>"$tmp/$name.fifo" &
  started_pid=$!
  pids+=("$started_pid")
  exec {fd}<"$tmp/$name.fifo"
  while IFS= read -r -t 180 -u "$fd" line; do
    printf '%s\n' "$line" >>"$tmp/$name.log"
    [[ $line == *"serving on"* ]] && break
  done
  [[ ${line:-} == *"serving on"* ]] || { cat "$tmp/$name.log" >&2; die "the service $name did not start"; }
  cat <&"$fd" >>"$tmp/$name.log" &
  exec {fd}<&-
}

stop() { # pid target
  timeout 60 "$offload" shutdown --server "$2" >/dev/null 2>>"$tmp/shutdown.log" || die "offload shutdown --server $2 failed"
  wait "$1" || die "the service at $2 exited with status $? after its shutdown"
}

# ------------------------------------------------------------------- capacity: 1, 2, 3 services
jobs_file="$tmp/sleep.jsonl"
for i in $(seq $((jobs_per_service * 3))); do printf '{"id": "s%d", "handler": "sleep", "input": {"ms": %d}}\n' "$i" "$sleep_ms"; done >"$jobs_file"
declare -A rate wall_rate jobs_run cpu_per_job
claims=""
for n in 1 2 3; do
  targets=() service_pids=() metrics=()
  for k in $(seq "$n"); do
    start "c$n-s$k" --store "$OFFLOAD_PG_URL"
    targets+=("$started_target") service_pids+=("$started_pid") metrics+=("$started_metrics")
  done
  for _ in $(seq 100); do
    seen=$("$offload" stats --json --server "${targets[0]}" | grep -o '"last_heartbeat"' | wc -l)
    [ "$seen" = "$n" ] && break
    sleep 0.1
  done
  [ "$seen" = "$n" ] || die "stats shows $seen services, not $n"
  jobs_run[$n]=$((jobs_per_service * n))
  # Unmeasured first, as the main bench warms its service: fresh JVMs spend their first seconds
  # compiling (the services' gRPC, JDBC and dispatch paths), which would count against the
  # services' capacity, and against more services more.
  say "$n service(s): $warmup_jobs unmeasured sleep jobs, then ${jobs_run[$n]} through the first"
  head -n "$warmup_jobs" "$jobs_file" >"$tmp/warmup.jsonl"
  "$offload" batch "$tmp/warmup.jsonl" --server "${targets[0]}" --output "$tmp/warmup-$n.jsonl" --progress never >/dev/null \
    2>"$tmp/batch-$n.err" || { cat "$tmp/batch-$n.err" >&2; die "the warm-up batch through $n service(s) failed"; }
  head -n "${jobs_run[$n]}" "$jobs_file" >"$tmp/measured.jsonl"
  cpu_before=$(cpu_ms "${service_pids[@]}")
  began=$(now_us)
  "$offload" batch "$tmp/measured.jsonl" --server "${targets[0]}" --output "$tmp/out-$n.jsonl" --progress never >/dev/null 2>"$tmp/batch-$n.err" \
    || { cat "$tmp/batch-$n.err" >&2; die "the batch through $n service(s) failed"; }
  wall=$(seconds_since "$began")
  cpu_per_job[$n]=$(awk -v c="$(( $(cpu_ms "${service_pids[@]}") - cpu_before ))" -v j="${jobs_run[$n]}" 'BEGIN { printf "%.2f", c / j }')
  wall_rate[$n]=$(awk -v j="${jobs_run[$n]}" -v s="$wall" 'BEGIN { printf "%.1f", j / s }')
  "$offload" list --json --server "${targets[0]}" >"$tmp/list-$n.json" || die "offload list through $n service(s) failed"
  read -r counted first_start last_end <<<"$(job_span $((began / 1000)) <"$tmp/list-$n.json")"
  [ "$counted" = "${jobs_run[$n]}" ] || die "the store lists $counted jobs of the batch through $n service(s), not ${jobs_run[$n]}"
  rate[$n]=$(awk -v j="$counted" -v a="$first_start" -v b="$last_end" 'BEGIN { printf "%.1f", j * 1000 / (b - a) }')
  say "$n service(s): ${rate[$n]} jobs/s from the first job's start to the last one's end ($(( (last_end - first_start) )) ms);" \
    "${wall_rate[$n]} jobs/s over the batch process's $wall s; the services' CPU ${cpu_per_job[$n]} ms a job;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$n" = 3 ]; then
    for url in "${metrics[@]}"; do curl -fsS "$url"; done >"$tmp/claims.prom" || die "could not scrape the services' metrics"
    # The services' histograms summed, bucket by bucket (cumulative counts by upper bound le), then
    # the first bound whose count reaches half and 99% of all claims: upper bounds of p50 and p99.
    claims=$(awk '/^offload_store_claims_seconds_bucket/ {
        match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); if (le != "+Inf") n[le + 0] += $NF }
      END { for (le in n) print le, n[le] }' "$tmp/claims.prom" | sort -g | awk '
        { le[NR] = $1; count[NR] = $2 }
        END {
          total = count[NR]; if (NR == 0 || total == 0) { print "0 0 0"; exit }
          for (i = 1; i <= NR; i++) {
            if (p50 == "" && count[i] >= total * 0.5) p50 = le[i]
            if (p99 == "" && count[i] >= total * 0.99) p99 = le[i]
          }
          printf "%d %.6f %.6f\n", total, p50, p99 }')
  fi
  for k in "${!targets[@]}"; do stop "${service_pids[$k]}" "${targets[$k]}"; done
done

# ------------------------------------------- dispatch overhead: PostgreSQL against SQLite, one job at a time
declare -A p50 p99
for store in postgresql sqlite; do
  case $store in
    postgresql) args=(--store "$OFFLOAD_PG_URL") ;;
    sqlite) args=(--store "sqlite:$tmp/seq.db" --durability process) ;;
  esac
  start "seq-$store" "${args[@]}"
  say "$store: $seq_jobs no-op jobs one at a time, after $seq_warmup unmeasured"
  "$offload" bench --server "$started_target" --json --jobs "$seq_jobs" --in-flight 1 --warmup "$seq_warmup" >"$tmp/seq-$store.json" \
    2>"$tmp/seq-$store.err" || { cat "$tmp/seq-$store.err" >&2; die "offload bench on the $store store failed"; }
  p50[$store]=$(bench_field p50_us "$tmp/seq-$store.json")
  p99[$store]=$(bench_field p99_us "$tmp/seq-$store.json")
  stop "$started_pid" "$started_target"
done

# ------------------------------------------------------------------------------- report
read -r claim_count claim_p50 claim_p99 <<<"${claims:-0 0 0}"
scaling=$(awk -v a="${rate[3]}" -v b="${rate[1]}" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v s="$scaling" 'BEGIN { print (s >= 2.7) ? "MET" : "NOT MET" }')
overhead=$((p50[postgresql] - p50[sqlite]))
mkdir -p "$out"
cat >"$out/cluster.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc), "load_average_at_end": "$(cut -d' ' -f1-3 /proc/loadavg)"},
  "capacity": {"sleep_ms": $sleep_ms, "jobs_per_service": $jobs_per_service, "workers_per_service": $workers,
    "measured": "jobs over the time from the first job's start to the last job's end, as the store recorded them",
    "jobs_per_s": {"1": ${rate[1]}, "2": ${rate[2]}, "3": ${rate[3]}},
    "jobs_per_s_over_the_batch_process": {"1": ${wall_rate[1]}, "2": ${wall_rate[2]}, "3": ${wall_rate[3]}},
    "services_cpu_ms_per_job": {"1": ${cpu_per_job[1]}, "2": ${cpu_per_job[2]}, "3": ${cpu_per_job[3]}},
    "scaling_3_over_1": $scaling, "target": 2.7, "met": $([ "$met" = MET ] && echo true || echo false)},
  "dispatch_one_at_a_time_us": {"postgresql": {"p50": ${p50[postgresql]}, "p99": ${p99[postgresql]}},
    "sqlite_process": {"p50": ${p50[sqlite]}, "p99": ${p99[sqlite]}}, "postgresql_minus_sqlite_p50": $overhead},
  "claims": {"count": $claim_count, "p50_upper_bound_s": $claim_p50, "p99_upper_bound_s": $claim_p99}
}
EOF
cat >"$out/cluster.md" <<EOF
# offload cluster on one PostgreSQL: $(date -u +%Y-%m-%d), $(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)

| services (2 workers each) | jobs (sleeps of $sleep_ms ms, through the first) | jobs/s, first start to last end | jobs/s over the batch process | the services' CPU a job |
|---|---|---|---|---|
| 1 | ${jobs_run[1]} | ${rate[1]} | ${wall_rate[1]} | ${cpu_per_job[1]} ms |
| 2 | ${jobs_run[2]} | ${rate[2]} | ${wall_rate[2]} | ${cpu_per_job[2]} ms |
| 3 | ${jobs_run[3]} | ${rate[3]} | ${wall_rate[3]} | ${cpu_per_job[3]} ms |

3 services against 1: **${scaling}x** (target >= 2.7x: $met), of the jobs/s from the first job's start to the
last job's end as the store recorded them; the batch process's time also holds its JVM's start, its
connection and its exit.

| one job at a time (no-op) | p50 | p99 |
|---|---|---|
| PostgreSQL store | ${p50[postgresql]} us | ${p99[postgresql]} us |
| SQLite store (--durability process) | ${p50[sqlite]} us | ${p99[sqlite]} us |

Dispatch through PostgreSQL costs **${overhead} us** a job more than through SQLite (p50).

Claims from the shared queue by the 3 services: $claim_count, p50 <= $(awk -v s="$claim_p50" 'BEGIN { printf "%.2f", s * 1000 }') ms, p99 <= $(awk -v s="$claim_p99" 'BEGIN { printf "%.2f", s * 1000 }') ms (upper bounds: the histogram's buckets).
EOF
cat "$out/cluster.md"
say "wrote $out/cluster.json and $out/cluster.md"
