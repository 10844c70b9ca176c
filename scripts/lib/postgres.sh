# A real PostgreSQL server for a script (sourced, not run; needs jdk.sh's offload_find_jdk first,
# and a build: `mvn install -DskipTests` compiles the it module's tests and writes
# it/target/test-classpath.txt). It is it/.../PostgresServer.java's main, the tests' own server:
# PostgreSQL 18 from Maven, on 127.0.0.1 on a free port, in a private directory in /tmp, run as
# the system user offload-pg when root (scripts/test creates it). It stops, and its directory
# goes, when the script closes its stdin or exits; it dies with its JVM even on kill -9.
#
#   offload_postgres_start "$root" "$log"   # sets OFFLOAD_PG_URL (postgresql://offload@127.0.0.1:PORT/offload)
#   ...                                     # and OFFLOAD_PG_PID
#   offload_postgres_stop                   # orderly; returns once it is down

offload_postgres_start() { # root log
  local root=$1 log=$2 classpath_file="$1/it/target/test-classpath.txt"
  if [ ! -f "$classpath_file" ] || [ ! -d "$root/it/target/test-classes/dev/offload/testing" ]; then
    echo "offload: no PostgresServer build in $root/it/target: run 'mvn -B install -DskipTests' first" >&2
    return 1
  fi
  # stdin is a pipe that stays open while the script runs: its end is the signal to stop. coproc
  # sets OFFLOAD_PG (its stdout and stdin) and OFFLOAD_PG_PID.
  coproc OFFLOAD_PG { exec "$JAVA" -cp "$root/it/target/test-classes:$(cat "$classpath_file")" \
    dev.offload.testing.PostgresServer 2>>"$log"; }
  if ! read -r -t 180 OFFLOAD_PG_URL <&"${OFFLOAD_PG[0]}" || [ -z "$OFFLOAD_PG_URL" ]; then
    echo "offload: PostgreSQL did not start within 180 s; see $log" >&2
    kill "$OFFLOAD_PG_PID" 2>/dev/null
    wait "$OFFLOAD_PG_PID" 2>/dev/null
    return 1
  fi
}

offload_postgres_stop() {
  [ -n "${OFFLOAD_PG_PID:-}" ] || return 0
  exec {OFFLOAD_PG[1]}>&-
  wait "$OFFLOAD_PG_PID" || { echo "offload: PostgreSQL's JVM exited with status $?" >&2; OFFLOAD_PG_PID=; return 1; }
  OFFLOAD_PG_PID=
}
