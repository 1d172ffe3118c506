/**
 * One batch of one person-ops partition, from Kafka messages to what the control consumer
 * publishes (docs/design-person-operations.md):
 *
 *   decode + validate (dead letters for what fails) → reorder buffer: release what the frontier
 *   passed, in (received_at, id) order → per workspace: load what the records reach, tell
 *   replays from fresh ones by the applied stamp, decide the fresh ones, store the changes and
 *   their outputs (outbox) with a compare-and-set → outputs in release order: each operation's
 *   commands (into the commands topic, keyed like their events so they land on the partition
 *   number of those events), activity, and a deletion's tombstone (to the order stage, which
 *   writes it after the person's merged events before it); then the clock, to every commands
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
import { controlSource, routeMergedEvents } from '../order/orderRecords';
import { recordContentKey } from '../../shared/model/recordOrder';
import { addDecisions, countDecisions, noDecisions, type DecisionCounts } from '../ordered/decisionCounts';

/** What a control consumer keeps about a partition it owns, between batches. */
export interface ControlLease {
  readonly partition: number;
  buffer: ReorderBuffer;
  /** Every operation released at or before this received_at was published in a committed transaction. */
  published: number;
  /** The last clock this partition's transactions carried. */
  clock: number;
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
}

export function parsePosition(metadata: string | null): ControlPosition {
  const none = { highWater: Number.NEGATIVE_INFINITY, published: Number.NEGATIVE_INFINITY };
  if (!metadata) return none;
  try {
    const parsed = JSON.parse(metadata) as { h?: unknown; p?: unknown };
    return { highWater: typeof parsed.h === 'number' ? parsed.h : none.highWater, published: typeof parsed.p === 'number' ? parsed.p : none.published };
  } catch {
    return none;
  }
}

export const formatPosition = (position: ControlPosition): string =>
  JSON.stringify({
    h: Number.isFinite(position.highWater) ? position.highWater : null,
    p: Number.isFinite(position.published) ? position.published : null,
  });

export interface ControlContext {
  readonly store: ControlStore;
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  readonly reorderMs: number;
  /** The commands topic's partition count now: the clock goes to each. */
  readonly commandsPartitions: () => number;
}

export interface ControlTally extends DecisionCounts {
  records: number;
  released: number;
  late: number;
  commands: number;
  replayed: number;
  /** Deletions' tombstones sent to the order stage. */
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
  readonly tally: ControlTally;
  /** The last offset of the batch: read (not necessarily applied) up to here. */
  readonly lastOffset: number;
  readonly afterCommit: () => Promise<void>;
}

const MAX_ATTEMPTS = 8;

/**
 * The outputs of one operation, encoded: its commands (as inbound records, for the commands
 * topic), then the rest. SPEC R10's tombstone of a deletion must follow every merged event of the
 * person received before it, which data partitions decide: it goes through the order stage, at
 * the deletion's place in the model's order (order/orderBuffer.ts).
 */
function encodeDecision(catalog: SchemaCatalog, controlPartition: number, record: InboundRecord, decision: ReturnType<typeof decidePersonOperation>): EncodedOutput[] {
  const encoded: EncodedOutput[] = [];
  for (const command of decision.commands) {
    const written = commandRecord(command, record.settings) as InboundRecord & { command: { kind: 'binding' } };
    encoded.push({ stream: 'commands', key: commandKey(written), value: catalog.encode('commands', toWire(written)) });
  }
  const plain = decision.outputs.map((output): EncodedOutput => ({ stream: output.stream, key: output.key, value: output.value === null ? null : catalog.encode(output.stream, output.value) }));
  if (!plain.some((output) => output.stream === 'mergedEvents')) return [...encoded, ...plain];
  const place = { controlPartition, at: record.received_at, recordId: record.id, content: recordContentKey(record), source: controlSource(controlPartition) };
  return [...encoded, ...routeMergedEvents(catalog, plain, place)];
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
          const outputs = encodeDecision(catalog, lease.partition, entry.record, decision);
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
    tally.tombstones += produced.filter((output) => output.stream === 'personOrder').length;
    outputs.push(...produced);
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
  const decidedNothing = released.ready.length === 0 && deadLetters.length === 0;
  return {
    outputs,
    nothingToCommit: decidedNothing && outputs.length === 0,
    positionMayWait: decidedNothing,
    nextOffset: position.offset,
    metadata: formatPosition({ highWater: position.highWater, published }),
    buffer: released.buffer,
    published,
    clock,
    tally,
    lastOffset,
    afterCommit: async () => {
      await Promise.all(cleanUp.map(({ workspace, fields }) => store.cleanOutbox(workspace, fields)));
    },
  };
}
