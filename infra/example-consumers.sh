#!/usr/bin/env bash
# What the example consumers (examples/consumers/, docs/consuming.md) need, fetched once into the
# cache and reused:
#   python   Debian's python3-confluent-kafka (librdkafka), python3-avro and python3-psycopg2
#            (the PostgreSQL sink) with their Python dependencies, downloaded with `apt-get download` and unpacked under the cache (no
#            root, nothing installed system-wide); prints PYTHONPATH and LD_LIBRARY_PATH as
#            `export` lines
#   java     kafka-clients and Apache Avro from Maven Central (examples/consumers/java/pom.xml);
#            prints the classpath
# Usage: bash infra/example-consumers.sh python|java
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY_PACKAGES=(python3-confluent-kafka librdkafka1 python3-avro python3-psycopg2 libpq5 python3-requests python3-urllib3 python3-idna python3-certifi python3-charset-normalizer python3-chardet)
PY_DIR="$ANONMERGE_CACHE/python-consumer"
JAVA_DIR="$ANONMERGE_CACHE/java-consumer"

python_deps() {
  # The stamp names the package list: a package added is fetched on the next run.
  local stamp="$PY_DIR/.unpacked-$(printf '%s ' "${PY_PACKAGES[@]}" | md5sum | cut -c1-8)"
  # Two tests may ask at once: one fetches, the other waits for it.
  exec 9>"$ANONMERGE_CACHE/.python-consumer.lock"
  flock 9
  if [[ ! -f "$stamp" ]]; then
    log "fetching Debian's python3-confluent-kafka and python3-avro (apt-get download)"
    rm -rf "$PY_DIR" && mkdir -p "$PY_DIR/debs" "$PY_DIR/root"
    (cd "$PY_DIR/debs" && apt-get download "${PY_PACKAGES[@]}" > "$LOG_DIR/fetch-python-consumer.log" 2>&1) \
      || die "apt-get download failed; see $LOG_DIR/fetch-python-consumer.log"
    for deb in "$PY_DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$PY_DIR/root"; done
    touch "$stamp"
  fi
  # The libraries sit under the machine's multiarch directory (usr/lib/x86_64-linux-gnu, …).
  local libdir
  libdir="$(dirname "$(find "$PY_DIR/root/usr/lib" -name 'librdkafka.so.1' -print -quit)")"
  [[ -n "$libdir" && "$libdir" != . ]] || die "librdkafka.so.1 not found under $PY_DIR/root"
  echo "export PYTHONPATH=$PY_DIR/root/usr/lib/python3/dist-packages"
  echo "export LD_LIBRARY_PATH=$libdir"
}

java_deps() {
  local stamp="$JAVA_DIR/.fetched"
  exec 9>"$ANONMERGE_CACHE/.java-consumer.lock"
  flock 9
  if [[ ! -f "$stamp" || "$ROOT_DIR/examples/consumers/java/pom.xml" -nt "$stamp" ]]; then
    log "fetching kafka-clients and Apache Avro from Maven Central"
    rm -rf "$JAVA_DIR" && mkdir -p "$JAVA_DIR"
    mvn -q -B -Dstyle.color=never -f "$ROOT_DIR/examples/consumers/java/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$JAVA_DIR/libs" > "$LOG_DIR/fetch-java-consumer.log" 2>&1 \
      || die "mvn could not fetch the Java consumer's jars; see $LOG_DIR/fetch-java-consumer.log"
    touch "$stamp"
  fi
  echo "$JAVA_DIR/libs/*"
}

case "${1:-}" in
  python) python_deps ;;
  java) java_deps ;;
  *) die "usage: $0 python|java" ;;
esac
