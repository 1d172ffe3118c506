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
 * Pure: the consumer keeps the buffer between batches; a restart rebuilds it by reading again
 * from the committed offset (`committableOffset`), which is before every record still held.
 */
import { compareRecords } from '../../shared/model/recordOrder';
import type { InboundRecord } from '../../shared/model/inbound';

export interface BufferedRecord {
  readonly offset: number;
  readonly record: InboundRecord;
}

export interface ReorderBuffer {
  /** Records read and not yet released, in log order. */
  readonly held: readonly BufferedRecord[];
  /** Highest received_at read so far (ticks included); -Infinity before the first. */
  readonly highWater: number;
}

export const emptyReorderBuffer: ReorderBuffer = { held: [], highWater: Number.NEGATIVE_INFINITY };

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
export function release(buffer: ReorderBuffer, read: readonly BufferedRecord[], reorderMs: number): Released {
  let highWater = buffer.highWater;
  const held: BufferedRecord[] = [...buffer.held];
  for (const entry of read) {
    highWater = Math.max(highWater, entry.record.received_at);
    if (entry.record.command.kind !== 'tick') held.push(entry);
  }
  const frontier = highWater - reorderMs;
  const ready = held.filter((entry) => entry.record.received_at <= frontier).sort((a, b) => compareRecords(a.record, b.record));
  return { buffer: { held: held.filter((entry) => entry.record.received_at > frontier), highWater }, ready, frontier };
}

/**
 * The offset to commit once the released records are stored: the first one still held (a
 * restart must read it again), or the one after the last read.
 */
export function committableOffset(buffer: ReorderBuffer, nextToRead: number): number {
  return buffer.held.reduce((min, entry) => Math.min(min, entry.offset), nextToRead);
}
