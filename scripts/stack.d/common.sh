# Shared helpers for scripts/stack: folders, ports, pid-file daemons, readiness waits, Maven.
# Sourced, never run. Every service file <svc>.sh defines <svc>_provision, <svc>_start,
# <svc>_stop, <svc>_status and <svc>_env, using only the helpers below.

STACK_HOST=127.0.0.1
STACK_CACHE="${CLICKSTREAM_STACK_CACHE:-$HOME/.cache/clickstream-stack}"
STACK_SCRATCH="${CLICKSTREAM_STACK_SCRATCH:-${TMPDIR:-/tmp}/clickstream-stack-$(id -u)}"
STACK_REPO="$(cd "$STACK_DIR/../.." && pwd)"

# Fixed ports (override with the env variables named here), all bound to 127.0.0.1.
KAFKA_PORT="${CLICKSTREAM_STACK_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${CLICKSTREAM_STACK_KAFKA_CONTROLLER_PORT:-19093}"
NAMENODE_PORT="${CLICKSTREAM_STACK_NAMENODE_PORT:-18020}"
WEBHDFS_PORT="${CLICKSTREAM_STACK_WEBHDFS_PORT:-19870}"
FERRETDB_PORT="${CLICKSTREAM_STACK_FERRETDB_PORT:-27018}"

say() { if [[ "${CLICKSTREAM_STACK_VERBOSE:-0}" == 1 ]]; then echo "stack: $*" >&2; fi; }
die() { echo "stack: error: $*" >&2; exit 1; }

log_file() { echo "$STACK_SCRATCH/logs/$1.log"; }
pid_file() { echo "$STACK_SCRATCH/pids/$1.pid"; }

# is_running NAME: the process recorded in NAME's pid file is alive.
is_running() {
  local pf pid
  pf="$(pid_file "$1")"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# start_daemon NAME CMD...: run CMD in the background in its own session, output to
# the scratch log, pid to the scratch pid file. Does nothing if NAME already runs.
start_daemon() {
  local name="$1"; shift
  mkdir -p "$STACK_SCRATCH/logs" "$STACK_SCRATCH/pids"
  if is_running "$name"; then say "$name already running"; return 0; fi
  setsid nohup "$@" >>"$(log_file "$name")" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

# stop_daemon NAME: TERM the process group started by start_daemon, KILL after 30 s.
stop_daemon() {
  local name="$1" pf pid i
  pf="$(pid_file "$name")"
  [[ -f "$pf" ]] || return 0
  pid="$(cat "$pf")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
}

# show_log_tail NAME: the end of NAME's log, to explain a failure.
show_log_tail() {
  local lf
  lf="$(log_file "$1")"
  echo "stack: last lines of $lf:" >&2
  tail -n "${2:-40}" "$lf" >&2 2>/dev/null || echo "(no log)" >&2
}

# wait_ready NAME TIMEOUT_SECONDS CHECK_CMD...: poll CHECK_CMD until it succeeds. Fails,
# with the log's tail, if the daemon dies or the time runs out.
wait_ready() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! is_running "$name"; then
      echo "stack: $name exited during start-up" >&2
      show_log_tail "$name"
      return 1
    fi
    sleep 1
  done
  echo "stack: $name did not answer within ${timeout}s" >&2
  show_log_tail "$name"
  return 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/$STACK_HOST/$1") 2>/dev/null; }

# status_line NAME WHERE: one line of `stack status`; returns 1 when NAME is down.
status_line() {
  if is_running "$1"; then
    printf '%-9s running  pid %-7s %s\n' "$1" "$(cat "$(pid_file "$1")")" "$2"
  else
    printf '%-9s stopped\n' "$1"; return 1
  fi
}

# mvn_copy_deps POM OUTDIR: resolve POM's dependencies from Maven Central into OUTDIR
# (jars only), with the Maven repository inside the stack cache. Cached by the POM's hash.
mvn_copy_deps() {
  local pom="$1" out="$2" stamp hash
  hash="$(sha256sum "$pom" | cut -c1-16)"
  stamp="$out/.resolved-$hash"
  [[ -f "$stamp" ]] && return 0
  rm -rf "$out"; mkdir -p "$out"
  if ! mvn -q -B -Dmaven.repo.local="$STACK_CACHE/m2" -f "$pom" \
      dependency:copy-dependencies -DoutputDirectory="$out" -DincludeScope=runtime \
      >"$STACK_CACHE/mvn-$(basename "$(dirname "$pom")").log" 2>&1; then
    echo "stack: Maven could not resolve $pom" >&2
    tail -n 40 "$STACK_CACHE/mvn-$(basename "$(dirname "$pom")").log" >&2
    return 1
  fi
  touch "$stamp"
}
