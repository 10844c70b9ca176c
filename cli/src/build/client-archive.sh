#!/usr/bin/env bash
# Makes target/cds/client.jsa, the class-data-sharing archive of a client command talking to a
# running service, which scripts/offload maps for such commands (see its comments) instead of
# cli.jsa: cli.jsa also holds what a private pool and `serve` load, and the JVM relocates every
# page of an archive at each start, about 2 ms per megabyte here (cli.jsa: 46 MB, 100 ms; this
# one: 32 MB). A build step of the cli module (see its pom), after cli.jsa is made.
#
# It starts a service on a socket in a scratch directory, runs `offload run echo 1` against it
# with -XX:DumpLoadedClassList, stops the service, and dumps the archive from that list with the
# class path and the module and native-access options of scripts/offload: the JVM keeps an
# archive's module graph only when these match the ones it was made with.
#
#   client-archive.sh JAVA TARGET_DIR -- SHARED_OPTION... -- CLIENT_OPTION...
#
# SHARED_OPTIONs go to every JVM here (the launcher's module, native-access and Netty options);
# CLIENT_OPTIONs only to the training run (the launcher's options for such client commands).
# The service and the scratch directory never outlive the script. A step that fails says why,
# with its log, and leaves no client.jsa, but does not fail the build: the archive only saves
# time, and the launcher maps cli.jsa without it (ClientStartupIT fails when it is missing).
set -euo pipefail

java=$1 target=$2
shift 2
[ "${1:-}" = -- ] || { echo "client-archive: usage: client-archive.sh JAVA TARGET_DIR -- SHARED... -- CLIENT..." >&2; exit 2; }
shift
shared=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do shared+=("$1"); shift; done
[ $# -gt 0 ] && shift
client=("$@")

lib="$target/lib/*"
cds="$target/cds"
# An archive from an earlier build no longer matches the jars, and the JVM would warn about it.
rm -f "$cds/client.jsa"
# Who builds it must not matter: a client command reads these (an unreadable token file would
# fail the training run, a readable one add its classes to the archive).
unset OFFLOAD_SERVER OFFLOAD_TOKEN_FILE OFFLOAD_TLS_CA
scratch=$(mktemp -d "${TMPDIR:-/tmp}/offload-client-archive.XXXXXX")
socket="$scratch/s.sock"
service=""

# Stops the service with SIGTERM (a background job of a script ignores SIGINT), and kills it if it
# has not exited within 30 s (its workers then exit by themselves, as when their supervisor dies).
stop_service() {
  if [ -n "$service" ] && kill -0 "$service" 2>/dev/null; then
    kill -TERM "$service" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$service" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.1
    done
    kill -KILL "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
  fi
  service=""
}
trap 'stop_service; rm -rf "$scratch"' EXIT

# Says why there is no client archive, with the log that tells more, and ends the script.
give_up() { # why log
  echo "client-archive: WARNING: $1; no client.jsa, so client commands map the larger cli.jsa. Its log:" >&2
  cat "$2" >&2 || true
  rm -f "$cds/client.jsa"
  exit 0
}

XDG_STATE_HOME="$scratch/state" "$java" "${shared[@]}" -XX:SharedArchiveFile="$cds/cli.jsa" \
  -Doffload.worker.home="$target/worker" -Doffload.worker.cds="$cds/worker.jsa" -cp "$lib" \
  dev.offload.cli.Main serve --listen "unix:$socket" --store memory: --workers 1 >"$cds/client-service.log" 2>&1 &
service=$!

# The service publishes its socket once it listens (see StagedSocket). A minute is ample on a
# busy 2-core machine.
deadline=$((SECONDS + 60))
until [ -S "$socket" ]; do
  if ! kill -0 "$service" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    give_up "the training service did not start" "$cds/client-service.log"
  fi
  sleep 0.1
done

# Bounded like the rest: a run that hangs (a worker that never starts) stops the build no longer
# than two minutes; on TERM it cancels its job and exits.
timeout 120 "$java" "${shared[@]}" "${client[@]}" -XX:DumpLoadedClassList="$cds/client.classlist" -cp "$lib" \
  dev.offload.cli.Main run echo 1 --server "unix:$socket" >"$cds/client-training.log" 2>&1 \
  || give_up "the training run failed or took over two minutes" "$cds/client-training.log"
stop_service

# Which way gRPC's first call goes depends on timing: if the connection is not up yet when the
# call starts (the usual case), the call waits in a DelayedStream, which loads a dozen classes
# the other way does not; if it is (a cold page cache slows the main thread), those never load.
# The archive holds them either way, whichever the training run took: every class of both
# families in the jar that the list lacks, each with an id of its own (the list's format).
missing=$("${java%/*}/jar" tf "$target/lib/offload.jar" \
  | sed -n 's#^\(io/grpc/internal/Delayed\(Stream\|ClientTransport\)[^/]*\)\.class$#\1#p' \
  | grep -vxF -f <(sed -n 's/ id: .*//p' "$cds/client.classlist") || true)
if [ -n "$missing" ]; then
  next_id=$(sed -n 's/.* id: \([0-9]*\).*/\1/p' "$cds/client.classlist" | sort -n | tail -n 1)
  while IFS= read -r class; do
    next_id=$((next_id + 1))
    echo "$class id: $next_id" >>"$cds/client.classlist"
  done <<<"$missing"
fi

"$java" "${shared[@]}" -Xshare:dump -XX:SharedClassListFile="$cds/client.classlist" \
  -XX:SharedArchiveFile="$cds/client.jsa" -cp "$lib" >"$cds/client-archive.log" 2>&1 \
  || give_up "the dump failed" "$cds/client-archive.log"
