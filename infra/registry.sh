#!/usr/bin/env bash
# Apicurio Registry 3 (its runnable Quarkus app, the `all` archive Maven Central publishes),
# serving the Confluent-compatible `ccompat` API that @kafkajs/confluent-schema-registry uses.
# Storage is H2 in a file under .local, so schema ids survive restarts: the ids are written
# into every Avro record on Kafka, and a registry that forgot them would orphan the topics.
# Usage: infra/registry.sh fetch|start|wait|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REGISTRY_DIR="$ANONMERGE_HOME/registry"
APP_DIR="$ANONMERGE_CACHE/apicurio-registry-$APICURIO_VERSION"
DATA_DIR="$REGISTRY_DIR/data"
LOG_FILE="$LOG_DIR/registry.log"
CCOMPAT_URL="http://$REGISTRY_HOST:$REGISTRY_PORT/apis/ccompat/v7"

fetch() {
  [[ -f "$APP_DIR/quarkus-run.jar" ]] && return 0
  log "fetching Apicurio Registry $APICURIO_VERSION from Maven Central"
  local download="$ANONMERGE_CACHE/apicurio-download"
  rm -rf "$download" "$APP_DIR"; mkdir -p "$download" "$APP_DIR"
  mvn -q -B -Dstyle.color=never dependency:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$download" > "$LOG_DIR/fetch-registry.log" 2>&1 \
    || die "mvn could not fetch apicurio-registry-app $APICURIO_VERSION; see $LOG_DIR/fetch-registry.log"
  tar -xzf "$download"/apicurio-registry-app-*-all.tar.gz -C "$APP_DIR"
  rm -rf "$download"
}

start() {
  if pid_alive registry; then log "registry already running (pid $(cat "$RUN_DIR/registry.pid"))"; return 0; fi
  port_open "$REGISTRY_HOST" "$REGISTRY_PORT" && die "port $REGISTRY_PORT is taken by another process ($(port_owner "$REGISTRY_PORT")); set REGISTRY_PORT"
  fetch
  local java_home
  # Apicurio 3.3 is compiled for Java 21 (class file 65); the default JDK here is 17.
  java_home=$(java_home_at_least 21) || die "Apicurio Registry $APICURIO_VERSION needs Java 21 or later; set JAVA_HOME to one"
  mkdir -p "$DATA_DIR"
  [[ -f "$LOG_FILE" ]] && mv "$LOG_FILE" "$LOG_FILE.1"
  log "starting Apicurio Registry $APICURIO_VERSION on $REGISTRY_HOST:$REGISTRY_PORT (log: $LOG_FILE)"
  APICURIO_STORAGE_KIND=sql \
  APICURIO_DATASOURCE_URL="jdbc:h2:file:$DATA_DIR/registry" \
  setsid "$java_home/bin/java" -Xms64m -Xmx"$REGISTRY_HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host="$REGISTRY_HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host="$REGISTRY_HOST" -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dquarkus.http.access-log.enabled=false -Dquarkus.log.level=WARN \
    -Dquarkus.log.category.\"io.apicurio\".level=WARN \
    -jar "$APP_DIR/quarkus-run.jar" >> "$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/registry.pid"
}

healthy() { pid_alive registry && curl -sf -m 2 -o /dev/null "$CCOMPAT_URL/subjects"; }

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  wait) wait_until "${2:-90}" "registry" healthy || die "the registry did not become healthy; see $LOG_FILE" ;;
  stop) stop_pid registry 30 ;;
  status)
    if healthy; then echo "registry  up    $REGISTRY_HOST:$REGISTRY_PORT  pid $(cat "$RUN_DIR/registry.pid")"
    else echo "registry  down  $REGISTRY_HOST:$REGISTRY_PORT"; exit 1; fi ;;
  *) die "usage: $0 fetch|start|wait|stop|status" ;;
esac
