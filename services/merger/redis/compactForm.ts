/**
 * When an anonymous id's state is kept as a compact record (compactRecord.ts) rather than in its
 * own keys, and what such a record says of the entity. Pure.
 *
 * A record fits the common case exactly — an id nobody has identified, whose every applied item
 * was an event that became pending — and nothing else, so that it is the same state in fewer
 * bytes, not another state:
 *
 * - no binding and no window; no outbox entry (every item's outcome was the implicit "P",
 *   ordered/itemOutbox.ts);
 * - every pending event a pointer into one inbound partition, the one that applied its items;
 * - the ids it has counted (SPEC R7) are the ids of its pending events, at their received_at:
 *   a duplicate (no output) or a merge leaves the compact form for good;
 * - the last item applied is its last pending event, with no other item sharing its
 *   (received_at, id) (ordered/appliedStamp.ts: an empty content key).
 *
 * Nothing is trimmed that the own keys keep: their pending list keeps every event until the keys
 * expire, so does the record (a bind after the retention was raised merges the same events). The
 * own keys trim their seen ids at each write to those received before the newest of the write
 * less the retention and a day; the record keeps that cutoff (`seenFrom`) and counts as seen only
 * the events at or after it.
 */
import type { StoredPending } from './codec';
import { expiryHourOf, type CompactEntry, type CompactRecord } from './compactRecord';
import type { EntityApplied } from '../ordered/appliedStamp';
import type { DataWindow } from '../ordered/dataPlane';
import type { PendingEvent } from '../model/state';
import type { PersonRef } from '../../shared/model/person';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The entity as a load of its per-id keys would give it: seen (of the ids asked), pointers, last item. */
export interface CompactView {
  readonly seen: Map<string, number>;
  readonly storedPending: StoredPending[];
  readonly applied: EntityApplied;
}

/** Each id's latest received_at, of the ids still counted as seen. */
function seenOf(record: CompactRecord): Map<string, number> {
  const latest = new Map<string, number>();
  for (const entry of record.entries) latest.set(entry.id, entry.receivedAt);
  if (record.seenFrom > 0) for (const [id, at] of latest) if (at < record.seenFrom) latest.delete(id);
  return latest;
}

export function compactView(record: CompactRecord, ids: readonly string[]): CompactView {
  const latest = seenOf(record);
  const seen = new Map<string, number>();
  for (const id of ids) {
    const at = latest.get(id);
    if (at !== undefined) seen.set(id, at);
  }
  const last = record.entries[record.entries.length - 1];
  return {
    seen,
    storedPending: record.entries.map((e) => ({ kind: 'pointer', receivedAt: e.receivedAt, partition: record.partition, offset: e.offset })),
    applied: last ? { last: { at: last.receivedAt, id: last.id, content: '' }, by: record.partition, others: {} } : { last: null, by: record.partition, others: {} },
  };
}

/** Every id a record has counted, at its received_at: what the per-id keys' seen ids hold. */
export function compactSeen(record: CompactRecord): Array<{ id: string; receivedAt: number }> {
  return [...seenOf(record)].map(([id, receivedAt]) => ({ id, receivedAt }));
}

export interface CompactCandidate {
  readonly kind: 'anonymous' | 'person' | 'invites';
  /** The record the entity had, or null when it had no state at all. */
  readonly before: CompactRecord | null;
  readonly newVersion: number;
  readonly person: PersonRef | null;
  readonly window: DataWindow | null;
  readonly applied: EntityApplied;
  /** A bind loaded (and replaced) the pending events. */
  readonly pendingLoaded: boolean;
  /** Pending events added now, in the order applied. */
  readonly added: readonly PendingEvent[];
  /** Ids counted now, with their received_at. */
  readonly seen: ReadonlyArray<{ readonly id: string; readonly receivedAt: number }>;
  readonly outboxEntries: number;
  readonly retentionMs: number;
}

/** The record the entity's state is, or null when the state does not fit one (it keeps its own keys). */
export function compactAfter(c: CompactCandidate): CompactRecord | null {
  if (c.kind !== 'anonymous' || c.person !== null || c.window !== null || c.outboxEntries > 0 || c.pendingLoaded) return null;
  const { last, by, others } = c.applied;
  if (by === null || last === null || last.content !== '') return null;
  for (const _ in others) return null;
  if (c.before !== null && c.before.partition !== by) return null;
  const added: CompactEntry[] = [];
  const addedSeen = new Map<string, number>();
  let newestNow = 0;
  for (const event of c.added) {
    if (!event.source || event.source.partition !== by) return null;
    newestNow = Math.max(newestNow, event.receivedAt);
    added.push({ receivedAt: event.receivedAt, offset: event.source.offset, id: event.id });
    addedSeen.set(event.id, event.receivedAt);
  }
  // The ids counted now must be exactly those of the events that became pending now.
  if (c.seen.length !== addedSeen.size) return null;
  for (const { id, receivedAt } of c.seen) if (addedSeen.get(id) !== receivedAt) return null;
  const all = c.before ? [...c.before.entries, ...added] : added;
  const final = all[all.length - 1];
  if (!final || final.receivedAt !== last.at || final.id !== last.id) return null;
  let newest = 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of all) {
    newest = Math.max(newest, entry.receivedAt);
    oldest = Math.min(oldest, entry.receivedAt);
  }
  // The own keys' seen trim of this write (orderedEntityStore.ts), on top of the earlier ones; a
  // cutoff below every event changes nothing, now or later (later events are newer), so it is
  // not kept.
  const cutoff = Math.max(c.before?.seenFrom ?? 0, newestNow - c.retentionMs - DAY_MS);
  return { version: c.newVersion, expireAt: expiryHourOf(newest + c.retentionMs + DAY_MS) * HOUR_MS, partition: by, seenFrom: cutoff > oldest ? cutoff : 0, entries: all };
}

/** Whether a stored record counts as gone (its per-id keys would have expired by now). */
export function compactExpired(record: { readonly expireAt: number }, now: number): boolean {
  return record.expireAt <= now;
}
