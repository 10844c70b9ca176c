# Builds the project when its output is stale (sourced, not run; needs jdk.sh's offload_find_jdk first).

# Runs `mvn install` (no tests) in the project at $1 when the file $2, which the build makes, is
# missing or older than any file under the paths that follow (targets left out); says so on
# stderr, and shows Maven's output only if the build fails (then returns 1). Name only the
# modules the file is made from: a jar that a change does not alter keeps its old time.
offload_build_if_stale() { # root stamp path...
  local root=$1 stamp=$2 build_log
  shift 2
  if [ -f "$stamp" ] && [ -z "$(find "$@" \( -path '*/target' -prune \) -o \( -type f -newer "$stamp" -print -quit \) 2>/dev/null)" ]; then
    return 0
  fi
  echo "offload: building the project with Maven (first use or sources changed; this takes a minute)..." >&2
  offload_maven_opts
  build_log=$(mktemp)
  # Without the javadoc and sources jars: they are for publishing, and running needs neither.
  if ! (cd "$root" && mvn -B -q -Dstyle.color=never -DskipTests -Dmaven.javadoc.skip -Dmaven.source.skip install >"$build_log" 2>&1); then
    cat "$build_log" >&2
    rm -f "$build_log"
    echo "offload: the build failed; see the Maven output above." >&2
    return 1
  fi
  rm -f "$build_log"
}
