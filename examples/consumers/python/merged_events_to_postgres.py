#!/usr/bin/python3
"""A sink of anonmerge's merged events into PostgreSQL, as most downstream teams write first
(docs/consuming.md, "A sink: PostgreSQL"), with Debian's python3-confluent-kafka, python3-avro
and python3-psycopg2.

  BOOTSTRAP_SERVERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
  PG_DSN='host=127.0.0.1 dbname=test user=postgres' GROUP_ID=crm-sync \
  python3 examples/consumers/python/merged_events_to_postgres.py

One table row per event of a person, exactly once however often the sink restarts:
- the Kafka positions are stored in PostgreSQL, in the same transaction as the rows they
  produced, and read back when partitions are assigned (Kafka's committed offsets are not used),
  so a crash between the two can never apply a record twice or skip one; the insert is also
  idempotent on (workspace_id, event_id), the stream's de-duplication id;
- a tombstone (null value) on merged-events deletes the person's rows (SPEC R10), and the
  PERSON_DELETED activity's time drops any event of the person associated before it that is read
  later (one of a person merged into it, from another partition);
- a PEOPLE_MERGED activity folds the secondary's rows into the primary, and remembers it (with
  its time), so an older event of the secondary read later lands on the primary too — merged-events
  and activity are different topics, not ordered with each other; a merge stops holding once
  either side is deleted (a later record naming the secondary is a new person).

TOPIC_PREFIX (default anonmerge) and PG_SCHEMA (default anonmerge_sink) name what it reads and
writes; EXIT_WHEN_IDLE_MS stops it after that long without a record (tests).
"""
import datetime
import json
import os
import signal
import time

import psycopg2
from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.avro import CachedSchemaRegistryClient
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def millis(value):
    """python3-avro gives timestamp-millis fields as datetimes."""
    return (value - EPOCH) // datetime.timedelta(milliseconds=1) if isinstance(value, datetime.datetime) else value


def person_key(workspace_id, person):
    """The key the merger writes a person's records under: <workspace>/p/<id type>:<value>."""
    return f"{workspace_id}/p/{person['id_type'].lower()}:{person['value']}"


def create_tables(db, schema):
    with db.cursor() as cur:
        cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        cur.execute(f'''CREATE TABLE IF NOT EXISTS "{schema}".person_events (
            workspace_id text NOT NULL,
            event_id text NOT NULL,
            person_key text NOT NULL,
            name text NOT NULL,
            type text NOT NULL,
            event_timestamp bigint NOT NULL,
            data jsonb NOT NULL,
            received_at bigint NOT NULL,
            associated_at bigint NOT NULL,
            previously_anonymous boolean NOT NULL,
            anonymous_id text,
            PRIMARY KEY (workspace_id, event_id))''')
        cur.execute(f'CREATE INDEX IF NOT EXISTS person_events_person ON "{schema}".person_events (person_key)')
        # secondary → primary from PEOPLE_MERGED, with when (the merge's received_at).
        cur.execute(f'''CREATE TABLE IF NOT EXISTS "{schema}".merged_people (
            secondary_key text PRIMARY KEY,
            primary_key text NOT NULL,
            merged_at bigint NOT NULL)''')
        # PERSON_DELETED, with when: an event of the person associated before it is gone for good.
        cur.execute(f'''CREATE TABLE IF NOT EXISTS "{schema}".deleted_people (
            person_key text NOT NULL,
            deleted_at bigint NOT NULL,
            PRIMARY KEY (person_key, deleted_at))''')
        cur.execute(f'''CREATE TABLE IF NOT EXISTS "{schema}".kafka_positions (
            topic text NOT NULL,
            partition int NOT NULL,
            next_offset bigint NOT NULL,
            PRIMARY KEY (topic, partition))''')
    db.commit()


def deleted_between(cur, schema, key, after, until):
    """Was `key` deleted after `after` and at or before `until`?"""
    cur.execute(f'SELECT 1 FROM "{schema}".deleted_people WHERE person_key = %s AND deleted_at > %s AND deleted_at <= %s', (key, after, until))
    return cur.fetchone() is not None


def owner(cur, schema, key, at):
    """Whose an event keyed `key` and associated at `at` is: through each merge that still held then.

    A merge stops holding for later events once either side was deleted (SPEC R10: identifiers
    merged into a deleted person go with it; a later record naming one is a new person).
    """
    for _ in range(50):
        cur.execute(f'SELECT primary_key, merged_at FROM "{schema}".merged_people WHERE secondary_key = %s', (key,))
        row = cur.fetchone()
        if row is None:
            return key
        primary, merged_at = row
        if deleted_between(cur, schema, key, merged_at - 1, at) or deleted_between(cur, schema, primary, merged_at - 1, at):
            return key
        key = primary
    return key


def drop_deleted(cur, schema, key):
    """Rows of `key` associated at or before one of its deletions belong to a deleted person."""
    cur.execute(f'''DELETE FROM "{schema}".person_events e USING "{schema}".deleted_people d
                    WHERE e.person_key = %s AND d.person_key = e.person_key AND e.associated_at <= d.deleted_at''', (key,))


def apply(cur, schema, topic_kind, key, value):
    if topic_kind == "merged-events":
        if value is None:
            # R10: the person is deleted. Its rows so far go; one merged into it read later is
            # dropped by the PERSON_DELETED activity's time (the topics are not ordered together).
            cur.execute(f'DELETE FROM "{schema}".person_events WHERE person_key = %s', (key,))
            return
        associated_at = millis(value["associated_at"])
        person = owner(cur, schema, key, associated_at)
        cur.execute(
            f'''INSERT INTO "{schema}".person_events
                (workspace_id, event_id, person_key, name, type, event_timestamp, data, received_at, associated_at, previously_anonymous, anonymous_id)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (workspace_id, event_id) DO NOTHING''',
            (value["workspace_id"], value["event_id"], person, value["name"], value["type"], value["timestamp"],
             value["data_json"], millis(value["received_at"]), associated_at, value["previously_anonymous"], value["anonymous_id"]),
        )
        drop_deleted(cur, schema, person)
    elif topic_kind == "activity" and value["kind"] == "PEOPLE_MERGED":
        primary = person_key(value["workspace_id"], value["person"])
        secondary = person_key(value["workspace_id"], value["other_person"])
        at = millis(value["at"])
        cur.execute(f'''INSERT INTO "{schema}".merged_people (secondary_key, primary_key, merged_at) VALUES (%s, %s, %s)
                        ON CONFLICT (secondary_key) DO UPDATE SET primary_key = EXCLUDED.primary_key, merged_at = EXCLUDED.merged_at''', (secondary, primary, at))
        cur.execute(f'UPDATE "{schema}".person_events SET person_key = %s WHERE person_key = %s AND associated_at <= %s', (primary, secondary, at))
        drop_deleted(cur, schema, primary)
    elif topic_kind == "activity" and value["kind"] == "PERSON_DELETED":
        deleted = person_key(value["workspace_id"], value["person"])
        cur.execute(f'''INSERT INTO "{schema}".deleted_people (person_key, deleted_at) VALUES (%s, %s)
                        ON CONFLICT DO NOTHING''', (deleted, millis(value["at"])))
        drop_deleted(cur, schema, deleted)


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
    schema = env.get("PG_SCHEMA", "anonmerge_sink")
    kinds = {f"{prefix}.merged-events": "merged-events", f"{prefix}.activity": "activity"}
    db = psycopg2.connect(env.get("PG_DSN", "host=127.0.0.1 dbname=test user=postgres"), connect_timeout=10, options="-c statement_timeout=30000")
    create_tables(db, schema)
    values = MessageSerializer(registry_client(env.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7")))
    consumer = Consumer({
        "bootstrap.servers": env.get("BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "group.id": env.get("GROUP_ID", "example-postgres-sink"),
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        # Positions live in PostgreSQL, with the rows.
        "enable.auto.commit": False,
    })

    def on_assign(c, partitions):
        with db.cursor() as cur:
            for tp in partitions:
                cur.execute(f'SELECT next_offset FROM "{schema}".kafka_positions WHERE topic = %s AND partition = %s', (tp.topic, tp.partition))
                row = cur.fetchone()
                if row is not None:
                    tp.offset = row[0]
        db.rollback()
        c.assign(partitions)

    consumer.subscribe(list(kinds), on_assign=on_assign)
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    idle_ms = int(env.get("EXIT_WHEN_IDLE_MS", "0"))
    last_record_at = time.monotonic()
    applied = 0
    try:
        while running:
            messages = consumer.consume(500, 0.2)
            if not messages:
                if idle_ms and (time.monotonic() - last_record_at) * 1000 > idle_ms:
                    break
                continue
            last_record_at = time.monotonic()
            # One PostgreSQL transaction per poll: its rows and the positions after them.
            with db.cursor() as cur:
                positions = {}
                for message in messages:
                    if message.error():
                        if message.error().code() == KafkaError._PARTITION_EOF:
                            continue
                        raise RuntimeError(message.error())
                    value = None if message.value() is None else values.decode_message(message.value())
                    apply(cur, schema, kinds[message.topic()], message.key().decode("utf-8"), value)
                    applied += 1
                    positions[(message.topic(), message.partition())] = message.offset() + 1
                for (topic, partition), next_offset in positions.items():
                    cur.execute(f'''INSERT INTO "{schema}".kafka_positions (topic, partition, next_offset) VALUES (%s, %s, %s)
                                    ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset''', (topic, partition, next_offset))
            db.commit()
    finally:
        consumer.close()
        db.close()
    print(json.dumps({"applied": applied}), flush=True)


if __name__ == "__main__":
    main()
