#!/usr/bin/env bash
# A local Redis Cluster from the redis-server binary: 3 masters and 3 replicas (one per master),
# AOF on with fsync every second, data under .local — what the merger's cluster mode is tested
# on. Not part of `make infra-up`: the single Redis is the default; `make cluster-up` starts this.
# Ports REDIS_CLUSTER_PORT .. +5 (default 6390..6395); the cluster bus uses each port + 10000.
# Usage: infra/redis-cluster.sh start|wait|stop|status|nodes
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASE_PORT="${REDIS_CLUSTER_PORT:-6390}"
NODES=6
CLUSTER_DIR="$ANONMERGE_HOME/redis-cluster"
ports() { seq "$BASE_PORT" $(( BASE_PORT + NODES - 1 )); }
cli() { local port=$1; shift; redis-cli -h "$REDIS_HOST" -p "$port" "$@"; }

start_node() {
  local port=$1 dir="$CLUSTER_DIR/$1"
  if pid_alive "redis-cluster-$port"; then return 0; fi
  port_open "$REDIS_HOST" "$port" && die "port $port is taken by another process; set REDIS_CLUSTER_PORT"
  mkdir -p "$dir"
  redis-server --bind "$REDIS_HOST" --port "$port" --dir "$dir" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --appendonly yes --appendfsync everysec --save "" \
    --hash-max-listpack-entries 256 --hash-max-listpack-value 512 \
    --daemonize yes --pidfile "$RUN_DIR/redis-cluster-$port.pid" --logfile "$LOG_DIR/redis-cluster-$port.log" \
    || die "redis-server on $port did not start; see $LOG_DIR/redis-cluster-$port.log"
}

node_up() { [[ "$(cli "$1" ping 2>/dev/null)" == "PONG" ]]; }
all_up() { local port; for port in $(ports); do node_up "$port" || return 1; done; }
cluster_ok() {
  local port info
  for port in $(ports); do
    info=$(cli "$port" cluster info 2>/dev/null) || return 1
    grep -q 'cluster_state:ok' <<<"$info" || return 1
    grep -q 'cluster_slots_assigned:16384' <<<"$info" || return 1
  done
  # Every node sees the same shape: half of them masters serving slots, half replicas.
  for port in $(ports); do
    [[ "$(cli "$port" cluster nodes 2>/dev/null | awk '$3 ~ /slave/' | wc -l)" == "$(( NODES / 2 ))" ]] || return 1
  done
}

start() {
  command -v redis-server >/dev/null || die "redis-server is not installed"
  local port
  log "starting a Redis Cluster of $NODES nodes on $REDIS_HOST:$BASE_PORT..$(( BASE_PORT + NODES - 1 )) (data: $CLUSTER_DIR)"
  for port in $(ports); do start_node "$port"; done
  wait_until 30 "cluster nodes" all_up || die "cluster nodes did not answer PING; see $LOG_DIR/redis-cluster-*.log"
  # A node that never joined a cluster knows only itself; nodes.conf keeps the cluster across
  # restarts, so creation happens once per data folder.
  if [[ "$(cli "$BASE_PORT" cluster info | awk -F: '/cluster_known_nodes/ { print $2 }' | tr -d '\r')" == "1" ]]; then
    local addresses=()
    for port in $(ports); do addresses+=("$REDIS_HOST:$port"); done
    log "creating the cluster: 3 masters, 1 replica each"
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$LOG_DIR/redis-cluster-create.log" 2>&1 \
      || die "redis-cli --cluster create failed; see $LOG_DIR/redis-cluster-create.log"
  fi
}

stop() {
  local port
  for port in $(ports); do
    # Only a node this checkout started: another Redis on the port is not ours to shut down.
    pid_alive "redis-cluster-$port" && node_up "$port" && cli "$port" shutdown >/dev/null 2>&1 || true
    stop_pid "redis-cluster-$port" 20
  done
}

case "${1:-}" in
  start) start ;;
  wait) wait_until "${2:-60}" "redis cluster" cluster_ok || die "the Redis Cluster did not reach cluster_state:ok; see $LOG_DIR/redis-cluster-*.log" ;;
  stop) stop ;;
  nodes) for port in $(ports); do printf '%s:%s\n' "$REDIS_HOST" "$port"; done | paste -sd, ;;
  status)
    if cluster_ok; then echo "redis-cluster up  $REDIS_HOST:$BASE_PORT..$(( BASE_PORT + NODES - 1 ))  $(( NODES / 2 )) masters, $(( NODES / 2 )) replicas"
    else echo "redis-cluster down  $REDIS_HOST:$BASE_PORT..$(( BASE_PORT + NODES - 1 ))"; exit 1; fi ;;
  *) die "usage: $0 start|wait|stop|status|nodes" ;;
esac
