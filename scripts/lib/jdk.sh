# Finds a JDK 21 or newer and exports JAVA_HOME, JAVA and JAVA_MAJOR (its major version) for the
# caller (sourced, not run).
# Looks at $JAVA_HOME, then `java` on PATH, then /usr/lib/jvm/*; the newest of the latter wins.

offload_java_major() { # prints the major version of the java binary $1, or nothing
  # Every JDK since 9 names its version in the release file beside bin/: read with shell builtins
  # it costs nothing, where asking the JVM costs a JVM start (≈ 0.2 s per candidate, per command).
  local release="${1%/bin/java}/release" line
  if [ -r "$release" ]; then
    while IFS= read -r line; do
      if [[ $line =~ ^JAVA_VERSION=\"([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
        return
      fi
    done <"$release"
  fi
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

offload_find_jdk() {
  local candidate major best="" best_major=0
  local -a candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    local on_path
    on_path=$(readlink -f "$(command -v java)")
    candidates+=("${on_path%/bin/java}")
  fi
  for candidate in "${candidates[@]}"; do
    [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(offload_java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      best=$candidate
      best_major=$major
      break
    fi
  done
  if [ -z "$best" ]; then
    for candidate in /usr/lib/jvm/*; do
      [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
      major=$(offload_java_major "$candidate/bin/java")
      if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
        best=$candidate
        best_major=$major
      fi
    done
  fi
  if [ -z "$best" ]; then
    echo "offload: needs a JDK 21 or newer, and found none (looked at \$JAVA_HOME, java on PATH and /usr/lib/jvm/*)." >&2
    echo "offload: install one, for example 'apt-get install openjdk-21-jdk' (Debian/Ubuntu), or set JAVA_HOME to one." >&2
    return 1
  fi
  export JAVA_HOME=$best
  export JAVA="$best/bin/java"
  export JAVA_MAJOR=$best_major
}

# Maven runs on the same JDK; on JDK 23+ its bundled Guava warns about sun.misc.Unsafe unless allowed.
offload_maven_opts() {
  if [ "$JAVA_MAJOR" -ge 23 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
}
