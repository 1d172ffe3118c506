#!/usr/bin/env bash
# The project's own Redis (not the one on 6379, which keeps nothing on disk): AOF on with
# fsync every second, data under .local, so a restart finds the merger's state back.
# Usage: infra/redis.sh start|wait|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATA_DIR="$ANONMERGE_HOME/redis/data"
LOG_FILE="$LOG_DIR/redis.log"
PID_FILE="$RUN_DIR/redis.pid"

start() {
  if pid_alive redis; then log "Redis already running (pid $(cat "$PID_FILE"))"; return 0; fi
  port_open "$REDIS_HOST" "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process ($(port_owner "$REDIS_PORT")); set REDIS_PORT"
  command -v redis-server >/dev/null || die "redis-server is not installed"
  mkdir -p "$DATA_DIR"
  log "starting Redis on $REDIS_HOST:$REDIS_PORT (AOF everysec, data: $DATA_DIR)"
  # REDIS_ACL_USER / REDIS_ACL_PASSWORD: only that user may connect (the default user is off) —
  # how the project tests its Redis credentials settings.
  local acl=()
  if [[ -n "${REDIS_ACL_USER:-}" ]]; then
    acl=(--user default off --user "$REDIS_ACL_USER" on ">$REDIS_ACL_PASSWORD" '~*' '&*' '+@all')
  fi
  # hash-max-listpack-*: the merger's compact records live in hashes kept in the listpack
  # encoding up to these sizes (docs/deployment.md, Redis).
  redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$DATA_DIR" \
    --appendonly yes --appendfsync everysec --save "" "${acl[@]}" \
    --hash-max-listpack-entries 256 --hash-max-listpack-value 512 \
    --daemonize yes --pidfile "$PID_FILE" --logfile "$LOG_FILE" \
    || die "redis-server did not start; see $LOG_FILE"
}

healthy() {
  local auth=()
  [[ -n "${REDIS_ACL_USER:-}" ]] && auth=(--user "$REDIS_ACL_USER" --pass "$REDIS_ACL_PASSWORD" --no-auth-warning)
  [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "${auth[@]}" ping 2>/dev/null)" == "PONG" ]]
}

stop() {
  if healthy; then
    # SHUTDOWN writes the AOF out before the process exits.
    local auth=()
    [[ -n "${REDIS_ACL_USER:-}" ]] && auth=(--user "$REDIS_ACL_USER" --pass "$REDIS_ACL_PASSWORD" --no-auth-warning)
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "${auth[@]}" shutdown >/dev/null 2>&1 || true
  fi
  stop_pid redis 20
}

case "${1:-}" in
  start) start ;;
  wait) wait_until "${2:-30}" "redis" healthy || die "Redis did not answer PING; see $LOG_FILE" ;;
  stop) stop ;;
  status)
    if healthy; then echo "redis     up    $REDIS_HOST:$REDIS_PORT  pid $(cat "$PID_FILE" 2>/dev/null)"
    else echo "redis     down  $REDIS_HOST:$REDIS_PORT"; exit 1; fi ;;
  *) die "usage: $0 start|wait|stop|status" ;;
esac
