/**
 * The reference model, rule by rule (docs/correctness.md): each test is a small story told in
 * records, and what the model emits for it.
 */
import type { InboundRecord, WorkspaceSettings } from '../../../services/shared/model/inbound';
import type { Activity, MergedEvent } from '../../../services/shared/model/outbound';
import { personFromIdentifier, type PersonRef } from '../../../services/shared/model/person';
import { ReferenceModel, type ReferenceOutput } from '../../../services/merger/reference/referenceModel';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 1, 12);
const SETTINGS: WorkspaceSettings = { merge_enabled: true, retention_seconds: 30 * 86_400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 };
const P = personFromIdentifier('p@example.com');
const Q = personFromIdentifier('q@example.com');
const R = personFromIdentifier('r@example.com');

let sequence = 0;
const nextId = (prefix: string) => `${prefix}${String((sequence += 1)).padStart(4, '0')}`;

function record(at: number, command: InboundRecord['command'], options: { id?: string; settings?: Partial<WorkspaceSettings>; workspace?: string } = {}): InboundRecord {
  return { workspace_id: options.workspace ?? 'ws', id: options.id ?? nextId(command.kind), received_at: at, settings: { ...SETTINGS, ...options.settings }, command };
}

const secondsOf = (ms: number) => Math.floor(ms / 1000);
const anonEvent = (at: number, anonymousId: string, options: { id?: string; timestamp?: number; name?: string; settings?: Partial<WorkspaceSettings> } = {}) =>
  record(at, { kind: 'track', body: { person: null, anonymous_id: anonymousId, name: options.name ?? 'page_view', type: 'page', timestamp: options.timestamp ?? secondsOf(at), data_json: '{}' } }, options);
const personEvent = (at: number, person: PersonRef, options: { id?: string; timestamp?: number } = {}) =>
  record(at, { kind: 'track', body: { person, anonymous_id: null, name: 'purchase', type: 'event', timestamp: options.timestamp ?? secondsOf(at), data_json: '{}' } }, options);
const identify = (at: number, person: PersonRef, anonymousId: string | null, settings: Partial<WorkspaceSettings> = {}) =>
  record(at, { kind: 'identify', body: { person, anonymous_id: anonymousId, attributes_json: '{}' } }, { settings });
const deletion = (at: number, person: PersonRef) => record(at, { kind: 'delete', body: { person } });
const merge = (at: number, primary: PersonRef, secondary: PersonRef) => record(at, { kind: 'merge', body: { primary, secondary } });
const alias = (at: number, user: PersonRef, previousId: string) => record(at, { kind: 'alias', body: { user, previous_id: previousId } });

const merged = (outputs: ReferenceOutput[]) => outputs.filter((o) => o.stream === 'mergedEvents' && o.value !== null).map((o) => o.value as MergedEvent);
const activities = (outputs: ReferenceOutput[]) => outputs.filter((o) => o.stream === 'activity').map((o) => o.value as Activity);
const anonymous = (outputs: ReferenceOutput[]) => outputs.filter((o) => o.stream === 'anonymousEvents').map((o) => o.value.event_id);
const triggers = (outputs: ReferenceOutput[]) => outputs.filter((o) => o.stream === 'campaignTriggers').map((o) => o.value.event_id);
const who = (events: MergedEvent[]) => events.map((e) => `${e.event_id}→${e.person.value}`);

describe('reference model', () => {
  it('R1: an anonymous event is pending, on the anonymous stream, and nothing else', () => {
    const e = anonEvent(T0, 'A');
    const out = ReferenceModel.run([e], T0 + 60 * MIN);
    expect(anonymous(out)).toEqual([e.id]);
    expect(merged(out)).toEqual([]);
    expect(triggers(out)).toEqual([]);
  });

  it('R2a R2b R6: an identify binds, merges what is pending in received_at order, and records one activity', () => {
    const e2 = anonEvent(T0 + 2 * MIN, 'A', { timestamp: secondsOf(T0) + 100 });
    const e1 = anonEvent(T0 + MIN, 'A', { timestamp: secondsOf(T0) + 50 });
    const id = identify(T0 + 3 * MIN, P, 'A');
    const out = ReferenceModel.run([id, e2, e1]);
    const events = merged(out);
    expect(who(events)).toEqual([`${e1.id}→p@example.com`, `${e2.id}→p@example.com`]);
    expect(events.every((e) => e.previously_anonymous && e.anonymous_id === 'A' && e.associated_at === id.received_at)).toBe(true);
    expect(activities(out)).toEqual([
      expect.objectContaining({ kind: 'ANONYMOUS_DATA_MERGED', person: P, anonymous_id: 'A', merged_count: 2, oldest_event_timestamp: secondsOf(T0) + 50, at: id.received_at, activity_id: `anonymous_data_merged/${id.id}/A` }),
    ]);
  });

  it('R2b R1: a pending event older than the retention at the identify is dropped, not merged', () => {
    const old = anonEvent(T0, 'A', { settings: { retention_seconds: 3600 } });
    const recent = anonEvent(T0 + 90 * MIN, 'A', { settings: { retention_seconds: 3600 } });
    const out = ReferenceModel.run([old, recent, identify(T0 + 100 * MIN, P, 'A', { retention_seconds: 3600 })]);
    expect(who(merged(out))).toEqual([`${recent.id}→p@example.com`]);
  });

  it('R2c R6: an event inside the window is the person\'s at once; the window\'s merges are one activity when it ends', () => {
    const id = identify(T0, P, 'A');
    const inside1 = anonEvent(T0 + MIN, 'A', { timestamp: secondsOf(T0) + 70 });
    const inside2 = anonEvent(T0 + 5 * MIN, 'A', { timestamp: secondsOf(T0) + 60 }); // exactly at the window end
    const model = new ReferenceModel();
    for (const r of [id, inside1, inside2]) model.apply(r);
    expect(who(merged(model.emitted()))).toEqual([`${inside1.id}→p@example.com`, `${inside2.id}→p@example.com`]);
    expect(merged(model.emitted())[0]?.associated_at).toBe(inside1.received_at);
    expect(activities(model.emitted())).toEqual([]);
    model.advanceTo(T0 + 5 * MIN + 1);
    expect(activities(model.emitted())).toEqual([
      expect.objectContaining({ kind: 'ANONYMOUS_DATA_MERGED', merged_count: 2, oldest_event_timestamp: secondsOf(T0) + 60, at: T0 + 5 * MIN, activity_id: `anonymous_data_merged/${id.id}/A/window/timer` }),
    ]);
  });

  it('R2c: the outcome does not depend on the order the records are given in', () => {
    const records = [anonEvent(T0, 'A'), identify(T0 + MIN, P, 'A'), anonEvent(T0 + 2 * MIN, 'A'), anonEvent(T0 + 7 * MIN, 'A'), deletion(T0 + 8 * MIN, P), anonEvent(T0 + 9 * MIN, 'A'), identify(T0 + 10 * MIN, R, 'A')];
    const expected = ReferenceModel.run(records, T0 + 60 * MIN);
    expect(ReferenceModel.run([...records].reverse(), T0 + 60 * MIN)).toEqual(expected);
    expect(ReferenceModel.run([records[3], records[0], records[6], records[1], records[5], records[2], records[4]] as InboundRecord[], T0 + 60 * MIN)).toEqual(expected);
  });

  it('R2d: an event after the window end stays anonymous', () => {
    const late = anonEvent(T0 + 6 * MIN, 'A');
    const out = ReferenceModel.run([identify(T0, P, 'A'), late], T0 + 60 * MIN);
    expect(merged(out)).toEqual([]);
    expect(anonymous(out)).toEqual([late.id]);
  });

  it('R2e: the same person again merges what is pending by then, reports the open window, and opens a new one', () => {
    const first = identify(T0, P, 'A');
    const inside = anonEvent(T0 + MIN, 'A');
    const after = anonEvent(T0 + 10 * MIN, 'A');
    const again = identify(T0 + 12 * MIN, P, 'A');
    const insideNew = anonEvent(T0 + 16 * MIN, 'A');
    const out = ReferenceModel.run([first, inside, after, again, insideNew], T0 + 60 * MIN);
    expect(who(merged(out))).toEqual([`${inside.id}→p@example.com`, `${after.id}→p@example.com`, `${insideNew.id}→p@example.com`]);
    expect(activities(out).map((a) => [a.activity_id, a.merged_count])).toEqual([
      [`anonymous_data_merged/${first.id}/A/window/timer`, 1],
      [`anonymous_data_merged/${again.id}/A`, 1],
      [`anonymous_data_merged/${again.id}/A/window/timer`, 1],
    ]);
  });

  it('R2e: a re-identify inside the open window reports the merges so far before the new window', () => {
    const first = identify(T0, P, 'A');
    const inside = anonEvent(T0 + MIN, 'A');
    const again = identify(T0 + 2 * MIN, P, 'A');
    const out = ReferenceModel.run([first, inside, again], T0 + 60 * MIN);
    expect(activities(out).map((a) => a.activity_id)).toEqual([`anonymous_data_merged/${first.id}/A/window/${again.id}`]);
  });

  it('R2f: another person with a bound id is refused and recorded; no event moves', () => {
    const e = anonEvent(T0 + MIN, 'A');
    const refused = identify(T0 + 10 * MIN, Q, 'A');
    const late = anonEvent(T0 + 11 * MIN, 'A');
    const out = ReferenceModel.run([identify(T0, P, 'A'), e, refused, late], T0 + 60 * MIN);
    expect(who(merged(out))).toEqual([`${e.id}→p@example.com`]);
    expect(anonymous(out)).toEqual([late.id]);
    expect(activities(out)).toContainEqual(expect.objectContaining({ kind: 'ANONYMOUS_ID_REBIND_REFUSED', person: Q, other_person: P, anonymous_id: 'A', activity_id: `anonymous_id_rebind_refused/${refused.id}/A` }));
  });

  it('R2g: a person collects any number of anonymous ids', () => {
    const a = anonEvent(T0, 'A');
    const b = anonEvent(T0 + MIN, 'B');
    const out = ReferenceModel.run([a, b, identify(T0 + 2 * MIN, P, 'A'), identify(T0 + 3 * MIN, P, 'B')]);
    expect(who(merged(out))).toEqual([`${a.id}→p@example.com`, `${b.id}→p@example.com`]);
  });

  it('R3: with merging off an identify binds nothing; switched on and identified again, the pending events merge', () => {
    const e = anonEvent(T0, 'A', { settings: { merge_enabled: false } });
    const off = identify(T0 + MIN, P, 'A', { merge_enabled: false });
    const whileOff = anonEvent(T0 + 2 * MIN, 'A', { settings: { merge_enabled: false } });
    const on = identify(T0 + 3 * MIN, P, 'A');
    const out = ReferenceModel.run([e, off, whileOff, on]);
    expect(anonymous(out)).toEqual([e.id, whileOff.id]);
    expect(who(merged(out))).toEqual([`${e.id}→p@example.com`, `${whileOff.id}→p@example.com`]);
  });

  it('R4: a merged event triggers when its timestamp is at most 72 h before the association; an invite triggers for its recipient', () => {
    const fresh = anonEvent(T0, 'A', { timestamp: secondsOf(T0) });
    const stale = anonEvent(T0 + MIN, 'A', { timestamp: secondsOf(T0 + 3 * MIN) - 72 * 3600 - 1 });
    const edge = anonEvent(T0 + 2 * MIN, 'A', { timestamp: secondsOf(T0 + 3 * MIN) - 72 * 3600 });
    const invite = record(T0 + 4 * MIN, { kind: 'track', body: { person: null, anonymous_id: null, name: 'invited', type: 'event', timestamp: secondsOf(T0), data_json: '{"recipient":"Friend@Example.com"}' } });
    const out = ReferenceModel.run([fresh, stale, edge, identify(T0 + 3 * MIN, P, 'A'), invite]);
    expect(triggers(out)).toEqual([fresh.id, edge.id, invite.id]);
    expect(out.find((o) => o.stream === 'campaignTriggers' && o.value.event_id === invite.id)?.key).toBe('ws/i/friend@example.com');
  });

  it('R5: an event sent for a person is the person\'s at once, associated at its received_at', () => {
    const e = personEvent(T0, P);
    const out = ReferenceModel.run([e]);
    expect(merged(out)).toEqual([expect.objectContaining({ event_id: e.id, person: P, previously_anonymous: false, anonymous_id: null, associated_at: T0 })]);
    expect(triggers(out)).toEqual([e.id]);
  });

  it('R7: an id counts once under the key it was sent with, within the retention, and again after it', () => {
    const first = anonEvent(T0, 'A', { id: 'evt-1', settings: { retention_seconds: 3600 } });
    const retry = anonEvent(T0 + MIN, 'A', { id: 'evt-1', settings: { retention_seconds: 3600 } });
    const underAnotherId = anonEvent(T0 + 2 * MIN, 'B', { id: 'evt-1', settings: { retention_seconds: 3600 } });
    const otherWorkspace = record(T0 + 3 * MIN, { ...anonEvent(0, 'A').command }, { id: 'evt-1', workspace: 'other' });
    const muchLater = anonEvent(T0 + 2 * 3600_000, 'A', { id: 'evt-1', settings: { retention_seconds: 3600 } });
    const out = ReferenceModel.run([first, retry, underAnotherId, otherWorkspace, muchLater]);
    expect(out.filter((o) => o.stream === 'anonymousEvents').map((o) => [o.value.workspace_id, o.value.anonymous_id, o.value.received_at])).toEqual([
      ['ws', 'A', T0],
      ['ws', 'B', T0 + 2 * MIN],
      ['other', 'A', T0 + 3 * MIN],
      ['ws', 'A', T0 + 2 * 3600_000],
    ]);
  });

  it('R7: a person event resent with the same id is one event downstream', () => {
    const once = personEvent(T0, P, { id: 'order-1' });
    const again = personEvent(T0 + MIN, P, { id: 'order-1' });
    expect(who(merged(ReferenceModel.run([once, again])))).toEqual(['order-1→p@example.com']);
  });

  it('R9: merge_customers moves the secondary\'s ids and open window; events and identifies of the secondary go to the primary', () => {
    const bindP = identify(T0, P, 'A');
    const insideP = anonEvent(T0 + MIN, 'A');
    const m = merge(T0 + 2 * MIN, Q, P);
    const insideQ = anonEvent(T0 + 3 * MIN, 'A');
    const identifySecondary = identify(T0 + 10 * MIN, P, 'A');
    const ofSecondary = personEvent(T0 + 11 * MIN, P);
    const out = ReferenceModel.run([bindP, insideP, m, insideQ, identifySecondary, ofSecondary], T0 + 60 * MIN);
    expect(who(merged(out))).toEqual([`${insideP.id}→p@example.com`, `${insideQ.id}→q@example.com`, `${ofSecondary.id}→q@example.com`]);
    const acts = activities(out).map((a) => [a.kind, a.person.value, a.merged_count, a.activity_id]);
    expect(acts).toEqual([
      ['ANONYMOUS_DATA_MERGED', 'p@example.com', 1, `anonymous_data_merged/${bindP.id}/A/window/${m.id}`],
      ['PEOPLE_MERGED', 'q@example.com', null, `people_merged/${m.id}/email:q@example.com`],
      ['ANONYMOUS_DATA_MERGED', 'q@example.com', 1, `anonymous_data_merged/${bindP.id}/A/window/timer`],
    ]);
    expect(activities(out).some((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED')).toBe(false);
  });

  it('R9: chained merges carry every id to the last primary', () => {
    const out = ReferenceModel.run([identify(T0, P, 'A'), merge(T0 + MIN, Q, P), merge(T0 + 2 * MIN, R, Q), anonEvent(T0 + 3 * MIN, 'A')], T0 + 60 * MIN);
    expect(merged(out).map((e) => e.person.value)).toEqual(['r@example.com']);
  });

  it('R9: alias of a person holding anonymous ids merges it into the user; otherwise the previous id is an anonymous id', () => {
    const pending = anonEvent(T0, 'cookie-1');
    const viaAlias = alias(T0 + MIN, Q, 'cookie-1');
    const bindP = identify(T0 + 2 * MIN, P, 'B');
    const aliasPerson = alias(T0 + 3 * MIN, Q, 'p@example.com');
    const ofB = anonEvent(T0 + 4 * MIN, 'B');
    const out = ReferenceModel.run([pending, viaAlias, bindP, aliasPerson, ofB], T0 + 60 * MIN);
    expect(who(merged(out))).toEqual([`${pending.id}→q@example.com`, `${ofB.id}→q@example.com`]);
    expect(activities(out).map((a) => a.kind)).toContain('PEOPLE_MERGED');
  });

  it('R10: a deletion frees the person\'s ids (later events pend again, another person may take them) and sends a tombstone', () => {
    const bind = identify(T0, P, 'A');
    const del = deletion(T0 + MIN, P);
    const after = anonEvent(T0 + 2 * MIN, 'A');
    const rebind = identify(T0 + 3 * MIN, R, 'A');
    const out = ReferenceModel.run([bind, del, after, rebind], T0 + 60 * MIN);
    expect(out).toContainEqual({ stream: 'mergedEvents', key: 'ws/p/email:p@example.com', value: null });
    expect(activities(out).map((a) => [a.kind, a.person.value])).toEqual([
      ['PERSON_DELETED', 'p@example.com'],
      ['ANONYMOUS_DATA_MERGED', 'r@example.com'],
    ]);
    expect(anonymous(out)).toEqual([after.id]);
    expect(who(merged(out))).toEqual([`${after.id}→r@example.com`]);
  });

  it('R10 R9: deleting an identifier merged away leaves the primary; deleting the primary frees the identifiers merged into it', () => {
    const records = [identify(T0, P, 'A'), merge(T0 + MIN, Q, P), deletion(T0 + 2 * MIN, P), anonEvent(T0 + 3 * MIN, 'A')];
    expect(merged(ReferenceModel.run(records, T0 + 60 * MIN)).map((e) => e.person.value)).toEqual(['q@example.com']);
    const thenPrimary = [...records, deletion(T0 + 4 * MIN, Q), identify(T0 + 5 * MIN, P, 'B'), anonEvent(T0 + 6 * MIN, 'B')];
    expect(merged(ReferenceModel.run(thenPrimary, T0 + 60 * MIN)).map((e) => e.person.value)).toEqual(['q@example.com', 'p@example.com']);
  });

  it('refuses records out of order: the criterion is applying them in (received_at, id) order', () => {
    const model = new ReferenceModel();
    model.apply(anonEvent(T0 + MIN, 'A'));
    expect(() => model.apply(anonEvent(T0, 'A'))).toThrow('apply in (received_at, id) order');
  });

  it('R1 R2b: what stays pending, per anonymous id the workspace has seen (the chaos checker compares it with Redis)', () => {
    const model = new ReferenceModel();
    const first = anonEvent(T0, 'A', { id: 'a1' });
    const second = anonEvent(T0 + MIN, 'A', { id: 'a2' });
    for (const r of [first, second, anonEvent(T0 + 2 * MIN, 'B', { id: 'b1' }), identify(T0 + 3 * MIN, P, 'B')]) model.apply(r);
    expect(model.pendingIds(first.workspace_id)).toEqual(new Map([['A', ['a1', 'a2']], ['B', []]]));
    expect(model.pendingIds('another workspace')).toEqual(new Map());
  });
});
