/**
 * The two-plane design (docs/design-person-operations.md) run in memory, with the decision cores
 * the merger uses and everything else simulated: partitioned logs appended slightly out of
 * received_at order (less than the reorder bound L), consumers that read random batch sizes and
 * take turns in a random order, crashes that lose everything not committed, and re-reads that
 * skip what was applied. What it emits must equal the reference model's outputs.
 *
 * A step of a consumer is atomic (its state, outputs, commands and progress commit together), as
 * a Kafka transaction with the Redis step that records progress is in the real merger.
 */
import type { InboundRecord } from '../../services/shared/model/inbound';
import { inboundKey } from '../../services/shared/model/keys';
import { compareRecords } from '../../services/shared/model/recordOrder';
import { commandTarget, type DataCommand } from '../../services/merger/ordered/commands';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../services/merger/ordered/controlPlane';
import { applyItem, compareItems, emptyDataState, passTime, type DataEntity, type DataEntityState, type DataItem } from '../../services/merger/ordered/dataPlane';
import type { Output } from '../../services/merger/model/outputs';
import { anonymousKey, personRecordKey } from '../../services/shared/model/keys';

export interface SimulationOptions {
  readonly controlPartitions: number;
  readonly dataPartitions: number;
  /** The reorder bound: a partition's log runs less than this behind received_at order. */
  readonly reorderMs: number;
  /** Every partition ends with a tick at this received_at (past every window end). */
  readonly horizon: number;
  readonly random: () => number;
  /** Chance that a step crashes its consumer before committing. */
  readonly crashRate: number;
}

export interface SimulationResult {
  readonly outputs: Output[];
  readonly steps: number;
  readonly crashes: number;
}

type LogEntry = { readonly record: InboundRecord } | { readonly tick: number };

const timeOf = (entry: LogEntry) => ('tick' in entry ? entry.tick : entry.record.received_at);

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function entityOf(record: InboundRecord): DataEntity {
  if (record.command.kind !== 'track') throw new Error('not an event');
  const body = record.command.body;
  if (body.anonymous_id !== null) return { kind: 'anonymous', workspace: record.workspace_id, anonymousId: body.anonymous_id };
  if (body.person !== null) return { kind: 'person', workspace: record.workspace_id, person: body.person };
  return { kind: 'invites', workspace: record.workspace_id };
}

function entityKey(entity: DataEntity): string {
  switch (entity.kind) {
    case 'anonymous':
      return anonymousKey(entity.workspace, entity.anonymousId);
    case 'person':
      return personRecordKey(entity.workspace, entity.person);
    case 'invites':
      return `${entity.workspace}/i`;
  }
}

function commandEntity(command: DataCommand): DataEntity {
  const target = commandTarget(command);
  return target.kind === 'anonymous' ? { kind: 'anonymous', workspace: command.workspace, anonymousId: target.anonymousId } : { kind: 'person', workspace: command.workspace, person: target.person };
}

/** A log appended in received_at order, each record delayed by less than the bound. */
function appendSkewed(records: readonly InboundRecord[], options: SimulationOptions): LogEntry[] {
  const delayed = records.map((record) => ({ record, appendAt: record.received_at + Math.floor(options.random() * options.reorderMs) }));
  delayed.sort((a, b) => a.appendAt - b.appendAt);
  return [...delayed.map(({ record }) => ({ record })), { tick: options.horizon + options.reorderMs }];
}

interface ControlConsumer {
  readonly log: LogEntry[];
  /** How far it has read (in memory: a crash goes back to the committed position). */
  readTo: number;
  /** Committed: the first log index not applied; indices applied past it; the clock; the state. */
  committed: { next: number; applied: Set<number>; clock: number; states: Map<string, ControlState> };
}

interface DataConsumer {
  readonly partition: number;
  readonly log: LogEntry[];
  /** How far it has read (in memory: a crash goes back to the committed position). */
  readTo: number;
  committed: {
    next: number;
    applied: Set<number>;
    commandsNext: number;
    appliedCommands: Set<number>;
    states: Map<string, { readonly entity: DataEntity; readonly state: DataEntityState }>;
    clock: number;
  };
}

export function simulateOrderedMerger(records: readonly InboundRecord[], options: SimulationOptions): SimulationResult {
  const controlOf = (workspace: string) => hash(workspace) % options.controlPartitions;
  const dataOf = (key: string) => hash(key) % options.dataPartitions;

  const controlLogs = Array.from({ length: options.controlPartitions }, (_, c) => appendSkewed(records.filter((r) => isPersonOperation(r) && controlOf(r.workspace_id) === c), options));
  const dataLogs = Array.from({ length: options.dataPartitions }, (_, d) => appendSkewed(records.filter((r) => r.command.kind === 'track' && dataOf(inboundKey(r as never)) === d), options));
  const commandLogs: DataCommand[][] = Array.from({ length: options.dataPartitions }, () => []);
  const outputs: Output[] = [];

  const controls: ControlConsumer[] = controlLogs.map((log) => ({ log, readTo: 0, committed: { next: 0, applied: new Set(), clock: Number.NEGATIVE_INFINITY, states: new Map() } }));
  const datas: DataConsumer[] = dataLogs.map((log, partition) => ({ partition, log, readTo: 0, committed: { next: 0, applied: new Set(), commandsNext: 0, appliedCommands: new Set(), states: new Map(), clock: Number.NEGATIVE_INFINITY } }));

  const clone = <T>(value: T): T => structuredClone(value);
  let steps = 0;
  let crashes = 0;

  /** A crash before the commit loses the step: the consumer reads again from its committed position. */
  const crashedBeforeCommit = (consumer: { readTo: number; committed: { next: number } }): boolean => {
    if (options.random() >= options.crashRate) return false;
    crashes += 1;
    consumer.readTo = consumer.committed.next;
    return true;
  };

  /** Reads up to `batch` entries past the committed position; applies what the reorder bound allows. */
  const stepControl = (consumer: ControlConsumer, batch: number): boolean => {
    const work = clone(consumer.committed);
    // A consumer reads on whatever it could apply: what waits is held in memory.
    const readUpTo = Math.min(consumer.log.length, Math.max(consumer.readTo, work.next) + batch);
    consumer.readTo = readUpTo;
    let highWater = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < readUpTo; i += 1) highWater = Math.max(highWater, timeOf(consumer.log[i] as LogEntry));
    // Unread entries were appended after the read ones, so they are received after highWater − L.
    const frontier = readUpTo === consumer.log.length ? Number.POSITIVE_INFINITY : highWater - options.reorderMs;
    const ready: Array<{ index: number; record: InboundRecord }> = [];
    for (let i = work.next; i < readUpTo; i += 1) {
      const entry = consumer.log[i] as LogEntry;
      if (work.applied.has(i)) continue;
      if ('tick' in entry) {
        if (entry.tick <= frontier) work.applied.add(i);
      } else if (entry.record.received_at <= frontier) ready.push({ index: i, record: entry.record });
    }
    ready.sort((a, b) => compareRecords(a.record, b.record));
    const produced: Output[] = [];
    const commands: DataCommand[] = [];
    for (const { index, record } of ready) {
      let state = work.states.get(record.workspace_id);
      if (!state) work.states.set(record.workspace_id, (state = emptyControlState()));
      const decision = decidePersonOperation(state, record);
      produced.push(...decision.outputs);
      commands.push(...decision.commands);
      work.applied.add(index);
    }
    while (work.applied.has(work.next)) work.applied.delete(work.next++);
    // The clock: every person operation received at or before it has been decided.
    const clock = frontier === Number.POSITIVE_INFINITY ? options.horizon + options.reorderMs : frontier;
    work.clock = Math.max(work.clock, clock);
    if (crashedBeforeCommit(consumer)) return false;
    consumer.committed = work;
    outputs.push(...produced);
    for (const command of commands) commandLogs[dataOf(entityKey(commandEntity(command)))]?.push(command);
    return true;
  };

  const stepData = (consumer: DataConsumer, batch: number): boolean => {
    const work = clone(consumer.committed);
    // The control clocks first, then the commands: every command below a clock is in the log.
    const clocks = controls.map((c) => c.committed.clock);
    const commandLog = commandLogs[consumer.partition] as DataCommand[];
    const commandsEnd = commandLog.length;
    const readUpTo = Math.min(consumer.log.length, Math.max(consumer.readTo, work.next) + batch);
    consumer.readTo = readUpTo;
    let highWater = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < readUpTo; i += 1) highWater = Math.max(highWater, timeOf(consumer.log[i] as LogEntry));
    const ownFrontier = readUpTo === consumer.log.length ? options.horizon + options.reorderMs : highWater - options.reorderMs;
    const frontierOf = (workspace: string) => Math.min(ownFrontier, clocks[controlOf(workspace)] as number);

    const ready: Array<{ item: DataItem; index: number; command: boolean }> = [];
    for (let i = work.next; i < readUpTo; i += 1) {
      const entry = consumer.log[i] as LogEntry;
      if (work.applied.has(i)) continue;
      if ('tick' in entry) {
        if (entry.tick <= ownFrontier) work.applied.add(i);
      } else if (entry.record.received_at <= frontierOf(entry.record.workspace_id)) ready.push({ item: { kind: 'event', record: entry.record }, index: i, command: false });
    }
    for (let i = work.commandsNext; i < commandsEnd; i += 1) {
      const command = commandLog[i] as DataCommand;
      if (!work.appliedCommands.has(i) && command.at <= frontierOf(command.workspace)) ready.push({ item: { kind: 'command', command }, index: i, command: true });
    }
    ready.sort((a, b) => compareItems(a.item, b.item));
    const produced: Output[] = [];
    for (const { item, index, command } of ready) {
      const entity = item.kind === 'event' ? entityOf(item.record) : commandEntity(item.command);
      const key = entityKey(entity);
      let entry = work.states.get(key);
      if (!entry) work.states.set(key, (entry = { entity, state: emptyDataState() }));
      produced.push(...applyItem(entity, entry.state, item));
      (command ? work.appliedCommands : work.applied).add(index);
    }
    while (work.applied.has(work.next)) work.applied.delete(work.next++);
    while (work.appliedCommands.has(work.commandsNext)) work.appliedCommands.delete(work.commandsNext++);
    // Windows end when the partition's clock passes them: every item before it is applied.
    work.clock = Math.max(work.clock, Math.min(ownFrontier, ...clocks));
    for (const { entity, state } of work.states.values()) produced.push(...passTime(entity, state, work.clock));
    if (crashedBeforeCommit(consumer)) return false;
    consumer.committed = work;
    outputs.push(...produced);
    return true;
  };

  // Done when every log is consumed and every partition's clock has passed the horizon (in a real
  // deployment ticks keep the clocks moving; here the final ticks do).
  const end = options.horizon + options.reorderMs;
  const done = () =>
    controls.every((c) => c.committed.next >= c.log.length) &&
    datas.every((d) => d.committed.next >= d.log.length && d.committed.commandsNext >= (commandLogs[d.partition]?.length ?? 0) && d.committed.clock >= end);
  for (let guard = 0; !done(); guard += 1) {
    if (guard > 100_000) throw new Error(`the simulation made no progress: ${JSON.stringify({ controls: controls.map((c) => ({ len: c.log.length, next: c.committed.next, clock: c.committed.clock, applied: [...c.committed.applied] })), datas: datas.map((d) => ({ len: d.log.length, next: d.committed.next, clock: d.committed.clock, commandsNext: d.committed.commandsNext, commands: commandLogs[d.partition]?.length })), end })}`);
    steps += 1;
    const batch = 1 + Math.floor(options.random() * 8);
    const pick = Math.floor(options.random() * (controls.length + datas.length));
    if (pick < controls.length) stepControl(controls[pick] as ControlConsumer, batch);
    else stepData(datas[pick - controls.length] as DataConsumer, batch);
  }
  return { outputs, steps, crashes };
}
