/**
 * One batch of one person-ops partition, from Kafka messages to what the control consumer
 * publishes (docs/design-person-operations.md):
 *
 *   decode + validate (dead letters for what fails) → reorder buffer: release what the frontier
 *   passed, in (received_at, id) order → per workspace: load what the records reach, tell
 *   replays from fresh ones by the applied stamp, decide the fresh ones, store the changes and
 *   their outputs (outbox) with a compare-and-set → outputs in release order: each operation's
 *   commands (into the commands topic, keyed like their events so they land on the partition
 *   number of those events), activity and tombstones; then the clock, to every commands
 *   partition, when it moved.
 *
 * The caller publishes the outputs and the commit position in one Kafka transaction, and after
 * the commit runs `afterCommit` (outbox clean-up). The position's metadata says where a restart
 * reads from and up to which stamp everything released was published.
 */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { Logger } from '../../shared/logger';
import { toWire, type InboundRecord } from '../../shared/model/inbound';
import { clockRecord, commandKey, commandRecord } from '../ordered/commandRecords';
import { decidePersonOperation, isPersonOperation } from '../ordered/controlPlane';
import { cloneControlState, controlWrites } from '../ordered/controlReads';
import { committablePosition, release, type BufferedRecord, type ReorderBuffer } from '../ordered/reorderBuffer';
import { decodeOutbox, encodeOutbox, type EncodedOutput } from '../redis/codec';
import { appliedAlready, outboxField, storedStamp, type ControlStore } from '../redis/controlStore';
import { decodeBatch } from '../decodeBatch';
import { compareTombstones, type HeldTombstone, type HeldTombstones } from '../redis/heldTombstones';
import type { PublishedPoints } from '../redis/publishedPoints';
import { personRecordKey } from '../../shared/model/keys';
import { addDecisions, countDecisions, noDecisions, type DecisionCounts } from '../ordered/decisionCounts';

/** What a control consumer keeps about a partition it owns, between batches. */
export interface ControlLease {
  readonly partition: number;
  buffer: ReorderBuffer;
  /** Every operation released at or before this received_at was published in a committed transaction. */
  published: number;
  /** The last clock this partition's transactions carried. */
  clock: number;
  /** The last deletion tombstone a committed transaction sent (redis/heldTombstones.ts). */
  tombstonesSent: HeldTombstone | null;
  /** Tombstones may be held: look at them at the next step. */
  mayHoldTombstones: boolean;
  /**
   * Claimed after Redis lost writes (kafka/sequentialPartitions.ts, ClaimPositions): operations at
   * or before `upTo` were decided and published already — decided again for the state, their
   * outputs held back — and records before offset `below` were dead-lettered already.
   */
  readonly heldBack: { readonly upTo: number; readonly below: number } | null;
}

/** Committed with the offset: where and how a restart picks up (see reorderBuffer.ts). */
export interface ControlPosition {
  /** High water of the log before the committed offset. */
  readonly highWater: number;
  /** As ControlLease.published. */
  readonly published: number;
  /** As ControlLease.tombstonesSent. */
  readonly tombstonesSent: HeldTombstone | null;
}

function parseTombstone(value: unknown): HeldTombstone | null {
  if (!Array.isArray(value) || value.length !== 3) return null;
  const [at, recordId, key] = value as unknown[];
  return typeof at === 'number' && typeof recordId === 'string' && typeof key === 'string' ? { at, recordId, key } : null;
}

export function parsePosition(metadata: string | null): ControlPosition {
  const none = { highWater: Number.NEGATIVE_INFINITY, published: Number.NEGATIVE_INFINITY, tombstonesSent: null };
  if (!metadata) return none;
  try {
    const parsed = JSON.parse(metadata) as { h?: unknown; p?: unknown; t?: unknown };
    return { highWater: typeof parsed.h === 'number' ? parsed.h : none.highWater, published: typeof parsed.p === 'number' ? parsed.p : none.published, tombstonesSent: parseTombstone(parsed.t) };
  } catch {
    return none;
  }
}

export const formatPosition = (position: ControlPosition): string =>
  JSON.stringify({
    h: Number.isFinite(position.highWater) ? position.highWater : null,
    p: Number.isFinite(position.published) ? position.published : null,
    t: position.tombstonesSent ? [position.tombstonesSent.at, position.tombstonesSent.recordId, position.tombstonesSent.key] : null,
  });

export interface ControlContext {
  readonly store: ControlStore;
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  readonly reorderMs: number;
  /** The commands topic's partition count now: the clock goes to each. */
  readonly commandsPartitions: () => number;
  /** Deletions' tombstones held until every data partition has published past them. */
  readonly tombstones: HeldTombstones;
  /** How far each data partition has published. */
  readonly publishedPoints: PublishedPoints;
}

export interface ControlTally extends DecisionCounts {
  records: number;
  released: number;
  late: number;
  commands: number;
  replayed: number;
  /** Deletions' tombstones sent (held until every data partition had published past them). */
  tombstones: number;
  /** Decided again after Redis lost them, their published outputs held back. */
  recovered: number;
  /** Replays whose outputs were not published yet: sent from the outbox. */
  resent: number;
  missingOutbox: number;
  deadLetters: number;
  conflicts: number;
}

export interface ControlOutcome {
  readonly outputs: EncodedOutput[];
  /** Nothing released, the clock where it was: no transaction needed (see sequentialPartitions). */
  readonly nothingToCommit: boolean;
  /** Nothing released, only the clock moved: its records go out, the position may wait. */
  readonly positionMayWait: boolean;
  /** The offset to commit and its metadata. */
  readonly nextOffset: number;
  readonly metadata: string;
  /** The lease as it is once the transaction committed. */
  readonly buffer: ReorderBuffer;
  readonly published: number;
  readonly clock: number;
  readonly tombstonesSent: HeldTombstone | null;
  readonly mayHoldTombstones: boolean;
  readonly tally: ControlTally;
  /** The last offset of the batch: read (not necessarily applied) up to here. */
  readonly lastOffset: number;
  readonly afterCommit: () => Promise<void>;
}

const MAX_ATTEMPTS = 8;

/**
 * The outputs of one operation, encoded: its commands (as inbound records, for the commands
 * topic), then the rest — but a deletion's tombstone, which is held (heldTombstone).
 */
function encodeDecision(catalog: SchemaCatalog, record: InboundRecord, decision: ReturnType<typeof decidePersonOperation>): EncodedOutput[] {
  const encoded: EncodedOutput[] = [];
  for (const command of decision.commands) {
    const written = commandRecord(command, record.settings) as InboundRecord & { command: { kind: 'binding' } };
    encoded.push({ stream: 'commands', key: commandKey(written), value: catalog.encode('commands', toWire(written)) });
  }
  for (const output of decision.outputs) {
    if (output.stream === 'mergedEvents' && output.value === null) continue;
    encoded.push({ stream: output.stream, key: output.key, value: output.value === null ? null : catalog.encode(output.stream, output.value) });
  }
  return encoded;
}

/**
 * SPEC R10's tombstone of a deletion, which must follow every merged event of the person received
 * before it. Those come from data partitions that may be behind, so it is held
 * (redis/heldTombstones.ts) and sent once each has published past the deletion. The key is the
 * one the decision's tombstone carries: the person the deletion names.
 */
function heldTombstone(record: InboundRecord): HeldTombstone | null {
  return record.command.kind === 'delete' ? { at: record.received_at, recordId: record.id, key: personRecordKey(record.workspace_id, record.command.body.person) } : null;
}

export async function processControlBatch(lease: ControlLease, topic: string, messages: readonly KafkaMessage[], ctx: ControlContext): Promise<ControlOutcome> {
  const { catalog, store, logger } = ctx;
  const tally: ControlTally = { records: messages.length, released: 0, late: 0, commands: 0, replayed: 0, tombstones: 0, recovered: 0, resent: 0, missingOutbox: 0, deadLetters: 0, conflicts: 0, ...noDecisions() };
  const decoded = await decodeBatch(messages, { topic, partition: lease.partition, stream: 'personOps' }, catalog, logger, (record) =>
    isPersonOperation(record) || record.command.kind === 'tick' ? null : `a ${record.command.kind} record is not a person operation`,
  );
  const read = decoded.records;
  const deadLetters = decoded.deadLetters.filter((d) => !lease.heldBack || d.offset >= lease.heldBack.below).map((d) => d.output);
  tally.deadLetters = deadLetters.length;
  const lastOffset = Number(messages[messages.length - 1]?.offset ?? -1);

  const released = release(lease.buffer, read, ctx.reorderMs);
  tally.released = released.ready.length;
  tally.late = released.ready.filter((entry) => entry.lateFrom !== null).length;
  for (const entry of released.ready) if (entry.lateFrom !== null) logger.warn({ partition: lease.partition, offset: entry.offset, receivedAt: entry.lateFrom, appliedAt: entry.record.received_at }, 'a person operation arrived later than the reorder bound; applied after the frontier');

  // Each workspace's released operations, in release order; workspaces are independent.
  const byWorkspace = new Map<string, BufferedRecord[]>();
  for (const entry of released.ready) {
    const list = byWorkspace.get(entry.record.workspace_id);
    if (list) list.push(entry);
    else byWorkspace.set(entry.record.workspace_id, [entry]);
  }
  const outputsOf = new Map<BufferedRecord, EncodedOutput[]>();
  const cleanUp: Array<{ workspace: string; fields: string[] }> = [];
  await Promise.all(
    [...byWorkspace].map(async ([workspace, entries]) => {
      const records = entries.map((entry) => entry.record);
      for (let attempt = 1; ; attempt += 1) {
        if (attempt > MAX_ATTEMPTS) throw new Error(`workspace ${workspace}'s control state kept changing under ${MAX_ATTEMPTS} attempts`);
        const loaded = await store.load(workspace, records);
        const state = cloneControlState(loaded.state);
        const outbox = new Map<string, Buffer>();
        const decided = new Map<BufferedRecord, EncodedOutput[]>();
        const decisions = noDecisions();
        let lastFresh: InboundRecord | null = null;
        for (const entry of entries) {
          if (appliedAlready(entry.record, loaded.applied)) {
            tally.replayed += 1;
            // Published already, or to be sent again from the outbox.
            if (entry.record.received_at <= lease.published) continue;
            const stored = loaded.outbox.get(outboxField(entry.record));
            if (!stored) {
              tally.missingOutbox += 1;
              logger.error({ partition: lease.partition, offset: entry.offset, workspace }, 'a replayed person operation has no outbox entry; its outputs cannot be re-sent');
              continue;
            }
            tally.resent += 1;
            const outcome = decodeOutbox(stored);
            decided.set(entry, outcome.code === 'B' ? outcome.entry.outputs : []);
            continue;
          }
          const decision = decidePersonOperation(state, entry.record);
          lastFresh = entry.record;
          if (lease.heldBack && entry.record.received_at <= lease.heldBack.upTo) {
            // Redis lost this decision, Kafka has its outputs: the state is rebuilt, nothing sent twice.
            tally.recovered += 1;
            continue;
          }
          countDecisions(decisions, null, decision.outputs);
          const outputs = encodeDecision(catalog, entry.record, decision);
          decided.set(entry, outputs);
          outbox.set(outboxField(entry.record), encodeOutbox({ code: 'B', entry: { outputs, followUps: [] } }));
        }
        if (lastFresh && !(await store.commit(workspace, loaded.version, controlWrites(loaded.state, state), storedStamp(lastFresh), outbox))) {
          tally.conflicts += 1;
          continue;
        }
        for (const [entry, outputs] of decided) outputsOf.set(entry, outputs);
        addDecisions(tally, decisions);
        cleanUp.push({ workspace, fields: entries.map((entry) => outboxField(entry.record)) });
        return;
      }
    }),
  );

  const outputs: EncodedOutput[] = [];
  for (const entry of released.ready) {
    const produced = outputsOf.get(entry) ?? [];
    tally.commands += produced.filter((output) => output.stream === 'commands').length;
    outputs.push(...produced);
  }
  // Deletions' tombstones: held (before the transaction, so a replay finds them), then each sent
  // once every data partition has published past it, in order, at most once.
  const sentBefore = lease.tombstonesSent;
  const isNew = (t: HeldTombstone) => sentBefore === null || compareTombstones(t, sentBefore) > 0;
  const holding = released.ready.map((entry) => heldTombstone(entry.record)).filter((t): t is HeldTombstone => t !== null && isNew(t));
  await ctx.tombstones.add(lease.partition, holding);
  let tombstonesSent = sentBefore;
  let mayHoldTombstones = lease.mayHoldTombstones || holding.length > 0;
  const settled: HeldTombstone[] = [];
  if (mayHoldTombstones) {
    const held = await ctx.tombstones.list(lease.partition);
    settled.push(...held.filter((t) => !isNew(t)));
    const waiting = held.filter(isNew);
    const lowest = waiting.length > 0 ? await ctx.publishedPoints.lowest(lease.partition, ctx.commandsPartitions()) : Number.NEGATIVE_INFINITY;
    let sent = 0;
    while (sent < waiting.length && (waiting[sent] as HeldTombstone).at <= lowest) sent += 1;
    for (const tombstone of waiting.slice(0, sent)) {
      outputs.push({ stream: 'mergedEvents', key: tombstone.key, value: null });
      settled.push(tombstone);
      tombstonesSent = tombstone;
    }
    tally.tombstones = sent;
    mayHoldTombstones = sent < waiting.length;
  }
  // After the commands, in the same transaction: a data partition that reads the clock has every
  // command at or before it in front of it (design-person-operations.md).
  let clock = lease.clock;
  if (Number.isFinite(released.frontier) && released.frontier > lease.clock) {
    clock = released.frontier;
    for (let partition = 0; partition < ctx.commandsPartitions(); partition += 1) {
      outputs.push({ stream: 'commands', key: 'clock', value: catalog.encode('commands', toWire(clockRecord(lease.partition, clock))), partition });
    }
  }
  outputs.push(...deadLetters);

  const position = committablePosition(released.buffer, lastOffset + 1);
  const published = Math.max(lease.published, released.frontier);
  // A tombstone sent is named in the committed position: the position may not wait.
  const decidedNothing = released.ready.length === 0 && deadLetters.length === 0 && tombstonesSent === sentBefore;
  return {
    outputs,
    nothingToCommit: decidedNothing && outputs.length === 0,
    positionMayWait: decidedNothing,
    nextOffset: position.offset,
    metadata: formatPosition({ highWater: position.highWater, published, tombstonesSent }),
    buffer: released.buffer,
    published,
    clock,
    tombstonesSent,
    mayHoldTombstones,
    tally,
    lastOffset,
    afterCommit: async () => {
      await Promise.all([...cleanUp.map(({ workspace, fields }) => store.cleanOutbox(workspace, fields)), ctx.tombstones.remove(lease.partition, settled)]);
    },
  };
}
