/**
 * The two-plane design (docs/design-person-operations.md) run in memory, with the decision cores
 * the merger uses and everything else simulated: a wall clock that appends records to partitioned
 * logs slightly out of received_at order (less than the reorder bound L), every log ticked,
 * consumers that read random batch sizes and take turns in a random order, crashes that lose
 * everything not committed, an optional outage (neither plane steps while ingest goes on), and
 * re-reads that skip what was applied. What it emits must equal the reference model's outputs.
 *
 * Each data partition p reads two logs: inbound[p] (the events of its ids, appended by ingest,
 * and ticks) and commands[p] (the control plane's commands about its ids, and every control
 * partition's clock). Each control step appends its commands to the commands partition of the id
 * they concern, then its clock to every commands partition, at its commit. The data consumer runs
 * the merger's own hold (ordered/dataBuffer.ts): an item of workspace W goes once W's control
 * clock and the inbound frontier (highest received_at read − L) have both passed it.
 *
 * A person's merged events (and a deletion's tombstone) go, as in the merger, to the order stage
 * (order/orderBuffer.ts): appended to order[k] (k by the person's key) with their place in the
 * model's order, each data step appending its published points to every order[k] after them; an
 * order consumer per k releases them by the merger's own rule, in random batches, with crashes.
 *
 * A step of a consumer is atomic (its state, outputs, appended records and progress commit
 * together), as a Kafka transaction with the Redis step that records progress is in the merger.
 */
import type { InboundRecord } from '../../services/shared/model/inbound';
import { inboundKey } from '../../services/shared/model/keys';
import { compareRecords, compareStamps, recordContentKey } from '../../services/shared/model/recordOrder';
import { commandTarget, type DataCommand } from '../../services/merger/ordered/commands';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../services/merger/ordered/controlPlane';
import { applyItem, emptyDataState, itemStamp, passTime, type DataEntity, type DataEntityState } from '../../services/merger/ordered/dataPlane';
import { clockRecord, commandRecord } from '../../services/merger/ordered/commandRecords';
import { committableDataPositions, emptyDataBuffer, heldCount, heldInbound, pausesInbound, releaseData, releasePoint, type Clocks, type DataBuffer, type LogEntry } from '../../services/merger/ordered/dataBuffer';
import type { Output } from '../../services/merger/model/outputs';
import { anonymousKey, personRecordKey } from '../../services/shared/model/keys';
import { emptyOrderBuffer, type OrderBuffer } from '../../services/merger/order/orderBuffer';
import { mergedEventRuns, packOrderedOutputs, piecesOfRun, type OrderedOutput, type OrderEntry, type OrderPlace } from '../../services/merger/order/orderRecords';
import { releaseOrderedRecords } from '../../services/merger/order/recordPositions';

/** The simulated merged events are their index as text (1–5 bytes): a person-order record holds one or two. */
const SIMULATED_ORDER_RECORD_BYTES = 4;

export interface SimulationOptions {
  readonly controlPartitions: number;
  readonly dataPartitions: number;
  /** The reorder bound: a record is appended less than this after its received_at. */
  readonly reorderMs: number;
  /** How often every log (person-ops and inbound partitions) gets a tick, so its frontier moves when quiet. */
  readonly tickMs: number;
  /** Ticks go on until this received_at (past every window end). */
  readonly horizon: number;
  readonly random: () => number;
  /** Chance that a step crashes its consumer before committing. */
  readonly crashRate: number;
  /**
   * A stretch of wall time, starting at a random moment of the workload, in which neither plane
   * steps (nor ticks) while ingest goes on appending; the merger then restarts from what it
   * committed. 0 or absent: none.
   */
  readonly outageMs?: number;
  /**
   * The data consumer reads no inbound entries while it holds more than this many inbound items
   * and one of them is at or below the inbound frontier (it waits for a control clock, which only
   * the commands log moves); it goes on reading commands. Absent: no bound.
   *
   * The second condition is needed: held items above the frontier wait for the frontier, which
   * only reading inbound moves — pausing on the count alone stalls for ever once more than the
   * bound were received within L of each other. So the hold stays within
   * max(bound, events received within any L) + one batch.
   */
  readonly maxHeldInbound?: number;
  /**
   * How often a control consumer gets a turn, relative to a data consumer (default 1): below 1,
   * the control plane lags (a slow Redis, or catching up after an outage) and the data plane
   * reads inbound ahead of the commands' clocks.
   */
  readonly controlTurns?: number;
  /** Partitions of the person-order topic (default 1). */
  readonly orderPartitions?: number;
  /** The order stage's bound on held outputs (order/orderBuffer.ts): past it, read again later. Absent: none. */
  readonly maxHeldOrdered?: number;
}

export interface SimulationResult {
  readonly outputs: Output[];
  readonly steps: number;
  readonly crashes: number;
  /** Control clock records appended to the commands logs. */
  readonly clockRecords: number;
  /** The most inbound items any data consumer held between two of its steps. */
  readonly maxHeld: number;
  /** The most commands any data consumer held between two of its steps (they wait for the inbound frontier). */
  readonly maxHeldCommands: number;
  /** The most entries a data step read (the two logs together). */
  readonly maxBatch: number;
  /** Data steps that read no inbound entry because of `maxHeldInbound`. */
  readonly pausedReads: number;
  /** The most merged events an order consumer held between two of its steps. */
  readonly maxHeldOrdered: number;
  /** Outputs the order stage dropped at its bound and read again. */
  readonly droppedOrdered: number;
  /** Order steps after which more than `maxHeldOrdered` outputs were held, not all of one received_at. */
  readonly orderBoundBroken: number;
  /** Clocks a quiet data partition sent again unmoved (the order stage takes the last as the one in force). */
  readonly resentClocks: number;
  /** Person-order records of a data step that held more than one merged-events output. */
  readonly sharedOrderRecords: number;
}

type ControlEntry = { readonly record: InboundRecord } | { readonly tick: number };
type CommandsEntry = { readonly command: DataCommand } | { readonly clock: number; readonly control: number };

/** A tick as the merger's ticker writes it (services/merger/kafka/ticker.ts). */
function tickRecord(at: number): InboundRecord {
  return { workspace_id: '', id: `tick-${at}`, received_at: at, settings: { merge_enabled: false, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 }, command: { kind: 'tick', body: {} } };
}

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

/** Something ingest (or a ticker) will append to a log at a wall-clock time. */
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

type EntityStates = Map<string, { readonly entity: DataEntity; readonly state: DataEntityState; applied: { at: number; id: string; content: string } | null }>;

interface DataConsumer {
  /** inbound[p]: events (ingest) and ticks. */
  readonly inbound: InboundRecord[];
  /** commands[p]: the control plane's commands about this partition's ids, and every control clock. */
  readonly commands: CommandsEntry[];
  /** How far it has read in each log, and what it holds (in memory: a crash goes back to the committed positions). */
  read: { inbound: number; commands: number };
  buffer: DataBuffer;
  /** Steps since it last sent its clock to the order stage: a quiet one sends it again, unmoved, every QUIET_RESEND_STEPS. */
  quietSteps: number;
  /** What the simulation knows and the merger does not: every committed application, every release's stamp (by log and offset). */
  readonly ghost: { readonly applied: Set<string>; readonly stampAt: Map<string, string> };
  committed: {
    /** Per log, the first entry not applied, and what was read before it (committableDataPositions). */
    inbound: { readonly offset: number; readonly highest: number };
    commands: { readonly offset: number; readonly clocks: Clocks };
    /** Per entity, its state and the stamp of the last item it applied (replays are at or before it). */
    states: EntityStates;
    /** Per control partition, the release points it passed: sent to the order stage as its clock. */
    published: Clocks;
  };
}

interface OrderConsumer {
  /** order[k], record by record: merged events with their places (a data step's in records of a few), and every data partition's clocks. */
  readonly log: OrderEntry[][];
  readTo: number;
  buffer: OrderBuffer;
  committed: { offset: number; published: Clocks; readUpTo: number };
}

/** Settings of command records that are not binds (the data plane reads them from binds only). */
/** A data consumer whose clock has not moved for this many steps sends it again (dataPlaneBatch.ts: once per IDLE_COMMIT_MS). */
const QUIET_RESEND_STEPS = 20;

const COMMAND_SETTINGS = { merge_enabled: true, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 };

/** A commands log entry as the record the merger writes for it. */
function asRecord(entry: CommandsEntry): InboundRecord {
  if ('command' in entry) return commandRecord(entry.command, COMMAND_SETTINGS);
  return clockRecord(entry.control, entry.clock);
}

export function simulateOrderedMerger(records: readonly InboundRecord[], options: SimulationOptions): SimulationResult {
  const L = options.reorderMs;
  const controlOf = (workspace: string) => hash(workspace) % options.controlPartitions;
  const dataOf = (key: string) => hash(key) % options.dataPartitions;
  const delay = () => Math.floor(options.random() * L);

  const first = records.reduce((min, r) => Math.min(min, r.received_at), options.horizon);
  // The outage: neither plane steps, and the merger's tickers write nothing, in [outageStart, outageEnd).
  const outageMs = options.outageMs ?? 0;
  const outageStart = outageMs > 0 ? first + Math.floor(options.random() * (options.horizon - first + 1)) : Number.POSITIVE_INFINITY;
  const outageEnd = outageStart + outageMs;
  const inOutage = (time: number) => time >= outageStart && time < outageEnd;
  const end = Math.max(options.horizon + 2 * L + options.tickMs, outageMs > 0 ? outageEnd + options.tickMs : Number.NEGATIVE_INFINITY);

  // What ingest appends, when: each record less than L after its received_at; ticks on time.
  const controlArrivals: Array<Array<Arrival<ControlEntry>>> = Array.from({ length: options.controlPartitions }, () => []);
  const inboundArrivals: Array<Array<Arrival<InboundRecord>>> = Array.from({ length: options.dataPartitions }, () => []);
  for (const record of records) {
    if (isPersonOperation(record)) controlArrivals[controlOf(record.workspace_id)]?.push({ appendAt: record.received_at + delay(), entry: { record } });
    else if (record.command.kind === 'track') inboundArrivals[dataOf(inboundKey(record as never))]?.push({ appendAt: record.received_at + delay(), entry: record });
  }
  const tickTimes = (): number[] => {
    const times: number[] = [];
    for (let t = first + Math.floor(options.random() * options.tickMs); t < end; t += options.tickMs) if (!inOutage(t)) times.push(t);
    times.push(end);
    return times;
  };
  for (const arrivals of controlArrivals) for (const t of tickTimes()) arrivals.push({ appendAt: t, entry: { tick: t } });
  for (const arrivals of inboundArrivals) for (const t of tickTimes()) arrivals.push({ appendAt: t, entry: tickRecord(t) });
  for (const arrivals of controlArrivals) arrivals.sort((a, b) => a.appendAt - b.appendAt);
  for (const arrivals of inboundArrivals) arrivals.sort((a, b) => a.appendAt - b.appendAt);

  const controls: ControlConsumer[] = controlArrivals.map((_, partition) => ({ partition, log: [], highWater: [], readTo: 0, committed: { next: 0, applied: new Set(), clock: Number.NEGATIVE_INFINITY, states: new Map() } }));
  const datas: DataConsumer[] = inboundArrivals.map(() => ({
    inbound: [],
    commands: [],
    read: { inbound: 0, commands: 0 },
    buffer: emptyDataBuffer(),
    quietSteps: 0,
    ghost: { applied: new Set(), stampAt: new Map() },
    committed: { inbound: { offset: 0, highest: Number.NEGATIVE_INFINITY }, commands: { offset: 0, clocks: new Map() }, states: new Map(), published: new Map() },
  }));
  const orders: OrderConsumer[] = Array.from({ length: options.orderPartitions ?? 1 }, () => ({ log: [], readTo: 0, buffer: emptyOrderBuffer(), committed: { offset: 0, published: new Map(), readUpTo: 0 } }));
  /** The person-order partition of a person's key: the same for a data step's records and the control plane's own (as keyPartition in the merger). */
  const orderPartitionOf = (key: string) => hash(key) % orders.length;
  const outputs: Output[] = [];
  /** The merged events sent to the order stage; an entry's value names one by its index. */
  const orderedValues: Output[] = [];
  /** An item's outputs: merged events to the order stage, as the merger groups them (runs of one key, order/orderRecords.ts), the rest as they are. */
  const route = (outputs: readonly Output[], place: Omit<OrderPlace, 'index'>, produced: Output[], ordered: OrderedOutput[]) => {
    for (const part of mergedEventRuns(outputs)) {
      if (part.kind === 'other') {
        produced.push(part.output);
        continue;
      }
      const values = part.outputs.map((output) => ({ value: Buffer.from(String(orderedValues.push(output) - 1)) }));
      const key = (part.outputs[0] as Output).key;
      // In pieces, as the merger splits a run above ORDER_RECORD_BYTES: here a piece holds a value or two.
      for (const piece of piecesOfRun(values, part.index, SIMULATED_ORDER_RECORD_BYTES)) ordered.push({ ...place, index: piece.index, key, values: piece.outputs.map(({ value }) => value) });
    }
  };

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
    inboundArrivals.forEach((arrivals, d) => {
      while (arrivals.length > 0 && (arrivals[0] as Arrival<InboundRecord>).appendAt <= time) (datas[d] as DataConsumer).inbound.push((arrivals.shift() as Arrival<InboundRecord>).entry);
    });
  };

  const clone = <T>(value: T): T => structuredClone(value);
  let steps = 0;
  let crashes = 0;
  let maxHeld = 0;
  let maxHeldCommands = 0;
  let maxBatch = 0;
  let pausedReads = 0;

  /** What a restart keeps: the committed positions, and what was read before them. */
  const restartControl = (consumer: ControlConsumer) => {
    consumer.readTo = consumer.committed.next;
  };
  const restartOrder = (consumer: OrderConsumer) => {
    consumer.readTo = consumer.committed.offset;
    consumer.buffer = emptyOrderBuffer();
  };
  const restartData = (consumer: DataConsumer) => {
    consumer.read = { inbound: consumer.committed.inbound.offset, commands: consumer.committed.commands.offset };
    consumer.buffer = emptyDataBuffer(consumer.committed.commands.clocks, consumer.committed.inbound.highest);
  };
  /** A crash before the commit loses the step. */
  const crashedBeforeCommit = (): boolean => {
    if (options.random() >= options.crashRate) return false;
    crashes += 1;
    return true;
  };

  /** Reads up to `batch` entries past what it read; applies what the reorder bound allows. */
  const stepControl = (consumer: ControlConsumer, batch: number): void => {
    const work = clone(consumer.committed);
    const readUpTo = Math.min(consumer.log.length, Math.max(consumer.readTo, work.next) + batch);
    consumer.readTo = readUpTo;
    const highWater = consumer.highWater[readUpTo - 1] ?? Number.NEGATIVE_INFINITY;
    // Whatever is appended later was received after highWater − L: everything up to it is here.
    const frontier = highWater - L;
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
    const appended: Array<{ partition: number; entry: CommandsEntry }> = [];
    const ordered: OrderedOutput[] = [];
    for (const { index, record } of ready) {
      let state = work.states.get(record.workspace_id);
      if (!state) work.states.set(record.workspace_id, (state = emptyControlState()));
      const decision = decidePersonOperation(state, record);
      route(decision.outputs, { controlPartition: consumer.partition, at: record.received_at, recordId: record.id, content: recordContentKey(record), source: -1 - consumer.partition }, produced, ordered);
      for (const command of decision.commands) appended.push({ partition: dataOf(entityKey(commandEntity(command))), entry: { command } });
      work.applied.add(index);
    }
    while (work.applied.has(work.next)) work.applied.delete(work.next++);
    if (frontier > work.clock) {
      work.clock = frontier;
      // After the commands of this step, in the same transaction: the clock covers them.
      for (let d = 0; d < datas.length; d += 1) appended.push({ partition: d, entry: { clock: frontier, control: consumer.partition } });
    }
    if (crashedBeforeCommit()) return restartControl(consumer);
    consumer.committed = work;
    outputs.push(...produced);
    // The control plane sends each (a deletion's tombstone) as a record of its own, keyed by person.
    for (const output of ordered) (orders[orderPartitionOf(output.key)] as OrderConsumer).log.push([{ kind: 'output', output }]);
    for (const { partition, entry } of appended) (datas[partition] as DataConsumer).commands.push(entry);
  };

  /** A held inbound item at or below the inbound frontier waits for a control clock only: reading more inbound cannot release it. */

  /**
   * Reads `batch` entries split at random between its two logs (inbound none while over its
   * bound), then applies, in (received_at, id) order, every event and command released by the
   * merger's own hold (ordered/dataBuffer.ts), with its replay rule: an entity skips an item at
   * or before the last one it applied.
   */
  const stepData = (consumer: DataConsumer, batch: number): void => {
    const states = clone(consumer.committed.states);
    // The merger's own rule (dataPlaneConsumer.ts pauses inbound reads on it).
    const paused = options.maxHeldInbound !== undefined && pausesInbound(consumer.buffer, L, options.maxHeldInbound);
    if (paused) pausedReads += 1;
    const fromInbound = paused ? 0 : Math.floor(options.random() * (batch + 1));
    const inboundTo = Math.min(consumer.inbound.length, consumer.read.inbound + fromInbound);
    const commandsTo = Math.min(consumer.commands.length, consumer.read.commands + batch - fromInbound);
    const inbound: LogEntry[] = consumer.inbound.slice(consumer.read.inbound, inboundTo).map((record, i) => ({ offset: consumer.read.inbound + i, record }));
    const commands: LogEntry[] = consumer.commands.slice(consumer.read.commands, commandsTo).map((entry, i) => ({ offset: consumer.read.commands + i, record: asRecord(entry) }));
    maxBatch = Math.max(maxBatch, inbound.length + commands.length);
    const released = releaseData(consumer.buffer, { inbound, commands }, controlOf, L);
    if (released.misplaced.length > 0) throw new Error(`misplaced records: ${JSON.stringify(released.misplaced)}`);
    if (released.other.some(({ record }) => record.command.kind !== 'tick')) throw new Error('a person operation in the inbound log');
    maxHeld = Math.max(maxHeld, heldInbound(released.buffer));
    maxHeldCommands = Math.max(maxHeldCommands, heldCount(released.buffer) - heldInbound(released.buffer));
    const produced: Output[] = [];
    const ordered: OrderedOutput[] = [];
    const appliedNow: string[] = [];
    for (const { log, offset, item, workspace } of released.ready) {
      // The merger's own invariants, checked beside the outputs (which the per-key duplicate check
      // of R7 would often hide): a record is released at the same stamp on every reading, and
      // applied once.
      const where = `${log}:${offset}`;
      const stamp = itemStamp(item);
      const stampKey = `${stamp.at}/${stamp.id}`;
      const before = consumer.ghost.stampAt.get(where);
      if (before !== undefined && before !== stampKey) throw new Error(`${where} released at ${stampKey}, before at ${before}`);
      consumer.ghost.stampAt.set(where, stampKey);
      const entity = item.kind === 'event' ? entityOf(item.record) : commandEntity(item.command);
      const key = entityKey(entity);
      let entry = states.get(key);
      if (!entry) states.set(key, (entry = { entity, state: emptyDataState(), applied: null }));
      const applied = entry.applied;
      if (applied && compareStamps(stamp, { at: applied.at, id: applied.id, content: () => applied.content }) <= 0) continue;
      if (consumer.ghost.applied.has(where)) throw new Error(`${where} applied twice`);
      appliedNow.push(where);
      route(applyItem(entity, entry.state, item), { controlPartition: controlOf(workspace), at: stamp.at, recordId: stamp.id, content: stamp.content(), source: datas.indexOf(consumer) }, produced, ordered);
      entry.applied = { at: stamp.at, id: stamp.id, content: stamp.content() };
    }
    // Windows end when the workspace's release point passes them: every item at or before it is
    // applied (its control clock alone is not enough: events up to it may not have been read).
    for (const { entity, state } of states.values()) {
      for (const output of passTime(entity, state, releasePoint(released.buffer, controlOf(entity.workspace), L))) {
        if (output.stream === 'mergedEvents') throw new Error('a window reported a merged event');
        produced.push(output);
      }
    }
    const positions = committableDataPositions(released.buffer, { inbound: inboundTo, commands: commandsTo }, L);
    // The clock to the order stage: never lower than one sent before (after a restart the hold
    // starts again below it), as dataPlaneBatch.ts keeps `published`.
    const published = new Map(consumer.committed.published);
    for (let c = 0; c < controls.length; c += 1) {
      const point = releasePoint(released.buffer, c, L);
      if (point > (published.get(c) ?? Number.NEGATIVE_INFINITY)) published.set(c, point);
    }
    // Sent when it moved, and — as dataPlaneBatch.ts does once a second on a quiet partition —
    // unmoved every QUIET_RESEND_STEPS steps (the order stage then counts that record as the one
    // in force). Sending it at random on any step instead grew the order logs of slow cases
    // (a control plane given 2 % of the turns) faster than a crashing order stage re-read them.
    const moved = [...published].some(([c, point]) => consumer.committed.published.get(c) !== point);
    const clockMoved = moved || (published.size > 0 && consumer.quietSteps + 1 >= QUIET_RESEND_STEPS);
    if (crashedBeforeCommit()) return restartData(consumer);
    consumer.read = { inbound: inboundTo, commands: commandsTo };
    consumer.buffer = released.buffer;
    consumer.committed = { inbound: positions.inbound, commands: positions.commands, states, published };
    for (const where of appliedNow) consumer.ghost.applied.add(where);
    outputs.push(...produced);
    // The step's merged events in records per partition (dataPlaneBatch.ts), here of one to four
    // outputs, then its clock.
    const limit = 200 + Math.floor(options.random() * 600);
    for (const record of packOrderedOutputs(ordered, orderPartitionOf, limit)) {
      (orders[record.partition] as OrderConsumer).log.push(record.outputs.map((output) => ({ kind: 'output', output })));
      if (record.outputs.length > 1) sharedOrderRecords += 1;
    }
    consumer.quietSteps = clockMoved ? 0 : consumer.quietSteps + 1;
    if (clockMoved && !moved) resentClocks += 1;
    if (clockMoved) for (const order of orders) order.log.push([{ kind: 'clock', source: datas.indexOf(consumer), points: published }]);
  };

  let maxHeldOrdered = 0;
  let droppedOrdered = 0;
  let resentClocks = 0;
  let sharedOrderRecords = 0;
  let orderBoundBroken = 0;
  /** Reads up to `batch` entries of its person-order log; sends what the merger's own rule releases. */
  const stepOrder = (consumer: OrderConsumer, batch: number): void => {
    const readUpTo = Math.min(consumer.log.length, consumer.readTo + batch);
    const read = consumer.log.slice(consumer.readTo, readUpTo).map((entries, i) => ({ offset: consumer.readTo + i, entries }));
    const released = releaseOrderedRecords(consumer.buffer, read, datas.length, consumer.committed.published, consumer.committed.readUpTo, readUpTo, options.maxHeldOrdered);
    if (released.late.length > 0) throw new Error(`${released.late.length} merged events read after their place was released`);
    maxHeldOrdered = Math.max(maxHeldOrdered, released.buffer.held.length);
    droppedOrdered += released.dropped;
    // The bound holds, but for outputs of one received_at, which are never split.
    const heldNow = released.buffer.held;
    if (heldNow.length > (options.maxHeldOrdered ?? Number.POSITIVE_INFINITY) && heldNow.some(({ output }) => output.at !== heldNow[0]?.output.at)) orderBoundBroken += 1;
    if (crashedBeforeCommit()) return restartOrder(consumer);
    // What the hold dropped at its bound is read again (the stage's seek, orderStage.ts).
    consumer.readTo = released.readAgainFrom ?? readUpTo;
    consumer.buffer = released.buffer;
    // Read up to, never lower than before a restart (orderBatch.ts keeps the highest).
    consumer.committed = { offset: released.commitOffset, published: released.published, readUpTo: Math.max(consumer.committed.readUpTo, readUpTo) };
    for (const { output } of released.ready) for (const value of output.values) outputs.push(orderedValues[Number(String(value))] as Output);
  };

  // Done when everything is appended, the control clocks passed the last record (so every person
  // operation is decided), and every data partition applied both its logs to their ends and its
  // release point passed the last record for every control partition.
  const last = end - L;
  const done = () =>
    controlArrivals.every((a) => a.length === 0) &&
    inboundArrivals.every((a) => a.length === 0) &&
    controls.every((c) => c.committed.clock >= last) &&
    datas.every((d) => d.committed.inbound.offset >= d.inbound.length && d.committed.commands.offset >= d.commands.length && controls.every((_, c) => releasePoint(d.buffer, c, L) >= last)) &&
    orders.every((o) => o.readTo >= o.log.length && o.buffer.held.length === 0 && o.buffer.dropped === null);
  let outageBegun = false;
  const controlTurns = options.controlTurns ?? 1;
  for (let guard = 0; !done(); guard += 1) {
    if (guard > 200_000)
      throw new Error(
        `the simulation made no progress: ${JSON.stringify({
          wall,
          end,
          controls: controls.map((c) => ({ len: c.log.length, next: c.committed.next, clock: c.committed.clock })),
          datas: datas.map((d) => ({ inbound: d.inbound.length, commands: d.commands.length, committed: { inbound: d.committed.inbound, commands: d.committed.commands.offset }, held: heldCount(d.buffer), highest: d.buffer.highest, clocks: [...d.buffer.clocks] })),
        })}`,
      );
    steps += 1;
    if (inOutage(wall)) {
      // The merger is down: what it had not committed is gone; ingest goes on appending.
      if (!outageBegun) {
        outageBegun = true;
        controls.forEach(restartControl);
        datas.forEach(restartData);
        orders.forEach(restartOrder);
      }
      wall += Math.floor(options.random() * options.tickMs) + 1;
      appendUpTo(wall);
      continue;
    }
    // Turns: the wall clock 1, each control consumer `controlTurns`, each data consumer 1, each order consumer 1.
    const pick = options.random() * (1 + controlTurns * controls.length + datas.length + orders.length);
    const dataFrom = 1 + controlTurns * controls.length;
    if (pick < 1) {
      wall += Math.floor(options.random() * options.tickMs) + 1;
      appendUpTo(wall);
    } else if (pick < dataFrom) stepControl(controls[Math.min(controls.length - 1, Math.floor((pick - 1) / controlTurns))] as ControlConsumer, 1 + Math.floor(options.random() * 8));
    else if (pick < dataFrom + datas.length) stepData(datas[Math.min(datas.length - 1, Math.floor(pick - dataFrom))] as DataConsumer, Math.floor(options.random() * 9));
    else stepOrder(orders[Math.min(orders.length - 1, Math.floor(pick - dataFrom - datas.length))] as OrderConsumer, 1 + Math.floor(options.random() * 12));
  }
  const clockRecords = datas.reduce((sum, d) => sum + d.commands.filter((e) => 'clock' in e).length, 0);
  return { outputs, steps, crashes, clockRecords, maxHeld, maxHeldCommands, maxBatch, pausedReads, maxHeldOrdered, droppedOrdered, orderBoundBroken, resentClocks, sharedOrderRecords };
}
