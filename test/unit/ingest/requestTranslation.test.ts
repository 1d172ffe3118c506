/**
 * The request topic's records are decided by the HTTP routes' own translators: same records,
 * same refusals, with received_at and the settings of the workspace in force stamped on them.
 */
import { decideRequest, placeId, type RequestDecision } from '../../../services/ingest/requestTranslation';
import { translateAnonymousEvent } from '../../../services/ingest/trackV1';
import { WorkspaceRegistry, parseWorkspaces } from '../../../services/ingest/workspaces';
import type { Request } from '../../../services/shared/generated/requestTypes';

const parsed = parseWorkspaces(
  {
    workspaces: [
      { id: 'ws-a', site_id: 'site-a', api_key: 'key-a', write_key: 'write-a' },
      { id: 'ws-b', site_id: 'site-b', api_key: 'key-b', write_key: 'write-b', settings: { merge_enabled: false, grace_seconds: 60 } },
      { id: 'ws-off', site_id: 'site-off', api_key: 'key-off', write_key: 'write-off' },
    ],
  },
  'test',
);
// Disabled through the admin API (the file format has no such field).
const registry = new WorkspaceRegistry(parsed.map((workspace) => (workspace.id === 'ws-off' ? { ...workspace, disabled: true } : workspace)));
const RECEIVED_AT = 1_764_000_000_123;
const KAFKA_TIMESTAMP = 1_763_999_990_000;
const place = { topic: 'anonmerge.requests', partition: 2, offset: '41', timestampMs: KAFKA_TIMESTAMP };

const request = (command: Request['command'], extra: Partial<Request> = {}): Request => ({ workspace_id: 'ws-a', id: 'req-1', timestamp: null, command, ...extra });
const track = (fields: Partial<{ identifier: string | null; anonymous_id: string | null; name: string; type: 'event' | 'page' | 'screen'; data_json: string }>) =>
  ({ 'dev.anonmerge.requests.Track': { identifier: null, anonymous_id: 'anon-1', name: 'viewed', type: 'page', data_json: '{"url":"/"}', ...fields } }) as const;
const decide = (req: Request, only: string | null = null): RequestDecision => decideRequest(req, place, (id) => registry.byId(id), only, RECEIVED_AT);
const refusal = (decision: RequestDecision): string => (decision.ok ? 'accepted' : decision.reason);

describe('the request bridge decides a record as the HTTP route of its command would', () => {
  it('makes an anonymous event the record POST /api/v1/events makes, stamped with received_at and the settings in force', () => {
    const decision = decide(request(track({}), { timestamp: 1_763_999_000 }));
    const http = translateAnonymousEvent({ id: 'req-1', anonymous_id: 'anon-1', name: 'viewed', type: 'page', timestamp: 1_763_999_000, data: { url: '/' } }, { workspaceId: 'ws-a', settings: registry.byId('ws-a')!.settings, receivedAt: RECEIVED_AT, newId: () => 'unused' });
    expect(decision).toEqual(http);
    expect(decision.ok && decision.records[0]?.received_at).toBe(RECEIVED_AT);
  });

  it("takes the Kafka record's timestamp as the event time when the request gives none", () => {
    const decision = decide(request(track({})));
    expect(decision.ok && decision.records[0]?.command.body).toMatchObject({ timestamp: Math.floor(KAFKA_TIMESTAMP / 1000) });
  });

  it("stamps each workspace's own settings (R3: ws-b has merging off)", () => {
    const decision = decide(request(track({}), { workspace_id: 'ws-b' }));
    expect(decision.ok && decision.records[0]?.settings).toEqual({ merge_enabled: false, retention_seconds: 30 * 86400, grace_seconds: 60, trigger_window_seconds: 72 * 3600 });
  });

  it('makes an event of a known person when identifier is set, and refuses identifier with anonymous_id', () => {
    const decision = decide(request(track({ identifier: 'user-7', anonymous_id: null, type: 'event' })));
    expect(decision.ok && decision.records[0]?.command).toMatchObject({ kind: 'track', body: { person: { id_type: 'ID', value: 'user-7' }, anonymous_id: null } });
    expect(refusal(decide(request(track({ identifier: 'user-7' }))))).toMatch(/^anonymous_id: must be null when identifier is set/);
  });

  it("refuses what the Track API refuses, with its messages: empty name, data that is not an object, a timestamp in milliseconds, a lone surrogate", () => {
    expect(refusal(decide(request(track({ name: '' }))))).toBe('name: must not be empty');
    expect(refusal(decide(request(track({ data_json: '[1,2]' }))))).toBe('data_json: must be a JSON object');
    expect(refusal(decide(request(track({ data_json: '{"a":' }))))).toMatch(/^data_json: is not JSON/);
    expect(refusal(decide(request(track({ data_json: `{"a":"${'x'.repeat(100_001)}"}` }))))).toMatch(/^data_json: must be at most 100000 bytes/);
    expect(refusal(decide(request(track({}), { timestamp: KAFKA_TIMESTAMP })))).toMatch(/^timestamp: is more than a day in the future/);
    expect(refusal(decide(request(track({ anonymous_id: 'a\ud800' }))))).toBe('anonymous_id: must be valid Unicode (it has a lone surrogate)');
    expect(refusal(decide(request(track({ anonymous_id: null }))))).toBe('anonymous_id: is required unless data.recipient is set (an invite event)');
  });

  it('makes an identify with its attributes and anonymous id, the request id as its id, and refuses control fields among the attributes', () => {
    const identify = (attributes_json: string) => request({ 'dev.anonmerge.requests.Identify': { identifier: 'ada@example.com', anonymous_id: 'anon-1', attributes_json } });
    const decision = decide(identify('{"plan":"pro"}'));
    expect(decision.ok && decision.records[0]).toMatchObject({ id: 'req-1', command: { kind: 'identify', body: { person: { id_type: 'EMAIL', value: 'ada@example.com' }, anonymous_id: 'anon-1', attributes_json: '{"plan":"pro","_timestamp":1763999990}' } } });
    // The update is stamped with the event time: the request's timestamp, else the Kafka record's (as for a Track).
    expect(refusal(decide(identify('{"anonymous_id":"other"}')))).toMatch(/^attributes_json\.anonymous_id: is set by the record's own fields/);
    const many = JSON.stringify(Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`a${i}`, i])));
    expect(refusal(decide(identify(many)))).toBe('at most 300 attributes per call (got 301)');
  });

  it('makes delete, merge and alias records as DELETE /customers, merge_customers and Segment alias do', () => {
    const del = decide(request({ 'dev.anonmerge.requests.Delete': { identifier: 'user-7' } }));
    expect(del.ok && del.records[0]?.command).toEqual({ kind: 'delete', body: { person: { id_type: 'ID', value: 'user-7' } } });
    const merge = decide(request({ 'dev.anonmerge.requests.Merge': { primary: { kind: 'email', value: 'Ada@Example.com' }, secondary: { kind: 'id', value: 'user-7' } } }));
    expect(merge.ok && merge.records[0]?.command).toEqual({ kind: 'merge', body: { primary: { id_type: 'EMAIL', value: 'ada@example.com' }, secondary: { id_type: 'ID', value: 'user-7' } } });
    expect(refusal(decide(request({ 'dev.anonmerge.requests.Merge': { primary: { kind: 'id', value: 'u' }, secondary: { kind: 'id', value: 'u' } } })))).toBe('secondary: must be a different person than primary');
    const alias = decide(request({ 'dev.anonmerge.requests.Alias': { user_id: 'user-7', previous_id: 'anon-1' } }));
    expect(alias.ok && alias.records[0]).toMatchObject({ id: 'req-1', command: { kind: 'alias', body: { user: { id_type: 'ID', value: 'user-7' }, previous_id: 'anon-1' } } });
  });

  it('refuses an unknown or disabled workspace, and one a single-workspace bridge does not take', () => {
    expect(refusal(decide(request(track({}), { workspace_id: 'nope' })))).toBe('workspace_id: no workspace "nope" is in force');
    expect(refusal(decide(request(track({}), { workspace_id: 'ws-off' })))).toBe('workspace_id: workspace ws-off is disabled');
    expect(refusal(decide(request(track({})), 'ws-b'))).toBe(`workspace_id: is "ws-a", but anonmerge.requests takes workspace ws-b's commands only`);
    expect(decide(request(track({}), { workspace_id: 'ws-b' }), 'ws-b').ok).toBe(true);
  });

  it('names a request without an id by its place in the log, so that such ids sort in log order', () => {
    const decision = decide(request({ 'dev.anonmerge.requests.Delete': { identifier: 'user-7' } }, { id: null }));
    expect(decision.ok && decision.records[0]?.id).toBe('rq-00002-0000000000000000041');
    const ids = [9, 10, 100, 1_000_000].map((offset) => placeId({ partition: 2, offset: String(offset) }));
    expect([...ids].sort()).toEqual(ids);
    expect(refusal(decide(request(track({}), { id: 'x'.repeat(151) })))).toBe('id: must be at most 150 bytes (got 151)');
    expect(refusal(decide(request({ 'dev.anonmerge.requests.Delete': { identifier: 'u' } }, { id: '' })))).toBe('id: must not be empty');
  });
});
