/**
 * Identity verification of the publishable key (issue 14, item 4). The key is in every page and
 * curl forges `Origin`, so what it may write must not depend on the browser behaving: an identify
 * or a person's event needs `user_hash`, an HMAC-SHA256 of the identifier made with the
 * workspace's `identity_verification_secret` (which only the site's server knows); without that
 * secret set up, the key sends anonymous events only; and browser-sent attributes are limited to
 * the workspace's `browser_attributes`. Every request here is sent the way an attacker would:
 * plain fetch with a forged Origin header. The Track API (Basic auth) is unaffected.
 */
import { createHmac } from 'node:crypto';
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { basic, readInbound, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const ORIGIN = 'https://shop.example.test';
const SECRET = 'verification-secret-of-the-shop';
/** What the shop's server computes for the visitor it logged in (Node's crypto, as the docs say). */
const userHash = (identifier: string, secret = SECRET) => createHmac('sha256', secret).update(identifier, 'utf8').digest('hex');

type ErrorAnswer = { meta: { errors: string[] }; errors: Array<{ field: string; message: string }> };

describe('identity verification of the publishable key', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('browser-identity', 1);
  let ingest: RunningIngest;
  const workspaces = new WorkspaceRegistry(
    parseWorkspaces(
      {
        workspaces: [
          {
            id: 'verified',
            site_id: 'verified-site',
            api_key: 'verified-api-key-0123',
            publishable_key: 'pk_verified',
            allowed_origins: [ORIGIN],
            identity_verification_secret: SECRET,
            browser_attributes: ['plan', 'first_name'],
          },
          { id: 'plain', site_id: 'plain-site', api_key: 'plain-api-key-012345', publishable_key: 'pk_plain', allowed_origins: [ORIGIN] },
        ],
      },
      'test',
    ),
  );
  /** A request as curl sends it: any Origin it likes, the public key from the page. */
  const forged = (path: string, body: unknown, site = 'verified-site', key = 'pk_verified') =>
    fetch(`${ingest.url}${path}?site_id=${site}&key=${key}`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(body) });
  const refusal = async (response: Response) => ({ status: response.status, body: (await response.json()) as ErrorAnswer });

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { workspaces });
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  it('without identity verification set up, the publishable key sends anonymous events only: a forged identify or person event is 403', async () => {
    const identify = await refusal(await forged('/js/v1/customers/victim%40example.com', { email: 'attacker@evil.example', anonymous_id: 'a-plain' }, 'plain-site', 'pk_plain'));
    expect(identify.status).toBe(403);
    expect(identify.body.meta.errors[0]).toMatch(/identity verification is not set up for this workspace \(identity_verification_secret\)/);
    const event = await refusal(await forged('/js/v1/customers/victim%40example.com/events', { name: 'Purchased', id: 'plain-person-event' }, 'plain-site', 'pk_plain'));
    expect(event.status).toBe(403);
    expect(event.body.meta.errors[0]).toMatch(/anonymous events only/);
    // Anonymous events are what the key is for.
    expect((await forged('/js/v1/events', { name: 'https://shop.example.test/', type: 'page', anonymous_id: 'a-plain', id: 'plain-anonymous' }, 'plain-site', 'pk_plain')).status).toBe(200);
  });

  it('an identify without user_hash is 401, naming user_hash', async () => {
    const answer = await refusal(await forged('/js/v1/customers/victim%40example.com', { anonymous_id: 'a-1', plan: 'pro' }));
    expect(answer.status).toBe(401);
    expect(answer.body.errors[0]).toEqual({ field: 'user_hash', message: expect.stringMatching(/^is required/) });
  });

  it('an identify with a wrong user_hash is 401: a hash of another identifier, of another secret, or not a hash at all', async () => {
    for (const wrong of [userHash('attacker@evil.example'), userHash('victim@example.com', 'another-secret-entirely'), 'not-a-hash', userHash('victim@example.com').toUpperCase().slice(0, 63), 42]) {
      const answer = await refusal(await forged('/js/v1/customers/victim%40example.com', { anonymous_id: 'a-1', plan: 'pro', user_hash: wrong }));
      expect(answer.status).toBe(401);
      expect(answer.body.errors[0]?.field).toBe('user_hash');
      expect(answer.body.errors[0]?.message).toMatch(/does not match the identifier/);
    }
  });

  it("an identify with the right user_hash is accepted, and user_hash is not stored as an attribute", async () => {
    const accepted = await forged('/js/v1/customers/victim%40example.com', { anonymous_id: 'a-1', plan: 'pro', first_name: 'Vic', user_hash: userHash('victim@example.com') });
    expect(accepted.status).toBe(200);
  });

  it('a person event with the publishable key needs the user_hash of that person: missing or wrong is 401, right is accepted', async () => {
    const missing = await refusal(await forged('/js/v1/customers/victim%40example.com/events', { name: 'Purchased', id: 'no-hash' }));
    expect(missing.status).toBe(401);
    expect(missing.body.errors[0]?.field).toBe('user_hash');
    const wrong = await refusal(await forged('/js/v1/customers/victim%40example.com/events', { name: 'Purchased', id: 'wrong-hash', user_hash: userHash('attacker@evil.example') }));
    expect(wrong.status).toBe(401);
    expect((await forged('/js/v1/customers/victim%40example.com/events', { name: 'Purchased', id: 'right-hash', user_hash: userHash('victim@example.com') })).status).toBe(200);
  });

  it('browser-sent attributes outside browser_attributes are refused (403), each named — email and identifiers above all', async () => {
    const answer = await refusal(
      await forged('/js/v1/customers/victim%40example.com', { anonymous_id: 'a-1', email: 'attacker@evil.example', id: 'x', cio_id: 'x', plan: 'pro', unsubscribed: true, user_hash: userHash('victim@example.com') }),
    );
    expect(answer.status).toBe(403);
    expect(answer.body.errors.map((e) => e.field).sort()).toEqual(['cio_id', 'email', 'id', 'unsubscribed']);
    expect(answer.body.meta.errors[0]).toMatch(/not in this workspace's browser_attributes/);
  });

  it('the Track API (Basic auth) is unaffected: any attribute, no user_hash, for any person', async () => {
    const auth = { authorization: basic('verified-site', 'verified-api-key-0123'), 'content-type': 'application/json' };
    const identify = await fetch(`${ingest.url}/api/v1/customers/victim%40example.com`, { method: 'PUT', headers: auth, body: JSON.stringify({ email: 'victim@example.com', unsubscribed: false }) });
    expect(identify.status).toBe(200);
    const event = await fetch(`${ingest.url}/api/v1/customers/victim%40example.com/events`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Purchased', id: 'server-event' }) });
    expect(event.status).toBe(200);
  });

  it('the topic holds exactly the accepted requests', async () => {
    const records = await readInbound(kafka, topics);
    const story = records.map((r) => {
      const body = r.command.body as { person?: { value: string } | null; anonymous_id: string | null; attributes_json?: string };
      return `${r.workspace_id} ${r.command.kind} ${body.person?.value ?? `anonymous ${body.anonymous_id}`}${body.attributes_json ? ` ${body.attributes_json}` : ''}${r.command.kind === 'track' ? ` ${r.id}` : ''}`;
    });
    expect(story).toEqual([
      'plain track anonymous a-plain plain-anonymous',
      'verified identify victim@example.com {"plan":"pro","first_name":"Vic"}',
      'verified track victim@example.com right-hash',
      'verified identify victim@example.com {"email":"victim@example.com","unsubscribed":false}',
      'verified track victim@example.com server-event',
    ]);
  });
});
