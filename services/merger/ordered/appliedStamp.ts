/**
 * The last item a data-plane entity applied, as stored with its state: a replayed item is one at
 * or before it in the criterion's order (docs/correctness.md), so re-reading a log after a crash
 * applies nothing twice.
 *
 * The order breaks ties on (received_at, id) by a content key, a digest of the record's canonical
 * JSON — about 9 µs for a page view, and the data plane stores one for nearly every event it
 * applies. So an event's key is worked out only when a tie can be met later, i.e. when another
 * item of the entity in the same batch shares its (received_at, id); otherwise the stored key is
 * empty, which means "no other record shares this (received_at, id) here". Why nothing else can:
 * two records sharing (received_at, id) are released together (same received_at) unless the
 * second is read after the release point passed the first — then it is *late* and applied with
 * another received_at (ordered/dataBuffer.ts). So a later item equal on (received_at, id) to a
 * stored stamp with an empty key is that same record read again (or an exact copy): a replay.
 * Commands carry their key already (the control plane made it), so theirs is always stored.
 */
import { compareStamps, type RecordStamp } from '../../shared/model/recordOrder';

export interface AppliedStamp {
  readonly at: number;
  readonly id: string;
  /** The content key, or '' when no other record of the entity shares (at, id). */
  readonly content: string;
}

/** True when an item with this stamp was applied before (it is at or before the stored stamp). */
export function appliedBefore(stamp: RecordStamp, stored: AppliedStamp | null): boolean {
  if (stored === null) return false;
  if (stamp.at !== stored.at || stamp.id !== stored.id) return compareStamps(stamp, { at: stored.at, id: stored.id, content: () => stored.content }) < 0;
  return stored.content === '' || stamp.content() <= stored.content;
}

/**
 * What to store for the last item applied, `last`, given the stamps of every item of the entity
 * in this batch (applied or replayed), and whether its key is at hand already (a command's).
 */
export function storedStamp(last: RecordStamp, batch: readonly RecordStamp[], keyAtHand: boolean): AppliedStamp {
  const shared = batch.some((other) => other !== last && other.at === last.at && other.id === last.id);
  return { at: last.at, id: last.id, content: keyAtHand || shared ? last.content() : '' };
}

/**
 * An entity's last applied item per partition number. An id's items come from one partition
 * until partitions are added: then, for the length of a metadata refresh, ingest and the control
 * plane may route its records by different counts, and two partitions apply them, each in its own
 * release order (docs/runbook-partitions.md). A replay is judged against the stamp of the
 * partition that re-reads its log — against another partition's, an item it never applied would
 * pass for a replay and be dropped. `others` is empty but around such a change.
 */
export interface EntityApplied {
  /** The last item applied by the partition that wrote the entity last (`by`). */
  readonly last: AppliedStamp | null;
  /** null: stored before partitions were told apart (one partition applied everything). */
  readonly by: number | null;
  /** The other partitions' last items, by partition number. */
  readonly others: Readonly<Record<string, AppliedStamp>>;
}

export const NOTHING_APPLIED: EntityApplied = { last: null, by: null, others: {} };

/** Under `others`: a stamp stored before partitions were told apart, once another was written. */
const UNKNOWN_PARTITION = 'u';

/**
 * The last item `partition` applied to the entity, if any. A partition with no stamp of its own
 * takes one stored before partitions were told apart: any partition may have written it.
 */
export function appliedBy(applied: EntityApplied, partition: number): AppliedStamp | null {
  if (applied.by === null || applied.by === partition) return applied.last;
  return applied.others[partition] ?? applied.others[UNKNOWN_PARTITION] ?? null;
}

/**
 * True when another partition has applied an item of the entity at or after this stamp: this
 * item comes late, out of the criterion's order. It is applied all the same — dropping it would
 * lose it — and counted.
 */
export function appliedElsewhereAfter(stamp: RecordStamp, applied: EntityApplied, partition: number): boolean {
  if (applied.by === null) return false;
  if (applied.by !== partition && applied.last !== null && appliedBefore(stamp, applied.last)) return true;
  for (const key in applied.others) if (key !== UNKNOWN_PARTITION && Number(key) !== partition && appliedBefore(stamp, applied.others[key] as AppliedStamp)) return true;
  return false;
}

/** The entity's stamps once `partition` has applied up to `stamp`. */
export function withAppliedBy(applied: EntityApplied, partition: number, stamp: AppliedStamp): EntityApplied {
  if (applied.by === partition) return { last: stamp, by: partition, others: applied.others };
  // The stamp from before partitions were told apart is kept for the partitions with none of
  // their own: one of them wrote it, and may read its items again (after a rebalance, say).
  if (applied.by === null) return { last: stamp, by: partition, others: applied.last === null ? applied.others : { ...applied.others, [UNKNOWN_PARTITION]: applied.last } };
  const others: Record<string, AppliedStamp> = { ...applied.others };
  delete others[partition];
  if (applied.last !== null) others[applied.by] = applied.last;
  return { last: stamp, by: partition, others };
}
