#!/usr/bin/env bash
# A throwaway Neo4j 5 (Community, in-process, Bolt on 127.0.0.1) for the tests and CI.
#
#   neo4j.sh build                 compile the launcher (Maven; offline once ~/.m2 has the jars)
#   neo4j.sh start [STATE_DIR] [IMPORT_DIR]
#                                  build if needed, start in the background with a fresh, empty
#                                  database, wait until Bolt answers, write STATE_DIR/env; with
#                                  IMPORT_DIR (a `stakegraph export --format neo4j-admin` folder),
#                                  the database is first made by running its import.sh with the
#                                  real `neo4j-admin database import full` (target/bin/neo4j-admin)
#   neo4j.sh stop [STATE_DIR]      stop it (SIGTERM, then SIGKILL after 30 s) and drop its data
#   neo4j.sh status [STATE_DIR]    exit 0 and print the URI when it runs
#
# STATE_DIR (default .ci/neo4j/run) holds pid, uri, env (NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD,
# mode 600), server.log and the database home. Use one STATE_DIR per test session: several
# sessions on one machine then run servers of their own side by side.
# Environment: NEO4J_PASSWORD (default: generated), NEO4J_PORT (default 0: a free port),
# NEO4J_HEAP (768m), NEO4J_PAGECACHE (256m), NEO4J_START_TIMEOUT (180 s),
# NEO4J_PARENT_PID (the server stops itself when that process is gone), NEO4J_JAVA_OPTS
# (default: C1 only and the serial collector, which halve the start on a busy 2-core machine;
# a benchmark sets it to "" for the full JIT).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cmd="${1:-}"
state="${2:-${NEO4J_STATE_DIR:-$here/run}}"

die() { echo "neo4j.sh: $*" >&2; exit 1; }

built() {
  [ -f "$here/target/classpath.txt" ] && [ -f "$here/target/classes/stakegraph/Launcher.class" ] || return 1
  [ "$here/target/classpath.txt" -nt "$here/pom.xml" ] || return 1
  [ "$here/target/classes/stakegraph/Launcher.class" -nt "$here/src/main/java/stakegraph/Launcher.java" ] || return 1
  [ -x "$here/target/bin/neo4j-admin" ] || return 1
  local jar
  while IFS= read -r -d: jar || [ -n "$jar" ]; do [ -f "$jar" ] || return 1; done < "$here/target/classpath.txt"
}

build() {
  command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless) or run bash .ci/setup --test"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) or run bash .ci/setup --test"
  mkdir -p "$here/target"
  # One build at a time: test sessions started side by side share target/.
  exec 9>"$here/target/.build.lock"
  flock -w 900 9 || die "another build of the launcher has held $here/target/.build.lock for 15 minutes"
  if built; then exec 9>&-; return 0; fi
  echo "[neo4j] building the launcher (Neo4j $(sed -n 's:.*<neo4j.version>\(.*\)</neo4j.version>.*:\1:p' "$here/pom.xml"))" >&2
  # Offline first: after one download Maven's ~/.m2 has every jar and the build needs no network.
  if ! (cd "$here" && mvn -q -o -B package >"$here/target/build.log" 2>&1); then
    (cd "$here" && mvn -q -B package >"$here/target/build.log" 2>&1) \
      || { tail -30 "$here/target/build.log" >&2; die "the Maven build failed (log: $here/target/build.log)"; }
  fi
  # neo4j-admin from the same jars (AdminTool is Neo4j's own entry point of the command).
  mkdir -p "$here/target/bin"
  cat >"$here/target/bin/neo4j-admin" <<EOF
#!/bin/sh
# Neo4j's neo4j-admin from ~/.m2 (written by .ci/neo4j/neo4j.sh build); uses NEO4J_HOME.
exec java \${NEO4J_ADMIN_JAVA_OPTS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m} \\
  -cp "$here/target/classes:\$(cat "$here/target/classpath.txt")" org.neo4j.cli.AdminTool "\$@"
EOF
  chmod +x "$here/target/bin/neo4j-admin"
  exec 9>&-  # closed, so that the server started next does not inherit (and hold) the lock
}

running_pid() {
  [ -f "$state/pid" ] || return 1
  local pid; pid="$(cat "$state/pid")"
  kill -0 "$pid" 2>/dev/null && grep -q stakegraph.Launcher "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

bolt_answers() {  # a TCP connect to the Bolt port
  local hostport="${1#bolt://}"
  (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null
}

start() {
  local import_dir="${1:-}"
  if pid="$(running_pid)"; then
    echo "[neo4j] already running (pid $pid) at $(cat "$state/uri")" >&2
    return 0
  fi
  build
  mkdir -p "$state"
  rm -rf "$state/home" "$state/uri" "$state/env" "$state/pid"
  if [ -n "$import_dir" ]; then
    [ -f "$import_dir/import.sh" ] || die "$import_dir has no import.sh (make it with stakegraph export --format neo4j-admin)"
    mkdir -p "$state/home"
    if ! PATH="$here/target/bin:$PATH" NEO4J_HOME="$state/home" sh "$import_dir/import.sh" >"$state/import.log" 2>&1; then
      tail -20 "$state/import.log" >&2
      die "neo4j-admin database import failed (log: $state/import.log)"
    fi
    echo "[neo4j] imported $import_dir: $(grep -E '^ +[0-9]+ (nodes|relationships)' "$state/import.log" | xargs)" >&2
  fi
  local password="${NEO4J_PASSWORD:-}"
  [ -n "$password" ] || password="sg-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)"
  local t0; t0=$(date +%s)
  NEO4J_PASSWORD="$password" nohup java ${NEO4J_JAVA_OPTS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC} -Xms256m -Xmx"${NEO4J_HEAP:-768m}" -XX:+ExitOnOutOfMemoryError \
    -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" stakegraph.Launcher \
    --home "$state/home" --port "${NEO4J_PORT:-0}" --pagecache "${NEO4J_PAGECACHE:-256m}" \
    --uri-file "$state/uri" --parent-pid "${NEO4J_PARENT_PID:-0}" >"$state/server.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$state/pid"
  local timeout="${NEO4J_START_TIMEOUT:-180}"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$state/server.log" >&2
      die "Neo4j exited while starting (log: $state/server.log, $state/home/logs/debug.log)"
    fi
    if [ -s "$state/uri" ] && bolt_answers "$(cat "$state/uri")"; then break; fi
    if [ $(( $(date +%s) - t0 )) -ge "$timeout" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      die "Neo4j did not answer on Bolt within ${timeout}s (NEO4J_START_TIMEOUT; log: $state/home/logs/debug.log)"
    fi
    sleep 0.3
  done
  local uri; uri="$(cat "$state/uri")"
  (umask 077; printf 'export NEO4J_URI=%q NEO4J_USER=neo4j NEO4J_PASSWORD=%q\n' "$uri" "$password" >"$state/env")
  echo "[neo4j] $uri (pid $pid, heap ${NEO4J_HEAP:-768m}, page cache ${NEO4J_PAGECACHE:-256m}, up in $(( $(date +%s) - t0 ))s)" >&2
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$state/pid" "$state/uri" "$state/env"
  rm -rf "$state/home/data"
}

case "$cmd" in
  build) build ;;
  start) start "${3:-}" ;;
  stop) stop ;;
  status)
    if pid="$(running_pid)"; then echo "$(cat "$state/uri") (pid $pid)"; else echo "not running" >&2; exit 1; fi ;;
  *) die "usage: neo4j.sh build | start [STATE_DIR [IMPORT_DIR]] | stop [STATE_DIR] | status [STATE_DIR]" ;;
esac
