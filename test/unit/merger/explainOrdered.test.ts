/**
 * explain on the two planes (services/merger/ordered/explainOrdered.ts), on hand-picked logs: the
 * id's events and binding changes, and — for a deployment moved from the legacy merger — the
 * identifies the legacy merger decided, which sent no command.
 */
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { commandRecord } from '../../../services/merger/ordered/commandRecords';
import { explainOrdered } from '../../../services/merger/ordered/explainOrdered';
import { personKey } from '../../../services/shared/model/person';

const settings = { merge_enabled: true, retention_seconds: 3600, grace_seconds: 60, trigger_window_seconds: 600 };
const event = (id: string, at: number): InboundRecord => ({
  workspace_id: 'w',
  id,
  received_at: at,
  settings,
  command: { kind: 'track', body: { person: null, anonymous_id: 'a', name: 'page', type: 'page', timestamp: at, data_json: '{}' } },
});
const identify = (id: string, person: string, at: number, merging = true): InboundRecord => ({
  workspace_id: 'w',
  id,
  received_at: at,
  settings: { ...settings, merge_enabled: merging },
  command: { kind: 'identify', body: { person: { id_type: 'ID', value: person }, anonymous_id: 'a', attributes_json: '{}' } },
});
const bind = (id: string, person: string, at: number): InboundRecord =>
  commandRecord({ kind: 'bind', workspace: 'w', at, recordId: id, recordContent: id, anonymousId: 'a', person: { id_type: 'ID', value: person }, windowEnd: at + 60_000, settings }, settings);

describe('explain on the two planes', () => {
  it('R2a R2b R2c: a bind command merges what was pending and opens the window', () => {
    const identifyP = identify('i1', 'p', 1_000);
    const e = explainOrdered('w', 'a', [event('e1', 500), bind('i1', 'p', 1_000), event('e2', 2_000)], [identifyP]);
    expect(e.binding?.person).toBe(personKey({ id_type: 'ID', value: 'p' }));
    expect(e.events.map((x) => `${x.id} ${x.status} ${x.rule}`)).toEqual(['e1 merged R2b', 'e2 merged R2c']);
    expect(e.identifies.map((i) => i.rule)).toEqual(['R2a']);
    expect(e.identifies[0]?.detail).not.toMatch(/legacy/);
  });

  it("R2a R2b R2f R3: an identify in inbound with no command was the legacy merger's, decided before the move", () => {
    // i1 bound the id before the move (it is in inbound, not in person-ops); i2 named another
    // person after it, refused as the legacy merger refused; i3 came while merging was off.
    const records = [event('e1', 500), identify('i1', 'p', 1_000), event('e2', 2_000), identify('i2', 'q', 3_000), identify('i3', 'r', 4_000, false)];
    const e = explainOrdered('w', 'a', records, []);
    expect(e.binding?.person).toBe(personKey({ id_type: 'ID', value: 'p' }));
    expect(e.events.map((x) => `${x.id} ${x.status} ${x.rule}`)).toEqual(['e1 merged R2b', 'e2 merged R2c']);
    expect(e.identifies.map((i) => `${i.rule} ${i.person}`)).toEqual(['R2a p', 'R2f q', 'R3 r']);
    expect(e.identifies.slice(0, 2).every((i) => /legacy merger/.test(i.detail))).toBe(true);
  });

  it('an identify an older ingest wrote to inbound after the move was forwarded to person-ops: decided there, not again here', () => {
    const forwarded = identify('i1', 'p', 1_000);
    // The control plane refused it (no bind command): it stays refused, not a legacy bind.
    const e = explainOrdered('w', 'a', [event('e1', 500), forwarded, bind('i0', 'o', 200)], [identify('i0', 'o', 200), forwarded]);
    expect(e.binding?.person).toBe(personKey({ id_type: 'ID', value: 'o' }));
    expect(e.identifies.map((i) => `${i.rule} ${i.person}`)).toEqual(['R2a o', 'R2f p']);
  });
});
