/**
 * What the activity page's settings panel may ask of the admin API (settingsRoutes.ts): four
 * calls, each checked before anything is sent on, the workspace always the page's own.
 */
import { askedMerge, askedNewKey, askedRevoke } from '../../../services/activity/settingsRoutes';

describe('settings panel requests', () => {
  it('R3: a merge switch is a PATCH of merge_enabled alone, with the version read as If-Match', () => {
    const asked = askedMerge({ merge_enabled: false, version: 7, name: 'ignored' });
    expect(asked.ok && asked.call('shop')).toEqual({ method: 'PATCH', path: '/v1/workspaces/shop', body: { settings: { merge_enabled: false } }, ifMatch: 7 });
  });

  it('refuses a merge switch without a boolean or a version', () => {
    expect(askedMerge({ merge_enabled: 'false', version: 7 })).toEqual({ ok: false, problem: 'merge_enabled: true or false' });
    for (const version of [undefined, 0, -1, 1.5, '7', 2 ** 60]) expect(askedMerge({ merge_enabled: true, version }).ok).toBe(false);
    expect(askedMerge(null).ok).toBe(false);
  });

  it('creates a key of a named kind, the kind checked by the admin API; an overlong kind is not sent on', () => {
    const asked = askedNewKey({ kind: 'WRITE' });
    expect(asked.ok && asked.call('shop')).toEqual({ method: 'POST', path: '/v1/workspaces/shop/keys', body: { kind: 'WRITE' } });
    expect(askedNewKey({ kind: 'W'.repeat(17) }).ok).toBe(false);
    expect(askedNewKey({}).ok).toBe(false);
  });

  it('revokes only a key id of the form the admin API gives, so no path can be smuggled in', () => {
    const asked = askedRevoke('api-12');
    expect(asked.ok && asked.call('shop')).toEqual({ method: 'DELETE', path: '/v1/workspaces/shop/keys/api-12' });
    for (const keyId of ['../../v1/workspaces', 'api-1?at=0', 'api-1/x', 'API-1', '', 'api-']) expect(askedRevoke(keyId).ok).toBe(false);
  });

  it('puts the workspace in the path escaped', () => {
    const asked = askedMerge({ merge_enabled: true, version: 1 });
    expect(asked.ok && asked.call('a/b').path).toBe('/v1/workspaces/a%2Fb');
  });
});
