#!/usr/bin/python3
"""A producer of anonmerge commands straight to Kafka (docs/producing.md), with Debian's
python3-confluent-kafka and python3-avro: reads one JSON line per command on stdin and writes it
to the request topic, Avro in the Confluent wire format under the schema anonmerge registered.

  BOOTSTRAP_SERVERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
  TOPIC=anonmerge.requests python3 examples/producers/python/send_requests.py < commands.jsonl

Each line: {"key": "...", "request": {...}} — the request as schemas/request.avsc has it, the
command as one of its records with every field given, e.g.
  {"key": "shop/anon-1", "request": {"workspace_id": "shop", "id": "01J...", "timestamp": null,
   "command": {"identifier": null, "anonymous_id": "anon-1", "name": "viewed", "type": "page",
               "data_json": "{}"}}}

What matters:
- the schema is looked up, not registered: ingest's bridge registered it (subject
  <topic>-value); a producer writes with the id of the latest version;
- every command has an id of its own (a ULID, say): a producer that crashes and sends again
  repeats ids, and anonmerge applies each id once. Ids that sort by time keep this producer's
  order among commands the bridge stamps in one millisecond;
- one key for the commands whose order matters (a user's anonymous id and person): Kafka keeps
  order within a partition only;
- acks=all, and an idempotent producer (IDEMPOTENT=1, the default) so that librdkafka's own
  retries make no second copy.

CRASH_AFTER=N (tests): after N records are acknowledged, produce a few more and kill the process
with SIGKILL before they are flushed — a producer dying mid-batch.
"""
import json
import os
import signal
import sys

from confluent_kafka import Producer
from confluent_kafka.avro import CachedSchemaRegistryClient
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def main():
    topic = os.environ.get("TOPIC", "anonmerge.requests")
    registry = CachedSchemaRegistryClient({"url": os.environ.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7")})
    schema_id, _schema, _version = registry.get_latest_schema(f"{topic}-value")
    if schema_id is None:
        sys.exit(f"no schema under {topic}-value: start ingest with ANONMERGE_INGEST_BRIDGE=true first")
    serializer = MessageSerializer(registry)
    producer = Producer({
        "bootstrap.servers": os.environ.get("BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "acks": "all",
        "enable.idempotence": os.environ.get("IDEMPOTENT", "1") == "1",
        "linger.ms": 5,
    })
    crash_after = int(os.environ.get("CRASH_AFTER", "0"))
    failures = []

    def delivered(error, _message):
        if error is not None:
            failures.append(str(error))

    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        value = serializer.encode_record_with_schema_id(schema_id, item["request"])
        producer.produce(topic, key=item["key"].encode("utf-8"), value=value, on_delivery=delivered)
        producer.poll(0)
        if crash_after and number == crash_after:
            producer.flush(10)
        if crash_after and number == crash_after + 5:
            # Five records handed to librdkafka, not yet acknowledged: some may have been sent.
            os.kill(os.getpid(), signal.SIGKILL)
    remaining = producer.flush(30)
    if remaining or failures:
        sys.exit(f"not delivered: {remaining} unflushed, failures: {failures[:3]}")


if __name__ == "__main__":
    main()
