# Builds the project when its output is stale (sourced, not run; needs jdk.sh's offload_find_jdk first).

# Whether any of the paths is newer than the file $1: a file by itself; a module directory by its
# pom.xml and everything under its src/main/, directories too (so that a source added or removed
# counts; tests are not in the jars). Shell builtins only: every command of the launcher pays for
# this check, and the `find` it used cost each one a fork and an exec, a tenth of `java -version`'s
# CPU time on this machine.
offload_newer_than() { # stamp path...
  local stamp=$1 path file newer=1 globstar=-u nullglob=-u
  shift
  shopt -q globstar && globstar=-s
  shopt -q nullglob && nullglob=-s
  shopt -s globstar nullglob
  for path in "$@"; do
    if [ -d "$path" ]; then
      for file in "$path"/pom.xml "$path"/src/main/**; do
        if [ "$file" -nt "$stamp" ]; then
          newer=0
          break 2
        fi
      done
    elif [ "$path" -nt "$stamp" ]; then
      newer=0
      break
    fi
  done
  shopt "$globstar" globstar
  shopt "$nullglob" nullglob
  return "$newer"
}

# Runs `mvn install` (no tests) in the project at $1 when the file $2, which the build makes, is
# missing or older than any of the paths that follow (see offload_newer_than); says so on
# stderr, and shows Maven's output only if the build fails (then returns 1). Name only the
# modules the file is made from: a jar that a change does not alter keeps its old time.
offload_build_if_stale() { # root stamp path...
  local root=$1 stamp=$2 build_log
  shift 2
  if [ -f "$stamp" ] && ! offload_newer_than "$stamp" "$@"; then
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
