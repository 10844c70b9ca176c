# Finds a JDK 21 or newer and exports JAVA_HOME, JAVA and JAVA_MAJOR (its major version) for the
# caller (sourced, not run).
# Looks at $JAVA_HOME, then `java` on PATH, then /usr/lib/jvm/*; the newest of the latter wins.
# Every command of the launcher pays for this, so the usual case (a JDK at $JAVA_HOME or on PATH
# with a release file) starts no process: a fork costs a few milliseconds, and `java -version`,
# which offload's start-up is measured against, takes about 30.

# Sets java_major to the major version of the java binary $1, or to nothing.
offload_java_major() {
  # Every JDK since 9 names its version in the release file beside bin/: read with shell builtins
  # it costs nothing, where asking the JVM costs a JVM start (≈ 0.2 s per candidate, per command).
  local release="${1%/bin/java}/release" line
  java_major=""
  if [ -r "$release" ]; then
    while IFS= read -r line; do
      if [[ $line =~ ^JAVA_VERSION=\"([0-9]+) ]]; then
        java_major=${BASH_REMATCH[1]}
        return
      fi
    done <"$release"
  fi
  java_major=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1)
}

# Whether $1 is a JDK (java and javac) of version 21 or newer; sets java_major.
offload_usable_jdk() {
  java_major=""
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  offload_java_major "$1/bin/java"
  [ -n "$java_major" ] && [ "$java_major" -ge 21 ]
}

offload_find_jdk() {
  local candidate on_path best="" best_major=0 java_major
  if [ -n "${JAVA_HOME:-}" ] && offload_usable_jdk "$JAVA_HOME"; then
    best=$JAVA_HOME best_major=$java_major
  elif on_path=$(command -v java) && on_path=$(readlink -f "$on_path") && offload_usable_jdk "${on_path%/bin/java}"; then
    best=${on_path%/bin/java} best_major=$java_major
  else
    for candidate in /usr/lib/jvm/*; do
      if offload_usable_jdk "$candidate" && [ "$java_major" -gt "$best_major" ]; then
        best=$candidate
        best_major=$java_major
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
