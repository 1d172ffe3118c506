/**
 * One batch of one partition in the two-plane merger (docs/design-person-operations.md) — from
 * the inbound log (events, ticks) or the commands log (the control plane's binding changes and
 * clocks) of that partition number:
 *
 *   decode + validate (dead letters) → hold each event and command until both its workspace's
 *   control clock and the inbound frontier have passed it (ordered/dataBuffer.ts) → per entity, in
 *   (received_at, id) order: replays (at or before the entity's last applied item) from the
 *   outbox, the others applied (ordered/dataPlane.ts), then the windows the release point has
 *   ended → store each entity with a compare-and-set, its outputs in its outbox → outputs in
 *   release order.
 *
 * The caller publishes the outputs and both logs' commit positions with their metadata (what a
 * restart reads under, and up to where everything was published) in one Kafka transaction, then
 * runs `afterCommit` (outbox clean-up, fired timers removed).
 *
 * Person operations found in inbound (written by an ingest from before the two planes) are
 * forwarded to the person-ops topic, in the same transaction; the control plane takes a copy it
 * already applied for a replay.
 */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { toWire } from '../shared/model/inbound';
import { anonymousKey } from '../shared/model/keys';
import { compareStamps, type RecordStamp } from '../shared/model/recordOrder';
import { appliedBefore, appliedBy, appliedElsewhereAfter, storedStamp, withAppliedBy, type EntityApplied } from './ordered/appliedStamp';
import type { EntityRef } from './model/entities';
import type { Output } from './model/outputs';
import { commandTarget } from './ordered/commands';
import { committableDataPositions, releaseData, releasePoint, type Clocks, type DataBuffer, type DataLog, type HeldItem } from './ordered/dataBuffer';
import { IDLE_COMMIT_MS } from '../shared/kafka/sequentialPartitions';
import { applyItem, itemStamp, passTime, type DataEntity, type DataEntityState, type DataItem } from './ordered/dataPlane';
import { implicitOutcome, replayedItemOutputs, storedExplicitly, storedItemOutcome } from './ordered/itemOutbox';
import { decodeOutbox, encodeOutbox, type EncodedOutput } from './redis/codec';
import { KeySpace } from './redis/keys';
import { itemPosition, timerPosition, type LoadedOrdered, type OrderedCommit, type OrderedEntityStore, type OrderedLoadRequest } from './redis/orderedEntityStore';
import type { StateStore } from './redis/stateStore';
import { decodeBatch } from './decodeBatch';
import type { AlongsidePosition } from '../shared/kafka/transactionalPublisher';
import { orderedOutputsRecords, sourceClockRecords, splitMergedEvents, type OrderedOutput } from './order/orderRecords';
import { addDecisions, countDecisions, noDecisions, type DecisionCounts } from './ordered/decisionCounts';
import { resolvePending, type PendingToResolve, type ReadOffsets } from './pendingBodies';

export interface OrderedLease {
  readonly topics: { readonly inbound: string; readonly commands: string };
  readonly partition: number;
  buffer: DataBuffer;
  /** Per control partition: items and windows at or before it were published in a committed transaction. */
  published: Clocks;
  /** Per log, the offset after the last batch read (or the committed one, at a claim). */
  next: Record<DataLog, number>;
  /** The clock last sent to the person-order topic (null: none since the claim), and when. */
  clockSent: Clocks | null;
  clockSentAt: number;
  /** Per control partition, the earliest window end the last batch saw open: its clock must pass it (Ticker). */
  windowEnds: Clocks;
  /**
   * Claimed after Redis lost writes (kafka/sequentialPartitions.ts, ClaimPositions): per control
   * partition, items at or before `upTo` — and windows ending before it — were applied and
   * published already: applied again for the state, their outputs held back; per log, records
   * before offset `below` were dead-lettered or forwarded already.
   */
  readonly heldBack: { readonly upTo: Clocks; readonly below: Record<DataLog, number> } | null;
}

export interface OrderedContext {
  readonly store: StateStore;
  readonly entities: OrderedEntityStore;
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  readonly controlPartitionOf: (workspace: string) => number;
  /** L: ingest appends a record less than this after stamping it. */
  readonly reorderMs: number;
  readonly now: () => number;
  /** The person-order topic's partition count now: the partition's clock goes to each (order/orderBuffer.ts). */
  readonly personOrderPartitions: () => number;
  /**
   * The inbound partition a key goes to by the partition count known now (absent: this one, for
   * every key). After partitions are added, an id's window can be open here while its records
   * go to another partition: its timer is handed over there rather than fired here.
   */
  readonly inboundPartitionOf?: (key: string) => number;
  /** Reads pending events' records back from the inbound log (kafka/offsetReader.ts). */
  readonly readPending: ReadOffsets;
  /** Keep new pending events as pointers into inbound (ANONMERGE_MERGER_PENDING_POINTERS); else as copies. */
  readonly pendingPointers: boolean;
}

export interface OrderedTally extends DecisionCounts {
  records: number;
  released: number;
  late: number;
  replayed: number;
  /** Applied again after Redis lost them, their published outputs held back. */
  recovered: number;
  resent: number;
  missingOutbox: number;
  deadLetters: number;
  forwarded: number;
  conflicts: number;
  timersFired: number;
  /** Applied after another partition had applied a later item of its entity (partitions added). */
  movedLate: number;
  /** Timers of ids now keyed to another partition, moved there to fire (partitions added). */
  timersHandedOver: number;
  /** Pending events read back from the inbound log for binds, and those it no longer held. */
  pendingRead: number;
  pendingMissing: number;
  /** Milliseconds spent reading pending events back from the inbound log. */
  pendingReadMs: number;
}

export interface OrderedOutcome {
  /** The topic the batch came from (inbound or commands). */
  readonly topic: string;
  /** Nothing released, no window ended, nothing to send: no transaction needed (see sequentialPartitions). */
  readonly nothingToCommit: boolean;
  readonly outputs: EncodedOutput[];
  /** The inbound position to commit, and its metadata. */
  readonly nextOffset: number;
  readonly metadata: string;
  /** The commands position, committed in the same transaction. */
  readonly alongside: readonly AlongsidePosition[];
  readonly buffer: DataBuffer;
  readonly published: Clocks;
  readonly next: Record<DataLog, number>;
  readonly clockSent: Clocks | null;
  readonly clockSentAt: number;
  /** Only the clock goes out: the positions may wait (see sequentialPartitions). */
  readonly positionMayWait: boolean;
  readonly windowEnds: Clocks;
  readonly tally: OrderedTally;
  /** The last offset of the batch: read (not necessarily applied) up to here. */
  readonly lastOffset: number;
  readonly afterCommit: () => Promise<void>;
}

const toClocks = (value: unknown): Clocks => new Map(Object.entries((value as Record<string, number>) ?? {}).filter(([, v]) => typeof v === 'number').map(([k, v]) => [Number(k), v]));

function parseJson(metadata: string | null): Record<string, unknown> {
  try {
    return metadata ? (JSON.parse(metadata) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Committed with the inbound offset: the highest received_at read before it, and what was published. */
export function formatInboundPosition(highest: number, published: Clocks): string {
  return JSON.stringify({ h: Number.isFinite(highest) ? highest : null, p: Object.fromEntries(published) });
}

export function parseInboundPosition(metadata: string | null): { highest: number; published: Clocks } {
  const parsed = parseJson(metadata);
  return { highest: typeof parsed.h === 'number' ? parsed.h : Number.NEGATIVE_INFINITY, published: toClocks(parsed.p) };
}

/** Committed with the commands offset: the clocks read before it. */
export function formatCommandsPosition(clocks: Clocks): string {
  return JSON.stringify({ c: Object.fromEntries(clocks) });
}

export function parseCommandsPosition(metadata: string | null): { clocks: Clocks } {
  return { clocks: toClocks(parseJson(metadata).c) };
}

function sameClocks(a: Clocks, b: Clocks | null): boolean {
  if (!b || a.size !== b.size) return false;
  for (const [control, point] of a) if (b.get(control) !== point) return false;
  return true;
}

const DEFAULT_RETENTION_MS = 30 * 86_400_000;
const MAX_ATTEMPTS = 8;

function entityOfItem(held: HeldItem): DataEntity {
  const { item } = held;
  if (item.kind === 'command') {
    const target = commandTarget(item.command);
    return target.kind === 'anonymous' ? { kind: 'anonymous', workspace: held.workspace, anonymousId: target.anonymousId } : { kind: 'person', workspace: held.workspace, person: target.person };
  }
  const body = item.record.command.kind === 'track' ? item.record.command.body : null;
  if (body?.anonymous_id) return { kind: 'anonymous', workspace: held.workspace, anonymousId: body.anonymous_id };
  if (body?.person) return { kind: 'person', workspace: held.workspace, person: body.person };
  return { kind: 'invites', workspace: held.workspace };
}

/** One string per entity (a workspace id cannot hold \u0000: ingest refuses control characters). */
const entityKey = (entity: DataEntity) =>
  entity.kind === 'anonymous' ? `a\u0000${entity.workspace}\u0000${entity.anonymousId}` : entity.kind === 'person' ? `p\u0000${entity.workspace}\u0000${entity.person.id_type}\u0000${entity.person.value}` : `i\u0000${entity.workspace}`;

/** An open window's timer moved to the partition its id is keyed to now (partitions added). */
interface TimerHandOver {
  readonly owner: number;
  readonly member: string;
  readonly end: number;
}

/** What a batch does to an anonymous id's entry in the partition's timer index. */
interface TimerChange {
  readonly member: string;
  /** The open window's end after the batch (null: none open). */
  readonly end: number | null;
  /** Write the entry (before the transaction). */
  readonly arm: boolean;
  /** Window ends that fired: the entry goes once published, if it still holds one of them. */
  readonly fired: readonly number[];
}

interface EntityWork {
  readonly entity: DataEntity;
  readonly items: HeldItem[];
  /** Window ends of this entity's timers that the clock has passed. */
  readonly dueTimers: number[];
}

export async function processOrderedBatch(lease: OrderedLease, topic: string, messages: readonly KafkaMessage[], ctx: OrderedContext): Promise<OrderedOutcome> {
  const { catalog, logger, store } = ctx;
  const { partition } = lease;
  const log: DataLog = topic === lease.topics.commands ? 'commands' : 'inbound';
  const tally: OrderedTally = { records: messages.length, released: 0, late: 0, replayed: 0, recovered: 0, resent: 0, missingOutbox: 0, deadLetters: 0, forwarded: 0, conflicts: 0, timersFired: 0, movedLate: 0, timersHandedOver: 0, pendingRead: 0, pendingMissing: 0, pendingReadMs: 0, ...noDecisions() };
  const decoded = await decodeBatch(messages, { topic, partition, stream: log }, catalog, logger);
  const read = decoded.records;
  const sentBefore = (offset: number) => lease.heldBack !== null && offset < lease.heldBack.below[log];
  const tail: EncodedOutput[] = decoded.deadLetters.filter((d) => !sentBefore(d.offset)).map((d) => d.output);
  tally.deadLetters = tail.length;
  const lastOffset = Number(messages[messages.length - 1]?.offset ?? -1);

  const released = releaseData(lease.buffer, log === 'inbound' ? { inbound: read } : { commands: read }, ctx.controlPartitionOf, ctx.reorderMs);
  for (const { offset, record } of released.misplaced) logger.warn({ topic, partition, offset, kind: record.command.kind }, 'a record in a log it does not belong to is skipped');
  const { clocks } = released.buffer;
  // Per control partition, up to where everything is applied once this batch is.
  const points: Clocks = new Map([...clocks.keys()].map((control) => [control, releasePoint(released.buffer, control, ctx.reorderMs)]));
  const pointOf = (workspace: string) => points.get(ctx.controlPartitionOf(workspace)) ?? Number.NEGATIVE_INFINITY;
  const publishedOf = (workspace: string) => lease.published.get(ctx.controlPartitionOf(workspace)) ?? Number.NEGATIVE_INFINITY;
  const heldBackTo = (workspace: string) => (lease.heldBack ? (lease.heldBack.upTo.get(ctx.controlPartitionOf(workspace)) ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY);
  for (const { record, offset } of released.other) {
    if (record.command.kind === 'tick' || sentBefore(offset)) continue;
    // An older ingest wrote this person operation here: the control plane decides it.
    tail.push({ stream: 'personOps', key: record.workspace_id, value: catalog.encode('personOps', toWire(record)) });
    tally.forwarded += 1;
  }
  tally.released = released.ready.length;
  tally.late = released.ready.filter((held) => held.lateFrom !== null).length;

  // The entities with items, and those whose window the clock has ended.
  const works = new Map<string, EntityWork>();
  const workOf = (entity: DataEntity) => {
    const key = entityKey(entity);
    let work = works.get(key);
    if (!work) works.set(key, (work = { entity, items: [], dueTimers: [] }));
    return work;
  };
  for (const held of released.ready) workOf(entityOfItem(held)).items.push(held);
  const timersKey = store.keys.partition(lease.topics.inbound, partition).timers;
  const maxPoint = Math.max(Number.NEGATIVE_INFINITY, ...points.values());
  // Per control partition, the earliest window still open: the consumer asks for that clock to
  // move past it (control clocks move only when asked: kafka/ticker.ts).
  const windowEnds = new Map<number, number>();
  const stillOpen = (workspace: string, end: number) => {
    const control = ctx.controlPartitionOf(workspace);
    if (end < (windowEnds.get(control) ?? Number.POSITIVE_INFINITY)) windowEnds.set(control, end);
  };
  // The windows the points have passed (of some workspace), and the first one past them all.
  const [upToPoints, firstAfter] = await Promise.all([
    Number.isFinite(maxPoint) ? store.redis.zrangebyscore(timersKey, '-inf', `(${maxPoint}`, 'WITHSCORES', 'LIMIT', 0, 5000) : Promise.resolve([]),
    store.redis.zrangebyscore(timersKey, Number.isFinite(maxPoint) ? maxPoint : '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
  ]);
  for (let i = 0; i < upToPoints.length; i += 2) {
    const { workspace, anonymousId } = KeySpace.parseTimerMember(upToPoints[i] as string);
    const end = Number(upToPoints[i + 1]);
    if (end < pointOf(workspace)) workOf({ kind: 'anonymous', workspace, anonymousId }).dueTimers.push(end);
    else stillOpen(workspace, end);
  }
  for (let i = 0; i < firstAfter.length; i += 2) stillOpen(KeySpace.parseTimerMember(firstAfter[i] as string).workspace, Number(firstAfter[i + 1]));

  const outputsOfItem = new Map<HeldItem, EncodedOutput[]>();
  const timerOutputs: EncodedOutput[] = [];
  const cleanups: Array<{ entity: EntityRef; positions: readonly string[] }> = [];
  const timerChanges: Array<TimerChange> = [];
  const handOvers: TimerHandOver[] = [];
  const encode = (outputs: readonly Output[]): EncodedOutput[] => outputs.map((o) => ({ stream: o.stream, key: o.key, value: o.value === null ? null : catalog.encode(o.stream, o.value) }));

  /** What deciding one entity on its loaded state gives; kept only if its write succeeds. */
  interface Decided {
    readonly work: EntityWork;
    readonly commit: OrderedCommit | null;
    readonly decided: Map<HeldItem, EncodedOutput[]>;
    readonly timerOut: EncodedOutput[];
    readonly timerChange: TimerChange | null;
    /** The open window's timer, moved to the partition its id is keyed to now. */
    readonly handOver: TimerHandOver | null;
    /** Outbox entries to delete once the batch is published. */
    readonly positions: readonly string[];
    /** A replayed item's outbox entry was not loaded: load it and decide again. */
    readonly needsOutbox: boolean;
    readonly decisions: DecisionCounts;
    readonly counts: { replayed: number; recovered: number; resent: number; missingOutbox: number; timersFired: number; movedLate: number };
  }

  // An entity is loaded first without its items' outbox entries: only a replay needs one, and
  // replays are rare (after a restart). An entity with a replay is loaded again with them.
  const requests = new Map<EntityWork, OrderedLoadRequest & { readonly withItemOutbox: boolean }>();
  const requestOf = (work: EntityWork) => {
    let request = requests.get(work);
    if (!request) requests.set(work, (request = buildRequest(work, false)));
    return request;
  };
  const buildRequest = (work: EntityWork, withItemOutbox: boolean) => {
    // Plain loops: this runs for every entity of every batch.
    const ids: string[] = [];
    const outbox: string[] = [];
    let withPending = false;
    for (const held of work.items) {
      if (held.item.kind === 'event') ids.push(held.item.record.id);
      else if (held.item.command.kind === 'bind') withPending = true;
      if (withItemOutbox) outbox.push(itemPosition(held.log, partition, held.offset));
    }
    for (const end of work.dueTimers) outbox.push(timerPosition(end));
    return { entity: work.entity, ids, withPending, outbox, withItemOutbox };
  };

  // Pure but for the logging: the entity's items applied in order on its loaded state.
  const decide = (work: EntityWork, loaded: LoadedOrdered): Decided => {
    const { entity, items } = work;
    const request = requestOf(work);
    let retentionMs = 0;
    for (const { item } of items) {
      const seconds = item.kind === 'event' ? item.record.settings.retention_seconds : item.command.kind === 'bind' ? item.command.settings.retention_seconds : 0;
      if (seconds * 1000 > retentionMs) retentionMs = seconds * 1000;
    }
    retentionMs ||= DEFAULT_RETENTION_MS;
    const state: DataEntityState = { seen: new Map(loaded.state.seen), person: loaded.state.person, window: loaded.state.window, pending: [...loaded.state.pending] };
    // Replays are the items at or before the last one this partition applied
    // (ordered/appliedStamp.ts): the stored one, then each applied in this batch.
    const stored = appliedBy(loaded.applied, partition);
    const stamps = items.map((held) => itemStamp(held.item));
    let last: { stamp: RecordStamp; held: HeldItem } | null = null;
    const outbox = new Map<string, Buffer>();
    const decided = new Map<HeldItem, EncodedOutput[]>();
    const decisions = noDecisions();
    const counts = { replayed: 0, recovered: 0, resent: 0, missingOutbox: 0, timersFired: 0, movedLate: 0 };
    let needsOutbox = false;
    const cleaned: string[] = [];
    const fromOutbox = (position: string, item: DataItem | null): EncodedOutput[] | null => {
      const stored = loaded.outbox.get(position);
      // No entry: the item's implicit outcome (ordered/itemOutbox.ts), if it has one.
      const implicit = stored || !item ? null : implicitOutcome(entity, item);
      if (implicit) return replayedItemOutputs(entity, item as DataItem, implicit, encode);
      if (!stored) return null;
      const outcome = decodeOutbox(stored);
      // A window's entry (no item) is always stored whole.
      return item ? replayedItemOutputs(entity, item, outcome, encode) : outcome.code === 'B' ? outcome.entry.outputs : [];
    };
    // An event left pending is kept as a pointer to its place in this partition's inbound log
    // (when pointers are on; a copy otherwise).
    const apply = (held: HeldItem): Output[] => {
      const before = state.pending.length;
      const produced = applyItem(entity, state, held.item);
      if (ctx.pendingPointers && held.log === 'inbound' && state.pending.length === before + 1) {
        const event = state.pending[before] as DataEntityState['pending'][number];
        state.pending[before] = { ...event, source: { partition, offset: held.offset } };
      }
      return produced;
    };
    let lastReplayed: RecordStamp | null = null;
    items.forEach((held, i) => {
      const stamp = stamps[i] as RecordStamp;
      const position = itemPosition(held.log, partition, held.offset);
      // Items come sorted, so an item equal to the one before it — on (received_at, id) and
      // content — is an exact copy of it in the log (at another offset): it changes nothing and
      // sends nothing. Taken for a replay, it would send the implicit outcome a second time.
      if ((last && compareStamps(stamp, last.stamp) <= 0) || (lastReplayed && compareStamps(stamp, lastReplayed) === 0)) return;
      if (!last && appliedBefore(stamp, stored)) {
        lastReplayed = stamp;
        counts.replayed += 1;
        // Its entry, if a crash came between the publishing and the clean-up, goes now.
        cleaned.push(position);
        if (stamp.at <= publishedOf(entity.workspace)) return;
        if (!request.withItemOutbox) {
          needsOutbox = true;
          return;
        }
        const resent = fromOutbox(position, held.item);
        if (resent === null) {
          counts.missingOutbox += 1;
          logger.error({ partition, offset: held.offset }, 'a replayed item has no outbox entry; its outputs cannot be re-sent');
        } else {
          counts.resent += 1;
          decided.set(held, resent);
        }
        return;
      }
      // Another partition got ahead of this item (partitions were added: docs/runbook-partitions.md).
      if (appliedElsewhereAfter(stamp, loaded.applied, partition)) counts.movedLate += 1;
      const heldBack = heldBackTo(entity.workspace);
      if (stamp.at <= heldBack) {
        // Redis lost this item's effect, Kafka has its outputs: the state is rebuilt, nothing sent twice.
        apply(held);
        counts.recovered += 1;
        last = { stamp, held };
        return;
      }
      // A window that ended before the held-back point was reported then: its report is not sent
      // again, whether an item or the clock ends it now (the report is the same either way).
      if (Number.isFinite(heldBack)) passTime(entity, state, heldBack);
      // The window the clock ended before this item is reported first (applyItem does it).
      const produced = apply(held);
      countDecisions(decisions, held.item, produced);
      const outputs = encode(produced);
      decided.set(held, outputs);
      const outcome = storedItemOutcome(entity, held.item, produced, outputs);
      if (storedExplicitly(entity, held.item, outcome)) outbox.set(position, encodeOutbox(outcome));
      last = { stamp, held };
    });
    const lastApplied = last as { stamp: RecordStamp; held: HeldItem } | null;
    const applied: EntityApplied = lastApplied ? withAppliedBy(loaded.applied, partition, storedStamp(lastApplied.stamp, stamps, lastApplied.held.item.kind === 'command')) : loaded.applied;
    // Windows the release point has passed: reported now, or — if that was done before a restart
    // — again from the outbox unless it was published.
    const clock = pointOf(entity.workspace);
    const timerOut: EncodedOutput[] = [];
    // After partitions were added, an id's records may go to another partition now: its open
    // window's timer fires there, once that partition's release point — which covers the id's
    // records now — has passed the end. Fired here, on this partition's point alone, an event of
    // the id received inside the window but read there later would find the window closed
    // (docs/runbook-partitions.md). Only a timer of the live window moves; one this batch's own
    // items decide fires here as before.
    const owner = entity.kind === 'anonymous' && items.length === 0 && ctx.inboundPartitionOf ? ctx.inboundPartitionOf(anonymousKey(entity.workspace, entity.anonymousId)) : partition;
    if (owner !== partition && entity.kind === 'anonymous' && state.window !== null && work.dueTimers.includes(state.window.end)) {
      const member = KeySpace.timerMember(entity.workspace, entity.anonymousId);
      const handOver = { owner, member, end: state.window.end };
      const timerChange = { member, end: null, arm: false, fired: [...new Set(work.dueTimers)] };
      return { work, commit: null, decided, timerOut, timerChange, handOver, positions: [], needsOutbox: false, decisions, counts };
    }
    if (Number.isFinite(heldBackTo(entity.workspace))) passTime(entity, state, Math.min(clock, heldBackTo(entity.workspace)));
    const endBefore = state.window?.end ?? null;
    const ended = encode(passTime(entity, state, clock));
    if (endBefore !== null && state.window === null) {
      counts.timersFired += 1;
      timerOut.push(...ended);
      outbox.set(timerPosition(endBefore), encodeOutbox({ code: 'B', entry: { outputs: ended, followUps: [] } }));
    }
    for (const end of work.dueTimers) {
      if (end === endBefore || end < publishedOf(entity.workspace)) continue;
      const resent = fromOutbox(timerPosition(end), null);
      if (resent) timerOut.push(...resent);
    }
    const seen: Array<{ id: string; receivedAt: number }> = [];
    for (const [id, receivedAt] of state.seen) if (loaded.state.seen.get(id) !== receivedAt) seen.push({ id, receivedAt });
    // Items applied with their outputs held back (recovery) and windows ended silently change the state alone.
    const changed = lastApplied !== null || outbox.size > 0 || seen.length > 0 || (state.window?.end ?? null) !== (loaded.state.window?.end ?? null);
    const commit: OrderedCommit | null = changed
      ? { entity, expectedVersion: loaded.version, before: loaded, state, applied, pendingLoaded: request.withPending, seen, outbox, published: [], retentionMs, now: ctx.now() }
      : null;
    const timerChange =
      entity.kind === 'anonymous'
        ? {
            member: KeySpace.timerMember(entity.workspace, entity.anonymousId),
            end: state.window?.end ?? null,
            // Indexed again when the window changed, on a replay (the index write may be what the
            // crash lost), or when a timer of another end came due (a stale entry, or one handed
            // over from another partition): the live end stays indexed.
            arm: state.window !== null && (state.window.end !== loaded.state.window?.end || counts.replayed > 0 || work.dueTimers.some((end) => end !== state.window?.end)),
            fired: [...new Set([...work.dueTimers, ...(endBefore !== null && state.window === null ? [endBefore] : [])])],
          }
        : null;
    for (const end of work.dueTimers) cleaned.push(timerPosition(end));
    for (const position of outbox.keys()) cleaned.push(position);
    return { work, commit, decided, timerOut, timerChange, handOver: null, positions: cleaned, needsOutbox, decisions, counts };
  };

  /**
   * The pending events of the entities a bind merges, read back from the inbound log where Redis
   * keeps pointers (docs/design-pending-pointers.md); pointers the bind drops for their age are
   * not read.
   */
  const withPendingBodies = async (loadedWorks: readonly EntityWork[], loaded: LoadedOrdered[]): Promise<LoadedOrdered[]> => {
    const resolving: Array<{ index: number; request: PendingToResolve }> = [];
    loadedWorks.forEach((work, index) => {
      const entry = loaded[index] as LoadedOrdered;
      if (work.entity.kind !== 'anonymous' || entry.storedPending.length === 0) return;
      let cutoff = Number.POSITIVE_INFINITY;
      for (const { item } of work.items) if (item.kind === 'command' && item.command.kind === 'bind') cutoff = Math.min(cutoff, item.command.at - item.command.settings.retention_seconds * 1000);
      resolving.push({ index, request: { workspace: work.entity.workspace, anonymousId: work.entity.anonymousId, stored: entry.storedPending, cutoff } });
    });
    if (resolving.length === 0) return loaded;
    const readStarted = performance.now();
    const resolved = await resolvePending(
      resolving.map((r) => r.request),
      ctx.readPending,
      catalog,
      logger,
    );
    tally.pendingRead += resolved.read;
    tally.pendingMissing += resolved.missing;
    tally.pendingReadMs += performance.now() - readStarted;
    const next = [...loaded];
    resolving.forEach(({ index }, i) => {
      const entry = loaded[index] as LoadedOrdered;
      next[index] = { ...entry, state: { ...entry.state, pending: resolved.events[i] as DataEntityState['pending'] } };
    });
    return next;
  };

  // Every entity of the batch loaded in one round and written in one (one script per Redis slot,
  // as the legacy merger does); an entity whose version moved meanwhile is loaded and decided
  // again on its own.
  let remaining = [...works.values()];
  for (let attempt = 1; remaining.length > 0; attempt += 1) {
    if (attempt > MAX_ATTEMPTS) throw new Error(`${remaining.length} entities kept changing under ${MAX_ATTEMPTS} attempts`);
    const loaded = await withPendingBodies(remaining, await ctx.entities.load(remaining.map(requestOf)));
    const decidedAll = remaining.map((work, i) => decide(work, loaded[i] as LoadedOrdered));
    const again: EntityWork[] = [];
    for (const result of decidedAll) {
      if (!result.needsOutbox) continue;
      requests.set(result.work, buildRequest(result.work, true));
      again.push(result.work);
    }
    const results = again.length > 0 ? decidedAll.filter((r) => !r.needsOutbox) : decidedAll;
    const writes = results.filter((r) => r.commit !== null);
    const written = writes.length > 0 ? await ctx.entities.commit(writes.map((r) => r.commit as OrderedCommit)) : [];
    const ok = new Map(writes.map((r, i) => [r, written[i] === true]));
    const moved: EntityWork[] = [];
    for (const result of results) {
      if (ok.get(result) === false) {
        tally.conflicts += 1;
        moved.push(result.work);
        continue;
      }
      for (const [held, outputs] of result.decided) outputsOfItem.set(held, outputs);
      addDecisions(tally, result.decisions);
      tally.replayed += result.counts.replayed;
      tally.recovered += result.counts.recovered;
      tally.resent += result.counts.resent;
      tally.missingOutbox += result.counts.missingOutbox;
      tally.timersFired += result.counts.timersFired;
      tally.movedLate += result.counts.movedLate;
      timerOutputs.push(...result.timerOut);
      cleanups.push({ entity: result.work.entity, positions: result.positions });
      if (result.timerChange) timerChanges.push(result.timerChange);
      if (result.handOver) handOvers.push(result.handOver);
    }
    remaining = again.length > 0 ? [...moved, ...again] : moved;
  }
  if (tally.movedLate > 0) logger.warn({ topic, partition, items: tally.movedLate }, 'items applied after another partition had applied later ones of their ids (partitions added while producers learned the new count): applied, out of order');

  // The open windows, indexed for the clock to find (before the transaction: a replay needs them).
  // One command for the batch: a command each cost a socket write apiece (~5 µs of CPU per record).
  const arming: Array<number | string> = [];
  for (const t of timerChanges) if (t.arm && t.end !== null) arming.push(t.end, t.member);
  if (arming.length > 0) await store.redis.zadd(timersKey, ...(arming as [number, string]));
  const byOwner = new Map<number, Array<number | string>>();
  for (const { owner, member, end } of handOvers) {
    let moving = byOwner.get(owner);
    if (!moving) byOwner.set(owner, (moving = []));
    moving.push(end, member);
  }
  for (const [owner, moving] of byOwner) await store.redis.zadd(store.keys.partition(lease.topics.inbound, owner).timers, ...(moving as [number, string]));
  tally.timersHandedOver = handOvers.length;
  if (handOvers.length > 0) logger.info({ partition, timers: handOvers.length, to: [...byOwner.keys()] }, 'grace timers handed over to the partitions their ids are keyed to now');
  for (const change of timerChanges) if (change.end !== null) stillOpen(KeySpace.parseTimerMember(change.member).workspace, change.end);

  // A person's merged events come from several partitions (one per anonymous id, one for its own
  // events): they go to the order stage, which writes them in the model's order (order/orderBuffer.ts).
  // All of the batch's go in one record per person-order partition (a record each cost the hop a
  // Kafka record per merged event).
  const outputs: EncodedOutput[] = [];
  const ordered: OrderedOutput[] = [];
  for (const held of released.ready) {
    const produced = outputsOfItem.get(held);
    if (!produced) continue;
    if (!produced.some((output) => output.stream === 'mergedEvents')) {
      outputs.push(...produced);
      continue;
    }
    const stamp = itemStamp(held.item);
    const split = splitMergedEvents(produced, { controlPartition: ctx.controlPartitionOf(held.workspace), at: stamp.at, recordId: stamp.id, content: stamp.content(), source: partition });
    outputs.push(...split.others);
    ordered.push(...split.ordered);
  }
  outputs.push(...timerOutputs, ...tail);
  if (ordered.length > 0) outputs.push(...orderedOutputsRecords(ctx.catalog, ordered, ctx.personOrderPartitions(), partition));
  const next = { ...lease.next, [log]: lastOffset + 1 };
  const positions = committableDataPositions(released.buffer, next, ctx.reorderMs);
  // Never lower than what an earlier transaction published: after a restart the hold is rebuilt
  // from the first held items, so its release points start below the ones already committed.
  const published = new Map(lease.published);
  for (const [control, point] of points) if (point > (published.get(control) ?? Number.NEGATIVE_INFINITY)) published.set(control, point);
  // After its merged events, to every person-order partition: this partition has sent each one up
  // to these points. Only when they moved; a batch that sends nothing else need not commit its positions.
  const decidedNothing = outputs.length === 0 && works.size === 0;
  // Sent again, unmoved, once a second while the partition is quiet (with its idle commit): the
  // order stage's position follows its last clock record (order/orderBuffer.ts), so it reaches the
  // end of its log though no clock moves — control clocks move only when asked (kafka/ticker.ts).
  const clockMoved = !sameClocks(published, lease.clockSent) || (published.size > 0 && ctx.now() - lease.clockSentAt >= IDLE_COMMIT_MS);
  if (clockMoved) outputs.push(...sourceClockRecords(ctx.catalog, partition, published, ctx.personOrderPartitions()));
  return {
    topic,
    nothingToCommit: decidedNothing && !clockMoved,
    positionMayWait: decidedNothing,
    clockSent: clockMoved ? published : lease.clockSent,
    clockSentAt: clockMoved ? ctx.now() : lease.clockSentAt,
    windowEnds,
    outputs,
    nextOffset: positions.inbound.offset,
    metadata: formatInboundPosition(positions.inbound.highest, published),
    alongside: [{ topic: lease.topics.commands, offset: positions.commands.offset, metadata: formatCommandsPosition(positions.commands.clocks) }],
    buffer: released.buffer,
    published,
    next,
    tally,
    lastOffset,
    afterCommit: async () => {
      // A fired timer leaves the index once published, unless the window was opened again since
      // (compared with the end that fired, in one script call for the batch). Independent of the
      // outbox clean-up: both go at once (a round trip less per batch).
      // A timer handed over leaves this partition's index the same way (its end compared).
      const fired: string[] = [];
      for (const change of timerChanges) if (change.end === null) for (const end of change.fired) fired.push(change.member, String(end));
      await Promise.all([store.cleanOutboxes(cleanups), fired.length > 0 ? store.redis.clearFiredTimers(timersKey, ...fired) : null]);
    },
  };
}
