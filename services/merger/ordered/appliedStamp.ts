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
