/**
 * The data plane's entity state in Redis (docs/design-person-operations.md), on the same keys as
 * the merger's entities (keys.ts): the state hash holds the version ("v"), the ordered state as
 * one JSON field ("o": person, window, last item applied) and the outbox ("x:<partition>:<offset>"
 * per item, "t:<window end>" per window reported by the clock); the pending list and the seen ids
 * keep their shapes. Outbox entries are named by "position" here (the field is "x:" + it). A
 * batch's reads are one script call (loadOrdered.lua), its write another (commitEntities.lua, a
 * compare-and-set on the version, shared with the legacy merger's entities).
 */
import { decodeStoredPending, type StoredPending } from './codec';
import type { EntityRef } from '../model/entities';
import { NOTHING_APPLIED, type AppliedStamp, type EntityApplied } from '../ordered/appliedStamp';
import type { DataEntityState, DataWindow } from '../ordered/dataPlane';
import type { PersonRef } from '../../shared/model/person';
import { flatten, pushAll, type StateStore } from './stateStore';
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
const NEW_ENTITY = (): LoadedOrdered => ({ version: 0, state: { seen: new Map(), person: null, window: null, pending: [] }, storedPending: [], applied: NOTHING_APPLIED, outbox: new Map() });

function parseLoaded(request: OrderedLoadRequest, [version, ordered, pending, scores, outboxValues]: [Buffer | null, Buffer | null, Buffer[], Array<Buffer | null>, Array<Buffer | null>]): LoadedOrdered {
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
  return { version: Number(version?.toString() ?? 0), state: { seen, person: stored.p, window: stored.w, pending: [] }, storedPending: pending.map(decodeStoredPending), applied: { last: stored.a, by: stored.q ?? null, others: stored.o ?? {} }, outbox };
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

export class OrderedEntityStore {
  constructor(private readonly store: StateStore) {}

  /** Loads a batch's entities in one script call (one per slot in a cluster): scripts/loadOrdered.lua. */
  async load(requests: readonly OrderedLoadRequest[]): Promise<LoadedOrdered[]> {
    if (requests.length === 0) return [];
    const keys = requests.map((request) => this.store.entityKeys(request.entity));
    const writeArgs = (i: number, into: string[]) => {
      const request = requests[i] as OrderedLoadRequest;
      into.push(request.withPending ? '1' : '0', String(request.ids.length));
      pushAll(into, request.ids);
      into.push(String(request.outbox.length));
      for (const position of request.outbox) into.push(`x:${position}`);
    };
    const loaded = new Array<LoadedOrdered>(requests.length);
    const groups = await callPerSlot<Awaited<ReturnType<MergerRedis['loadOrderedBuffer']>>>(this.store.redis, keys.map((k) => k.state), (target, indexes) => {
      const [flatKeys, flatArgs] = flatten(indexes, keys, writeArgs);
      return target.loadOrderedBuffer(flatKeys.length, flatKeys, [packArgs(flatArgs)]);
    });
    for (const { indexes, reply } of groups) {
      reply.forEach((answer, j) => {
        const i = indexes[j] as number;
        loaded[i] = answer === 0 ? NEW_ENTITY() : parseLoaded(requests[i] as OrderedLoadRequest, answer);
      });
    }
    return loaded;
  }

  /** Stores each entity's new state if its version has not moved; false for those that moved. */
  async commit(commits: readonly OrderedCommit[]): Promise<boolean[]> {
    return this.store.commitEntities(
      commits.map((c) => {
        const { last, by, others } = c.applied;
        const stored: StoredOrdered = { p: c.state.person, w: c.state.window, a: last, ...(by !== null ? { q: by } : {}), ...(Object.keys(others).length > 0 ? { o: others } : {}) };
        const newPending = c.state.pending;
        const bound = c.entity.kind === 'anonymous' && c.state.person !== null;
        const newest = Math.max(0, ...newPending.map((e) => e.receivedAt), ...c.seen.map((s) => s.receivedAt));
        return {
          entity: c.entity,
          commit: {
            expectedVersion: c.expectedVersion,
            newVersion: c.expectedVersion + 1,
            // A binding is kept (anonymous ids are not reusable); anything else lives for the retention after its newest data.
            stateExpireAt: bound ? -1 : newest > 0 ? newest + c.retentionMs + DAY_MS : c.now + c.retentionMs + DAY_MS,
            set: ['o', JSON.stringify(stored)],
            unset: [],
            pending: c.pendingLoaded ? { kind: 'replace', events: newPending } : newPending.length > 0 ? { kind: 'append', events: newPending } : { kind: 'none' },
            pendingTrimCutoff: 0,
            pendingExpireAt: newPending.length > 0 ? newest + c.retentionMs + DAY_MS : 0,
            seen: c.seen,
            seenCutoff: newest > 0 ? newest - c.retentionMs - DAY_MS : 0,
            seenExpireAt: c.seen.length > 0 ? newest + c.retentionMs + DAY_MS : 0,
            outbox: c.outbox,
            published: c.published,
          },
        };
      }),
    );
  }
}

