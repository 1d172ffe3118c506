/**
 * A request full of bad items must cost its sender, not us (issue 14, item 2): a 519-byte gzip
 * body of 160,000 `{}` items used to get a 29 MB answer (every problem, twice) and four of them
 * took ingest past 600 MB. Answers now list at most 20 problems, a batch holds at most 2,000
 * messages, and every request — refused or not — is charged to its workspace's rate limit by
 * records and bytes before its content is checked.
 */
import { gzipSync } from 'node:zlib';
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { loadConfig } from '../../../services/shared/config';
import { basic, startTestIngest } from '../../support/ingest';
import { httpFrom } from '../../support/httpFrom';
import { countRecords, deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

type ErrorAnswer = { meta: { errors: string[] }; errors: Array<{ field: string; message: string }> };

describe('error amplification (R8)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('amplification', 1);
  let ingest: RunningIngest;
  const workspaces = new WorkspaceRegistry(
    parseWorkspaces(
      {
        workspaces: [
          // One each: the first request's 160,000 records empty its workspace's whole burst.
          { id: 'bomb', site_id: 'bomb-site', api_key: 'bomb-key', write_key: 'bomb-write' },
          { id: 'open', site_id: 'open-site', api_key: 'open-key', write_key: 'open-write' },
          { id: 'slow', site_id: 'slow-site', api_key: 'slow-key', write_key: 'slow-write', rate_limit: { records_per_second: 1, burst: 20 } },
          { id: 'thin', site_id: 'thin-site', api_key: 'thin-key', write_key: 'thin-write', rate_limit: { bytes_per_second: 1, bytes_burst: 2000 } },
          { id: 'broken', site_id: 'broken-site', api_key: 'broken-key', write_key: 'broken-write', rate_limit: { records_per_second: 1, burst: 5 } },
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

  const batch = (writeKey: string, body: string | Buffer, gzip = false) =>
    fetch(`${ingest.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basic(writeKey, ''), 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
      body,
    });
  const items = (n: number, item: string) => `{"batch":[${Array(n).fill(item).join(',')}]}`;

  it('R8: a 519-byte gzip batch of 160,000 {} gets a small 400 naming the item limit', async () => {
    const body = gzipSync(items(160_000, '{}'), { level: 9 });
    expect(body.length).toBeLessThan(600);
    const response = await batch('bomb-write', body, true);
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text.length).toBeLessThan(1000);
    expect((JSON.parse(text) as ErrorAnswer).meta.errors).toEqual(['batch: must have at most 2000 messages (got 160000); send them in several batches']);
  });

  it('R8: a batch of 1,500 bad items lists 20 problems and "and N more" in both lists', async () => {
    const response = await batch('open-write', items(1500, '{}'));
    const answer = (await response.json()) as ErrorAnswer;
    expect(response.status).toBe(400);
    expect(answer.errors).toHaveLength(21);
    expect(answer.meta.errors).toHaveLength(21);
    expect(answer.errors[0]).toEqual({ field: 'batch[0].type', message: 'must be one of identify, track, page, screen, alias, group' });
    expect(answer.meta.errors[20]).toBe('and 1480 more problems');
  });

  it('charges refused requests by their records: a bad batch of 30 uses up the burst, the next good request waits', async () => {
    expect((await batch('slow-write', items(30, '{}'))).status).toBe(400);
    // 15 records refill in 15 s at 1 a second: however slow the machine, the next request is refused.
    const next = await batch('slow-write', items(15, '{"type":"track","userId":"u","event":"e"}'));
    expect(next.status).toBe(429);
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await next.json()) as ErrorAnswer).meta.errors[0]).toMatch(/^rate limit: this workspace may send 1 records per second/);
  });

  it('charges refused requests by their bytes: a 2 KB bad batch uses up a 2,000-byte burst', async () => {
    const big = `{"batch":[{"type":"track","userId":"u","properties":{"pad":"${'x'.repeat(2000)}"}}]}`;
    expect((await batch('thin-write', big)).status).toBe(400);
    const next = await batch('thin-write', items(1, '{"type":"track","userId":"u","event":"e"}'));
    expect(next.status).toBe(429);
    // Its ~50 bytes refill in ~50 s at 1 byte a second: refused however slow the machine.
    expect(((await next.json()) as ErrorAnswer).meta.errors[0]).toMatch(/^rate limit: this workspace may send 1 bytes per second/);
    expect(await countRecords(kafka, topics.inbound)).toBe(0);
  });

  it('charges bodies refused before they are read as JSON: 5 of invalid JSON use up a burst of 5', async () => {
    for (let i = 0; i < 5; i += 1) expect((await batch('broken-write', '{"batch": [')).status).toBe(400);
    // 4 records refill in 4 s at 1 a second: refused however slow the machine.
    const next = await batch('broken-write', items(4, '{"type":"track","userId":"u","event":"e"}'));
    expect(next.status).toBe(429);
  });

  it('counts a broken body without credentials in its headers as a failed authentication of its address', async () => {
    const limit = loadConfig(['ingest'], {}).ingest.authFailureLimit;
    const post = () => httpFrom('127.0.0.9', `${ingest.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"writeKey": "broken-write", "batch": [' });
    const statuses: number[] = [];
    for (let i = 0; i < limit + 2; i += 1) statuses.push((await post()).status);
    expect(statuses).toEqual([...Array(limit).fill(400), 429, 429]);
  });
});
