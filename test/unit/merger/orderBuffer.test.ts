/**
 * The order stage's hold (services/merger/order/orderBuffer.ts) on hand-picked logs; the
 * model-based test of the two planes (orderedPlanes.property.test.ts) runs it on random ones, with
 * crashes, and checks each person's merged events against the reference model's order.
 */
import { loadSchema } from '../../../services/shared/avro/schemaFiles';
import type { TopicConfig } from '../../../services/shared/config';
import { committableOrderOffset, comparePlaces, emptyOrderBuffer, orderReleasePoint, releaseOrdered, type OrderBuffer, type OrderLogEntry } from '../../../services/merger/order/orderBuffer';
import { formatOrderPosition, parseOrderPosition } from '../../../services/merger/order/orderBatch';
import { mergedEventRuns, type OrderedOutput, type OrderEntry } from '../../../services/merger/order/orderRecords';

const output = (recordId: string, at: number, source: number, key = 'w/p/id:ada', controlPartition = 0, index = 0): OrderEntry => ({
  kind: 'output',
  output: { controlPartition, at, recordId, content: `c-${recordId}`, index, source, key, values: [Buffer.from(recordId)] },
});
const clock = (source: number, point: number, controlPartition = 0): OrderEntry => ({ kind: 'clock', source, points: new Map([[controlPartition, point]]) });
const log = (from: number, ...entries: OrderEntry[]): OrderLogEntry[] => entries.map((entry, i) => ({ offset: from + i, entry }));
const ids = (ready: ReadonlyArray<{ output: OrderedOutput }>) => ready.map(({ output }) => output.recordId);
const NONE = new Map<number, number>();

describe('the order hold', () => {
  it("releases a person's merged events in the model's order once every data partition's clock has passed them", () => {
    // Partition 1 is ahead: its later event is read first.
    const first = releaseOrdered(emptyOrderBuffer(), log(0, output('late', 200, 1), clock(1, 250)), 2, NONE);
    expect(first.ready).toEqual([]);
    expect(orderReleasePoint(first.buffer.clocks, 0, 2)).toBe(Number.NEGATIVE_INFINITY);
    // Partition 0 sends its earlier one and a clock below the later one: only the earlier goes.
    const second = releaseOrdered(first.buffer, log(2, output('early', 100, 0), clock(0, 150)), 2, first.published);
    expect(ids(second.ready)).toEqual(['early']);
    expect(second.published.get(0)).toBe(150);
    const third = releaseOrdered(second.buffer, log(4, clock(0, 300)), 2, second.published);
    expect(ids(third.ready)).toEqual(['late']);
    expect(third.buffer.held).toEqual([]);
  });

  it('orders by received_at, record id, content, source and index', () => {
    const a = { controlPartition: 0, at: 1, recordId: 'b', content: 'x', index: 0, source: 0 };
    expect(comparePlaces(a, { ...a, at: 2, recordId: 'a' })).toBeLessThan(0);
    expect(comparePlaces(a, { ...a, recordId: 'a' })).toBeGreaterThan(0);
    expect(comparePlaces(a, { ...a, content: 'w', source: -5 })).toBeGreaterThan(0);
    expect(comparePlaces(a, { ...a, source: -1 })).toBeGreaterThan(0);
    expect(comparePlaces(a, { ...a, index: 1 })).toBeLessThan(0);
    const read = log(0, output('r', 10, 1, 'k', 0, 1), output('r', 10, 1, 'k', 0, 0), output('q', 10, 0), clock(0, 10), clock(1, 10));
    expect(releaseOrdered(emptyOrderBuffer(), read, 2, NONE).ready.map(({ output: o }) => `${o.recordId}${o.index}`)).toEqual(['q0', 'r0', 'r1']);
  });

  it("each control partition has its own release point; a clock that goes back is ignored", () => {
    const read = log(0, output('w0', 100, 0, 'k', 0), output('w1', 100, 0, 'k', 1), clock(0, 150, 0), clock(0, 50, 1));
    const released = releaseOrdered(emptyOrderBuffer(), read, 1, NONE);
    expect(ids(released.ready)).toEqual(['w0']);
    const back = releaseOrdered(released.buffer, log(4, clock(0, 120, 0)), 1, released.published);
    expect(back.buffer.clocks.get(0)?.get(0)).toBe(150);
    expect(ids(releaseOrdered(back.buffer, log(5, clock(0, 100, 1)), 1, back.published).ready)).toEqual(['w1']);
  });

  it('a deletion tombstone from the control plane goes out between the merged events before and after it', () => {
    const tombstone: OrderEntry = { kind: 'output', output: { controlPartition: 0, at: 150, recordId: 'del', content: 'c', index: 0, source: -1, key: 'w/p/id:ada', values: [null] } };
    const read = log(0, output('after', 160, 1), tombstone, output('before', 140, 0), clock(0, 200), clock(1, 200));
    expect(releaseOrdered(emptyOrderBuffer(), read, 2, NONE).ready.map(({ output: o }) => (o.values[0] === null ? 'tombstone' : o.recordId))).toEqual(['before', 'tombstone', 'after']);
  });

  it('a restart reads from the first held output, with no clocks, and sends nothing twice', () => {
    const entries = log(0, output('a', 100, 0), output('b', 300, 0), output('c', 200, 1), clock(0, 350), clock(1, 250));
    const before = releaseOrdered(emptyOrderBuffer(), entries, 2, NONE);
    expect(ids(before.ready)).toEqual(['a', 'c']);
    const offset = committableOrderOffset(before.buffer, 5);
    expect(offset).toBe(1);
    const metadata = formatOrderPosition(before.published, 5);
    const { published, readUpTo } = parseOrderPosition(metadata);
    expect(readUpTo).toBe(5);
    // Read again from offset 1: 'c' was sent before (at or below the published point), 'b' is not yet.
    let buffer: OrderBuffer = emptyOrderBuffer();
    const again = releaseOrdered(buffer, entries.slice(offset), 2, published, readUpTo);
    expect(again.ready).toEqual([]);
    buffer = again.buffer;
    const later = releaseOrdered(buffer, log(5, clock(1, 400)), 2, again.published);
    expect(ids(later.ready)).toEqual(['b']);
    expect(later.skipped).toBe(0);
    expect(again.skipped).toBe(1);
  });

  it('a restart finds the clock of a data partition that sends no more (found by the model-based test)', () => {
    // Partition 0's last clock comes before the output that waits for partition 1's.
    const entries = log(0, clock(0, 350), output('x', 300, 1));
    const before = releaseOrdered(emptyOrderBuffer(), entries, 2, NONE);
    expect(before.ready).toEqual([]);
    const offset = committableOrderOffset(before.buffer, 2);
    expect(offset).toBe(0);
    const again = releaseOrdered(emptyOrderBuffer(), [...entries.slice(offset), ...log(2, clock(1, 400))], 2, before.published);
    expect(ids(again.ready)).toEqual(['x']);
  });

  it('a quiet data partition sending the same clock again moves the restart position on; a lower one does not', () => {
    // Nothing moves: each partition's first clock record stays in force, and the position with it.
    const first = releaseOrdered(emptyOrderBuffer(), log(0, clock(0, 300), clock(1, 300), output('x', 200, 0)), 2, NONE);
    expect(ids(first.ready)).toEqual(['x']);
    expect(committableOrderOffset(first.buffer, 3)).toBe(0);
    // Both sent again, unmoved (once a second while quiet): a restart reads from the first of those.
    const again = releaseOrdered(first.buffer, log(3, clock(0, 300), clock(1, 300)), 2, first.published);
    expect(committableOrderOffset(again.buffer, 5)).toBe(3);
    // A record below the one in force (sent before a restart of its partition) is not a snapshot of it.
    const lower = releaseOrdered(again.buffer, log(5, { kind: 'clock', source: 0, points: new Map([[0, 250]]) }), 2, again.published);
    expect(committableOrderOffset(lower.buffer, 6)).toBe(3);
    const later = releaseOrdered(lower.buffer, log(6, clock(0, 300), clock(1, 300)), 2, lower.published);
    expect(committableOrderOffset(later.buffer, 8)).toBe(6);
  });

  it('an output read for the first time below a released point goes out at once, out of order, not lost', () => {
    // The stage counted one data partition; a second (added to inbound) sends an output below what was released.
    const first = releaseOrdered(emptyOrderBuffer(), log(0, output('a', 100, 0), clock(0, 200)), 1, NONE);
    expect(ids(first.ready)).toEqual(['a']);
    const late = releaseOrdered(first.buffer, log(2, output('b', 150, 1), output('c', 250, 0)), 1, first.published, 0);
    expect(ids(late.ready)).toEqual(['b']);
    expect(ids(late.late)).toEqual(['b']);
    expect(late.skipped).toBe(0);
    expect(ids(late.buffer.held)).toEqual(['c']);
  });

  it('a partition added to inbound holds everything until it sends a clock', () => {
    const read = log(0, output('a', 100, 0), clock(0, 200));
    const one = releaseOrdered(emptyOrderBuffer(), read, 2, NONE);
    expect(one.ready).toEqual([]);
    expect(ids(releaseOrdered(one.buffer, log(2, clock(1, 100)), 2, one.published).ready)).toEqual(['a']);
  });

  it('past its bound the hold keeps the earliest, drops the rest to the log, and reads them again in the same order', () => {
    // Data partition 1 is stalled (its clock stays at 100) while partition 0 sends ten merged
    // events and moves on: the hold keeps three, and never releases anything past a dropped one.
    const entries: OrderEntry[] = [clock(1, 100)];
    for (let i = 0; i < 10; i += 1) entries.push(output(`e${i}`, 200 + 10 * (9 - i), 0), clock(0, 300 + i));
    const stalled = log(0, ...entries);
    /** Reads the log in batches of `batch`, seeking back as the hold asks; releases and held sizes seen. */
    const drain = (logEntries: OrderLogEntry[], maxHeld: number, batch: number) => {
      let buffer = emptyOrderBuffer();
      let published: Map<number, number> = new Map(NONE);
      let readTo = 0;
      let readBefore = 0;
      const released: string[] = [];
      let mostHeld = 0;
      for (let guard = 0; readTo < logEntries.length || buffer.dropped !== null; guard += 1) {
        if (guard > 1000) throw new Error('no progress');
        const read = logEntries.slice(readTo, readTo + batch);
        const step = releaseOrdered(buffer, read, 2, published, readBefore, maxHeld);
        expect(step.late).toEqual([]);
        released.push(...ids(step.ready));
        mostHeld = Math.max(mostHeld, step.buffer.held.length);
        buffer = step.buffer;
        published = new Map(step.published);
        readTo += read.length;
        readBefore = Math.max(readBefore, readTo);
        if (step.readAgainFrom !== null) readTo = step.readAgainFrom;
      }
      return { released, mostHeld, buffer };
    };
    // Unbounded, for comparison: nothing goes before partition 1 moves.
    const unbounded = drain([...stalled, { offset: stalled.length, entry: clock(1, 400) }], Number.POSITIVE_INFINITY, 4);
    expect(unbounded.mostHeld).toBe(10);
    expect(unbounded.released).toEqual(['e9', 'e8', 'e7', 'e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
    // Bounded at 3: the stall costs three outputs of memory, and the release is the same.
    const bounded = drain([...stalled, { offset: stalled.length, entry: clock(1, 400) }], 3, 4);
    expect(bounded.mostHeld).toBeLessThanOrEqual(3);
    expect(bounded.released).toEqual(unbounded.released);
    expect(bounded.buffer.dropped).toBeNull();
  });

  it('while it is at its bound, a restart reads again from the first output it dropped', () => {
    const read = log(0, output('a', 100, 0), output('b', 200, 0), output('c', 300, 0), clock(0, 400));
    const full = releaseOrdered(emptyOrderBuffer(), read, 2, NONE, 0, 1);
    expect(ids(full.buffer.held)).toEqual(['a']);
    expect(full.dropped).toBe(2);
    expect(full.buffer.dropped?.from).toBe(1);
    expect(committableOrderOffset(full.buffer, 4)).toBe(0);
    // Partition 1 passes a: released; the hold has room, and asks to read again from b.
    const room = releaseOrdered(full.buffer, log(4, clock(1, 150)), 2, full.published, 4, 1);
    expect(ids(room.ready)).toEqual(['a']);
    expect(room.readAgainFrom).toBe(1);
    // What it commits makes a restart read b and c again; nothing at or above b was released.
    expect(committableOrderOffset(room.buffer, Math.min(5, room.readAgainFrom ?? 5))).toBe(1);
    expect(room.published.get(0)).toBeLessThan(200);
  });

  it("an item's merged events travel in runs of one key, the other outputs alone, in their order", () => {
    const o = (stream: string, key: string) => ({ stream, key });
    const parts = mergedEventRuns([o('mergedEvents', 'p'), o('mergedEvents', 'p'), o('campaignTriggers', 'p'), o('mergedEvents', 'p'), o('mergedEvents', 'q'), o('activity', 'p')]);
    expect(parts.map((part) => (part.kind === 'other' ? part.output.stream : `${part.index}:${part.outputs.map((x) => x.key).join('')}`))).toEqual(['0:pp', 'campaignTriggers', '3:p', '4:q', 'activity']);
  });

  it("the topic's records encode and decode with its schema", () => {
    const type = loadSchema('personOrder', { personOrder: 'order' } as unknown as TopicConfig).type;
    const out = { entry: { 'dev.anonmerge.order.OrderedOutput': { control_partition: 2, at: 5, record_id: 'r', content: 'c', index: 1, source: -3, values: [Buffer.from('v'), Buffer.from('w')] } } };
    expect(type.fromBuffer(type.toBuffer(out))).toEqual(out);
    const tombstone = { entry: { 'dev.anonmerge.order.OrderedOutput': { ...out.entry['dev.anonmerge.order.OrderedOutput'], values: [null] } } };
    expect(type.fromBuffer(type.toBuffer(tombstone))).toEqual(tombstone);
    const clockRecord = { entry: { 'dev.anonmerge.order.SourceClock': { source: 4, points: { '0': 12, '3': 40 } } } };
    expect(JSON.parse(JSON.stringify(type.fromBuffer(type.toBuffer(clockRecord))))).toEqual(clockRecord);
  });
});
