/**
 * When an anonymous id's state is a compact record (services/merger/redis/compactForm.ts): exactly
 * the state of an id nobody identified whose items all became pending, and the record read back
 * is that same state.
 */
import { ulid } from 'ulid';
import { compactAfter, compactSeen, compactView, type CompactCandidate } from '../../../services/merger/redis/compactForm';
import type { PendingEvent } from '../../../services/merger/model/state';

const T0 = 1_795_000_000_000;
const RETENTION = 30 * 86_400_000;
const DAY = 86_400_000;

const event = (receivedAt: number, offset: number, id = ulid(receivedAt), partition = 2): PendingEvent => ({ id, receivedAt, name: 'https://shop.example.com/', type: 'page', timestamp: Math.floor(receivedAt / 1000), dataJson: '{}', source: { partition, offset } });

/** The candidate of a first batch that applied `added`, all pending. */
function candidate(added: PendingEvent[], change: Partial<CompactCandidate> = {}): CompactCandidate {
  const last = added[added.length - 1] as PendingEvent;
  return {
    kind: 'anonymous',
    before: null,
    newVersion: 1,
    person: null,
    window: null,
    applied: { last: { at: last.receivedAt, id: last.id, content: '' }, by: 2, others: {} },
    pendingLoaded: false,
    added,
    seen: added.map((e) => ({ id: e.id, receivedAt: e.receivedAt })),
    outboxEntries: 0,
    retentionMs: RETENTION,
    ...change,
  };
}

describe('compact form', () => {
  it('an id whose events all became pending is a record, expiring a whole hour after retention and a day', () => {
    const added = [event(T0, 10), event(T0 + 5000, 14)];
    const record = compactAfter(candidate(added));
    expect(record).toEqual({ version: 1, expireAt: Math.ceil((T0 + 5000 + RETENTION + DAY) / 3_600_000) * 3_600_000, partition: 2, seenFrom: 0, entries: added.map((e) => ({ receivedAt: e.receivedAt, offset: e.source?.offset, id: e.id })) });
  });

  it('reads back as the state the own keys would hold: seen ids asked for, pointers, last item applied', () => {
    const added = [event(T0, 10, 'a'), event(T0 + 10, 11, 'b'), event(T0 + 20, 12, 'a')];
    const record = compactAfter(candidate(added, { seen: [{ id: 'a', receivedAt: T0 + 20 }, { id: 'b', receivedAt: T0 + 10 }] }));
    expect(record).not.toBeNull();
    const view = compactView(record!, ['a', 'b', 'c']);
    expect([...view.seen]).toEqual([['a', T0 + 20], ['b', T0 + 10]]);
    expect(view.storedPending).toEqual(added.map((e) => ({ kind: 'pointer', receivedAt: e.receivedAt, partition: 2, offset: e.source?.offset })));
    expect(view.applied).toEqual({ last: { at: T0 + 20, id: 'a', content: '' }, by: 2, others: {} });
    expect(compactSeen(record!)).toEqual([{ id: 'a', receivedAt: T0 + 20 }, { id: 'b', receivedAt: T0 + 10 }]);
  });

  it('a later batch appends to the record it loaded', () => {
    const first = compactAfter(candidate([event(T0, 10)]))!;
    const more = [event(T0 + 60_000, 90)];
    const second = compactAfter(candidate(more, { before: first, newVersion: 2 }));
    expect(second?.entries.map((e) => e.offset)).toEqual([10, 90]);
    expect(second?.version).toBe(2);
  });

  it('keeps every pending event, as the own keys do, but counts as seen only those the own keys would still hold', () => {
    const first = compactAfter(candidate([event(T0, 10, 'old-a'), event(T0 + 1000, 11, 'old-b')]))!;
    // A write a retention and a day after the first event: the own keys trim seen ids received before newest − retention − day.
    const later = T0 + RETENTION + DAY + 500;
    const second = compactAfter(candidate([event(later, 500, 'new')], { before: first, newVersion: 2 }))!;
    expect(second.entries.map((e) => e.offset)).toEqual([10, 11, 500]);
    expect(second.seenFrom).toBe(T0 + 500);
    const view = compactView(second, ['old-a', 'old-b', 'new']);
    expect([...view.seen]).toEqual([['old-b', T0 + 1000], ['new', later]]);
    expect(view.storedPending).toHaveLength(3);
    // A later write with a longer retention does not bring the trimmed id back.
    const third = compactAfter(candidate([event(later + 10, 501, 'newer')], { before: second, newVersion: 3, retentionMs: 2 * RETENTION }))!;
    expect(third.seenFrom).toBe(T0 + 500);
    expect(compactSeen(third).map((s) => s.id)).toEqual(['old-b', 'new', 'newer']);
  });

  it('keeps no seen cutoff below every event (it could never matter)', () => {
    const record = compactAfter(candidate([event(T0, 10), event(T0 + 1000, 11)]))!;
    expect(record.seenFrom).toBe(0);
  });

  it.each<[string, (added: PendingEvent[]) => Partial<CompactCandidate>]>([
    ['a binding', () => ({ person: { id_type: 'ID', value: 'p1' } })],
    ['a window', () => ({ window: { openedBy: 'i1', end: T0 + 300_000, count: 0, oldest: null } })],
    ['an outbox entry (a duplicate, say)', () => ({ outboxEntries: 1 })],
    ['a bind that loaded the pending events', () => ({ pendingLoaded: true })],
    ['items applied by two partitions', (added) => ({ applied: { last: { at: added[0]!.receivedAt, id: added[0]!.id, content: '' }, by: 2, others: { 5: { at: T0 - 1, id: 'x', content: '' } } } })],
    ['a last item sharing its (received_at, id) with another', (added) => ({ applied: { last: { at: added[0]!.receivedAt, id: added[0]!.id, content: 'k' }, by: 2, others: {} } })],
    ['a last item that is not the last pending event', () => ({ applied: { last: { at: T0 + 99, id: 'dup', content: '' }, by: 2, others: {} } })],
    ['an id counted without becoming pending', (added) => ({ seen: [...added.map((e) => ({ id: e.id, receivedAt: e.receivedAt })), { id: 'merged', receivedAt: T0 }] })],
    ['a pending event kept as a copy', (added) => ({ added: added.map(({ source: _, ...copy }) => copy) })],
    ['a pointer into another partition', (added) => ({ added: added.map((e) => ({ ...e, source: { partition: 7, offset: 1 } })) })],
    ['nothing applied', () => ({ applied: { last: null, by: 2, others: {} } })],
  ])('is not a record with %s', (_, change) => {
    const added = [event(T0, 10)];
    expect(compactAfter(candidate(added, change(added)))).toBeNull();
  });

  it('is not a record for people or invites', () => {
    expect(compactAfter(candidate([event(T0, 10)], { kind: 'person' }))).toBeNull();
    expect(compactAfter(candidate([event(T0, 10)], { kind: 'invites' }))).toBeNull();
  });

  it('is not a record when the record loaded is of another partition', () => {
    const first = compactAfter({ ...candidate([event(T0, 10, 'a', 3)]), applied: { last: { at: T0, id: 'a', content: '' }, by: 3, others: {} } })!;
    expect(compactAfter(candidate([event(T0 + 1, 11)], { before: first, newVersion: 2 }))).toBeNull();
  });
});
