#!/usr/bin/python3
"""A downstream consumer of anonmerge's outbound streams in Python, with Debian's
python3-confluent-kafka (docs/consuming.md): one JSON line per record on stdout —
{"topic","partition","offset","key","value"} — value null for a person's tombstone.

  BOOTSTRAP_SERVERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
  GROUP_ID=my-app python3 examples/consumers/python/print_outbound.py

What matters, and what Confluent's AvroConsumer gets wrong here:
- keys are plain UTF-8 strings, not Avro ("<workspace>/p/<id type>:<value>" for a person):
  AvroConsumer decodes keys too and fails on every record ("message does not start with magic
  byte"), so values are decoded by hand with the registry's MessageSerializer and keys read as text;
- isolation.level=read_committed (librdkafka's default, said explicitly): the merger writes in
  transactions, and an aborted one must never be seen;
- a tombstone (null value) on merged-events is the person's deletion (SPEC R10);
- offsets are committed after a record is handled (enable.auto.offset.store=false + store).

TOPIC_PREFIX (default anonmerge) and STREAMS (default merged-events,campaign-triggers,activity,
anonymous-events) choose what it reads; EXIT_WHEN_IDLE_MS stops it after that long without a
record (tests), otherwise it runs until SIGINT/SIGTERM.
"""
import datetime
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.avro import CachedSchemaRegistryClient
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def as_json(value):
    """python3-avro turns timestamp-millis fields (received_at, associated_at, at) into datetimes: back to ms."""
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def registry_client(url):
    """The registry client of confluent_kafka 1.7, with a timeout on each request (it sets none)."""
    client = CachedSchemaRegistryClient({"url": url})
    session = client._session
    request = session.request
    session.request = lambda method, url, **kwargs: request(method, url, timeout=kwargs.pop("timeout", 10), **kwargs)
    return client


def main():
    env = os.environ
    prefix = env.get("TOPIC_PREFIX", "anonmerge")
    streams = env.get("STREAMS", "merged-events,campaign-triggers,activity,anonymous-events").split(",")
    topics = [f"{prefix}.{stream}" for stream in streams]
    registry = registry_client(env.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7"))
    values = MessageSerializer(registry)
    consumer = Consumer({
        "bootstrap.servers": env.get("BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "group.id": env.get("GROUP_ID", "example-python-consumer"),
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "enable.auto.offset.store": False,
    })
    consumer.subscribe(topics)

    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    idle_ms = int(env.get("EXIT_WHEN_IDLE_MS", "0"))
    last_record_at = time.monotonic()
    try:
        while running:
            message = consumer.poll(0.2)
            if message is None:
                if idle_ms and (time.monotonic() - last_record_at) * 1000 > idle_ms:
                    break
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(message.error())
            last_record_at = time.monotonic()
            key = message.key().decode("utf-8") if message.key() is not None else None
            value = None if message.value() is None else values.decode_message(message.value())
            line = {"topic": message.topic(), "partition": message.partition(), "offset": message.offset(), "key": key, "value": value}
            sys.stdout.write(json.dumps(line, default=as_json) + "\n")
            sys.stdout.flush()
            consumer.store_offsets(message)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
