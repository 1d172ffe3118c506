/**
 * Tenants: one workspace sending far over its rate limit gets 429 with Retry-After and a JSON body
 * naming the limit; the token bucket lets through no more than its rate and burst; and the other
 * workspace, sending at the same time, is never refused. How much the flood slows the other
 * workspace down is a timing, measured by `make bench-tenants` against the bound it states.
 */
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { connect } from 'node:net';
import { basic, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const LIMIT = 100;
const BURST = 2 * LIMIT;

describe('per-workspace rate limit', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('rate');
  let ingest: RunningIngest;
  const workspaces = new WorkspaceRegistry(
    parseWorkspaces(
      {
        workspaces: [
          { id: 'flood', site_id: 'flood-site', api_key: 'flood-key', rate_limit: { records_per_second: LIMIT } },
          { id: 'calm', site_id: 'calm-site', api_key: 'calm-key' },
          { id: 'spent', site_id: 'spent-site', api_key: 'spent-key', rate_limit: { records_per_second: 1, burst: 1 } },
        ],
      },
      'test',
    ),
  );

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { workspaces });
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  const post = (site: string, key: string, i: number) =>
    fetch(`${ingest.url}/api/v1/events`, { method: 'POST', headers: { authorization: basic(site, key), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'viewed', anonymous_id: `a-${i % 50}`, id: `${site}-${i}-${Math.random()}` }) });

  it('refuses a flood with 429 and Retry-After, lets through no more than rate + burst, and never refuses the other workspace', async () => {
    let flooding = true;
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    let refusal: string | undefined;
    const floodStarted = Date.now();
    const flood = Array.from({ length: 10 }, async (_, worker) => {
      // As fast as ten connections go: far over the limit on an idle machine.
      for (let i = 0; flooding; i += 1) {
        const response = await post('flood-site', 'flood-key', worker * 1_000_000 + i);
        const body = (await response.json()) as { meta?: { errors?: string[] } };
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 429) {
          retryAfter = response.headers.get('retry-after');
          refusal = body.meta?.errors?.[0];
        }
      }
    });
    // The calm workspace sends all along. The flood lasts 3 s, or on a loaded machine (where
    // each request waits longer for Kafka) until it has spent its burst and been refused; it
    // stops after a minute either way, and the assertions below then say what it got.
    const calm = new Map<number, number>();
    const floodEnd = Date.now() + 60_000;
    for (let i = 0; Date.now() < floodEnd && (Date.now() - floodStarted < 3000 || !statuses.has(429)); i += 1) {
      const response = await post('calm-site', 'calm-key', i);
      await response.arrayBuffer();
      calm.set(response.status, (calm.get(response.status) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    flooding = false;
    await Promise.all(flood);
    const floodSeconds = (Date.now() - floodStarted) / 1000;

    expect([...calm.keys()]).toEqual([200]);
    expect([...statuses.keys()].sort()).toEqual([200, 429]);
    // A token bucket never lets through more than its burst plus its rate over the time elapsed.
    expect(statuses.get(200) ?? 0).toBeLessThanOrEqual(BURST + Math.ceil(LIMIT * floodSeconds));
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refusal).toMatch(/^rate limit: this workspace may send 100 records per second/);
  });

  it('a workspace out of budget is refused from its headers: 429 before its body is sent', async () => {
    // The one-record burst, spent.
    expect((await post('spent-site', 'spent-key', 0)).status).toBe(200);
    // Headers declaring a 50 kB body, and no body: the answer must not wait for it.
    const { hostname, port } = new URL(ingest.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      let text = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(`no answer within 3 s: ${text}`);
      }, 3000);
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
      socket.on('error', reject);
      socket.on('connect', () => socket.write(`POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('spent-site', 'spent-key')}\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n`));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 429/);
    expect(answer).toMatch(/retry-after: \d+/i);
    expect(answer).toContain('rate limit: this workspace may send 1 records per second');
  });
});
