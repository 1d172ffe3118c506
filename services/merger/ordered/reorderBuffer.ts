/**
 * The control consumer's reorder buffer (docs/design-person-operations.md): records read from a
 * person-ops partition wait until the partition has shown one received `L` after them, then go
 * out in `(received_at, id)` order. Two ingest replicas append slightly out of stamp order; within
 * `L` that changes nothing about the order of decisions.
 *
 * The frontier — the highest received_at read, minus `L` — is also the control clock: every
 * person operation received at or before it has been read, so the data plane may apply what it
 * holds up to it.
 *
 * A record appended more than `L` after a later-stamped one is *late*: the frontier may have
 * passed it already. It is applied as if received just after the frontier it could have been
 * released under — `highWaterBefore − L + 1`, where highWaterBefore is the highest received_at
 * in the log before it. That depends on the log alone (not on where batches start), so a replay
 * treats it the same; and it is after every record released before it was read.
 *
 * Pure: the consumer keeps the buffer between batches; a restart rebuilds it by reading again
 * from the committed offset (`committableOffset`), with the high water of the log before that
 * offset (`highWaterBefore` of the first record held), which the commit stores.
 */
import { compareRecords } from '../../shared/model/recordOrder';
import type { InboundRecord } from '../../shared/model/inbound';

export interface BufferedRecord {
  readonly offset: number;
  /** As read; for a late record, with received_at moved to where it is applied. */
  readonly record: InboundRecord;
  /** The highest received_at in the log before this record. */
  readonly highWaterBefore: number;
  /** received_at as sent, when the record was late (else null). */
  readonly lateFrom: number | null;
}

export interface ReorderBuffer {
  /** Records read and not yet released, in log order. */
  readonly held: readonly BufferedRecord[];
  /** Highest received_at read so far (ticks included); -Infinity before the first. */
  readonly highWater: number;
}

export function emptyReorderBuffer(highWater = Number.NEGATIVE_INFINITY): ReorderBuffer {
  return { held: [], highWater };
}

export interface Released {
  readonly buffer: ReorderBuffer;
  /** In (received_at, id) order: the records to decide now. */
  readonly ready: BufferedRecord[];
  /** The control clock after this step. */
  readonly frontier: number;
}

/**
 * Adds what was read (records and ticks, in log order; ticks only move the high water) and
 * releases what the frontier has passed.
 */
export function release(buffer: ReorderBuffer, read: ReadonlyArray<{ readonly offset: number; readonly record: InboundRecord }>, reorderMs: number): Released {
  let highWater = buffer.highWater;
  const held: BufferedRecord[] = [...buffer.held];
  for (const { offset, record } of read) {
    const highWaterBefore = highWater;
    highWater = Math.max(highWater, record.received_at);
    if (record.command.kind === 'tick') continue;
    const passed = highWaterBefore - reorderMs;
    if (record.received_at <= passed) held.push({ offset, record: { ...record, received_at: passed + 1 }, highWaterBefore, lateFrom: record.received_at });
    else held.push({ offset, record, highWaterBefore, lateFrom: null });
  }
  const frontier = highWater - reorderMs;
  const ready = held.filter((entry) => entry.record.received_at <= frontier).sort((a, b) => compareRecords(a.record, b.record));
  return { buffer: { held: held.filter((entry) => entry.record.received_at > frontier), highWater }, ready, frontier };
}

/**
 * Where a restart must read again from once the released records are stored: the first record
 * still held, with the high water of the log before it; or, when none is held, the next offset
 * with the whole high water.
 */
export function committablePosition(buffer: ReorderBuffer, nextToRead: number): { readonly offset: number; readonly highWater: number } {
  let first: BufferedRecord | null = null;
  for (const entry of buffer.held) if (!first || entry.offset < first.offset) first = entry;
  return first ? { offset: first.offset, highWater: first.highWaterBefore } : { offset: nextToRead, highWater: buffer.highWater };
}
