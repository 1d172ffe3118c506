#!/usr/bin/env bash
# `make run`: the services in the background, then the live feed and sample traffic in the
# foreground. Ctrl-C (or closing the terminal) stops the traffic and the services cleanly; the
# stack keeps running so the next `make run` starts in seconds (`make down` stops it too).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_services() {
  trap - INT TERM HUP EXIT
  echo
  log "stopping the services (the stack keeps running for a quick restart; 'make down' stops everything)"
  bash "$INFRA_DIR/services.sh" stop
}

# Armed before the start, so a service that fails to start does not leave the others running.
trap stop_services INT TERM HUP EXIT
bash "$INFRA_DIR/services.sh" start
cat <<INFO

  anonmerge is running
    ingest (Track API)  http://${ANONMERGE_INGEST_HOST:-127.0.0.1}:${ANONMERGE_INGEST_PORT:-3000}   Basic auth demo-site:demo-key
    merger health       http://${ANONMERGE_MERGER_HOST:-127.0.0.1}:${ANONMERGE_MERGER_PORT:-3001}/readyz
    demo shop page      http://${ANONMERGE_INGEST_HOST:-127.0.0.1}:${ANONMERGE_INGEST_PORT:-3000}/demo   (the browser snippet, /js/anonmerge.js)
    activity log        http://${ANONMERGE_ACTIVITY_HOST:-127.0.0.1}:${ANONMERGE_ACTIVITY_PORT:-3002}/activity   log in as demo-site / demo-key
    logs                $LOG_DIR/{ingest,merger,activity,kafka,registry,redis}.log

INFO
# Not exec: the trap above must run when the feed ends.
(cd "$ROOT_DIR" && node --enable-source-maps dist/services/demo/main.js) || true
