/**
 * The control plane on the real stack (docs/design-person-operations.md): person operations
 * written to the person-ops topic, slightly out of received_at order, come out of the control
 * consumer as exactly the commands, activity and tombstones that deciding them one by one in
 * (received_at, id) order gives (R2a–f, R3, R9, R10) — each command on the commands partition of
 * the number of the events it concerns, every commands partition carrying the clock — once, across a restart of
 * the consumer in the middle.
 */
import Redis from 'ioredis';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { toWire, type InboundRecord } from '../../../services/shared/model/inbound';
import { processControlBatch } from '../../../services/merger/control/controlBatch';
import { emptyReorderBuffer } from '../../../services/merger/ordered/reorderBuffer';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { startControlConsumer, type RunningControlConsumer } from '../../../services/merger/control/controlConsumer';
import { ControlStore } from '../../../services/merger/redis/controlStore';
import { KeySpace } from '../../../services/merger/redis/keys';
import { defineMergerCommands } from '../../../services/merger/redis/scripts';
import { appendOnTime, canonical, commandsPerTarget, eventsPartition, expectedControlOutputs, personOperationsFrom, readControlOutputs } from '../../support/controlPlane';
import { deleteRedisPrefix } from '../../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

const PARTITIONS = 3;
// Larger than the jitter (100 ms) by more than a loaded machine delays a timer: the test appends
// each record on time, as ingest does, and no record may arrive later than the bound.
const REORDER_MS = 1000;
const JITTER_MS = 100;

describe('the control plane', () => {
  const kafka: Kafka = testKafka();
  const topics = isolatedTopics('control-plane', PARTITIONS);
  const prefix = uniqueName('control-plane');
  const groupId = uniqueName('control-plane-group');
  const redis = defineMergerCommands(new Redis(config.redis.url));
  let catalog: SchemaCatalog;
  let producer: Producer;

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await deleteRedisPrefix(prefix);
    await redis.quit();
    await deleteTopics(kafka, topics);
  });

  const start = async (): Promise<RunningControlConsumer> => {
    const admin = kafka.admin();
    await admin.connect();
    const running = await startControlConsumer({
      kafka,
      admin,
      catalog,
      store: new ControlStore(redis, new KeySpace(prefix)),
      logger: testLogger,
      groupId,
      personOpsTopic: topics.personOps,
      commandsTopic: topics.commands,
      reorderMs: REORDER_MS,
      tickIntervalMs: 50,
      partitionsConcurrently: 3,
      sessionTimeoutMs: 6000,
      metadataMaxAgeMs: 5000,
    });
    return { ...running, close: async () => (await running.close(), await admin.disconnect()) };
  };

  it('R2a-f R3 R9 R10: decides person operations in (received_at, id) order, once, across a restart', async () => {
    const operations = personOperationsFrom(Date.now() + 1000, 6, 20);
    const expected = expectedControlOutputs(operations);
    expect(operations.length).toBeGreaterThan(40);
    expect(expected.commands.length).toBeGreaterThan(5);

    // Appended on time whatever the consumer is doing; it is restarted half-way.
    const writing = appendOnTime(producer, catalog, topics, operations, JITTER_MS);
    let control = await start();
    const stamps = operations.map((r) => r.received_at);
    const middle = (Math.min(...stamps) + Math.max(...stamps)) / 2;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, middle - Date.now())));
    await control.close();
    control = await start();
    await writing;
    const got = await readControlOutputs(kafka, catalog, topics, Math.max(...stamps));
    await control.close();

    expect(got.commands.map((c) => JSON.stringify(c)).sort()).toEqual(expected.commands.map((c) => JSON.stringify(c)).sort());
    expect(got.activity.map(canonical).sort()).toEqual(expected.activity.map(canonical).sort());
    expect(got.tombstones.sort()).toEqual(expected.tombstones.sort());
    for (const command of got.commands) expect(got.partitionOf.get(command)).toBe(eventsPartition(command, PARTITIONS));
    expect(commandsPerTarget(got.commands)).toEqual(commandsPerTarget(expected.commands));
  });

  it('R7: operations stored in Redis by a consumer that died before its transaction are sent by the next, once', async () => {
    // One workspace: all its operations on one person-ops partition, offsets from 0.
    const crashTopics = isolatedTopics('control-crash-window', PARTITIONS);
    await withAdmin(kafka, (admin) => ensureTopics(admin, crashTopics, testLogger));
    const crashCatalog = await SchemaCatalog.open(config.registry, crashTopics, testLogger);
    const operations = personOperationsFrom(Date.now() - 60_000, 1, 1, 7).map((r) => ({ ...r, workspace_id: 'crashws' }));
    const last = Math.max(...operations.map((r) => r.received_at));
    const tick: InboundRecord = { workspace_id: '', id: 'tick-end', received_at: last + 2 * REORDER_MS, settings: { merge_enabled: false, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 }, command: { kind: 'tick', body: {} } };
    const log = [...operations.sort((a, b) => a.received_at - b.received_at), tick];
    await producer.send({ topic: crashTopics.personOps, acks: -1, messages: log.map((r) => ({ key: 'crashws', value: crashCatalog.encode('personOps', toWire(r)) })) });
    const expected = expectedControlOutputs(operations);
    expect(expected.commands.length).toBeGreaterThan(3);

    // The first consumer decides the whole partition and stores it in Redis, then dies before
    // its transaction: nothing of it reaches Kafka.
    const store = new ControlStore(redis, new KeySpace(prefix));
    const messages = log.map((r, offset) => ({ key: Buffer.from('crashws'), value: crashCatalog.encode('personOps', toWire(r)), offset: String(offset), timestamp: String(Date.now()), attributes: 0, headers: {} }) as unknown as KafkaMessage);
    const lease = { partition: 0, buffer: emptyReorderBuffer(), published: Number.NEGATIVE_INFINITY, clock: Number.NEGATIVE_INFINITY, heldBack: null };
    const crashed = await processControlBatch(lease, crashTopics.personOps, messages, { store, catalog: crashCatalog, logger: testLogger, reorderMs: REORDER_MS, commandsPartitions: () => PARTITIONS });
    expect(crashed.tally.released).toBe(operations.length);

    // The next consumer reads them again: all replays, sent from the outbox.
    const admin = kafka.admin();
    await admin.connect();
    const next = await startControlConsumer({ kafka, admin, catalog: crashCatalog, store, logger: testLogger, groupId: uniqueName('control-crash-window-group'), personOpsTopic: crashTopics.personOps, commandsTopic: crashTopics.commands, reorderMs: REORDER_MS, tickIntervalMs: 50, partitionsConcurrently: 3, sessionTimeoutMs: 6000, metadataMaxAgeMs: 5000 });
    try {
      const got = await readControlOutputs(kafka, crashCatalog, crashTopics, last);
      expect(next.totals.resent).toBe(operations.length);
      expect(got.commands.map((c) => JSON.stringify(c)).sort()).toEqual(expected.commands.map((c) => JSON.stringify(c)).sort());
      expect(got.activity.map(canonical).sort()).toEqual(expected.activity.map(canonical).sort());
      expect(got.tombstones.sort()).toEqual(expected.tombstones.sort());
    } finally {
      await next.close();
      await admin.disconnect();
      await deleteTopics(kafka, crashTopics);
    }
  });
});
