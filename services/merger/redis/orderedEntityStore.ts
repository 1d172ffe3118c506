/**
 * The data plane's entity state in Redis (docs/design-person-operations.md), on the same keys as
 * the merger's entities (keys.ts): the state hash holds the version ("v"), the ordered state as
 * one JSON field ("o": person, window, last item applied) and the outbox ("x:<partition>:<offset>"
 * per item, "t:<window end>" per window reported by the clock); the pending list and the seen ids
 * keep their shapes. Outbox entries are named by "position" here (the field is "x:" + it). A
 * batch's reads are one script call (loadOrdered.lua), its write another (commitEntities.lua, a
 * compare-and-set on the version, shared with the legacy merger's entities).
 *
 * An anonymous id whose state is only pending events is kept instead as a compact record in a
 * shared hash (compactForm.ts, compactRecord.ts; commitCompact.lua): the same state in ~20 bytes
 * per pending event rather than three keys. It moves to its own keys for good when its state
 * stops fitting one (a bind, a duplicate): the script that writes its keys first checks that the
 * record is still the one the decision read, and deletes it (commitEntities.lua). A new id's
 * first write of either form checks that the other form is not there.
 */
import { decodeStoredPending, type StoredPending } from './codec';
import { compactAfter, compactExpired, compactSeen, compactView } from './compactForm';
import { compactField, decodeCompact, encodeCompactWithin, type CompactRecord } from './compactRecord';
import type { PendingEvent } from '../model/state';
import type { EntityRef } from '../model/entities';
import { NOTHING_APPLIED, type AppliedStamp, type EntityApplied } from '../ordered/appliedStamp';
import type { DataEntityState, DataWindow } from '../ordered/dataPlane';
import type { PersonRef } from '../../shared/model/person';
import { flatten, pushAll, type EntityCommit, type StateStore } from './stateStore';
import { packArgs } from './packArgs';
import type { MergerRedis } from './scripts';
import { callPerSlot } from './slotRouting';

export interface OrderedLoadRequest {
  readonly entity: EntityRef;
  /** Event ids whose first-seen received_at the items need (SPEC R7). */
  readonly ids: readonly string[];
  /** A bind among the items merges what is pending: load it (and write the list whole). */
  readonly withPending: boolean;
  /** Outbox positions to read (itemPosition, timerPosition). */
  readonly outbox: readonly string[];
}

export interface LoadedOrdered {
  readonly version: number;
  /**
   * Seen holds the requested ids only. Pending is empty as loaded: the stored list (when asked
   * for) is `storedPending`, pointers whose bodies the batch reads from the log
   * (pendingBodies.ts) before deciding.
   */
  readonly state: DataEntityState;
  readonly storedPending: readonly StoredPending[];
  readonly applied: EntityApplied;
  /** By position. */
  readonly outbox: ReadonlyMap<string, Buffer>;
  /**
   * The compact record the state was read from (the value, for the compare-and-set), or null: the
   * entity has its own keys, or no state. `record` is null when it had expired.
   */
  readonly compact: { readonly raw: Buffer; readonly record: CompactRecord | null } | null;
  /** An anonymous id's compact record's place (stripe key, field), worked out once for the load and the commit. */
  readonly place: CompactPlace | null;
}

interface CompactPlace {
  readonly stripe: string;
  readonly field: Buffer;
}

/** Compact records (compactRecord.ts): written or not (read either way), and sized to the server's listpack encoding. */
export interface CompactOptions {
  readonly enabled: boolean;
  /** A Redis Cluster: records are striped by slot (keys.ts). */
  readonly bySlot: boolean;
  /** A bucket splits beyond this many records. */
  readonly mostPerBucket: number;
  /** A record longer than this stays in its id's own keys (a longer value would turn the bucket into a hashtable). */
  readonly largestValue: number;
}

interface StoredOrdered {
  readonly p: PersonRef | null;
  readonly w: DataWindow | null;
  readonly a: AppliedStamp | null;
  /** The partition that applied `a` (absent: stored before partitions were told apart). */
  readonly q?: number;
  /** Other partitions' last items, when several applied the entity's items (ordered/appliedStamp.ts). */
  readonly o?: Record<string, AppliedStamp>;
}

/** The outbox position of an item (its place in the log) and of a window the clock ended. */
/** An item's outbox field: its log (inbound, or `c` for commands), partition and offset. */
export const itemPosition = (log: 'inbound' | 'commands', partition: number, offset: number) => (log === 'inbound' ? `${partition}:${offset}` : `c${partition}:${offset}`);
export const timerPosition = (windowEnd: number) => `t:${windowEnd}`;

const DAY_MS = 86_400_000;

/** An entity with no state yet: nothing seen, nothing pending, nothing applied. */
const NEW_ENTITY = (place: CompactPlace | null, compact: LoadedOrdered['compact'] = null): LoadedOrdered => ({ version: 0, state: { seen: new Map(), person: null, window: null, pending: [] }, storedPending: [], applied: NOTHING_APPLIED, outbox: new Map(), compact, place });

/** The entity as its compact record says, or a new one when the record has expired. */
function parseCompact(request: OrderedLoadRequest, raw: Buffer, now: number, place: CompactPlace | null): LoadedOrdered {
  const record = decodeCompact(raw);
  if (compactExpired(record, now)) return NEW_ENTITY(place, { raw, record: null });
  const view = compactView(record, request.ids);
  return { version: record.version, state: { seen: view.seen, person: null, window: null, pending: [] }, storedPending: request.withPending ? view.storedPending : [], applied: view.applied, outbox: new Map(), compact: { raw, record }, place };
}

/** A compact record's pointer as a pending event to store in the id's own list: only the pointer is written (codec.ts). */
const pointerEvent = (record: CompactRecord, entry: CompactRecord['entries'][number]): PendingEvent => ({ id: entry.id, receivedAt: entry.receivedAt, name: '', type: 'event', timestamp: 0, dataJson: '', source: { partition: record.partition, offset: entry.offset } });

function parseLoaded(request: OrderedLoadRequest, place: CompactPlace | null, [version, ordered, pending, scores, outboxValues]: [Buffer | null, Buffer | null, Buffer[], Array<Buffer | null>, Array<Buffer | null>]): LoadedOrdered {
  const stored: StoredOrdered = ordered ? (JSON.parse(ordered.toString()) as StoredOrdered) : { p: null, w: null, a: null };
  const seen = new Map<string, number>();
  request.ids.forEach((id, i) => {
    const score = scores[i];
    if (score) seen.set(id, Number(score.toString()));
  });
  const outbox = new Map<string, Buffer>();
  request.outbox.forEach((position, i) => {
    const value = outboxValues[i];
    if (value) outbox.set(position, value);
  });
  return { version: Number(version?.toString() ?? 0), state: { seen, person: stored.p, window: stored.w, pending: [] }, storedPending: pending.map(decodeStoredPending), applied: { last: stored.a, by: stored.q ?? null, others: stored.o ?? {} }, outbox, compact: null, place };
}

export interface OrderedCommit {
  readonly entity: EntityRef;
  readonly expectedVersion: number;
  readonly before: LoadedOrdered;
  readonly state: DataEntityState;
  readonly applied: EntityApplied;
  readonly pendingLoaded: boolean;
  /** Ids counted now (first copies), with their received_at. */
  readonly seen: ReadonlyArray<{ readonly id: string; readonly receivedAt: number }>;
  /** New outbox entries, by position. */
  readonly outbox: ReadonlyMap<string, Buffer>;
  /** Outbox positions whose outputs a committed transaction published: deleted with this write. */
  readonly published: readonly string[];
  readonly retentionMs: number;
  readonly now: number;
}

/**
 * What the entity's own keys get: its state as decided, or — leaving a compact record — with the
 * record's events and ids too. `record` guards an anonymous id's first write of its keys.
 */
function ownKeysCommit(c: OrderedCommit, leaving: CompactRecord | null, record: EntityCommit['record']): EntityCommit {
  const { last, by, others } = c.applied;
  const stored: StoredOrdered = { p: c.state.person, w: c.state.window, a: last, ...(by !== null ? { q: by } : {}), ...(Object.keys(others).length > 0 ? { o: others } : {}) };
  let newPending = c.state.pending;
  let seen = c.seen;
  let pendingLoaded = c.pendingLoaded;
  if (c.before.compact !== null) {
    // The keys are written whole: the record's pending events (unless a bind replaced them) and every id it counted.
    if (!c.pendingLoaded && leaving) newPending = [...leaving.entries.map((entry) => pointerEvent(leaving, entry)), ...newPending];
    if (leaving) {
      const all = new Map(compactSeen(leaving).map(({ id, receivedAt }) => [id, receivedAt]));
      for (const { id, receivedAt } of c.seen) all.set(id, receivedAt);
      seen = [...all].map(([id, receivedAt]) => ({ id, receivedAt }));
    }
    pendingLoaded = true;
  }
  const bound = c.entity.kind === 'anonymous' && c.state.person !== null;
  let newest = 0;
  for (const e of newPending) newest = Math.max(newest, e.receivedAt);
  for (const e of seen) newest = Math.max(newest, e.receivedAt);
  return {
    // The keys do not exist yet when a record is left: the record's version goes on from there.
    expectedVersion: c.before.compact !== null ? 0 : c.expectedVersion,
    newVersion: c.expectedVersion + 1,
    // A binding is kept (anonymous ids are not reusable); anything else lives for the retention after its newest data.
    stateExpireAt: bound ? -1 : newest > 0 ? newest + c.retentionMs + DAY_MS : c.now + c.retentionMs + DAY_MS,
    set: ['o', JSON.stringify(stored)],
    unset: [],
    pending: pendingLoaded ? { kind: 'replace', events: newPending } : newPending.length > 0 ? { kind: 'append', events: newPending } : { kind: 'none' },
    pendingTrimCutoff: 0,
    pendingExpireAt: newPending.length > 0 ? newest + c.retentionMs + DAY_MS : 0,
    seen,
    seenCutoff: newest > 0 ? newest - c.retentionMs - DAY_MS : 0,
    seenExpireAt: seen.length > 0 ? newest + c.retentionMs + DAY_MS : 0,
    outbox: c.outbox,
    published: c.published,
    ...(record ? { record } : {}),
  };
}

interface CompactWrite {
  readonly entity: EntityRef & { kind: 'anonymous' };
  readonly place: CompactPlace;
  readonly expected: Buffer;
  readonly value: Buffer;
  readonly expireAt: number;
}

const NONE = Buffer.alloc(0);

export class OrderedEntityStore {
  constructor(
    private readonly store: StateStore,
    private readonly compact: CompactOptions,
  ) {}

  /** Records are read whether or not new ones are written: the setting can be switched with a rolling restart. */
  private placeOf(entity: EntityRef): CompactPlace | null {
    return entity.kind === 'anonymous' ? { stripe: this.store.keys.compactStripe(entity.workspace, entity.anonymousId, this.compact.bySlot), field: compactField(entity.anonymousId) } : null;
  }

  /** Loads a batch's entities in one script call (one per slot in a cluster): scripts/loadOrdered.lua. */
  async load(requests: readonly OrderedLoadRequest[], now = Date.now()): Promise<LoadedOrdered[]> {
    if (requests.length === 0) return [];
    const keys = requests.map((request) => this.store.entityKeys(request.entity));
    const places = requests.map((request) => this.placeOf(request.entity));
    const writeArgs = (i: number, into: Array<string | Buffer>) => {
      const request = requests[i] as OrderedLoadRequest;
      into.push(request.withPending ? '1' : '0', String(request.ids.length));
      pushAll(into, request.ids);
      into.push(String(request.outbox.length));
      for (const position of request.outbox) into.push(`x:${position}`);
      into.push(places[i]?.field ?? '');
    };
    const loaded = new Array<LoadedOrdered>(requests.length);
    const groups = await callPerSlot<Awaited<ReturnType<MergerRedis['loadOrderedBuffer']>>>(this.store.redis, keys.map((k) => k.state), (target, indexes) => {
      const [flatKeys, flatArgs] = flatten(indexes, keys, writeArgs, (i) => places[i]?.stripe);
      return target.loadOrderedBuffer(flatKeys.length, flatKeys, [packArgs(flatArgs)]);
    });
    for (const { indexes, reply } of groups) {
      reply.forEach((answer, j) => {
        const i = indexes[j] as number;
        const request = requests[i] as OrderedLoadRequest;
        const place = places[i] ?? null;
        if (answer === 0) loaded[i] = NEW_ENTITY(place);
        else if (answer.length === 2) loaded[i] = parseCompact(request, answer[1], now, place);
        else loaded[i] = parseLoaded(request, place, answer);
      });
    }
    return loaded;
  }

  /**
   * Stores each entity's new state if it has not moved since it was loaded (its version, or its
   * compact record); false for those that moved.
   */
  async commit(commits: readonly OrderedCommit[]): Promise<boolean[]> {
    const ownKeys: Array<{ index: number; entity: EntityRef; commit: EntityCommit }> = [];
    const compactWrites: Array<{ index: number; write: CompactWrite }> = [];
    commits.forEach((c, index) => {
      const entity = c.entity;
      const before = c.before.compact;
      if (this.compact.enabled && entity.kind === 'anonymous' && (before !== null || c.expectedVersion === 0)) {
        const record = compactAfter({
          kind: entity.kind,
          before: before?.record ?? null,
          newVersion: c.expectedVersion + 1,
          person: c.state.person,
          window: c.state.window,
          applied: c.applied,
          pendingLoaded: c.pendingLoaded,
          added: c.pendingLoaded ? [] : c.state.pending,
          seen: c.seen,
          outboxEntries: c.outbox.size + c.published.length,
          retentionMs: c.retentionMs,
        });
        const value = record ? encodeCompactWithin(record, this.compact.largestValue) : null;
        if (record && value) {
          compactWrites.push({ index, write: { entity, place: c.before.place ?? (this.placeOf(entity) as CompactPlace), expected: before?.raw ?? NONE, value, expireAt: record.expireAt } });
          return;
        }
      }
      // An anonymous id writing its own keys for the first time: its record (or its having none) is checked, and replaced.
      const firstOwn = entity.kind === 'anonymous' && (before !== null || c.expectedVersion === 0);
      const place = firstOwn ? (c.before.place ?? this.placeOf(entity)) : null;
      const guard = place ? { ...place, expected: before?.raw ?? NONE } : undefined;
      ownKeys.push({ index, entity, commit: ownKeysCommit(c, before?.record ?? null, guard) });
    });
    const applied = new Array<boolean>(commits.length);
    const [ownApplied, compactApplied] = await Promise.all([this.store.commitEntities(ownKeys), this.writeCompact(compactWrites.map((w) => w.write))]);
    ownKeys.forEach(({ index }, j) => (applied[index] = ownApplied[j] === true));
    compactWrites.forEach(({ index }, j) => (applied[index] = compactApplied[j] === true));
    return applied;
  }

  private async writeCompact(writes: readonly CompactWrite[]): Promise<boolean[]> {
    if (writes.length === 0) return [];
    const stateKeys = writes.map((w) => this.store.entityKeys(w.entity).state);
    const done = new Array<boolean>(writes.length);
    const groups = await callPerSlot<number[]>(this.store.redis, stateKeys, (target, indexes) => {
      const flatKeys: string[] = [];
      const flatArgs: Array<string | Buffer> = [String(this.compact.mostPerBucket)];
      for (const i of indexes) {
        const w = writes[i] as CompactWrite;
        flatKeys.push(stateKeys[i] as string, w.place.stripe);
        flatArgs.push(w.place.field, w.expected, w.value, String(w.expireAt));
      }
      return target.commitCompact(flatKeys.length, flatKeys, [packArgs(flatArgs)]);
    });
    for (const { indexes, reply } of groups) reply.forEach((flag, j) => (done[indexes[j] as number] = flag === 1));
    return done;
  }
}
