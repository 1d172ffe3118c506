/**
 * Where each output of the person-order topic is: a record may hold several (an OrderedOutputs
 * record: a data step's merged events for one partition), so the order hold
 * (order/orderBuffer.ts) counts in *positions* — the record's offset × RECORD_POSITIONS + the
 * output's index in it — and the stage turns them back into offsets where Kafka needs one (the
 * position it commits, where it reads again from). A restart or a reading again starts at a
 * record's first output; the hold recognises what it holds or released by position.
 *
 * Exact while offset × RECORD_POSITIONS stays below 2^53: offsets below 2^37 (137 billion
 * records in one partition). A record holds far fewer than RECORD_POSITIONS outputs: at most
 * ORDER_RECORD_BYTES of them, each over a hundred bytes.
 */
import { committableOrderOffset, releaseOrdered, type OrderBuffer, type OrderLogEntry, type OrderRelease } from './orderBuffer';
import type { OrderEntry } from './orderRecords';
import type { Clocks } from '../ordered/dataBuffer';

export const RECORD_POSITIONS = 65_536;

export const positionOf = (offset: number, index = 0): number => offset * RECORD_POSITIONS + index;
export const offsetOfPosition = (position: number): number => Math.floor(position / RECORD_POSITIONS);

export interface OrderRecord {
  readonly offset: number;
  readonly entries: readonly OrderEntry[];
}

export interface OrderRecordsRelease extends Omit<OrderRelease, 'readAgainFrom'> {
  /** The hold has room again for what it dropped: the stage reads again from this offset. */
  readonly readAgainFrom: number | null;
  /** The offset to commit: a restart reads again from there (the record of the first output still held, or the clock in force). */
  readonly commitOffset: number;
}

/**
 * releaseOrdered over records: `readBefore` and `nextOffset` (after the last record read) are
 * offsets, as Kafka gives them; what is held is counted in positions.
 */
export function releaseOrderedRecords(buffer: OrderBuffer, records: readonly OrderRecord[], sources: number, published: Clocks, readBefore: number, nextOffset: number, maxHeld = Number.POSITIVE_INFINITY): OrderRecordsRelease {
  const read: OrderLogEntry[] = records.flatMap(({ offset, entries }) => entries.map((entry, index) => ({ offset: positionOf(offset, index), entry })));
  const released = releaseOrdered(buffer, read, sources, published, positionOf(readBefore), maxHeld);
  const next = positionOf(nextOffset);
  // What it will read again is read again after a restart too.
  const commitOffset = offsetOfPosition(committableOrderOffset(released.buffer, Math.min(next, released.readAgainFrom ?? next)));
  return { ...released, readAgainFrom: released.readAgainFrom === null ? null : offsetOfPosition(released.readAgainFrom), commitOffset };
}
