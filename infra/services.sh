#!/usr/bin/env bash
# The anonmerge services (compiled under dist/) in the background — ingest, merger and the
# activity log page — for `make up` / `make run`, benchmarks and acceptance checks.
# Usage: infra/services.sh start|stop|status
#   start  starts what is not running and returns once each answers /readyz
#   stop   SIGTERM (graceful: finish the batch, commit, close), SIGKILL after 30 s
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INGEST_PORT="${ANONMERGE_INGEST_PORT:-3000}"
MERGER_PORT="${ANONMERGE_MERGER_PORT:-3001}"
INGEST_HOST="${ANONMERGE_INGEST_HOST:-127.0.0.1}"
MERGER_HOST="${ANONMERGE_MERGER_HOST:-127.0.0.1}"
ACTIVITY_PORT="${ANONMERGE_ACTIVITY_PORT:-3002}"
ACTIVITY_HOST="${ANONMERGE_ACTIVITY_HOST:-127.0.0.1}"

ready_url() {
  case "$1" in
    ingest) echo "http://$INGEST_HOST:$INGEST_PORT/readyz" ;;
    merger) echo "http://$MERGER_HOST:$MERGER_PORT/readyz" ;;
    activity) echo "http://$ACTIVITY_HOST:$ACTIVITY_PORT/readyz" ;;
  esac
}

is_ready() { pid_alive "$1" && curl -sf -m 2 -o /dev/null "$(ready_url "$1")"; }

port_of() {
  case "$1" in
    ingest) echo "$INGEST_HOST $INGEST_PORT" ;;
    merger) echo "$MERGER_HOST $MERGER_PORT" ;;
    activity) echo "$ACTIVITY_HOST $ACTIVITY_PORT" ;;
  esac
}

start_one() {
  local name=$1 entry="$ROOT_DIR/dist/services/$1/main.js"
  if pid_alive "$name"; then log "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"; return 0; fi
  [[ -f "$entry" ]] || die "$entry is missing; run 'make build' first"
  # shellcheck disable=SC2046
  if port_open $(port_of "$name"); then
    die "$name's port ($(port_of "$name")) is taken by a process this checkout did not start; stop it or set ANONMERGE_${name^^}_PORT"
  fi
  log "starting $name (log: $LOG_DIR/$name.log)"
  (cd "$ROOT_DIR" && setsid node --enable-source-maps "$entry" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null & echo $! > "$RUN_DIR/$name.pid")
}

wait_ready() {
  local name=$1 t; t=$(now_ms)
  if ! wait_until 90 "$name" is_ready_or_dead "$name"; then die "$name did not become ready; see $LOG_DIR/$name.log"; fi
  if ! pid_alive "$name"; then
    tail -n 20 "$LOG_DIR/$name.log" >&2
    die "$name exited during start; see $LOG_DIR/$name.log"
  fi
  log "$name ready (+$(elapsed_since "$t"))"
}

is_ready_or_dead() { is_ready "$1" || ! pid_alive "$1"; }

case "${1:-}" in
  start)
    start_one merger
    start_one ingest
    start_one activity
    wait_ready merger
    wait_ready ingest
    wait_ready activity
    ;;
  stop)
    stop_pid ingest 30
    stop_pid activity 30
    stop_pid merger 30
    ;;
  status)
    rc=0
    for name in ingest merger activity; do
      if is_ready "$name"; then echo "$(printf '%-9s' "$name") up    $(ready_url "$name")  pid $(cat "$RUN_DIR/$name.pid")"
      else echo "$(printf '%-9s' "$name") down  $(ready_url "$name")"; rc=1; fi
    done
    exit $rc
    ;;
  *) die "usage: $0 start|stop|status" ;;
esac
