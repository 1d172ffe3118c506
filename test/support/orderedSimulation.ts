/**
 * The two-plane design (docs/design-person-operations.md) run in memory, with the decision cores
 * the merger uses and everything else simulated: a wall clock that appends records to partitioned
 * logs slightly out of received_at order (less than the reorder bound L), quiet control partitions
 * ticked, consumers that read random batch sizes and take turns in a random order, crashes that
 * lose everything not committed, and re-reads that skip what was applied. What it emits must equal
 * the reference model's outputs.
 *
 * As in the merger, the control plane's commands and its clock travel in the inbound log itself:
 * each control step appends its commands to the partition of the id they concern, then its clock
 * to every inbound partition, so a data consumer learns from its own log that every command (and,
 * by the bound, every event) received at or before the clock is in front of it.
 *
 * A step of a consumer is atomic (its state, outputs, appended records and progress commit
 * together), as a Kafka transaction with the Redis step that records progress is in the merger.
 */
import type { InboundRecord } from '../../services/shared/model/inbound';
import { inboundKey } from '../../services/shared/model/keys';
import { compareRecords, compareStamps } from '../../services/shared/model/recordOrder';
import { commandTarget, type DataCommand } from '../../services/merger/ordered/commands';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../services/merger/ordered/controlPlane';
import { applyItem, emptyDataState, itemStamp, passTime, type DataEntity, type DataEntityState } from '../../services/merger/ordered/dataPlane';
import { clockRecord, commandRecord } from '../../services/merger/ordered/commandRecords';
import { committableDataPosition, emptyDataBuffer, releaseData, type Clocks, type DataBuffer } from '../../services/merger/ordered/dataBuffer';
import type { Output } from '../../services/merger/model/outputs';
import { anonymousKey, personRecordKey } from '../../services/shared/model/keys';

export interface SimulationOptions {
  readonly controlPartitions: number;
  readonly dataPartitions: number;
  /** The reorder bound: a record is appended less than this after its received_at. */
  readonly reorderMs: number;
  /** How often a control partition gets a tick (its clock moves on when no person operation comes). */
  readonly tickMs: number;
  /** Ticks go on until this received_at (past every window end). */
  readonly horizon: number;
  readonly random: () => number;
  /** Chance that a step crashes its consumer before committing. */
  readonly crashRate: number;
}

export interface SimulationResult {
  readonly outputs: Output[];
  readonly steps: number;
  readonly crashes: number;
  /** Control clock records the data consumers read. */
  readonly clockRecords: number;
}

type ControlEntry = { readonly record: InboundRecord } | { readonly tick: number };
type DataEntry = { readonly record: InboundRecord } | { readonly command: DataCommand } | { readonly clock: number; readonly control: number };

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

/** Something ingest (or the ticker) will append to a log at a wall-clock time. */
interface Arrival<E> {
  readonly appendAt: number;
  readonly entry: E;
}

interface ControlConsumer {
  readonly partition: number;
  readonly log: ControlEntry[];
  /** The highest received_at among log[0..i], per index (the log only grows). */
  readonly highWater: number[];
  /** How far it has read (in memory: a crash goes back to the committed position). */
  readTo: number;
  /** Committed: the first log index not applied; indices applied past it; the clock; the state. */
  committed: { next: number; applied: Set<number>; clock: number; states: Map<string, ControlState> };
}

interface DataConsumer {
  readonly log: DataEntry[];
  /** How far it has read, and what it holds (in memory: a crash goes back to the committed position). */
  readTo: number;
  buffer: DataBuffer;
  /** What the simulation knows and the merger does not: every committed application, every release's stamp. */
  readonly ghost: { readonly applied: Set<number>; readonly stampAt: Map<number, string> };
  committed: {
    /** The first record not applied, and the clocks read before it (kept with the offset). */
    next: number;
    clocks: Clocks;
    /** Per entity, its state and the stamp of the last item it applied (replays are at or before it). */
    states: Map<string, { readonly entity: DataEntity; readonly state: DataEntityState; applied: { at: number; id: string; content: string } | null }>;
  };
}

/** Settings of command records that are not binds (the data plane reads them from binds only). */
const COMMAND_SETTINGS = { merge_enabled: true, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 };

/** A data log entry as the inbound record the merger writes for it. */
function asRecord(entry: DataEntry): InboundRecord {
  if ('record' in entry) return entry.record;
  if ('command' in entry) return commandRecord(entry.command, COMMAND_SETTINGS);
  return clockRecord(entry.control, entry.clock);
}

export function simulateOrderedMerger(records: readonly InboundRecord[], options: SimulationOptions): SimulationResult {
  const controlOf = (workspace: string) => hash(workspace) % options.controlPartitions;
  const dataOf = (key: string) => hash(key) % options.dataPartitions;
  const delay = () => Math.floor(options.random() * options.reorderMs);

  // What ingest appends, when: each record less than L after its received_at; ticks on time.
  const controlArrivals: Array<Array<Arrival<ControlEntry>>> = Array.from({ length: options.controlPartitions }, () => []);
  const dataArrivals: Array<Array<Arrival<DataEntry>>> = Array.from({ length: options.dataPartitions }, () => []);
  for (const record of records) {
    if (isPersonOperation(record)) controlArrivals[controlOf(record.workspace_id)]?.push({ appendAt: record.received_at + delay(), entry: { record } });
    else if (record.command.kind === 'track') dataArrivals[dataOf(inboundKey(record as never))]?.push({ appendAt: record.received_at + delay(), entry: { record } });
  }
  const first = records.reduce((min, r) => Math.min(min, r.received_at), options.horizon);
  const end = options.horizon + 2 * options.reorderMs + options.tickMs;
  for (const arrivals of controlArrivals) {
    for (let t = first + Math.floor(options.random() * options.tickMs); t <= end; t += options.tickMs) arrivals.push({ appendAt: t, entry: { tick: t } });
    arrivals.push({ appendAt: end, entry: { tick: end } });
  }
  for (const arrivals of [...controlArrivals, ...dataArrivals]) arrivals.sort((a, b) => a.appendAt - b.appendAt);

  const controls: ControlConsumer[] = controlArrivals.map((_, partition) => ({ partition, log: [], highWater: [], readTo: 0, committed: { next: 0, applied: new Set(), clock: Number.NEGATIVE_INFINITY, states: new Map() } }));
  const datas: DataConsumer[] = dataArrivals.map(() => ({ log: [], readTo: 0, buffer: emptyDataBuffer(), ghost: { applied: new Set(), stampAt: new Map() }, committed: { next: 0, clocks: new Map(), states: new Map() } }));
  const outputs: Output[] = [];

  let wall = first;
  const appendUpTo = (time: number) => {
    controlArrivals.forEach((arrivals, c) => {
      const consumer = controls[c] as ControlConsumer;
      while (arrivals.length > 0 && (arrivals[0] as Arrival<ControlEntry>).appendAt <= time) {
        const entry = (arrivals.shift() as Arrival<ControlEntry>).entry;
        consumer.highWater.push(Math.max(consumer.highWater[consumer.highWater.length - 1] ?? Number.NEGATIVE_INFINITY, 'tick' in entry ? entry.tick : entry.record.received_at));
        consumer.log.push(entry);
      }
    });
    dataArrivals.forEach((arrivals, d) => {
      while (arrivals.length > 0 && (arrivals[0] as Arrival<DataEntry>).appendAt <= time) (datas[d] as DataConsumer).log.push((arrivals.shift() as Arrival<DataEntry>).entry);
    });
  };

  const clone = <T>(value: T): T => structuredClone(value);
  let steps = 0;
  let crashes = 0;
  let clockRecords = 0;

  /** A crash before the commit loses the step: the consumer reads again from its committed position. */
  const crashedBeforeCommit = (consumer: { readTo: number; committed: { next: number } }): boolean => {
    if (options.random() >= options.crashRate) return false;
    crashes += 1;
    consumer.readTo = consumer.committed.next;
    return true;
  };

  /** Reads up to `batch` entries past what it read; applies what the reorder bound allows. */
  const stepControl = (consumer: ControlConsumer, batch: number): void => {
    const work = clone(consumer.committed);
    const readUpTo = Math.min(consumer.log.length, Math.max(consumer.readTo, work.next) + batch);
    consumer.readTo = readUpTo;
    const highWater = consumer.highWater[readUpTo - 1] ?? Number.NEGATIVE_INFINITY;
    // Whatever is appended later was received after highWater − L: everything up to it is here.
    const frontier = highWater - options.reorderMs;
    const ready: Array<{ index: number; record: InboundRecord }> = [];
    for (let i = work.next; i < readUpTo; i += 1) {
      const entry = consumer.log[i] as ControlEntry;
      if (work.applied.has(i)) continue;
      if ('tick' in entry) {
        if (entry.tick <= frontier) work.applied.add(i);
      } else if (entry.record.received_at <= frontier) ready.push({ index: i, record: entry.record });
    }
    ready.sort((a, b) => compareRecords(a.record, b.record));
    const produced: Output[] = [];
    const appended: Array<{ partition: number; entry: DataEntry }> = [];
    for (const { index, record } of ready) {
      let state = work.states.get(record.workspace_id);
      if (!state) work.states.set(record.workspace_id, (state = emptyControlState()));
      const decision = decidePersonOperation(state, record);
      produced.push(...decision.outputs);
      for (const command of decision.commands) appended.push({ partition: dataOf(entityKey(commandEntity(command))), entry: { command } });
      work.applied.add(index);
    }
    while (work.applied.has(work.next)) work.applied.delete(work.next++);
    if (frontier > work.clock) {
      work.clock = frontier;
      // After the commands of this step, in the same transaction: the clock covers them.
      for (let d = 0; d < datas.length; d += 1) appended.push({ partition: d, entry: { clock: frontier, control: consumer.partition } });
    }
    if (crashedBeforeCommit(consumer)) return;
    consumer.committed = work;
    outputs.push(...produced);
    for (const { partition, entry } of appended) (datas[partition] as DataConsumer).log.push(entry);
  };

  /**
   * Applies, in (received_at, id) order, every event and command its control clocks have passed,
   * with the merger's own hold (ordered/dataBuffer.ts) and its replay rule: an entity skips an
   * item at or before the last one it applied.
   */
  const stepData = (consumer: DataConsumer, batch: number): void => {
    const states = clone(consumer.committed.states);
    const readUpTo = Math.min(consumer.log.length, consumer.readTo + batch);
    const read = consumer.log.slice(consumer.readTo, readUpTo).map((entry, i) => ({ offset: consumer.readTo + i, record: asRecord(entry) }));
    const released = releaseData(consumer.buffer, read, controlOf);
    const clockOf = (workspace: string) => released.buffer.clocks.get(controlOf(workspace)) ?? Number.NEGATIVE_INFINITY;
    const produced: Output[] = [];
    const appliedNow: number[] = [];
    for (const { offset, item } of released.ready) {
      // The merger's own invariants, checked beside the outputs (which the per-key duplicate check
      // of R7 would often hide): a record is released at the same stamp on every reading, and
      // applied once.
      const stampKey = `${itemStamp(item).at}/${itemStamp(item).id}`;
      const before = consumer.ghost.stampAt.get(offset);
      if (before !== undefined && before !== stampKey) throw new Error(`offset ${offset} released at ${stampKey}, before at ${before}`);
      consumer.ghost.stampAt.set(offset, stampKey);
      const entity = item.kind === 'event' ? entityOf(item.record) : commandEntity(item.command);
      const key = entityKey(entity);
      let entry = states.get(key);
      if (!entry) states.set(key, (entry = { entity, state: emptyDataState(), applied: null }));
      const stamp = itemStamp(item);
      const applied = entry.applied;
      if (applied && compareStamps(stamp, { at: applied.at, id: applied.id, content: () => applied.content }) <= 0) continue;
      if (consumer.ghost.applied.has(offset)) throw new Error(`offset ${offset} applied twice`);
      appliedNow.push(offset);
      produced.push(...applyItem(entity, entry.state, item));
      entry.applied = { at: stamp.at, id: stamp.id, content: stamp.content() };
    }
    // Windows end when the workspace's clock passes them: every item before it is applied.
    for (const { entity, state } of states.values()) produced.push(...passTime(entity, state, clockOf(entity.workspace)));
    const position = committableDataPosition(released.buffer, readUpTo);
    if (options.random() < options.crashRate) {
      crashes += 1;
      consumer.readTo = consumer.committed.next;
      consumer.buffer = emptyDataBuffer(consumer.committed.clocks);
      return;
    }
    consumer.readTo = readUpTo;
    consumer.buffer = released.buffer;
    consumer.committed = { next: position.offset, clocks: position.clocks, states };
    for (const offset of appliedNow) consumer.ghost.applied.add(offset);
    outputs.push(...produced);
  };

  // Done when everything is appended, the control clocks passed the last record (so every person
  // operation is decided), and every data partition applied its log and read those clocks.
  const done = () =>
    controlArrivals.every((a) => a.length === 0) &&
    dataArrivals.every((a) => a.length === 0) &&
    controls.every((c) => c.committed.clock >= end - options.reorderMs) &&
    datas.every((d) => d.committed.next >= d.log.length && controls.every((_, c) => (d.buffer.clocks.get(c) ?? Number.NEGATIVE_INFINITY) >= end - options.reorderMs));
  for (let guard = 0; !done(); guard += 1) {
    if (guard > 200_000) throw new Error(`the simulation made no progress: ${JSON.stringify({ wall, controls: controls.map((c) => ({ len: c.log.length, next: c.committed.next, clock: c.committed.clock })), datas: datas.map((d) => ({ len: d.log.length, next: d.committed.next, clocks: [...d.buffer.clocks] })), end })}`);
    steps += 1;
    const pick = Math.floor(options.random() * (controls.length + datas.length + 1));
    if (pick === 0) {
      wall += Math.floor(options.random() * options.tickMs) + 1;
      appendUpTo(wall);
    } else if (pick <= controls.length) stepControl(controls[pick - 1] as ControlConsumer, 1 + Math.floor(options.random() * 8));
    else stepData(datas[pick - 1 - controls.length] as DataConsumer, 1 + Math.floor(options.random() * 8));
  }
  clockRecords = datas.reduce((sum, d) => sum + d.log.filter((e) => 'clock' in e).length, 0);
  return { outputs, steps, crashes, clockRecords };
}
