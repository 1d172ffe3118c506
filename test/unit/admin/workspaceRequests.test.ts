import { decideRequest, MAX_LIVE_KEYS_PER_KIND, type RequestOutcome } from '../../../services/admin/workspaceRequests';
import { keyDigest } from '../../../services/shared/workspaces/keyDigest';
import type { WorkspaceChange } from '../../../services/shared/generated/workspaceTypes';
import { workspaceFromChange } from '../../../services/ingest/workspaceChanges';
import { WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { authenticateTrack } from '../../../services/ingest/auth';

let secrets = 0;
const ctx = (now = 1_000_000) => ({ operator: 'ops-alice', now, newSecret: () => `secret-${(secrets += 1)}-0123456789abcdef` });
const changed = (outcome: RequestOutcome): WorkspaceChange => {
  if (!outcome.ok) throw new Error(outcome.problems.join('; '));
  return outcome.change;
};
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('admin requests decided on the version in force (docs/design-workspaces.md)', () => {
  const created = decideRequest(null, { kind: 'create', workspaceId: 'shop', body: { site_id: 'shop-site', settings: { grace_seconds: 60 } } }, ctx());
  const v1 = changed(created);

  it('creates version 1 with the file defaults, the asked settings, and one API key whose secret is answered once and stored as a digest', () => {
    expect(v1).toMatchObject({ workspace_id: 'shop', version: 1, changed_by: 'ops-alice' });
    expect(v1.definition.settings).toEqual({ merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 60, trigger_window_seconds: 72 * 3600 });
    expect(v1.definition.rate_limit.records_per_second).toBe(10_000);
    if (!created.ok || !created.secret) throw new Error('no secret');
    expect(created.secret.kind).toBe('API');
    expect(v1.definition.keys).toEqual([expect.objectContaining({ key_id: 'api-1', kind: 'API', sha256: keyDigest(created.secret.value), revoked_at: null })]);
    expect(JSON.stringify(v1)).not.toContain(created.secret.value);
    const registry = new WorkspaceRegistry([workspaceFromChange(v1, 2_000_000, null).workspace]);
    expect(authenticateTrack(basic('shop-site', created.secret.value), registry).ok).toBe(true);
  });

  it('refuses a second create, a bad id, unknown fields and bad values — every problem named, nothing written', () => {
    expect(decideRequest(v1, { kind: 'create', workspaceId: 'shop', body: { site_id: 'x' } }, ctx())).toMatchObject({ ok: false, status: 409 });
    expect(decideRequest(null, { kind: 'create', workspaceId: 'bad/id', body: { site_id: 'x' } }, ctx())).toMatchObject({ ok: false, status: 400 });
    const bad = decideRequest(v1, { kind: 'update', body: { api_key: 'mine', settings: { merge_enabled: 'yes', grace_seconds: -1 }, allowed_origins: ['https://a.example/path'] } }, ctx());
    expect(bad).toMatchObject({ ok: false, status: 400 });
    if (bad.ok) return;
    expect(bad.problems).toEqual([
      'api_key: not a field that can be set here (name, settings, rate_limit, allowed_origins, browser_attributes)',
      'settings.merge_enabled must be true or false',
      'settings.grace_seconds must be a non-negative integer',
      'allowed_origins[0] must be an origin such as https://www.example.com (scheme, host, port; no path or trailing slash)',
    ]);
    expect(decideRequest(null, { kind: 'update', body: {} }, ctx())).toMatchObject({ ok: false, status: 404 });
  });

  it('R3: an update lays the patch over the version in force and keeps everything else', () => {
    const v2 = changed(decideRequest(v1, { kind: 'update', body: { settings: { merge_enabled: false } } }, ctx()));
    expect(v2.version).toBe(2);
    expect(v2.definition.settings).toEqual({ ...v1.definition.settings, merge_enabled: false });
    expect(v2.definition.keys).toEqual(v1.definition.keys);
    expect(JSON.parse(v2.change)).toEqual({ update: { settings: { merge_enabled: false } } });
  });

  it('rotates a key: a second live key of the kind, then the old one revoked; the last API key cannot be revoked', () => {
    const added = decideRequest(v1, { kind: 'createKey', keyKind: 'API' }, ctx());
    const v2 = changed(added);
    expect(v2.definition.keys.map((k) => k.key_id)).toEqual(['api-1', 'api-2']);
    const v3 = changed(decideRequest(v2, { kind: 'revokeKey', keyId: 'api-1' }, ctx(1_000_100)));
    expect(v3.definition.keys[0]?.revoked_at).toBe(1_000_100);
    expect(decideRequest(v3, { kind: 'revokeKey', keyId: 'api-2' }, ctx(1_000_200))).toMatchObject({ ok: false, status: 409 });
    expect(decideRequest(v3, { kind: 'revokeKey', keyId: 'api-1' }, ctx(1_000_200))).toMatchObject({ ok: false, status: 409 });
    expect(decideRequest(v3, { kind: 'revokeKey', keyId: 'api-9' }, ctx())).toMatchObject({ ok: false, status: 404 });
    expect(decideRequest(v3, { kind: 'createKey', keyKind: 'SECRET' }, ctx())).toMatchObject({ ok: false, status: 400 });
  });

  it(`holds at most ${MAX_LIVE_KEYS_PER_KIND} live keys of a kind`, () => {
    let current = v1;
    for (let i = 0; i < MAX_LIVE_KEYS_PER_KIND; i += 1) current = changed(decideRequest(current, { kind: 'createKey', keyKind: 'WRITE' }, ctx()));
    expect(decideRequest(current, { kind: 'createKey', keyKind: 'WRITE' }, ctx())).toMatchObject({ ok: false, status: 409 });
  });

  it('disables and enables, refusing a switch to the state it is in', () => {
    const off = changed(decideRequest(v1, { kind: 'disable' }, ctx()));
    expect(off.definition.disabled).toBe(true);
    expect(decideRequest(off, { kind: 'disable' }, ctx())).toMatchObject({ ok: false, status: 409 });
    expect(changed(decideRequest(off, { kind: 'enable' }, ctx())).definition.disabled).toBe(false);
  });
});
