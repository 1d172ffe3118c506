/**
 * test/support/latePlacement.ts places late records as the merger's own rules do: checked here
 * against ordered/dataBuffer.ts (inbound) and ordered/reorderBuffer.ts (person-ops) on random
 * logs, whatever the batch split.
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../services/shared/model/inbound';
import { emptyDataBuffer, heldItems, releaseData } from '../../services/merger/ordered/dataBuffer';
import { emptyReorderBuffer, release } from '../../services/merger/ordered/reorderBuffer';
import { placeLate } from '../support/latePlacement';

const L = 100;
const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
const track = (id: string, at: number): InboundRecord => ({ workspace_id: 'w', id, received_at: at, settings, command: { kind: 'track', body: { person: null, anonymous_id: 'a', name: 'n', type: 'page', timestamp: 1, data_json: '{}' } } });
const identify = (id: string, at: number): InboundRecord => ({ workspace_id: 'w', id, received_at: at, settings, command: { kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: 'a', attributes_json: '{}' } } });
const tick = (id: string, at: number): InboundRecord => ({ workspace_id: '', id, received_at: at, settings, command: { kind: 'tick', body: {} } });

/** Stamps that mostly grow, some appended up to 5 L late; ticks among them. */
const logOf = (make: (id: string, at: number) => InboundRecord) =>
  fc.array(fc.record({ step: fc.integer({ min: -5 * L, max: 3 * L }), isTick: fc.boolean() }), { minLength: 1, maxLength: 60 }).map((steps) => {
    let at = 1_000_000;
    return steps.map(({ step, isTick }, i) => {
      at += Math.max(step, -5 * L);
      return isTick ? tick(`t${i}`, at) : make(`r${i}`, at);
    });
  });
const splits = fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 });

/** Cuts the log into batches of the given sizes (cycling), as a consumer might read it. */
function batches<T>(items: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  for (let at = 0, i = 0; at < items.length; i += 1) {
    const size = sizes[i % sizes.length] as number;
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}

describe('late records placed as the merger places them', () => {
  it('inbound: as the data hold moves them (events only)', () => {
    fc.assert(
      fc.property(logOf(track), splits, (log, sizes) => {
        const placed = new Map(placeLate('inbound', log, L).map((r) => [r.id, r.received_at]));
        let buffer = emptyDataBuffer(new Map([[0, Number.POSITIVE_INFINITY]]));
        const moved = new Map<string, number>();
        let offset = 0;
        for (const batch of batches(log, sizes)) {
          const step = releaseData(buffer, { inbound: batch.map((record) => ({ offset: offset++, record })) }, () => 0, L);
          buffer = step.buffer;
          for (const held of step.ready) if (held.item.kind === 'event') moved.set(held.item.record.id, held.item.record.received_at);
        }
        for (const held of heldItems(buffer)) if (held.item.kind === 'event') moved.set(held.item.record.id, held.item.record.received_at);
        for (const [id, at] of moved) expect(placed.get(id)).toBe(at);
      }),
      { numRuns: 500 },
    );
  });

  it('person-ops: as the reorder buffer moves them (every operation)', () => {
    fc.assert(
      fc.property(logOf(identify), splits, (log, sizes) => {
        const placed = new Map(placeLate('personOps', log, L).map((r) => [r.id, r.received_at]));
        let buffer = emptyReorderBuffer();
        const moved = new Map<string, number>();
        let offset = 0;
        for (const batch of batches(log, sizes)) {
          const step = release(buffer, batch.map((record) => ({ offset: offset++, record })), L);
          buffer = step.buffer;
          for (const entry of step.ready) moved.set(entry.record.id, entry.record.received_at);
        }
        for (const entry of buffer.held) moved.set(entry.record.id, entry.record.received_at);
        expect(moved.size).toBe(log.filter((r) => r.command.kind !== 'tick').length);
        for (const [id, at] of moved) expect(placed.get(id)).toBe(at);
      }),
      { numRuns: 500 },
    );
  });

  it('a record appended 5 L after a later one is moved to just after the frontier; one within L stays', () => {
    const placed = placeLate('inbound', [track('a', 1000), track('b', 1500), track('late', 1300), track('close', 1450)], L);
    expect(placed.map((r) => r.received_at)).toEqual([1000, 1500, 1401, 1450]);
  });
});
