import { inboundKey } from '../../../services/shared/model/keys';
import { personFromIdentifier, personFromKey, personKey } from '../../../services/shared/model/person';
import { fromWire, toWire, type InboundRecord } from '../../../services/shared/model/inbound';

describe('people', () => {
  it('identifiers are case-sensitive except emails', () => {
    expect(personKey(personFromIdentifier('Abc'))).not.toBe(personKey(personFromIdentifier('abc')));
    expect(personKey(personFromIdentifier('A@B.io'))).toBe(personKey(personFromIdentifier('a@b.io')));
  });

  it('person keys round-trip, colons and all', () => {
    for (const id of ['plain', 'a@b.io', 'cio_123', 'with:colon']) {
      const person = personFromIdentifier(id);
      expect(personFromKey(personKey(person))).toEqual(person);
    }
  });
});

describe('inbound keys', () => {
  const base = { workspace_id: 'w', id: 'i', received_at: 1, settings: { merge_enabled: true, retention_seconds: 1, grace_seconds: 1, trigger_window_seconds: 1 } };
  const person = { id_type: 'ID' as const, value: 'p' };

  it("keep an anonymous id's events and identifies on one key", () => {
    const event: InboundRecord = { ...base, command: { kind: 'track', body: { person: null, anonymous_id: 'A', name: 'n', type: 'page', timestamp: 1, data_json: '{}' } } };
    const identify: InboundRecord = { ...base, command: { kind: 'identify', body: { person, anonymous_id: 'A', attributes_json: '{}' } } };
    const alias: InboundRecord = { ...base, command: { kind: 'alias', body: { user: person, previous_id: 'A' } } };
    expect(inboundKey(event)).toBe('w/a/A');
    expect(inboundKey(identify)).toBe('w/a/A');
    expect(inboundKey(alias)).toBe('w/a/A');
  });

  it('key person records by person', () => {
    const event: InboundRecord = { ...base, command: { kind: 'track', body: { person, anonymous_id: null, name: 'n', type: 'event', timestamp: 1, data_json: '{}' } } };
    expect(inboundKey(event)).toBe('w/p/id:p');
    expect(inboundKey({ ...base, command: { kind: 'delete', body: { person } } })).toBe('w/p/id:p');
  });

  it('wire form wraps the union by branch name and unwraps back', () => {
    const record: InboundRecord = { ...base, command: { kind: 'merge', body: { primary: person, secondary: { id_type: 'EMAIL', value: 'x@y.z' } } } };
    const wire = toWire(record);
    expect(Object.keys(wire.command)).toEqual(['dev.anonmerge.inbound.MergePeople']);
    expect(fromWire(wire)).toEqual(record);
    expect(() => fromWire({ ...wire, command: { 'dev.anonmerge.inbound.Nope': {} } })).toThrow('unknown command branch');
  });
});
