/**
 * The data plane's replay rule (services/merger/ordered/appliedStamp.ts): an item is a replay when
 * it is at or before the last item the entity applied, and the content key of that item is stored
 * only when another item of the batch shares its (received_at, id).
 */
import { appliedBefore, appliedBy, appliedElsewhereAfter, NOTHING_APPLIED, storedStamp, withAppliedBy } from '../../../services/merger/ordered/appliedStamp';
import type { RecordStamp } from '../../../services/shared/model/recordOrder';

/** A stamp whose content key counts how often it was worked out. */
function stamp(at: number, id: string, content: string): RecordStamp & { readonly computed: () => number } {
  let computed = 0;
  return {
    at,
    id,
    content: () => {
      computed += 1;
      return content;
    },
    computed: () => computed,
  };
}

describe('the last item a data-plane entity applied', () => {
  it('nothing applied yet: no item is a replay', () => {
    expect(appliedBefore(stamp(5, 'a', 'x'), null)).toBe(false);
  });

  it('orders by received_at, then id, without working out any content key', () => {
    const stored = { at: 10, id: 'm', content: '' };
    const earlier = stamp(9, 'z', 'x');
    const later = stamp(11, 'a', 'x');
    const sameAtSmallerId = stamp(10, 'a', 'x');
    const sameAtLargerId = stamp(10, 'n', 'x');
    expect(appliedBefore(earlier, stored)).toBe(true);
    expect(appliedBefore(later, stored)).toBe(false);
    expect(appliedBefore(sameAtSmallerId, stored)).toBe(true);
    expect(appliedBefore(sameAtLargerId, stored)).toBe(false);
    expect([earlier, later, sameAtSmallerId, sameAtLargerId].map((s) => s.computed())).toEqual([0, 0, 0, 0]);
  });

  it('an item equal on (received_at, id) to a stamp stored without a key is that record read again: a replay', () => {
    const again = stamp(10, 'm', 'whatever');
    expect(appliedBefore(again, { at: 10, id: 'm', content: '' })).toBe(true);
    expect(again.computed()).toBe(0);
  });

  it('with a stored key, a tie on (received_at, id) is decided by the content key, as the criterion orders it', () => {
    const stored = { at: 10, id: 'm', content: 'k2' };
    expect(appliedBefore(stamp(10, 'm', 'k1'), stored)).toBe(true);
    expect(appliedBefore(stamp(10, 'm', 'k2'), stored)).toBe(true);
    expect(appliedBefore(stamp(10, 'm', 'k3'), stored)).toBe(false);
  });

  it('stores no key for an event alone on its (received_at, id) in the batch, and does not work it out', () => {
    const last = stamp(10, 'm', 'k');
    const batch = [stamp(8, 'a', 'x'), stamp(10, 'l', 'x'), last];
    expect(storedStamp(last, batch, false)).toEqual({ at: 10, id: 'm', content: '' });
    expect(last.computed()).toBe(0);
  });

  it('stores the key when another item of the batch shares (received_at, id), so a replay of either is told apart', () => {
    const first = stamp(10, 'm', 'k1');
    const last = stamp(10, 'm', 'k2');
    const kept = storedStamp(last, [first, last], false);
    expect(kept).toEqual({ at: 10, id: 'm', content: 'k2' });
    expect(appliedBefore(first, kept)).toBe(true);
    expect(appliedBefore(stamp(10, 'm', 'k3'), kept)).toBe(false);
  });

  it("stores a command's key, which the control plane made already", () => {
    const last = stamp(10, 'op', 'key');
    expect(storedStamp(last, [last], true)).toEqual({ at: 10, id: 'op', content: 'key' });
  });
});

describe('an id applied by two partitions after partitions were added: nothing dropped, nothing applied twice (R7)', () => {
  const at = (time: number, id = 'e') => ({ at: time, id, content: '' });

  it('a replay is judged against the stamp of the partition that re-reads its log, not the last writer', () => {
    // Partition 1 applied up to 10, then partition 3 (the id's new one) applied up to 20.
    const applied = withAppliedBy(withAppliedBy(NOTHING_APPLIED, 1, at(10)), 3, at(20));
    expect(appliedBy(applied, 3)).toEqual(at(20));
    expect(appliedBy(applied, 1)).toEqual(at(10));
    // Partition 1 re-reads its 10 after a crash: a replay. Its 15 (routed there by a producer
    // that had not seen the new count yet) was never applied: not a replay, late.
    expect(appliedBefore(stamp(10, 'e', 'x'), appliedBy(applied, 1))).toBe(true);
    expect(appliedBefore(stamp(15, 'e', 'x'), appliedBy(applied, 1))).toBe(false);
    expect(appliedElsewhereAfter(stamp(15, 'e', 'x'), applied, 1)).toBe(true);
    // Partition 3's next item is neither.
    expect(appliedElsewhereAfter(stamp(25, 'e', 'x'), applied, 3)).toBe(false);
  });

  it('the writer moves back and forth without forgetting either partition', () => {
    let applied = withAppliedBy(NOTHING_APPLIED, 1, at(10));
    applied = withAppliedBy(applied, 3, at(20));
    applied = withAppliedBy(applied, 1, at(15));
    expect(applied).toEqual({ last: at(15), by: 1, others: { 3: at(20) } });
    expect(appliedBy(applied, 3)).toEqual(at(20));
  });

  it('a stamp stored before partitions were told apart belongs to whichever partition reads it', () => {
    const legacy = { last: at(10), by: null, others: {} };
    expect(appliedBy(legacy, 4)).toEqual(at(10));
    expect(appliedElsewhereAfter(stamp(5, 'e', 'x'), legacy, 4)).toBe(false);
    // Once a partition writes, the old stamp stays for every partition that has none of its own:
    // the one that wrote it may read its items again.
    const written = withAppliedBy(legacy, 4, at(12));
    expect(written).toEqual({ last: at(12), by: 4, others: { u: at(10) } });
    expect(appliedBy(written, 2)).toEqual(at(10));
    expect(appliedBefore(stamp(10, 'e', 'x'), appliedBy(written, 2))).toBe(true);
    expect(appliedElsewhereAfter(stamp(11, 'e', 'x'), written, 2)).toBe(true);
  });
});
