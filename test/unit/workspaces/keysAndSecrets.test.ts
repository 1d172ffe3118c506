import { randomBytes } from 'node:crypto';
import { keyDigest, matchesAnyKey } from '../../../services/shared/workspaces/keyDigest';
import { parseSecretKey, seal, unseal } from '../../../services/shared/workspaces/secretBox';
import { definitionOf, SealingError, workspaceFromChange } from '../../../services/ingest/workspaceChanges';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { authenticateTrack, authenticateWriteKey } from '../../../services/ingest/auth';
import type { WorkspaceChange } from '../../../services/shared/generated/workspaceTypes';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('workspace keys as digests, the identity secret sealed (docs/design-workspaces.md)', () => {
  it('a key matches any of the live digests of its kind, and nothing else', () => {
    const digests = [keyDigest('old-key-0123456789'), keyDigest('new-key-0123456789')];
    expect(matchesAnyKey('old-key-0123456789', digests)).toBe(true);
    expect(matchesAnyKey('new-key-0123456789', digests)).toBe(true);
    expect(matchesAnyKey('other-key-0123456', digests)).toBe(false);
    expect(matchesAnyKey('anonmerge-no-such-key', [])).toBe(false);
  });

  it('seals and opens the identity secret; another key, another workspace, an altered record or a short tag does not open', () => {
    const key = parseSecretKey(randomBytes(32).toString('hex'));
    const sealed = seal('identity-secret-of-the-shop', key, 'shop');
    expect(sealed.ciphertext.toString('utf8')).not.toContain('identity-secret');
    expect(unseal(sealed, key, 'shop')).toBe('identity-secret-of-the-shop');
    expect(unseal(sealed, randomBytes(32), 'shop')).toBeNull();
    expect(unseal(sealed, key, 'other-shop')).toBeNull();
    const altered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext.map((byte, i) => (i === 0 ? byte ^ 1 : byte))) };
    expect(unseal(altered, key, 'shop')).toBeNull();
    expect(unseal({ ...sealed, tag: sealed.tag.subarray(0, 4) }, key, 'shop')).toBeNull();
    expect(() => parseSecretKey('too-short')).toThrow(/64 hex digits/);
  });

  it('a file workspace written to the log and read back authenticates the same keys, with the same settings', () => {
    const [file] = parseWorkspaces(
      { workspaces: [{ id: 'shop', site_id: 'shop-site', api_key: 'shop-api-key-0123456', write_key: 'shop-write-key-012345', publishable_key: 'pk_shop', identity_verification_secret: 'shop-identity-secret-01', allowed_origins: ['https://shop.example'], settings: { merge_enabled: false, grace_seconds: 60 }, rate_limit: { records_per_second: 5 } }] },
      'test',
    );
    if (!file) throw new Error('no workspace');
    const key = randomBytes(32);
    const definition = definitionOf(file, 'seed:test', 1000, key);
    expect(JSON.stringify(definition)).not.toContain('shop-api-key');
    const change: WorkspaceChange = { workspace_id: 'shop', version: 1, effective_at: 1000, changed_at: 1000, changed_by: 'seed:test', change: '{}', definition };
    const { workspace, problem } = workspaceFromChange(change, 2000, key);
    expect(problem).toBeNull();
    expect({ ...workspace, keys: null }).toEqual({ ...file, keys: null });
    const registry = new WorkspaceRegistry([workspace]);
    expect(authenticateTrack(basic('shop-site', 'shop-api-key-0123456'), registry).ok).toBe(true);
    expect(authenticateTrack(basic('shop-site', 'shop-write-key-012345'), registry).ok).toBe(false);
    expect(authenticateWriteKey(basic('shop-write-key-012345', ''), registry).ok).toBe(true);
    expect(() => definitionOf(file, 'seed:test', 1000, null)).toThrow(SealingError);
  });

  it('a revoked key stops working at its revocation time; a disabled workspace answers 403 to a right key', () => {
    const [file] = parseWorkspaces({ workspaces: [{ id: 'w', site_id: 'w-site', api_key: 'w-api-key-0123456789' }] }, 'test');
    if (!file) throw new Error('no workspace');
    const definition = definitionOf(file, 'test', 0, null);
    const revoked = { ...definition, keys: definition.keys.map((k) => ({ ...k, revoked_at: 5000 })) };
    const change = (def: typeof definition): WorkspaceChange => ({ workspace_id: 'w', version: 2, effective_at: 0, changed_at: 0, changed_by: 'test', change: '{}', definition: def });
    const at = (now: number) => new WorkspaceRegistry([workspaceFromChange(change(revoked), now, null).workspace]);
    expect(authenticateTrack(basic('w-site', 'w-api-key-0123456789'), at(4999)).ok).toBe(true);
    expect(authenticateTrack(basic('w-site', 'w-api-key-0123456789'), at(5000)).ok).toBe(false);
    const disabled = new WorkspaceRegistry([workspaceFromChange(change({ ...definition, disabled: true }), 0, null).workspace]);
    expect(authenticateTrack(basic('w-site', 'w-api-key-0123456789'), disabled)).toEqual({ ok: false, status: 403, reason: 'workspace w is disabled' });
  });

  it('a sealed secret that does not open leaves the workspace without one, and says so', () => {
    const [file] = parseWorkspaces({ workspaces: [{ id: 'w', site_id: 'w-site', api_key: 'w-api-key-0123456789', identity_verification_secret: 'w-identity-secret-012' }] }, 'test');
    if (!file) throw new Error('no workspace');
    const definition = definitionOf(file, 'test', 0, randomBytes(32));
    const change: WorkspaceChange = { workspace_id: 'w', version: 1, effective_at: 0, changed_at: 0, changed_by: 'test', change: '{}', definition };
    const opened = workspaceFromChange(change, 0, randomBytes(32));
    expect(opened.workspace.identityVerificationSecret).toBeNull();
    expect(opened.problem).toMatch(/does not open/);
  });
});

describe('the registry put in force whole', () => {
  it('leaves out a later workspace claiming a site id or write key another already has, and says which', () => {
    const registry = new WorkspaceRegistry([]);
    const parsed = parseWorkspaces(
      { workspaces: [{ id: 'first', site_id: 'site-1', api_key: 'first-api-key-01234', write_key: 'shared-write-key-0123' }, { id: 'second', site_id: 'site-2', api_key: 'second-api-key-0123' }] },
      'test',
    );
    const [first, second] = parsed as [(typeof parsed)[0], (typeof parsed)[0]];
    const sameSite = { ...second, id: 'same-site', siteId: 'site-1' };
    const sameWriteKey = { ...second, id: 'same-write-key', siteId: 'site-3', keys: { ...second.keys, write: first.keys.write } };
    expect(registry.replace([first, second, sameSite, sameWriteKey])).toEqual([
      "workspace same-site is left out: its site_id is workspace first's",
      "workspace same-write-key is left out: its write key is workspace first's",
    ]);
    expect(registry.workspaces.map((w) => w.id)).toEqual(['first', 'second']);
    expect(authenticateTrack(basic('site-1', 'first-api-key-01234'), registry).ok).toBe(true);
  });
});
