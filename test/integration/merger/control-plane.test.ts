/**
 * The control plane on the real stack (docs/design-person-operations.md): person operations
 * written to the person-ops topic, slightly out of received_at order, come out of the control
 * consumer as exactly the commands, activity and tombstones that deciding them one by one in
 * (received_at, id) order gives (R2a–f, R3, R9, R10) — each command on the inbound partition of
 * the events it concerns, every inbound partition carrying the clock — once, across a restart of
 * the consumer in the middle.
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { fromWire, toWire, type InboundRecord, type InboundRecordWire } from '../../../services/shared/model/inbound';
import { compareRecords, recordContentKey } from '../../../services/shared/model/recordOrder';
import type { Activity } from '../../../services/shared/model/outbound';
import { startControlConsumer, type RunningControlConsumer } from '../../../services/merger/control/controlConsumer';
import { commandOf } from '../../../services/merger/ordered/commandRecords';
import { commandTarget, type DataCommand } from '../../../services/merger/ordered/commands';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../../services/merger/ordered/controlPlane';
import { ControlStore } from '../../../services/merger/redis/controlStore';
import { KeySpace } from '../../../services/merger/redis/keys';
import { defineMergerCommands } from '../../../services/merger/redis/scripts';
import { anonymousKey, personRecordKey } from '../../../services/shared/model/keys';
import { deleteRedisPrefix } from '../../support/merger';
import { toRecords, workload } from '../../support/personOpsWorkload';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

// kafkajs' default partitioner: the partition ingest's producer picks for a key.
const partitioner = Partitioners.DefaultPartitioner();
const partitionOf = (key: string, partitions: number) =>
  partitioner({ topic: 't', partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })), message: { key, value: null } });

const PARTITIONS = 3;
// Larger than the jitter below (100 ms) by more than a loaded machine delays a timer: the test
// appends each record on time, as ingest does, and no record may arrive later than the bound.
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
      inboundTopic: topics.inbound,
      reorderMs: REORDER_MS,
      tickIntervalMs: 50,
      sessionTimeoutMs: 6000,
      metadataMaxAgeMs: 5000,
    });
    return { ...running, close: async () => (await running.close(), await admin.disconnect()) };
  };

  it('R2a-f R3 R9 R10: decides person operations in (received_at, id) order, once, across a restart', async () => {
    // Random workloads (the longer ones of a fixed sample), one workspace each, moved to now so
    // that the ticks pass them.
    const now = Date.now();
    const steps = fc.sample(workload, { seed: 20261129, numRuns: 200 }).flat();
    const samples = Array.from({ length: 6 }, (_, w) => steps.slice(w * 40, w * 40 + 40));
    const operations = samples.flatMap((steps, w) => {
      const records = toRecords(steps).filter(isPersonOperation);
      const first = records[0]?.received_at ?? 0;
      return records.map((r) => ({ ...r, workspace_id: `cw${w}`, received_at: now + 1000 + (r.received_at - first) / 20 }));
    }).map((r) => ({ ...r, received_at: Math.round(r.received_at) }));
    expect(operations.length).toBeGreaterThan(40);

    // What deciding them one by one gives.
    const states = new Map<string, ControlState>();
    const expectedCommands: DataCommand[] = [];
    const expectedActivity: Activity[] = [];
    const expectedTombstones: string[] = [];
    for (const record of [...operations].sort(compareRecords)) {
      let state = states.get(record.workspace_id);
      if (!state) states.set(record.workspace_id, (state = emptyControlState()));
      const decision = decidePersonOperation(state, record);
      expectedCommands.push(...decision.commands);
      for (const output of decision.outputs) {
        if (output.stream === 'activity') expectedActivity.push(output.value as Activity);
        else if (output.value === null) expectedTombstones.push(output.key);
      }
    }
    expect(expectedCommands.length).toBeGreaterThan(5);

    // Appended as ingest would: each at about its received_at, within the jitter, on time
    // whatever the consumer is doing (it is restarted half-way).
    const appendOrder = operations.map((record, i) => ({ record, appendAt: record.received_at + ((i * 37) % JITTER_MS) })).sort((a, b) => a.appendAt - b.appendAt);
    const writing = (async () => {
      for (let i = 0; i < appendOrder.length; ) {
        const due: InboundRecord[] = [];
        while (i < appendOrder.length && (appendOrder[i] as { appendAt: number }).appendAt <= Date.now()) due.push((appendOrder[i++] as { record: InboundRecord }).record);
        if (due.length > 0) await producer.send({ topic: topics.personOps, acks: -1, messages: due.map((r) => ({ key: r.workspace_id, value: catalog.encode('personOps', toWire(r)) })) });
        else await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    let control = await start();
    const middle = ((appendOrder[0]?.appendAt ?? now) + (appendOrder[appendOrder.length - 1]?.appendAt ?? now)) / 2;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, middle - Date.now())));
    await control.close();
    control = await start();
    await writing;

    // Read what it wrote: commands and clocks on inbound, activity, tombstones.
    const commands: Array<{ partition: number; command: DataCommand }> = [];
    const clocks = new Map<number, number>();
    const activity: Activity[] = [];
    const tombstones: string[] = [];
    const reader = kafka.consumer({ groupId: uniqueName('control-plane-reader'), readUncommitted: false, maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topics: [topics.inbound, topics.activity, topics.mergedEvents], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ topic, partition, message }) => {
        if (topic === topics.mergedEvents) {
          if (message.value === null) tombstones.push(message.key?.toString() ?? '');
          return;
        }
        if (topic === topics.activity) {
          activity.push(await catalog.decode<Activity>('activity', message.value as Buffer));
          return;
        }
        const record = fromWire(await catalog.decode<InboundRecordWire>('inbound', message.value as Buffer));
        const command = commandOf(record);
        if (command) commands.push({ partition, command });
        else if (record.command.kind === 'clock') clocks.set(partition, Math.max(clocks.get(partition) ?? 0, record.received_at));
      },
    });
    const last = Math.max(...operations.map((r) => r.received_at));
    const deadline = Date.now() + 60_000;
    while (!(commands.length >= expectedCommands.length && [...Array(PARTITIONS).keys()].every((p) => (clocks.get(p) ?? 0) >= last))) {
      if (Date.now() > deadline) throw new Error(`timed out: ${commands.length}/${expectedCommands.length} commands, clocks ${JSON.stringify([...clocks])}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await reader.disconnect();
    await control.close();

    // Key order aside (Avro decoding builds its own objects).
    const canonical = (value: unknown) => recordContentKey(value as InboundRecord);
    expect(commands.map((c) => JSON.stringify(c.command)).sort()).toEqual(expectedCommands.map((c) => JSON.stringify(c)).sort());
    expect(activity.map(canonical).sort()).toEqual(expectedActivity.map(canonical).sort());
    expect(tombstones.sort()).toEqual(expectedTombstones.sort());
    // Each command on its events' partition, in the decision order per target.
    for (const { partition, command } of commands) {
      const target = commandTarget(command);
      const key = target.kind === 'anonymous' ? anonymousKey(command.workspace, target.anonymousId) : personRecordKey(command.workspace, target.person);
      expect(partition).toBe(partitionOf(key, PARTITIONS));
    }
    const perTarget = (list: DataCommand[]) => {
      const byTarget = new Map<string, string[]>();
      for (const c of list) {
        const key = `${c.workspace} ${JSON.stringify(commandTarget(c))}`;
        byTarget.set(key, [...(byTarget.get(key) ?? []), JSON.stringify(c)]);
      }
      return byTarget;
    };
    expect(perTarget(commands.map((c) => c.command))).toEqual(perTarget(expectedCommands));
  });
});
