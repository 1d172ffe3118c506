/**
 * The control consumer's reorder buffer: person operations go out in (received_at, id) order once
 * the partition has shown a record received L after them (the criterion's order, R2–R10).
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { compareRecords } from '../../../services/shared/model/recordOrder';
import { committablePosition, emptyReorderBuffer, release } from '../../../services/merger/ordered/reorderBuffer';

const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
const identify = (id: string, at: number): InboundRecord => ({ workspace_id: 'w', id, received_at: at, settings, command: { kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: 'a', attributes_json: '{}' } } });
const tick = (at: number): InboundRecord => ({ workspace_id: 'w', id: `tick-${at}`, received_at: at, settings, command: { kind: 'tick', body: {} } });
const at = (offset: number, record: InboundRecord) => ({ offset, record });

describe('the reorder buffer', () => {
  it('holds a record until one received L after it is read, then releases in (received_at, id) order', () => {
    const first = release(emptyReorderBuffer(), [at(0, identify('b', 1000)), at(1, identify('a', 1000)), at(2, identify('c', 990))], 100);
    expect(first.ready).toEqual([]);
    expect(first.frontier).toBe(900);
    expect(committablePosition(first.buffer, 3)).toEqual({ offset: 0, highWater: Number.NEGATIVE_INFINITY });

    // A tick received at 1100 passes them all: same instant → by id.
    const second = release(first.buffer, [at(3, tick(1100))], 100);
    expect(second.ready.map((e) => e.record.id)).toEqual(['c', 'a', 'b']);
    expect(second.buffer.held).toEqual([]);
    expect(committablePosition(second.buffer, 4)).toEqual({ offset: 4, highWater: 1100 });
  });

  it('commits no further than the first record it still holds', () => {
    const step = release(emptyReorderBuffer(), [at(10, identify('x', 2000)), at(11, identify('y', 1950)), at(12, tick(2060))], 100);
    expect(step.ready.map((e) => e.record.id)).toEqual(['y']);
    expect(committablePosition(step.buffer, 13)).toEqual({ offset: 10, highWater: Number.NEGATIVE_INFINITY });
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
          let buffer = emptyReorderBuffer();
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

  it('applies a record appended more than L late just after the frontier it could have been released under', () => {
    // 'late' (received at 1000) comes after a record received at 1500: the frontier was 1400.
    const step = release(emptyReorderBuffer(), [at(0, identify('x', 1500)), at(1, identify('late', 1000)), at(2, tick(1700))], 100);
    expect(step.ready.map((e) => [e.record.id, e.record.received_at, e.lateFrom])).toEqual([
      ['late', 1401, 1000],
      ['x', 1500, null],
    ]);
  });

  it('R2: releases the same records at the same stamps whatever the batches and wherever it restarts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 3000 }), id: fc.constantFrom('a', 'b', 'c') }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        (drafts, cuts, restarts) => {
          // Any order at all: late records included.
          const log = [...drafts.map((d, offset) => at(offset, identify(`${d.id}${offset}`, d.at))), at(drafts.length, tick(10_000))];
          const once = release(emptyReorderBuffer(), log, 100).ready.map((e) => `${e.record.id}@${e.record.received_at}`);
          // In batches; at some batch ends the consumer restarts from what it would have committed.
          const released = new Map<string, string>();
          let buffer = emptyReorderBuffer();
          let next = 0;
          for (let c = 0; next < log.length; c += 1) {
            if (c > 20 * log.length) throw new Error('no progress');
            const read = log.slice(next, next + (cuts[c % cuts.length] as number));
            next += read.length;
            const step = release(buffer, read, 100);
            buffer = step.buffer;
            for (const e of step.ready) released.set(e.record.id, `${e.record.id}@${e.record.received_at}`);
            // Only so often that the reading gets to the end: a restart goes back to the first held.
            if (restarts[c % restarts.length] && c < 3 * log.length) {
              const position = committablePosition(buffer, next);
              buffer = emptyReorderBuffer(position.highWater);
              next = position.offset;
            }
          }
          // A restart releases some records again (a replay); each at the stamp it had.
          expect([...released.values()].sort()).toEqual([...once].sort());
        },
      ),
      { numRuns: 2000 },
    );
  });
});
