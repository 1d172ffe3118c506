/**
 * The pure decisions about one anonymous id, rule by rule (SPEC R1–R10). Time is received_at.
 */
import { decideAnonymous, type AnonymousDecision } from '../../../services/merger/decide/anonymous';
import type { AnonymousOp } from '../../../services/merger/model/ops';
import type { Output } from '../../../services/merger/model/outputs';
import type { AnonymousState } from '../../../services/merger/model/state';
import { at, DAY, event, fresh, HOUR, identify, MINUTE, of, off, P, Q, settings, SECOND, streams, T0 } from './fixtures';

const ctx = (known: string[] = []) => ({ workspace: 'ws', anonymousId: 'A', knownIds: new Set(known) });
const decide = (state: AnonymousState, ops: AnonymousOp[], known: string[] = []) => decideAnonymous(state, ops, ctx(known));
const outputs = (d: AnonymousDecision): Output[] => d.results.flatMap((r) => r.outputs);
const mergedIds = (d: AnonymousDecision) => of(outputs(d), 'mergedEvents').map((e) => e.event_id);

/** Runs operations one decision at a time, feeding the state forward, as batches of one would. */
function oneByOne(ops: AnonymousOp[]): { state: AnonymousState; outputs: Output[] } {
  let state = fresh();
  const all: Output[] = [];
  for (const op of ops) {
    const d = decide(state, [op], (state.pending ?? []).map((e) => e.id));
    state = d.state;
    all.push(...outputs(d));
  }
  return { state, outputs: all };
}

describe('R1 anonymous events', () => {
  it('R1: an event with an anonymous id and no person is pending, visible on the anonymous stream, and triggers nothing', () => {
    const d = decide(fresh(), [event('e1', T0)]);
    expect(streams(outputs(d))).toEqual(['anonymousEvents']);
    expect(d.pendingWrite).toEqual({ kind: 'append', events: [expect.objectContaining({ id: 'e1', receivedAt: T0 })] });
    expect(d.state.binding).toBeNull();
  });

  it('R1: pending events older than the retention at the identify are dropped, not merged', () => {
    const old = event('old', T0);
    const young = event('young', T0 + 1 * DAY);
    const later = T0 + 30 * DAY + 1; // 30 days and 1 ms after "old" was received
    const d = decide(fresh(), [old, young, identify(P, later)]);
    expect(mergedIds(d)).toEqual(['young']);
    expect(d.tally.expired).toBe(1);
    expect(d.pendingWrite).toEqual({ kind: 'replace', events: [] });
  });

  it('R1: an event exactly at the retention edge is still merged', () => {
    const d = decide(fresh(), [event('edge', T0), identify(P, T0 + 30 * DAY)]);
    expect(mergedIds(d)).toEqual(['edge']);
  });
});

describe('R2 identify with an anonymous id', () => {
  it('R2a: binds an unbound id and opens a window ending grace after the identify', () => {
    const op = identify(P, T0);
    const d = decide(fresh(), [op]);
    expect(d.state.binding).toEqual({ person: P, boundAt: T0, windowEnd: T0 + 5 * MINUTE, windowOpen: true, windowCount: 0, windowOldest: null });
    expect(d.results[0]?.followUps).toEqual([
      { type: 'index-add', workspace: 'ws', person: P, anonymousId: 'A' },
      { type: 'timer-set', partition: 0, workspace: 'ws', anonymousId: 'A', windowEnd: T0 + 5 * MINUTE },
    ]);
  });

  it('R2b: merges pending events in received_at order, previously anonymous, with A and the moment of association', () => {
    const d = decide(fresh(), [event('b', T0 + 2 * SECOND), event('a', T0 + 1 * SECOND), identify(P, T0 + 10 * SECOND)]);
    const merged = of(outputs(d), 'mergedEvents');
    expect(merged.map((e) => e.event_id)).toEqual(['a', 'b']);
    expect(merged[0]).toMatchObject({ person: P, previously_anonymous: true, anonymous_id: 'A', received_at: T0 + SECOND, associated_at: T0 + 10 * SECOND });
  });

  it('R2b/R6: records one Anonymous Data Merged activity with the count, the oldest timestamp and the anonymous id', () => {
    const d = decide(fresh(), [event('a', T0, { timestamp: 1_700_000_100 }), event('b', T0 + 1, { timestamp: 1_700_000_050 }), identify(P, T0 + MINUTE)]);
    expect(of(outputs(d), 'activity')).toEqual([expect.objectContaining({ kind: 'ANONYMOUS_DATA_MERGED', person: P, merged_count: 2, oldest_event_timestamp: 1_700_000_050, anonymous_id: 'A', at: T0 + MINUTE })]);
  });

  it('R2c: an event received exactly at the window end merges; 1 ms after stays pending — consumed after the identify', () => {
    const t = T0;
    const end = t + 5 * MINUTE;
    const d = decide(fresh(), [identify(P, t), event('at-end', end), event('after-end', end + 1)]);
    expect(mergedIds(d)).toEqual(['at-end']);
    expect(of(outputs(d), 'mergedEvents')[0]).toMatchObject({ associated_at: end });
    expect(of(outputs(d), 'anonymousEvents').map((e) => e.event_id)).toEqual(['after-end']);
  });

  it('R2c: the same two events consumed before the identify give the same outcome', () => {
    const t = T0;
    const end = t + 5 * MINUTE;
    const before = decide(fresh(), [event('at-end', end), event('after-end', end + 1), identify(P, t)]);
    expect(mergedIds(before)).toEqual(['at-end']);
    expect(of(outputs(before), 'mergedEvents')[0]).toMatchObject({ associated_at: end, previously_anonymous: true });
    expect(before.state.pending?.map((e) => e.id)).toEqual(['after-end']);
  });

  it('R2c: every consumption order of the same records merges the same events into the same records', () => {
    const t = T0 + HOUR;
    const records = [event('early', T0), event('just-before', t - 1), event('inside', t + 2 * MINUTE), event('at-end', t + 5 * MINUTE), event('late', t + 5 * MINUTE + 1), identify(P, t)];
    const canonical = (outs: Output[]) =>
      of(outs, 'mergedEvents')
        .map((e) => `${e.event_id}@${e.associated_at}`)
        .sort();
    const permutations = (items: AnonymousOp[]): AnonymousOp[][] => (items.length <= 1 ? [items] : items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest])));
    const outcomes = new Set(permutations(records).map((order) => JSON.stringify(canonical(oneByOne(order).outputs))));
    expect(outcomes.size).toBe(1);
    expect(JSON.parse([...outcomes][0] as string)).toEqual([`at-end@${t + 5 * MINUTE}`, `early@${t}`, `inside@${t + 2 * MINUTE}`, `just-before@${t}`]);
  });

  it('R2d: an event received after the window end stays anonymous', () => {
    const d = decide(fresh(), [identify(P, T0), event('late', T0 + 6 * MINUTE)]);
    expect(mergedIds(d)).toEqual([]);
    expect(d.state.pending?.map((e) => e.id)).toEqual(['late']);
  });

  it('R2e: a later identify of the same person merges what is pending by then and opens a new window from its own time', () => {
    const first = decide(fresh(), [identify(P, T0), event('late', T0 + 10 * MINUTE)]);
    const again = decide(first.state, [identify(P, T0 + 20 * MINUTE), event('in-new-window', T0 + 24 * MINUTE)]);
    expect(mergedIds(again)).toEqual(['late', 'in-new-window']);
    expect(again.state.binding).toMatchObject({ person: P, boundAt: T0 + 20 * MINUTE, windowEnd: T0 + 25 * MINUTE, windowOpen: true });
  });

  it('R2f: an identify of another person does not rebind; the refusal is an activity and no event moves', () => {
    const bound = decide(fresh(), [identify(P, T0)]).state;
    const d = decide(bound, [event('pending-late', T0 + 10 * MINUTE), identify(Q, T0 + 11 * MINUTE)]);
    expect(d.state.binding?.person).toEqual(P);
    expect(mergedIds(d)).toEqual([]);
    expect(d.state.pending?.map((e) => e.id)).toEqual(['pending-late']);
    expect(of(outputs(d), 'activity')).toEqual([expect.objectContaining({ kind: 'ANONYMOUS_ID_REBIND_REFUSED', person: Q, other_person: P, anonymous_id: 'A' })]);
    expect(d.tally.refusedRebinds).toBe(1);
  });

  it('R2f: even inside the first window, another person is refused', () => {
    const d = decide(fresh(), [identify(P, T0), identify(Q, T0 + SECOND), event('e', T0 + 2 * SECOND)]);
    expect(of(outputs(d), 'mergedEvents')[0]).toMatchObject({ person: P });
  });
});

describe('R3 workspace switch', () => {
  it('R3: with merging off, an identify binds nothing and pending events stay pending; on again, a new identify merges them', () => {
    const offDecision = decide(fresh(), [event('e1', T0), identify(P, T0 + MINUTE, off)]);
    expect(offDecision.state.binding).toBeNull();
    expect(mergedIds(offDecision)).toEqual([]);
    expect(offDecision.state.pending?.map((e) => e.id)).toEqual(['e1']);
    const onAgain = decide(offDecision.state, [identify(P, T0 + 2 * DAY)]);
    expect(mergedIds(onAgain)).toEqual(['e1']);
  });

  it('R3: an event sent while merging is off stays pending even inside an existing window', () => {
    const bound = decide(fresh(), [identify(P, T0)]).state;
    const d = decide(bound, [event('e-off', T0 + SECOND, { settings: off })]);
    expect(mergedIds(d)).toEqual([]);
    expect(d.state.pending?.map((e) => e.id)).toEqual(['e-off']);
  });
});

describe('R4 campaign triggers', () => {
  it('R4: a merged event triggers when its timestamp is at most 72 hours before the association; one second more does not', () => {
    const t = T0;
    const edge = (t - 72 * HOUR) / 1000; // exactly 72 h before the association (T0 is a whole second)
    const d = decide(fresh(), [event('edge', T0 - HOUR, { timestamp: edge }), event('too-old', T0 - HOUR + 1, { timestamp: edge - 1 }), identify(P, t)]);
    expect(of(outputs(d), 'campaignTriggers').map((e) => e.event_id)).toEqual(['edge']);
    expect(mergedIds(d)).toEqual(['edge', 'too-old']);
  });

  it('R4: the association of a merged event is the later of its received_at and the identify', () => {
    const t = T0;
    const ts = Math.floor((t + MINUTE - 72 * HOUR) / 1000); // 72 h before the event's own received_at
    const d = decide(fresh(), [identify(P, t), event('in-window', t + MINUTE, { timestamp: ts })]);
    expect(of(outputs(d), 'campaignTriggers')).toEqual([expect.objectContaining({ event_id: 'in-window', associated_at: t + MINUTE, previously_anonymous: true })]);
  });

  it('R4: anonymous events trigger nothing while pending', () => {
    expect(of(outputs(decide(fresh(), [event('e', T0)])), 'campaignTriggers')).toEqual([]);
  });
});

describe('R6 activity', () => {
  it('R6: events merged one by one inside a window are summed into one activity when the grace timer fires', () => {
    const bound = decide(fresh(), [identify(P, T0)]).state;
    const inWindow = decide(bound, [event('a', T0 + MINUTE, { timestamp: 1_764_000_100 }), event('b', T0 + 2 * MINUTE, { timestamp: 1_764_000_050 })]);
    expect(of(outputs(inWindow), 'activity')).toEqual([]);
    const fired = decide(inWindow.state, [{ type: 'fire', position: at(), windowEnd: T0 + 5 * MINUTE }]);
    expect(of(outputs(fired), 'activity')).toEqual([expect.objectContaining({ kind: 'ANONYMOUS_DATA_MERGED', merged_count: 2, oldest_event_timestamp: 1_764_000_050, at: T0 + 5 * MINUTE })]);
    expect(fired.state.binding?.windowOpen).toBe(false);
    expect(fired.results[0]?.followUps).toEqual([{ type: 'timer-clear', partition: 0, workspace: 'ws', anonymousId: 'A', afterCommit: true }]);
  });

  it('R6: an in-window event consumed after the timer fired gets an activity of its own', () => {
    const bound = decide(fresh(), [identify(P, T0)]).state;
    const fired = decide(bound, [{ type: 'fire', position: at(), windowEnd: T0 + 5 * MINUTE }]);
    expect(of(outputs(fired), 'activity')).toEqual([]); // nothing to report
    const late = decide(fired.state, [event('straggler', T0 + 4 * MINUTE)]);
    expect(mergedIds(late)).toEqual(['straggler']);
    expect(of(outputs(late), 'activity')).toEqual([expect.objectContaining({ merged_count: 1 })]);
  });

  it('R6: a timer for a window that was extended since does nothing', () => {
    const twice = decide(fresh(), [identify(P, T0), identify(P, T0 + 2 * MINUTE)]).state;
    const stale = decide(twice, [{ type: 'fire', position: at(), windowEnd: T0 + 5 * MINUTE }]);
    expect(stale.state.binding?.windowOpen).toBe(true);
    expect(stale.results[0]?.followUps).toEqual([]);
  });
});

describe('R7 once and only once', () => {
  it('R7: an id seen before is dropped', () => {
    const d = decide(fresh(), [event('dup', T0)], ['dup']);
    expect(outputs(d)).toEqual([]);
    expect(d.tally.duplicates).toBe(1);
  });

  it('R7: the same id twice in one batch is one event', () => {
    const d = decide(fresh(), [event('twice', T0), event('twice', T0 + 5)]);
    expect(of(outputs(d), 'anonymousEvents')).toHaveLength(1);
  });

  it('R7: merged ids are remembered for the retention, pending ids are found in pending', () => {
    const d = decide(fresh(), [event('a', T0), identify(P, T0 + 1)]);
    expect(d.seen).toEqual([{ id: 'a', receivedAt: T0 }]);
  });

  it('R7: each decision advances the applied offset of its partition', () => {
    const d = decide({ ...fresh(), applied: { 0: 5, 3: 9 } }, [{ ...event('x', T0), position: { partition: 3, offset: 12 } }]);
    expect(d.state.applied).toEqual({ 0: 5, 3: 12 });
    expect(d.state.version).toBe(1);
  });
});

describe('R9 merging two people', () => {
  it("R9: the secondary's anonymous id and its open window become the primary's; later merges go to the primary", () => {
    const bound = decide(fresh(), [identify(Q, T0), event('first', T0 + SECOND)]).state;
    const moved = decide(bound, [{ type: 'rebind', position: at(), receivedAt: T0 + MINUTE, from: Q, to: P }, event('after', T0 + 2 * MINUTE)]);
    expect(moved.state.binding).toMatchObject({ person: P, windowEnd: T0 + 5 * MINUTE, windowOpen: true, windowCount: 2 });
    expect(of(outputs(moved), 'mergedEvents')).toEqual([expect.objectContaining({ event_id: 'after', person: P })]);
  });

  it('R9: a rebind for another person changes nothing', () => {
    const bound = decide(fresh(), [identify(P, T0)]).state;
    const d = decide(bound, [{ type: 'rebind', position: at(), receivedAt: T0 + 1, from: Q, to: { id_type: 'ID', value: 'z' } }]);
    expect(d.state.binding?.person).toEqual(P);
  });
});

describe('R10 deleting a person', () => {
  it('R10: unbinding frees the id: later events pend again and another person can take it', () => {
    const bound = decide(fresh(), [identify(P, T0)]).state;
    const freed = decide(bound, [{ type: 'unbind', position: at(), receivedAt: T0 + SECOND, person: P }, event('after-delete', T0 + 2 * SECOND)]);
    expect(freed.state.binding).toBeNull();
    expect(mergedIds(freed)).toEqual([]);
    const taken = decide(freed.state, [identify(Q, T0 + MINUTE)]);
    expect(of(outputs(taken), 'mergedEvents')).toEqual([expect.objectContaining({ event_id: 'after-delete', person: Q })]);
  });
});

describe('R2g several anonymous ids', () => {
  it('R2g: a person collects any number of anonymous ids, one identify each', () => {
    const one = decideAnonymous(fresh(), [identify(P, T0)], { workspace: 'ws', anonymousId: 'A1', knownIds: new Set() });
    const two = decideAnonymous(fresh(), [identify(P, T0 + HOUR)], { workspace: 'ws', anonymousId: 'A2', knownIds: new Set() });
    expect(one.state.binding?.person).toEqual(P);
    expect(two.state.binding?.person).toEqual(P);
    expect(two.results[0]?.followUps[0]).toEqual({ type: 'index-add', workspace: 'ws', person: P, anonymousId: 'A2' });
  });
});

describe('settings carried by the records', () => {
  it('uses the grace of the identify, not of a default', () => {
    const short = { ...settings, grace_seconds: 2 };
    const d = decide(fresh(), [identify(P, T0, short), event('in', T0 + 2000), event('out', T0 + 2001)]);
    expect(mergedIds(d)).toEqual(['in']);
  });
});
