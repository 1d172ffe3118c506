/**
 * Tenants: one workspace sending at 10× its rate limit gets 429 with Retry-After, and does not
 * raise another workspace's p99 latency beyond the bound stated here: under 100 ms, and within
 * 50 ms of its p99 without the flood.
 */
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { basic, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const BOUND_MS = 100;
const MARGIN_MS = 50;

describe('per-workspace rate limit', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('rate');
  let ingest: RunningIngest;
  const workspaces = new WorkspaceRegistry(
    parseWorkspaces({ workspaces: [{ id: 'flood', site_id: 'flood-site', api_key: 'flood-key', rate_limit: { records_per_second: 100 } }, { id: 'calm', site_id: 'calm-site', api_key: 'calm-key' }] }, 'test'),
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

  async function calmP99(seconds: number): Promise<number> {
    const latencies: number[] = [];
    const end = Date.now() + seconds * 1000;
    let i = 0;
    while (Date.now() < end) {
      const started = performance.now();
      const response = await post('calm-site', 'calm-key', (i += 1));
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    latencies.sort((a, b) => a - b);
    return latencies[Math.ceil(latencies.length * 0.99) - 1] ?? 0;
  }

  it('refuses the flood with 429 and Retry-After, and keeps the other workspace fast', async () => {
    const baseline = await calmP99(4);
    let flooding = true;
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    const flood = Array.from({ length: 10 }, async (_, worker) => {
      let i = 0;
      const started = Date.now();
      while (flooding) {
        // 10 workers × 100 requests/s = 1,000 records/s: 10× the limit.
        const response = await post('flood-site', 'flood-key', worker * 1_000_000 + (i += 1));
        const body = (await response.json()) as { meta?: { errors?: string[] } };
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 429) {
          retryAfter = response.headers.get('retry-after');
          expect(body.meta?.errors?.[0]).toMatch(/^rate limit: this workspace may send 100 records per second/);
        }
        const due = started + i * 10;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      }
    });
    const underFlood = await calmP99(4);
    flooding = false;
    await Promise.all(flood);
    process.stdout.write(`rate limit: calm p99 ${baseline.toFixed(1)} ms alone, ${underFlood.toFixed(1)} ms under a 10× flood; flood answers ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect(statuses.get(429) ?? 0).toBeGreaterThan(statuses.get(200) ?? 0);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(underFlood).toBeLessThan(BOUND_MS);
    expect(underFlood).toBeLessThan(baseline + MARGIN_MS);
  });
});
