#!/usr/bin/env bash
# The local stack as one: Kafka, the schema registry and Redis.
# Usage: infra/stack.sh up|down|status
#   up     starts whatever is not running, waits until each part is healthy, prints timings
#   down   stops all three cleanly (data stays under .local)
#   status one line per part; exit status 0 only when all are up
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

up() {
  local t0 t; t0=$(now_ms)
  # Downloads first (no-ops when cached), so the start timings below are the services' own.
  t=$(now_ms); bash "$INFRA_DIR/kafka.sh" fetch; bash "$INFRA_DIR/registry.sh" fetch
  log "artifacts ready in $(elapsed_since "$t")"
  # Start all three at once; they do not depend on each other.
  bash "$INFRA_DIR/kafka.sh" start
  bash "$INFRA_DIR/registry.sh" start
  bash "$INFRA_DIR/redis.sh" start
  t=$(now_ms); bash "$INFRA_DIR/redis.sh" wait;    log "redis healthy     (+$(elapsed_since "$t"))"
  bash "$INFRA_DIR/kafka.sh" wait;                 log "kafka healthy     (+$(elapsed_since "$t"))"
  bash "$INFRA_DIR/registry.sh" wait;              log "registry healthy  (+$(elapsed_since "$t"))"
  log "stack up in $(elapsed_since "$t0")"
}

down() {
  bash "$INFRA_DIR/registry.sh" stop
  bash "$INFRA_DIR/kafka.sh" stop
  bash "$INFRA_DIR/redis.sh" stop
  log "stack down"
}

status() {
  local rc=0
  bash "$INFRA_DIR/kafka.sh" status || rc=1
  bash "$INFRA_DIR/registry.sh" status || rc=1
  bash "$INFRA_DIR/redis.sh" status || rc=1
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
