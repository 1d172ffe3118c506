/**
 * A brake on guessing credentials (issue 14, item 6): 300 wrong API keys in 0.3 s and 100 wrong
 * activity logins were all answered 401 at full speed, each after reading and inflating the
 * body. Now ingest checks credentials from the headers before the body is read, and both
 * services answer an address past its failed attempts (20 a minute on ingest, 10 on the activity
 * page, the defaults) with 429, Retry-After and a JSON body — right credentials or not — while
 * other addresses go on. Each test acts from an address of its own on loopback.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { RunningIngest } from '../../services/ingest/service';
import { loadConfig } from '../../services/shared/config';
import { httpFrom } from '../support/httpFrom';
import { basic, startTestIngest } from '../support/ingest';
import { startTestActivity } from '../support/activity';
import { trickleRequest } from '../../bench/slowRequest';
import { deleteTopics, isolatedTopics, testKafka, testLogger } from '../support/stack';

const defaults = loadConfig(['ingest', 'activity'], {});

describe('failed authentication', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('auth-brake', 1);
  let ingest: RunningIngest;
  let activity: FastifyInstance;
  let activityUrl: string;

  beforeAll(async () => {
    ingest = await startTestIngest(topics);
    ({ app: activity, url: activityUrl } = await startTestActivity({
      timeouts: defaults.activity,
      loginFailures: { maxFailures: defaults.activity.loginFailureLimit, windowMs: defaults.activity.loginFailureWindowMs },
    }));
  });
  afterAll(async () => {
    await activity?.close();
    await ingest?.close();
    await deleteTopics(kafka, topics);
  });

  it.each([
    ['/api/v1/events', basic('site-a', 'wrong-key')],
    ['/v1/batch', basic('write-zzz', '')],
  ])('ingest refuses a wrong key on %s from the headers, without waiting for the declared 100 kB gzip body', async (route, authorization) => {
    const head = `POST ${route} HTTP/1.1\r\nHost: ingest\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n`;
    // No body byte is ever sent: an answer can only come from the headers.
    const outcome = await trickleRequest(ingest.url, head, '', 1000, 10_000);
    expect(outcome.answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(outcome.answer).toContain('"meta":{"errors":["unauthorized:');
    expect(outcome.closedAfterMs).toBeLessThan(10_000);
  });

  it(`ingest answers an address 429 with Retry-After after ${defaults.ingest.authFailureLimit} failed authentications, even with the right key; other addresses go on`, async () => {
    const post = (from: string, authorization: string) =>
      httpFrom(from, `${ingest.url}/api/v1/events`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', anonymous_id: 'a' }) });
    const statuses: number[] = [];
    for (let i = 0; i < defaults.ingest.authFailureLimit + 5; i += 1) statuses.push((await post('127.0.0.2', basic('site-a', `guess-${i}`))).status);
    expect(statuses).toEqual([...Array(defaults.ingest.authFailureLimit).fill(401), ...Array(5).fill(429)]);
    const blocked = await post('127.0.0.2', basic('site-a', 'key-a'));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(blocked.body)).toMatchObject({ meta: { errors: [expect.stringMatching(/^too many failed authentications from this address; retry after \d+ s$/)] } });
    expect((await post('127.0.0.3', basic('site-a', 'key-a'))).status).toBe(200);
  });

  it(`ingest gives parallel requests with a write key in the body no more than ${defaults.ingest.authFailureLimit} guesses between them`, async () => {
    // Every request's headers arrive (and pass the header check, no failure counted yet) before
    // any body does; the key in the body is checked once it is read, where the brake must be
    // asked again.
    const limit = defaults.ingest.authFailureLimit;
    const { port } = new URL(ingest.url);
    const sockets = Array.from({ length: limit + 10 }, () => connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.6' }));
    const bodies = sockets.map((_, i) => JSON.stringify({ writeKey: `guess-${i}`, userId: 'u', event: 'e' }));
    const answers = sockets.map(
      (socket) =>
        new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          socket.on('close', () => resolve(text));
          socket.on('error', () => resolve(text));
        }),
    );
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    sockets.forEach((socket, i) => socket.write(`POST /v1/track HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(bodies[i] as string)}\r\n\r\n`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    sockets.forEach((socket, i) => socket.write(bodies[i] as string));
    const statuses = (await Promise.all(answers)).map((text) => Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0));
    expect(statuses.filter((s) => s === 401)).toHaveLength(limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it(`the activity page answers an address 429 with Retry-After after ${defaults.activity.loginFailureLimit} failed logins; visits without credentials do not count`, async () => {
    const get = (from: string, authorization?: string) => httpFrom(from, `${activityUrl}/activity`, { headers: authorization ? { authorization } : {} });
    for (let i = 0; i < 20; i += 1) expect((await get('127.0.0.4')).status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < defaults.activity.loginFailureLimit + 3; i += 1) statuses.push((await get('127.0.0.4', basic('site-a', `guess-${i}`))).status);
    expect(statuses).toEqual([...Array(defaults.activity.loginFailureLimit).fill(401), ...Array(3).fill(429)]);
    const blocked = await get('127.0.0.4', basic('site-a', 'key-a'));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(blocked.body)).toEqual({ error: expect.stringMatching(/^too many failed logins from this address; retry after \d+ s$/) });
    expect((await get('127.0.0.5', basic('site-a', 'key-a'))).status).toBe(200);
  });

  it('behind a trusted proxy, counts failures per client named by X-Forwarded-For; from anyone else the header changes nothing', async () => {
    const behindProxy = await startTestIngest(topics, { trustedProxies: ['127.0.0.10'] });
    try {
      const post = (url: string, from: string, client: string, key: string) =>
        httpFrom(from, `${url}/api/v1/events`, { method: 'POST', headers: { authorization: basic('site-a', key), 'content-type': 'application/json', 'x-forwarded-for': client }, body: JSON.stringify({ name: 'x', anonymous_id: 'a' }) });
      const limit = defaults.ingest.authFailureLimit;
      for (let i = 0; i < limit; i += 1) expect((await post(behindProxy.url, '127.0.0.10', '203.0.113.1', `guess-${i}`)).status).toBe(401);
      expect((await post(behindProxy.url, '127.0.0.10', '203.0.113.1', 'key-a')).status).toBe(429);
      // Another client behind the same proxy is not held back.
      expect((await post(behindProxy.url, '127.0.0.10', '203.0.113.2', 'key-a')).status).toBe(200);
      // Not from the proxy: a forged header does not make a new client.
      for (let i = 0; i < limit; i += 1) expect((await post(behindProxy.url, '127.0.0.11', `198.51.100.${i}`, `guess-${i}`)).status).toBe(401);
      expect((await post(behindProxy.url, '127.0.0.11', '198.51.100.200', 'key-a')).status).toBe(429);
    } finally {
      await behindProxy.close();
    }
  });
});
