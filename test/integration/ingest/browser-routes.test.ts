/**
 * The snippet's routes (/js/v1/...) and their auth: the publishable key is good only for
 * anonymous events, identifies and a known person's events (those two with the person's
 * user_hash: browser-identity.test.ts), only from an allowed origin; CORS
 * answers name that origin and no other; the script itself is served.
 */
import { createHmac } from 'node:crypto';
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { readInbound, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const ORIGIN = 'http://shop.example.test:8080';
const SECRET = 'identity-verification-of-the-shop';
/** What the shop's server renders into the page of the visitor it logged in. */
const userHash = (identifier: string) => createHmac('sha256', SECRET).update(identifier).digest('hex');

describe('browser snippet routes', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('browser-routes', 1);
  let ingest: RunningIngest;
  const workspaces = new WorkspaceRegistry(
    parseWorkspaces(
      {
        workspaces: [
          { id: 'shop', site_id: 'shop-site', api_key: 'shop-secret', publishable_key: 'pk_shop', allowed_origins: [ORIGIN], identity_verification_secret: SECRET, browser_attributes: ['plan'] },
          { id: 'nopk', site_id: 'nopk-site', api_key: 'nopk-secret' },
        ],
      },
      'test',
    ),
  );
  const post = (path: string, body: unknown, origin: string | null = ORIGIN, query = 'site_id=shop-site&key=pk_shop') =>
    fetch(`${ingest.url}${path}?${query}`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', ...(origin ? { origin } : {}) }, body: JSON.stringify(body) });

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { workspaces });
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  it('serves the snippet as JavaScript', async () => {
    const response = await fetch(`${ingest.url}/js/anonmerge.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/javascript/);
    expect(await response.text()).toContain('sendBeacon');
  });

  it('accepts an anonymous event, an identify and a person event from an allowed origin, with CORS headers for it', async () => {
    const anonymous = await post('/js/v1/events', { name: 'http://shop.example.test:8080/pricing', type: 'page', anonymous_id: 'cookie-1', id: 'e1' });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect((await post('/js/v1/customers/ada%40example.com', { anonymous_id: 'cookie-1', plan: 'pro', user_hash: userHash('ada@example.com') })).status).toBe(200);
    expect((await post('/js/v1/customers/ada%40example.com/events', { name: 'Added to cart', id: 'e2', user_hash: userHash('ada@example.com') })).status).toBe(200);
    const records = await readInbound(kafka, topics, 3);
    expect(records.map((r) => r.command.kind)).toEqual(['track', 'identify', 'track']);
    expect(records[0]?.command.body).toMatchObject({ anonymous_id: 'cookie-1', type: 'page', name: 'http://shop.example.test:8080/pricing' });
    expect(records[1]?.command.body).toMatchObject({ anonymous_id: 'cookie-1', person: { id_type: 'EMAIL', value: 'ada@example.com' } });
    expect(records[2]?.command.body).toMatchObject({ anonymous_id: null, person: { id_type: 'EMAIL', value: 'ada@example.com' } });
  });

  it('answers a preflight from an allowed origin, and refuses one from another', async () => {
    const allowed = await fetch(`${ingest.url}/js/v1/events?site_id=shop-site&key=pk_shop`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    const other = await fetch(`${ingest.url}/js/v1/events?site_id=shop-site&key=pk_shop`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses another origin (403), a wrong or missing key (401), and a workspace without a publishable key (401), each with a JSON reason', async () => {
    const cases: Array<[Response, number, RegExp]> = [
      [await post('/js/v1/events', { name: 'x', anonymous_id: 'a' }, 'https://evil.example'), 403, /origin https:\/\/evil\.example is not allowed/],
      [await post('/js/v1/events', { name: 'x', anonymous_id: 'a' }, null), 403, /origin \(none\) is not allowed/],
      [await post('/js/v1/events', { name: 'x', anonymous_id: 'a' }, ORIGIN, 'site_id=shop-site&key=wrong'), 401, /wrong publishable key/],
      [await post('/js/v1/events', { name: 'x', anonymous_id: 'a' }, ORIGIN, 'site_id=shop-site'), 401, /missing site_id or key/],
      [await post('/js/v1/events', { name: 'x', anonymous_id: 'a' }, ORIGIN, 'site_id=nopk-site&key=nopk-secret'), 401, /wrong publishable key/],
    ];
    for (const [response, status, reason] of cases) {
      expect(response.status).toBe(status);
      expect(((await response.json()) as { meta: { errors: string[] } }).meta.errors[0]).toMatch(reason);
    }
  });

  it('is good for nothing else: no invites, deletes or merges with the publishable key, and not on the Track API', async () => {
    const invite = await post('/js/v1/events', { name: 'invited', data: { recipient: 'x@example.com' } });
    expect(invite.status).toBe(400);
    expect(JSON.stringify(await invite.json())).toContain('anonymous_id');
    expect((await fetch(`${ingest.url}/js/v1/customers/ada?site_id=shop-site&key=pk_shop`, { method: 'DELETE', headers: { origin: ORIGIN } })).status).toBe(404);
    expect((await post('/js/v1/merge_customers', { primary: { id: 'a' }, secondary: { id: 'b' } })).status).toBe(404);
    const trackApi = await fetch(`${ingest.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('shop-site:pk_shop').toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', anonymous_id: 'a' }) });
    expect(trackApi.status).toBe(401);
  });
});
