#!/usr/bin/env bash
# Shared helpers for the infra scripts: where things live, which ports, pid files, waiting.
# Sourced, never run. Every setting can be overridden from the environment.
set -euo pipefail

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(cd "$INFRA_DIR/.." && pwd)"
# shellcheck source=versions.env
source "$INFRA_DIR/versions.env"

# Everything the stack downloads or writes goes under one ignored folder. Downloads (cache) and
# state (data, logs, pids) can be pointed elsewhere separately, so a test can run a second,
# throwaway instance without fetching anything again.
ANONMERGE_HOME="${ANONMERGE_HOME:-$ROOT_DIR/.local}"
ANONMERGE_CACHE="${ANONMERGE_CACHE:-$ROOT_DIR/.local/cache}"
RUN_DIR="$ANONMERGE_HOME/run"   # pid files
LOG_DIR="$ANONMERGE_HOME/logs"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$ANONMERGE_CACHE"

KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
REGISTRY_HOST="${REGISTRY_HOST:-127.0.0.1}"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
REGISTRY_MANAGEMENT_PORT="${REGISTRY_MANAGEMENT_PORT:-8082}"
REGISTRY_HEAP="${REGISTRY_HEAP:-256m}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6380}"

# Writes never fail the script: a closed terminal must not stop a stop.
log() { printf '[infra] %s\n' "$*" >&2 2>/dev/null || true; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
elapsed_since() { local start=$1; awk -v d=$(( $(now_ms) - start )) 'BEGIN { printf "%.1fs", d / 1000 }'; }

# process_running PID: true while PID is a live process. A killed daemon may stay a zombie where
# nothing reaps it (containers without an init), so a zombie counts as gone.
process_running() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo "?")
  [[ "$state" != "Z" ]]
}

# command_of NAME: a piece of the command line that NAME's process has, so that a pid file left
# by a reboot or a container restart, whose pid now belongs to something else, is not taken for it.
command_of() {
  case "$1" in
    kafka) echo "kafka.Kafka" ;;
    registry) echo "quarkus-run.jar" ;;
    redis | redis-cluster-*) echo "redis-server" ;;
    run) echo "infra/run.sh" ;;
    *) echo "dist/services/$1/main.js" ;;
  esac
}

# pid_alive NAME: true when the pid file of NAME names a live process that is NAME's.
pid_alive() {
  local file="$RUN_DIR/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid=$(cat "$file")
  process_running "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(command_of "$1")"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# port_owner PORT: who listens there (pid and command line), for an error message.
port_owner() {
  command -v ss >/dev/null || { echo "unknown (ss is not installed)"; return 0; }
  local pid; pid=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
  [[ -n "$pid" ]] || { echo "unknown"; return 0; }
  echo "pid $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.25 s.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$(( $(now_ms) + timeout * 1000 ))
  until "$@"; do
    if (( $(now_ms) > deadline )); then return 1; fi
    sleep 0.25
  done
}

# stop_pid NAME [SECONDS]: SIGTERM, wait for a clean exit, SIGKILL after the grace time.
stop_pid() {
  local name=$1 grace=${2:-30} file="$RUN_DIR/$1.pid"
  if ! pid_alive "$name"; then rm -f "$file"; return 0; fi
  local pid; pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(( $(now_ms) + grace * 1000 ))
  while process_running "$pid"; do
    if (( $(now_ms) > deadline )); then
      log "$name did not stop within ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$file"
}

# java_home_at_least MAJOR: prints a JAVA_HOME whose java is at least MAJOR, preferring the
# default java, then JDKs under /usr/lib/jvm (Apicurio 3.3 is built for Java 21).
java_major() { "$1/bin/java" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'; }
java_home_at_least() {
  local want=$1 candidate
  local default_home
  default_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  for candidate in "${JAVA_HOME:-}" "$default_home" /usr/lib/jvm/*; do
    [[ -n "$candidate" && -x "$candidate/bin/java" ]] || continue
    if (( $(java_major "$candidate") >= want )); then echo "$candidate"; return 0; fi
  done
  return 1
}
