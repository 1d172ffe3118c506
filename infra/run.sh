#!/usr/bin/env bash
# `make run`: the services in the background, then the live feed and sample traffic in the
# foreground. Ctrl-C (or closing the terminal) stops the traffic and the services cleanly; the
# stack keeps running so the next `make run` starts in seconds (`make down` stops it too).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO_PID=""

# One `make run` per checkout: a second one would share the first's services, and its Ctrl-C would
# stop them under the first's feed. The lock is this script's pid, checked like a service's.
if pid_alive run; then
  die "make run is already running (pid $(cat "$RUN_DIR/run.pid")), its feed in another terminal; use that one, 'make logs' to follow the services, or 'make down' to stop it"
fi
echo $$ > "$RUN_DIR/run.pid"

stop_services() {
  # Ignore further signals (a second Ctrl-C must not cut the graceful stop short; the stop script
  # inherits that) and carry on through write errors: after the terminal is closed every write to
  # it fails, and the services must be stopped all the same.
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  [[ -n "$DEMO_PID" ]] && kill -TERM "$DEMO_PID" 2>/dev/null && wait "$DEMO_PID" 2>/dev/null
  echo 2>/dev/null
  log "stopping the services (the stack keeps running for a quick restart; 'make down' stops everything)"
  bash "$INFRA_DIR/services.sh" stop
  rm -f "$RUN_DIR/demo.pid" "$RUN_DIR/run.pid"
  exit 0
}

# Armed before the start, so a service that fails to start does not leave the others running.
trap stop_services INT TERM HUP PIPE EXIT
bash "$INFRA_DIR/services.sh" start
cat <<INFO

  anonmerge is running
    ingest (Track API)  http://${ANONMERGE_INGEST_HOST:-127.0.0.1}:${ANONMERGE_INGEST_PORT:-3000}   Basic auth demo-site:demo-key-not-secret
    ingest metrics      http://${ANONMERGE_INGEST_METRICS_HOST:-127.0.0.1}:${ANONMERGE_INGEST_METRICS_PORT:-3003}/metrics
    merger health       http://${ANONMERGE_MERGER_HOST:-127.0.0.1}:${ANONMERGE_MERGER_PORT:-3001}/readyz
    demo shop page      http://${ANONMERGE_INGEST_HOST:-127.0.0.1}:${ANONMERGE_INGEST_PORT:-3000}/demo   (the browser snippet, /js/anonmerge.js)
    activity log        http://${ANONMERGE_ACTIVITY_HOST:-127.0.0.1}:${ANONMERGE_ACTIVITY_PORT:-3002}/activity   log in as demo-site / demo-key-not-secret
                        its Settings panel (merging on/off, keys) takes the operator token in $RUN_DIR/admin-token
    admin API           http://${ANONMERGE_ADMIN_HOST:-127.0.0.1}:${ANONMERGE_ADMIN_PORT:-3004}/v1/workspaces   Bearer token in $RUN_DIR/admin-token
                        e.g. ANONMERGE_ADMIN_TOKEN_FILE=$RUN_DIR/admin-token node dist/services/cli/main.js workspaces merge demo off
    logs                $LOG_DIR/{ingest,merger,activity,admin,kafka,registry,redis}.log

INFO
# In the background and waited for, so that a signal to this script (make forwards SIGTERM to it
# alone) runs the trap at once instead of after the feed ends; the trap stops the feed itself.
# Its pid file lets `make down` from another terminal end the feed, and with it this script.
(cd "$ROOT_DIR" && exec node --enable-source-maps dist/services/demo/main.js) &
DEMO_PID=$!
echo "$DEMO_PID" > "$RUN_DIR/demo.pid"
wait "$DEMO_PID" || true
DEMO_PID=""
