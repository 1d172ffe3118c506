import { authenticateTrack, authenticateWriteKey, parseBasicAuth, secretsEqual } from '../../../services/ingest/auth';
import { parseWorkspaces, WorkspaceFileError, WorkspaceRegistry } from '../../../services/ingest/workspaces';

const registry = new WorkspaceRegistry(
  parseWorkspaces({ workspaces: [{ id: 'a', site_id: 'site-a', api_key: 'key-a', write_key: 'wk-a' }, { id: 'b', site_id: 'site-b', api_key: 'key-b' }] }, 'test'),
);
const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

describe('auth', () => {
  it('parses Basic credentials, with a colon inside the password', () => {
    expect(parseBasicAuth(basic('site:pa:ss'))).toEqual({ user: 'site', password: 'pa:ss' });
    expect(parseBasicAuth('Bearer x')).toBeNull();
    expect(parseBasicAuth(undefined)).toBeNull();
  });

  it('compares secrets of any length', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
  });

  it('Track API: the site id and its own key only', () => {
    expect(authenticateTrack(basic('site-a:key-a'), registry)).toMatchObject({ ok: true, workspace: { id: 'a' } });
    expect(authenticateTrack(basic('site-a:key-b'), registry)).toEqual({ ok: false, reason: 'unknown site_id or wrong api_key' });
    expect(authenticateTrack(basic('site-x:key-a'), registry)).toEqual({ ok: false, reason: 'unknown site_id or wrong api_key' });
  });

  it('Segment: the write key as user', () => {
    expect(authenticateWriteKey(basic('wk-a:'), registry)).toMatchObject({ ok: true, workspace: { id: 'a' } });
    expect(authenticateWriteKey(basic('key-a:'), registry)).toEqual({ ok: false, reason: 'unknown write key' });
  });
});

describe('workspaces file', () => {
  it('fills default settings (R3: merging on by default)', () => {
    const [workspace] = parseWorkspaces({ workspaces: [{ id: 'w', site_id: 's', api_key: 'k' }] }, 'f');
    expect(workspace?.settings).toEqual({ merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 });
  });

  it('names every problem', () => {
    expect(() => parseWorkspaces({ workspaces: [{ id: 'bad/id', site_id: 's' }, { id: 'w2', site_id: 's', api_key: 'k', settings: { grace_seconds: -1, merge_enabled: 'yes' } }] }, 'f.json')).toThrow(
      new WorkspaceFileError(
        'f.json: workspaces[0].id must match /^[A-Za-z0-9_-]{1,64}$/; workspaces[0].api_key is missing; workspaces[0].api_key must be a non-empty string; workspaces[1].settings.merge_enabled must be true or false; workspaces[1].settings.grace_seconds must be a non-negative integer; site_id "s" is used by two workspaces',
      ),
    );
  });
});
