/**
 * Property-based fuzzing of every ingest endpoint (fast-check), against the real ingest process
 * and Kafka: random and adversarial JSON, sizes at and over each limit, deep nesting, huge
 * property maps, NUL, lone surrogates, __proto__, wrong types, timestamps far in the past and
 * future, gzip bombs. Every request gets a documented status with a JSON body, the process never
 * crashes, a refused request writes nothing (the topic holds exactly what the accepted ones
 * should), and Object.prototype stays clean. FUZZ_RUNS scales it (make chaos runs more).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { countRecords, deleteTopics, isolatedTopics, testKafka, withAdmin, testLogger } from '../../support/stack';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { topicEnv } from '../../../services/shared/config/topicSets';
import { resultsPath } from '../../support/results';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const root = path.resolve(__dirname, '../../..');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const TRACK = basic('fuzz-site', 'fuzz-api-key-0123456789');
const WRITE = basic('fuzz-write-key-0123456789', '');
const DOCUMENTED = new Set([200, 400, 401, 404, 413, 415]);

describe('fuzzing every ingest endpoint', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('fuzz', 2);
  const port = 24000 + Math.floor(Math.random() * 4000);
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let expectedRecords = 0;
  let requests = 0;

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const dir = mkdtempSync(path.join(tmpdir(), 'anonmerge-fuzz-'));
    const file = path.join(dir, 'workspaces.json');
    writeFileSync(file, JSON.stringify({ workspaces: [{ id: 'fuzz', site_id: 'fuzz-site', api_key: 'fuzz-api-key-0123456789', write_key: 'fuzz-write-key-0123456789' }] }));
    const log = openSync(resultsPath(`fuzz-ingest-${port}.log`), 'a');
    child = spawn('node', [path.join(root, 'dist/services/ingest/main.js')], {
      cwd: root,
      // Every topic name of its own, not only the inbound: ingest creates the whole set at start.
      env: { ...process.env, ...topicEnv(topics), ANONMERGE_WORKSPACES_FILE: file, ANONMERGE_INGEST_PORT: String(port), ANONMERGE_INGEST_METRICS_PORT: '0', ANONMERGE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', log, log],
    });
    for (let i = 0; i < 200; i += 1) {
      if (await fetch(`${url}/readyz`).then((r) => r.ok).catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('ingest did not start');
  });

  afterAll(async () => {
    child?.kill('SIGTERM');
    await deleteTopics(kafka, topics);
  });

  async function send(method: string, route: string, body: string | Buffer, headers: Record<string, string> = {}) {
    requests += 1;
    const response = await fetch(`${url}${route}`, { method, headers: { authorization: TRACK, 'content-type': 'application/json', ...headers }, body });
    const text = await response.text();
    return { status: response.status, text };
  }

  /** Each answer is documented, with a JSON body; error bodies have Customer.io's shape. */
  function assertAnswer({ status, text }: { status: number; text: string }) {
    expect(DOCUMENTED.has(status)).toBe(true);
    const json = JSON.parse(text) as { meta?: { errors?: unknown[] } };
    if (status >= 400) expect(Array.isArray(json.meta?.errors) && json.meta.errors.length > 0).toBe(true);
  }

  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '__proto__', 'é'.repeat(60)));
  const timestamp = fc.oneof(fc.integer({ min: -1e12, max: 1e13 }), fc.double(), fc.constantFrom(0, 946_684_799, 946_684_800, Math.floor(Date.now() / 1000) + 86_401, 1e15), fc.string());
  const nested = (depth: number): unknown => (depth === 0 ? 1 : { d: nested(depth - 1) });
  const data = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 400 }),
    fc.integer({ min: 28, max: 40 }).map(nested),
    fc.integer({ min: 99_900, max: 100_100 }).map((n) => ({ blob: 'x'.repeat(n) })),
  );
  const eventBody = fc.record(
    { name: fc.oneof(text, fc.integer({ min: 95, max: 105 }).map((n) => 'n'.repeat(n)), fc.constant(undefined)), anonymous_id: fc.oneof(text, fc.constant(undefined), fc.integer()), type: fc.oneof(fc.constantFrom('event', 'page', 'screen', 'click'), fc.integer()), data, timestamp, id: fc.oneof(text, fc.constant(undefined)) },
    { requiredKeys: [] },
  );

  it('random JSON of any shape to every route: a documented status, never a crash', async () => {
    const routes = [
      ['POST', '/api/v1/events'],
      ['PUT', '/api/v1/customers/p1'],
      ['POST', '/api/v1/customers/p1/events'],
      ['POST', '/api/v1/merge_customers'],
      ['DELETE', '/api/v1/customers/p1'],
      ['POST', '/v1/track'],
      ['POST', '/v1/identify'],
      ['POST', '/v1/page'],
      ['POST', '/v1/alias'],
      ['POST', '/v1/batch'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async ([method, route], value) => {
        const before = await countRecords(kafka, topics.inbound);
        const answer = await send(method, route, JSON.stringify(value), route.startsWith('/v1/') ? { authorization: WRITE } : {});
        assertAnswer(answer);
        if (answer.status !== 200) expect(await countRecords(kafka, topics.inbound)).toBe(before);
        else expectedRecords = await countRecords(kafka, topics.inbound);
      }),
      { numRuns: RUNS },
    );
  });

  it('adversarial events: limits, NUL, surrogates, nesting, huge maps, timestamps', async () => {
    await fc.assert(
      fc.asyncProperty(eventBody, async (body) => {
        const before = await countRecords(kafka, topics.inbound);
        const answer = await send('POST', '/api/v1/events', JSON.stringify(body));
        assertAnswer(answer);
        const after = await countRecords(kafka, topics.inbound);
        // Accepted: exactly one record; refused: none.
        expect(after - before).toBe(answer.status === 200 ? 1 : 0);
        expectedRecords = after;
      }),
      { numRuns: RUNS },
    );
  });

  it('prototype pollution, bad UTF-8, and gzip bombs are refused whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(Buffer.from('{"name":"x","anonymous_id":"a","__proto__":{"polluted":1}}')),
          fc.constant(Buffer.from('{"name":"x","anonymous_id":"a","data":{"constructor":{"prototype":{"polluted":1}}}}')),
          fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
          fc.integer({ min: 300, max: 4000 }).map((kb) => gzipSync(Buffer.alloc(kb * 1024, 0x20))),
        ),
        async (payload) => {
          const gz = payload[0] === 0x1f && payload[1] === 0x8b;
          const before = await countRecords(kafka, topics.inbound);
          const answer = await send('POST', '/api/v1/events', payload, gz ? { 'content-encoding': 'gzip' } : {});
          assertAnswer(answer);
          expect(answer.status).not.toBe(200);
          expect(await countRecords(kafka, topics.inbound)).toBe(before);
        },
      ),
      { numRuns: Math.max(20, Math.floor(RUNS / 3)) },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the process is still up and the topic holds exactly what was accepted', async () => {
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await countRecords(kafka, topics.inbound)).toBe(expectedRecords);
    process.stdout.write(`fuzz: ${requests} requests, ${expectedRecords} records accepted\n`);
  });
});
