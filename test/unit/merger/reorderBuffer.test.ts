/**
 * The control consumer's reorder buffer: person operations go out in (received_at, id) order once
 * the partition has shown a record received L after them (the criterion's order, R2–R10).
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { compareRecords } from '../../../services/shared/model/recordOrder';
import { committableOffset, emptyReorderBuffer, release, type BufferedRecord } from '../../../services/merger/ordered/reorderBuffer';

const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
const identify = (id: string, at: number): InboundRecord => ({ workspace_id: 'w', id, received_at: at, settings, command: { kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: 'a', attributes_json: '{}' } } });
const tick = (at: number): InboundRecord => ({ workspace_id: 'w', id: `tick-${at}`, received_at: at, settings, command: { kind: 'tick', body: {} } });
const at = (offset: number, record: InboundRecord): BufferedRecord => ({ offset, record });

describe('the reorder buffer', () => {
  it('holds a record until one received L after it is read, then releases in (received_at, id) order', () => {
    const first = release(emptyReorderBuffer, [at(0, identify('b', 1000)), at(1, identify('a', 1000)), at(2, identify('c', 990))], 100);
    expect(first.ready).toEqual([]);
    expect(first.frontier).toBe(900);
    expect(committableOffset(first.buffer, 3)).toBe(0);

    // A tick received at 1100 passes them all: same instant → by id.
    const second = release(first.buffer, [at(3, tick(1100))], 100);
    expect(second.ready.map((e) => e.record.id)).toEqual(['c', 'a', 'b']);
    expect(second.buffer.held).toEqual([]);
    expect(committableOffset(second.buffer, 4)).toBe(4);
  });

  it('commits no further than the first record it still holds', () => {
    const step = release(emptyReorderBuffer, [at(10, identify('x', 2000)), at(11, identify('y', 1500)), at(12, tick(1650))], 100);
    expect(step.ready.map((e) => e.record.id)).toEqual(['y']);
    expect(committableOffset(step.buffer, 13)).toBe(10);
  });

  it('R2: whatever the batch split, records within L of log order come out in (received_at, id) order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 5000 }), delay: fc.integer({ min: 0, max: 99 }), id: fc.constantFrom('a', 'b', 'c', 'd') }), { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        (drafts, cuts) => {
          // Appended in the order of received_at + delay (delay < L), then a final tick past everything.
          const records = drafts.map((d, i) => ({ ...identify(`${d.id}${i}`, d.at), appendAt: d.at + d.delay })).sort((a, b) => a.appendAt - b.appendAt);
          const log = [...records.map((r, offset) => at(offset, r)), at(records.length, tick(10_000))];
          let buffer = emptyReorderBuffer;
          const released: InboundRecord[] = [];
          for (let i = 0, c = 0; i < log.length; c += 1) {
            const read = log.slice(i, i + (cuts[c % cuts.length] as number));
            i += read.length;
            const step = release(buffer, read, 100);
            buffer = step.buffer;
            released.push(...step.ready.map((e) => e.record));
          }
          expect(released.map((r) => r.id)).toEqual([...records].sort(compareRecords).map((r) => r.id));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
