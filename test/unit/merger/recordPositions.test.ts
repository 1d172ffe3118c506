/**
 * The order hold over records that hold several outputs (order/recordPositions.ts): positions
 * within a record, the offset committed and the offset read again from.
 */
import { emptyOrderBuffer, type OrderBuffer } from '../../../services/merger/order/orderBuffer';
import type { OrderEntry } from '../../../services/merger/order/orderRecords';
import { offsetOfPosition, positionOf, releaseOrderedRecords, type OrderRecord } from '../../../services/merger/order/recordPositions';
import type { Clocks } from '../../../services/merger/ordered/dataBuffer';

const output = (recordId: string, at: number, index = 0): OrderEntry => ({ kind: 'output', output: { controlPartition: 0, at, recordId, content: 'c', index, source: 0, key: 'w/p/id:ada', values: [Buffer.from(recordId)] } });
const clock = (source: number, point: number): OrderEntry => ({ kind: 'clock', source, points: new Map([[0, point]]) });

describe('the order hold over records of several outputs', () => {
  it('positions are offset × RECORD_POSITIONS + index, and back', () => {
    expect(offsetOfPosition(positionOf(12_345, 678))).toBe(12_345);
    expect(positionOf(3, 1)).toBeGreaterThan(positionOf(2, 60_000));
  });

  it('R6 R7: drops part of a record at its bound, commits that record, reads it again and releases each of its outputs once, in order', () => {
    let buffer: OrderBuffer = emptyOrderBuffer();
    let published: Clocks = new Map();
    let readBefore = 0;
    const released: string[] = [];
    const step = (records: OrderRecord[], nextOffset: number) => {
      const got = releaseOrderedRecords(buffer, records, 2, published, readBefore, nextOffset, 1);
      buffer = got.buffer;
      published = got.published;
      readBefore = Math.max(readBefore, nextOffset);
      released.push(...got.ready.map(({ output }) => output.recordId));
      return got;
    };
    // One data step's three outputs in one record; data partition 1 has not passed any of them.
    const full = step([{ offset: 0, entries: [output('a', 100), output('b', 200, 1), output('c', 300, 2)] }, { offset: 1, entries: [clock(0, 400)] }], 2);
    expect(full.dropped).toBe(2);
    expect(full.commitOffset).toBe(0);
    // Partition 1 passes a: released; the hold has room and reads again from record 0 (not 0's second output: Kafka reads records).
    const room = step([{ offset: 2, entries: [clock(1, 150)] }], 3);
    expect(released).toEqual(['a']);
    expect(room.readAgainFrom).toBe(0);
    expect(room.commitOffset).toBe(0);
    // Read again as the stage does (its seek), with partition 1's clock moving past b, then c.
    const log: OrderRecord[] = [
      { offset: 0, entries: [output('a', 100), output('b', 200, 1), output('c', 300, 2)] },
      { offset: 1, entries: [clock(0, 400)] },
      { offset: 2, entries: [clock(1, 150)] },
      { offset: 3, entries: [clock(1, 250)] },
      { offset: 4, entries: [clock(1, 350)] },
    ];
    let readFrom = room.readAgainFrom as number;
    let skipped = 0;
    for (let readTo = 3; readFrom < log.length || buffer.held.length > 0; readTo = Math.min(log.length, readTo + 1)) {
      const got = step(log.slice(readFrom, readTo), readTo);
      skipped += got.skipped;
      // A restart from the committed offset would find every output not yet released.
      const firstHeld = Math.min(...buffer.held.map((h) => offsetOfPosition(h.offset)));
      expect(got.commitOffset).toBeLessThanOrEqual(firstHeld);
      readFrom = got.readAgainFrom ?? readTo;
      if (readTo === log.length && got.readAgainFrom === null && buffer.held.length === 0) break;
    }
    expect(released).toEqual(['a', 'b', 'c']);
    expect(skipped).toBeGreaterThan(0);
  });
});
