import { checkBrowserPerson } from '../../../services/ingest/browserIdentity';
import { userHashOf } from '../../../services/ingest/userHash';
import { parseWorkspaces, type Workspace } from '../../../services/ingest/workspaces';

const SECRET = 'identity-secret-of-a-site';
const workspace = (extra: object): Workspace => parseWorkspaces({ workspaces: [{ id: 'w', site_id: 's', api_key: 'api-key-of-sixteen', publishable_key: 'pk', ...extra }] }, 'test')[0] as Workspace;
const verified = workspace({ identity_verification_secret: SECRET, browser_attributes: ['plan'] });
const answer = (check: ReturnType<typeof checkBrowserPerson>) => (check.ok ? { ok: true, body: check.body } : { status: check.status, problems: check.problems.list.map((p) => p.field) });

describe('what the publishable key may write about a person', () => {
  it('nothing, without an identity verification secret: 403 whatever the request carries', () => {
    const plain = workspace({ browser_attributes: ['plan'] });
    expect(answer(checkBrowserPerson(plain, 'ada', { user_hash: userHashOf(SECRET, 'ada') }, 'identify'))).toEqual({ status: 403, problems: [''] });
    expect(answer(checkBrowserPerson(plain, 'ada', { name: 'x' }, 'event'))).toEqual({ status: 403, problems: [''] });
  });

  it('nothing without the right user_hash: 401 naming user_hash, before anything else is looked at', () => {
    expect(answer(checkBrowserPerson(verified, 'ada', { email: 'x@example.com' }, 'identify'))).toEqual({ status: 401, problems: ['user_hash'] });
    expect(answer(checkBrowserPerson(verified, 'ada', { user_hash: userHashOf(SECRET, 'bob') }, 'event'))).toEqual({ status: 401, problems: ['user_hash'] });
    expect(answer(checkBrowserPerson(verified, 'ada', 'not an object', 'event'))).toEqual({ status: 401, problems: ['user_hash'] });
  });

  it('with the right user_hash: the allowed attributes, the body handed on without its user_hash', () => {
    const body = { anonymous_id: 'a', plan: 'pro', user_hash: userHashOf(SECRET, 'ada') };
    expect(answer(checkBrowserPerson(verified, 'ada', body, 'identify'))).toEqual({ ok: true, body: { anonymous_id: 'a', plan: 'pro' } });
    expect(answer(checkBrowserPerson(verified, 'ada', { name: 'Paid', data: { email: 'x' }, user_hash: userHashOf(SECRET, 'ada') }, 'event'))).toEqual({ ok: true, body: { name: 'Paid', data: { email: 'x' } } });
  });

  it('refuses an identify setting attributes outside the list (403), each named, long names shortened', () => {
    const long = 'n'.repeat(500);
    const body = { plan: 'pro', email: 'x@example.com', [long]: 1, user_hash: userHashOf(SECRET, 'ada') };
    expect(answer(checkBrowserPerson(verified, 'ada', body, 'identify'))).toEqual({ status: 403, problems: ['email', 'n'.repeat(40)] });
  });

  it('reports at most 20 refused attributes and counts the rest', () => {
    const body: Record<string, unknown> = { user_hash: userHashOf(SECRET, 'ada') };
    for (let i = 0; i < 1000; i += 1) body[`a${i}`] = i;
    const check = checkBrowserPerson(verified, 'ada', body, 'identify');
    expect(check.ok ? null : [check.problems.list.length, check.problems.omitted]).toEqual([20, 980]);
  });
});
