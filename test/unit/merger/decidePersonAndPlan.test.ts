import { decideInvites, decidePerson } from '../../../services/merger/decide/person';
import { firePosition, lookupsNeeded, planBatch, type PositionedRecord } from '../../../services/merger/decide/plan';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { contractViolation } from '../../../services/merger/validate';
import { HOUR, of, P, Q, settings, T0 } from './fixtures';

const simple = { version: 0, applied: {} };
const body = { name: 'purchase', type: 'event' as const, timestamp: T0 / 1000, dataJson: '{}' };

describe('people', () => {
  it('R5: an identified event goes downstream at once as the person\'s, and triggers per R4', () => {
    const d = decidePerson(simple, [{ type: 'event', position: { partition: 1, offset: 3 }, id: 'e1', receivedAt: T0, settings, event: body }], { workspace: 'ws', person: P, knownIds: new Set() });
    const outputs = d.results[0]?.outputs ?? [];
    expect(of(outputs, 'mergedEvents')).toEqual([expect.objectContaining({ event_id: 'e1', previously_anonymous: false, anonymous_id: null, associated_at: T0 })]);
    expect(of(outputs, 'campaignTriggers')).toHaveLength(1);
  });

  it('R4/R5: an identified event older than 72 hours is delivered but triggers nothing', () => {
    const old = { ...body, timestamp: (T0 - 72 * HOUR) / 1000 - 1 };
    const d = decidePerson(simple, [{ type: 'event', position: { partition: 1, offset: 3 }, id: 'e1', receivedAt: T0, settings, event: old }], { workspace: 'ws', person: P, knownIds: new Set() });
    expect((d.results[0]?.outputs ?? []).map((o) => o.stream)).toEqual(['mergedEvents']);
  });

  it('R7: a repeated id of a person is dropped', () => {
    const d = decidePerson(simple, [{ type: 'event', position: { partition: 1, offset: 3 }, id: 'e1', receivedAt: T0, settings, event: body }], { workspace: 'ws', person: P, knownIds: new Set(['e1']) });
    expect(d.results[0]?.outputs).toEqual([]);
  });

  it('R10: a deletion sends a tombstone for the person and forgets its anonymous ids', () => {
    const d = decidePerson(simple, [{ type: 'delete', position: { partition: 1, offset: 4 }, receivedAt: T0, anonymousIds: ['A'] }], { workspace: 'ws', person: P, knownIds: new Set() });
    expect(d.results[0]?.outputs[0]).toEqual({ stream: 'mergedEvents', key: 'ws/p/email:person@example.com', value: null });
    expect(of(d.results[0]?.outputs ?? [], 'activity')).toEqual([expect.objectContaining({ kind: 'PERSON_DELETED' })]);
    expect(d.results[0]?.followUps).toEqual([{ type: 'index-delete', workspace: 'ws', person: P }]);
  });

  it('R9: absorbing a secondary records the merge and moves its anonymous ids to the primary', () => {
    const d = decidePerson(simple, [{ type: 'absorb', position: { partition: 1, offset: 5 }, receivedAt: T0, secondary: Q, anonymousIds: ['A1', 'A2'] }], { workspace: 'ws', person: P, knownIds: new Set() });
    expect(of(d.results[0]?.outputs ?? [], 'activity')).toEqual([expect.objectContaining({ kind: 'PEOPLE_MERGED', person: P, other_person: Q })]);
    expect(d.results[0]?.followUps).toEqual([
      { type: 'index-add', workspace: 'ws', person: P, anonymousId: 'A1' },
      { type: 'index-add', workspace: 'ws', person: P, anonymousId: 'A2' },
      { type: 'index-delete', workspace: 'ws', person: Q },
    ]);
  });

  it('R4: an invite is a trigger addressed to its recipient, once per id', () => {
    const op = { type: 'invite' as const, position: { partition: 2, offset: 1 }, id: 'i1', receivedAt: T0, recipient: 'friend@example.com', event: body };
    const d = decideInvites(simple, [op, { ...op, position: { partition: 2, offset: 2 } }], { workspace: 'ws', knownIds: new Set() });
    expect(d.results.flatMap((r) => of(r.outputs, 'campaignTriggers'))).toEqual([expect.objectContaining({ person: null, recipient: 'friend@example.com' })]);
  });
});

const record = (command: InboundRecord['command'], receivedAt = T0, workspace = 'ws'): InboundRecord => ({ workspace_id: workspace, id: `id-${Math.random()}`, received_at: receivedAt, settings, command });
let offset = 0;
const positioned = (r: InboundRecord): PositionedRecord => ({ position: { partition: 0, offset: (offset += 1) }, record: r });

describe('planning a batch', () => {
  it('sends each record to its entity, in log order', () => {
    const records = [
      positioned(record({ kind: 'track', body: { person: null, anonymous_id: 'A', name: 'n', type: 'page', timestamp: 1, data_json: '{}' } })),
      positioned(record({ kind: 'identify', body: { person: P, anonymous_id: 'A', attributes_json: '{}' } })),
      positioned(record({ kind: 'track', body: { person: P, anonymous_id: null, name: 'n', type: 'event', timestamp: 1, data_json: '{}' } })),
      positioned(record({ kind: 'track', body: { person: null, anonymous_id: null, name: 'invite', type: 'event', timestamp: 1, data_json: '{"recipient":"x@y.z"}' } })),
      positioned(record({ kind: 'identify', body: { person: P, anonymous_id: null, attributes_json: '{}' } })),
      positioned(record({ kind: 'tick', body: {} })),
    ];
    const plan = planBatch(records, new Map(), [], 1000);
    expect(plan.anonymous.get('ws/A')?.ops.map((o) => o.type)).toEqual(['event', 'identify']);
    expect(plan.persons.get('ws/email:person@example.com')?.ops.map((o) => o.type)).toEqual(['event']);
    expect(plan.invites.get('ws')?.ops).toHaveLength(1);
  });

  it('R10: a deletion becomes an unbind of each of the person\'s anonymous ids', () => {
    const records = [positioned(record({ kind: 'delete', body: { person: P } }))];
    expect(lookupsNeeded(records)).toEqual([{ workspace: 'ws', person: P }]);
    const plan = planBatch(records, new Map([['ws/email:person@example.com', ['A1', 'A2']]]), [], 1000);
    expect([...plan.anonymous.keys()]).toEqual(['ws/A1', 'ws/A2']);
    expect(plan.anonymous.get('ws/A1')?.ops[0]).toMatchObject({ type: 'unbind', person: P });
  });

  it('R9: an alias whose previous id is a person with anonymous ids merges that person into the user', () => {
    const records = [positioned(record({ kind: 'alias', body: { user: P, previous_id: 'old-user' } }))];
    const plan = planBatch(records, new Map([['ws/id:old-user', ['A9']]]), [], 1000);
    expect(plan.persons.get('ws/email:person@example.com')?.ops[0]).toMatchObject({ type: 'absorb', secondary: { id_type: 'ID', value: 'old-user' }, anonymousIds: ['A9'] });
    expect(plan.anonymous.get('ws/A9')?.ops[0]).toMatchObject({ type: 'rebind', to: P });
  });

  it('R2: an alias whose previous id is no known person identifies the user with it as an anonymous id', () => {
    const plan = planBatch([positioned(record({ kind: 'alias', body: { user: P, previous_id: 'anon-7' } }))], new Map(), [], 1000);
    expect(plan.anonymous.get('ws/anon-7')?.ops[0]).toMatchObject({ type: 'identify', person: P });
  });

  it('R6: a grace timer fires at the first record received at least the lateness after its window end', () => {
    const records = [T0, T0 + 4000, T0 + 6000, T0 + 9000].map((t) => positioned(record({ kind: 'tick', body: {} }, t)));
    expect(firePosition(records, T0, 5000)).toEqual(records[2]?.position);
    expect(firePosition(records, T0 + 5000, 5000)).toBeNull();
    const plan = planBatch(records, new Map(), [{ workspace: 'ws', anonymousId: 'A', windowEnd: T0 }], 5000);
    expect(plan.anonymous.get('ws/A')?.ops).toEqual([{ type: 'fire', position: records[2]?.position, windowEnd: T0 }]);
  });
});

describe('the inbound contract (R8)', () => {
  it('refuses records that decode but break it', () => {
    const track = (b: Partial<{ person: typeof P | null; anonymous_id: string | null; data_json: string; name: string }>) => record({ kind: 'track', body: { person: null, anonymous_id: 'A', name: 'n', type: 'page', timestamp: 1, data_json: '{}', ...b } });
    expect(contractViolation(track({}))).toBeNull();
    expect(contractViolation(track({ person: P }))).toBe('an event has both a person and an anonymous_id');
    expect(contractViolation(track({ anonymous_id: null }))).toBe('an event has neither a person, an anonymous_id nor data.recipient');
    expect(contractViolation(track({ data_json: '[1]' }))).toBe('data_json is not a JSON object');
    expect(contractViolation(track({ name: '' }))).toBe('event name is empty');
    expect(contractViolation({ ...track({}), workspace_id: 'a/b' })).toBe('workspace_id "a/b" is not a workspace id');
    expect(contractViolation({ ...track({}), received_at: -5 })).toBe('received_at -5 is not a time');
    expect(contractViolation(record({ kind: 'merge', body: { primary: P, secondary: P } }))).toBe('merge of a person into itself');
    expect(contractViolation(record({ kind: 'tick', body: {} }, 1, ''))).toBeNull();
  });
});
