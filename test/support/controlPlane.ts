/**
 * For tests of the control plane on the real stack: person operations stamped from now, appended
 * on time as ingest would, what deciding them one by one gives, and what the control plane wrote
 * (commands and clocks on the commands topic, activity, tombstones).
 */
import fc from 'fast-check';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { TopicConfig } from '../../services/shared/config';
import { fromWire, toWire, type InboundRecord, type InboundRecordWire } from '../../services/shared/model/inbound';
import { anonymousKey, personRecordKey } from '../../services/shared/model/keys';
import type { Activity } from '../../services/shared/model/outbound';
import { canonicalJson, compareRecords } from '../../services/shared/model/recordOrder';
import { decodeOrderEntries } from '../../services/merger/order/orderRecords';
import { commandOf } from '../../services/merger/ordered/commandRecords';
import { commandTarget, type DataCommand } from '../../services/merger/ordered/commands';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../services/merger/ordered/controlPlane';
import { toRecords, workload } from './personOpsWorkload';
import { uniqueName } from './stack';

/**
 * Person operations of `workspaces` random workloads (40 steps each, a fixed sample), one
 * workspace each, stamped from `start` with their gaps divided by `compress`.
 */
export function personOperationsFrom(start: number, workspaces: number, compress: number, seed = 20261129): InboundRecord[] {
  const steps = fc.sample(workload, { seed, numRuns: 40 * workspaces }).flat();
  return Array.from({ length: workspaces }, (_, w) => steps.slice(w * 40, w * 40 + 40)).flatMap((sample, w) => {
    const records = toRecords(sample).filter(isPersonOperation);
    const first = records[0]?.received_at ?? 0;
    return records.map((r) => ({ ...r, workspace_id: `cw${w}`, received_at: Math.round(start + (r.received_at - first) / compress) }));
  });
}

export interface ControlOutputs {
  readonly commands: DataCommand[];
  readonly activity: Activity[];
  readonly tombstones: string[];
}

/** What deciding the operations one by one in (received_at, id) order gives. */
export function expectedControlOutputs(operations: readonly InboundRecord[]): ControlOutputs {
  const states = new Map<string, ControlState>();
  const outputs: ControlOutputs = { commands: [], activity: [], tombstones: [] };
  for (const record of [...operations].sort(compareRecords)) {
    let state = states.get(record.workspace_id);
    if (!state) states.set(record.workspace_id, (state = emptyControlState()));
    const decision = decidePersonOperation(state, record);
    outputs.commands.push(...decision.commands);
    for (const output of decision.outputs) {
      if (output.stream === 'activity') outputs.activity.push(output.value as Activity);
      else if (output.value === null) outputs.tombstones.push(output.key);
    }
  }
  return outputs;
}

/** Appends each operation at about its received_at (plus a jitter below `jitterMs`), as ingest would. */
export async function appendOnTime(producer: Producer, catalog: SchemaCatalog, topics: TopicConfig, operations: readonly InboundRecord[], jitterMs: number): Promise<void> {
  const order = operations.map((record, i) => ({ record, appendAt: record.received_at + ((i * 37) % jitterMs) })).sort((a, b) => a.appendAt - b.appendAt);
  for (let i = 0; i < order.length; ) {
    const due: InboundRecord[] = [];
    while (i < order.length && (order[i] as { appendAt: number }).appendAt <= Date.now()) due.push((order[i++] as { record: InboundRecord }).record);
    if (due.length > 0) await producer.send({ topic: topics.personOps, acks: -1, messages: due.map((r) => ({ key: r.workspace_id, value: catalog.encode('personOps', toWire(r)) })) });
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reads (read_committed) what the control plane wrote, until every commands partition's clock passed `until`. */
/**
 * `tombstones`: how many deletion tombstones to wait for besides — they are held until every data
 * partition has published past their deletion, which comes after the control clocks.
 */
export async function readControlOutputs(kafka: Kafka, catalog: SchemaCatalog, topics: TopicConfig, until: number, timeoutMs = 90_000, tombstones = 0): Promise<ControlOutputs & { partitionOf: Map<DataCommand, number> }> {
  const got = { commands: [] as DataCommand[], activity: [] as Activity[], tombstones: [] as string[], partitionOf: new Map<DataCommand, number>() };
  const clocks = new Map<number, number>();
  const reader = kafka.consumer({ groupId: uniqueName('control-reader'), readUncommitted: false, maxWaitTimeInMs: 100 });
  await reader.connect();
  // The control plane alone: its tombstones are read where it sends them, the order stage's topic.
  await reader.subscribe({ topics: [topics.commands, topics.activity, topics.personOrder], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (topic === topics.personOrder) {
        for (const entry of await decodeOrderEntries(catalog, message.key, message.value)) {
          if (entry.kind === 'output') for (const value of entry.output.values) if (value === null) got.tombstones.push(entry.output.key);
        }
        return;
      }
      if (topic === topics.activity) {
        got.activity.push(await catalog.decode<Activity>('activity', message.value as Buffer));
        return;
      }
      const record = fromWire(await catalog.decode<InboundRecordWire>('commands', message.value as Buffer));
      const command = commandOf(record);
      if (command) {
        got.commands.push(command);
        got.partitionOf.set(command, partition);
      } else if (record.command.kind === 'clock') clocks.set(partition, Math.max(clocks.get(partition) ?? 0, record.received_at));
    },
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(clocks.size === topics.partitions && [...clocks.values()].every((clock) => clock >= until) && got.tombstones.length >= tombstones)) {
      if (Date.now() > deadline) throw new Error(`timed out: ${got.commands.length} commands, ${got.tombstones.length}/${tombstones} tombstones; clocks ${JSON.stringify([...clocks])}, waiting for ${until}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Whatever was committed with those clocks is in by now; a little more for the other topics.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await reader.disconnect();
  }
  return got;
}

/** Key order aside (Avro decoding builds its own objects). */
export const canonical = (value: unknown): string => canonicalJson(value);

/** Commands per workspace and target, in the order given. */
export function commandsPerTarget(commands: readonly DataCommand[]): Map<string, string[]> {
  const byTarget = new Map<string, string[]>();
  for (const c of commands) {
    const key = `${c.workspace} ${JSON.stringify(commandTarget(c))}`;
    byTarget.set(key, [...(byTarget.get(key) ?? []), JSON.stringify(c)]);
  }
  return byTarget;
}

// kafkajs' default partitioner: the partition ingest's producer picks for a key.
const partitioner = Partitioners.DefaultPartitioner();

/** The partition number of the events a command concerns (inbound and commands alike). */
export function eventsPartition(command: DataCommand, partitions: number): number {
  const target = commandTarget(command);
  const key = target.kind === 'anonymous' ? anonymousKey(command.workspace, target.anonymousId) : personRecordKey(command.workspace, target.person);
  return partitioner({ topic: 't', partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })), message: { key, value: null } });
}
