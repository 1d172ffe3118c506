#!/usr/bin/env bash
# The anonmerge services (compiled under dist/) in the background — ingest, merger, the
# activity log page and the admin API — for `make up` / `make run`, benchmarks and acceptance
# checks. Ingest and the activity page follow the workspaces log, seeded from
# config/workspaces.json; the admin API changes it (docs/design-workspaces.md).
# Usage: infra/services.sh start|stop|status|logs
#   start   starts what is not running and returns once each answers /readyz; the services are
#           detached (own session, stdio on their log files), so a pipe or terminal that ran
#           `make up` is not held open by them
#   stop    SIGTERM (graceful: finish the batch, commit, close), SIGKILL after 30 s (merger: 60 s)
#   status  pid, uptime and readiness of each service; exit status 0 only when all are ready
#   logs    follows the services' logs, pretty-printed (pino-pretty)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(merger ingest activity admin)
# Stopped in this order: the front door first, the merger last so it can finish what ingest wrote.
STOP_ORDER=(ingest activity admin merger)
STOP_GRACE_S="${ANONMERGE_STOP_GRACE_S:-30}"
MERGER_STOP_GRACE_S="${ANONMERGE_MERGER_STOP_GRACE_S:-60}"

INGEST_PORT="${ANONMERGE_INGEST_PORT:-3000}"
MERGER_PORT="${ANONMERGE_MERGER_PORT:-3001}"
INGEST_HOST="${ANONMERGE_INGEST_HOST:-127.0.0.1}"
MERGER_HOST="${ANONMERGE_MERGER_HOST:-127.0.0.1}"
ACTIVITY_PORT="${ANONMERGE_ACTIVITY_PORT:-3002}"
ACTIVITY_HOST="${ANONMERGE_ACTIVITY_HOST:-127.0.0.1}"
ADMIN_PORT="${ANONMERGE_ADMIN_PORT:-3004}"
ADMIN_HOST="${ANONMERGE_ADMIN_HOST:-127.0.0.1}"

ready_url() {
  case "$1" in
    ingest) echo "http://$INGEST_HOST:$INGEST_PORT/readyz" ;;
    merger) echo "http://$MERGER_HOST:$MERGER_PORT/readyz" ;;
    activity) echo "http://$ACTIVITY_HOST:$ACTIVITY_PORT/readyz" ;;
    admin) echo "http://$ADMIN_HOST:$ADMIN_PORT/readyz" ;;
  esac
}

is_ready() { pid_alive "$1" && curl -sf -m 2 -o /dev/null "$(ready_url "$1")"; }

port_of() {
  case "$1" in
    ingest) echo "$INGEST_HOST $INGEST_PORT" ;;
    merger) echo "$MERGER_HOST $MERGER_PORT" ;;
    activity) echo "$ACTIVITY_HOST $ACTIVITY_PORT" ;;
    admin) echo "$ADMIN_HOST $ADMIN_PORT" ;;
  esac
}

entry_of() { echo "$ROOT_DIR/dist/services/$1/main.js"; }

# listener_of NAME: the pid listening on NAME's port when it runs this checkout's NAME service —
# one left running by an older version of this script, whose pid file named a subshell. Empty
# when nothing (or something else) listens, or when `ss` is not installed.
listener_of() {
  command -v ss >/dev/null || return 0
  local port pid
  port=$(port_of "$1" | awk '{ print $2 }')
  pid=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
  [[ -n "$pid" ]] || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(entry_of "$1")" && echo "$pid"
  return 0
}

start_one() {
  local name=$1 entry; entry=$(entry_of "$1")
  if pid_alive "$name"; then log "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"; return 0; fi
  [[ -f "$entry" ]] || die "$entry is missing; run 'make build' first"
  local orphan; orphan=$(listener_of "$name")
  if [[ -n "$orphan" ]]; then
    log "$name is already running without a pid file (pid $orphan); adopting it"
    echo "$orphan" > "$RUN_DIR/$name.pid"
    return 0
  fi
  # shellcheck disable=SC2046
  if port_open $(port_of "$name"); then
    die "$name's port ($(port_of "$name")) is taken by a process this checkout did not start; stop it or set ANONMERGE_${name^^}_PORT"
  fi
  log "starting $name (log: $LOG_DIR/$name.log)"
  # The subshell execs setsid, which execs node: so $! is node's own pid (setsid forks only when
  # it is a process-group leader, which a background child of a script without job control — how
  # make and the scripts run it — never is), and node runs in a session of its own, out of reach
  # of the terminal's Ctrl-C (make run stops it with SIGTERM, in order). Every stream is redirected
  # on the subshell itself, so nothing here keeps the caller's stdout open.
  (cd "$ROOT_DIR" && exec setsid node --enable-source-maps "$entry") >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/$name.pid"
}

wait_ready() {
  local name=$1 t; t=$(now_ms)
  if ! wait_until 90 "$name" is_ready_or_dead "$name"; then die "$name did not become ready; see $LOG_DIR/$name.log"; fi
  if ! pid_alive "$name"; then
    tail -n 20 "$LOG_DIR/$name.log" >&2
    rm -f "$RUN_DIR/$name.pid"
    die "$name exited during start; see $LOG_DIR/$name.log"
  fi
  log "$name ready (+$(elapsed_since "$t"))"
}

is_ready_or_dead() { is_ready "$1" || ! pid_alive "$1"; }

stop_one() {
  local name=$1
  if ! pid_alive "$name"; then
    local orphan; orphan=$(listener_of "$name")
    [[ -n "$orphan" ]] || { rm -f "$RUN_DIR/$name.pid"; return 0; }
    log "$name is running without a pid file (pid $orphan); stopping it"
    echo "$orphan" > "$RUN_DIR/$name.pid"
  fi
  log "stopping $name (pid $(cat "$RUN_DIR/$name.pid"))"
  # The merger finishes its batch, commits and closes nine clients, each step bounded by 15 s.
  if [[ "$name" == merger ]]; then stop_pid "$name" "$MERGER_STOP_GRACE_S"; else stop_pid "$name" "$STOP_GRACE_S"; fi
}

# uptime_of PID: how long the process has run, as 1h02m03s.
uptime_of() {
  local s; s=$(ps -o etimes= -p "$1" 2>/dev/null | tr -d ' ')
  [[ -n "$s" ]] || { echo "-"; return; }
  if (( s >= 3600 )); then printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif (( s >= 60 )); then printf '%dm%02ds' $((s / 60)) $((s % 60))
  else printf '%ds' "$s"; fi
}

status() {
  local rc=0 name pid
  printf '%-9s %-9s %-8s %-10s %s\n' service state pid uptime readiness
  for name in "${SERVICES[@]}"; do
    if pid_alive "$name"; then
      pid=$(cat "$RUN_DIR/$name.pid")
      if is_ready "$name"; then printf '%-9s %-9s %-8s %-10s %s\n' "$name" ready "$pid" "$(uptime_of "$pid")" "$(ready_url "$name")"
      else printf '%-9s %-9s %-8s %-10s %s\n' "$name" starting "$pid" "$(uptime_of "$pid")" "$(ready_url "$name") does not answer yet"; rc=1; fi
    else
      printf '%-9s %-9s %-8s %-10s %s\n' "$name" stopped - - "log: $LOG_DIR/$name.log"; rc=1
    fi
  done
  return $rc
}

logs() {
  local files=()
  for name in "${SERVICES[@]}"; do touch "$LOG_DIR/$name.log"; files+=("$LOG_DIR/$name.log"); done
  local pretty="$ROOT_DIR/node_modules/.bin/pino-pretty"
  [[ -x "$pretty" ]] || die "pino-pretty is not installed; run 'make install' first"
  log "following ${files[*]} (Ctrl-C stops)"
  # -q: no file headers between lines; -F: keeps following across a service's restart.
  tail -q -n 20 -F "${files[@]}" 2>/dev/null | "$pretty" --colorize --singleLine --translateTime 'SYS:HH:MM:ss.l' \
    --ignore hostname,service --messageFormat '{service}: {msg}'
}

# The demo's admin secrets, made once per stack under $RUN_DIR (mode 600): the key that seals
# identity secrets on the workspaces log, and an operator "demo" whose token make run prints.
demo_admin_files() {
  local mask; mask=$(umask)
  umask 077
  [[ -s "$RUN_DIR/workspaces-secret.key" ]] || openssl rand -hex 32 | tr -d '\n' > "$RUN_DIR/workspaces-secret.key"
  if [[ ! -s "$RUN_DIR/admin-token" ]]; then
    openssl rand -hex 24 | tr -d '\n' > "$RUN_DIR/admin-token"
    printf '{"operators": [{"name": "demo", "token_sha256": "%s"}]}\n' "$(sha256sum < "$RUN_DIR/admin-token" | cut -d' ' -f1)" > "$RUN_DIR/operators.json"
  fi
  umask "$mask"
  export ANONMERGE_WORKSPACES_SECRET_KEY_FILE="${ANONMERGE_WORKSPACES_SECRET_KEY_FILE:-$RUN_DIR/workspaces-secret.key}"
  export ANONMERGE_OPERATORS_FILE="${ANONMERGE_OPERATORS_FILE:-$RUN_DIR/operators.json}"
  # The activity page's settings panel, pointed at the admin API started beside it.
  export ANONMERGE_ACTIVITY_ADMIN_API_URL="${ANONMERGE_ACTIVITY_ADMIN_API_URL:-http://$ADMIN_HOST:$ADMIN_PORT}"
  # The panel's calls come from the activity service on this host: the admin API brakes a wrong
  # token by the address the panel names, not by its own.
  export ANONMERGE_ADMIN_TRUSTED_PROXIES="${ANONMERGE_ADMIN_TRUSTED_PROXIES:-127.0.0.1}"
}

case "${1:-}" in
  start)
    # make run / make up are the demo: the demo workspace of config/workspaces.json (whose keys a
    # deployment refuses) and the demo shop page at /demo. ANONMERGE_DEMO=0 makes them a deployment.
    export ANONMERGE_DEMO="${ANONMERGE_DEMO:-1}"
    # A stack an earlier version left with the legacy merger's state (before the two planes were
    # the default): moved once, before the merger starts (docs/deployment.md). Nothing otherwise.
    if [[ "${ANONMERGE_MERGER_CONTROL_PLANE:-true}" != false ]] && ! pid_alive merger; then
      (cd "$ROOT_DIR" && ANONMERGE_LOG_LEVEL=error node dist/services/cli/main.js migrate two-planes --if-needed) | sed 's/^/[services] /' \
        || die "the legacy merger's state could not be moved; see above (or set ANONMERGE_MERGER_CONTROL_PLANE=false and ANONMERGE_INGEST_PERSON_OPS=false)"
    fi
    # Workspaces from the log (ANONMERGE_WORKSPACES_SOURCE=file: from config/workspaces.json at
    # start, as before), seeded from the file: a workspace already on the log is left as it is.
    export ANONMERGE_WORKSPACES_SOURCE="${ANONMERGE_WORKSPACES_SOURCE:-log}"
    # Producers on Kafka: ingest also bridges the request topic (docs/producing.md).
    export ANONMERGE_INGEST_BRIDGE="${ANONMERGE_INGEST_BRIDGE:-true}"
    demo_admin_files
    if [[ "$ANONMERGE_WORKSPACES_SOURCE" == log ]] && ! pid_alive ingest; then
      (cd "$ROOT_DIR" && ANONMERGE_LOG_LEVEL=error node dist/services/cli/main.js workspaces seed) | sed 's/^/[services] /' \
        || die "the workspaces log could not be seeded from config/workspaces.json; see above"
    fi
    for name in "${SERVICES[@]}"; do start_one "$name"; done
    for name in "${SERVICES[@]}"; do wait_ready "$name"; done
    ;;
  stop)
    # One stop at a time: `make down` in one terminal and make run's Ctrl-C in another must not
    # both signal a service, as a second SIGTERM makes it exit at once instead of gracefully.
    exec 9> "$RUN_DIR/stop.lock"
    flock 9
    # make run's feed first (when `make down` comes from another terminal): its script then ends
    # instead of showing a feed of stopped services.
    if pid_alive demo; then log "stopping make run's feed (pid $(cat "$RUN_DIR/demo.pid"))"; stop_pid demo 10; fi
    for name in "${STOP_ORDER[@]}"; do stop_one "$name"; done
    ;;
  status) status ;;
  logs) logs ;;
  *) die "usage: $0 start|stop|status|logs" ;;
esac
