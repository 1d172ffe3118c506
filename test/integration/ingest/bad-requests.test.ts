/**
 * Bad input (SPEC R8): every malformed request gets its 4xx with a JSON body that names the
 * problem, none of them writes a record, and good requests sent among them still do.
 */
import { gzipSync } from 'node:zlib';
import type { RunningIngest } from '../../../services/ingest/service';
import { basic, startTestIngest } from '../../support/ingest';
import { countRecords, deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly auth?: string | null;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer | object;
  readonly status: number;
  readonly error: string;
}

const TRACK = basic('site-a', 'key-a');
const WRITE = basic('write-a', '');
const now = Math.floor(Date.now() / 1000);
const event = (extra: object) => ({ name: 'viewed', anonymous_id: 'anon-1', ...extra });
const nested = (depth: number): object => (depth === 0 ? { leaf: true } : { deeper: nested(depth - 1) });

const CASES: Case[] = [
  { name: 'no credentials', path: '/api/v1/events', auth: null, body: event({}), status: 401, error: 'unauthorized: missing or malformed Basic auth' },
  { name: 'wrong api key', path: '/api/v1/events', auth: basic('site-a', 'nope'), body: event({}), status: 401, error: 'unauthorized: unknown site_id or wrong api_key' },
  { name: 'another workspace key', path: '/api/v1/events', auth: basic('site-a', 'key-b'), body: event({}), status: 401, error: 'unauthorized' },
  { name: 'not JSON', path: '/api/v1/events', body: '{"name": "x",', status: 400, error: 'the body is not valid JSON' },
  { name: 'not UTF-8', path: '/api/v1/events', body: Buffer.from([0x7b, 0x22, 0x6e, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), status: 400, error: 'the body is not valid UTF-8' },
  { name: 'not a JSON content type', path: '/api/v1/events', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x', status: 415, error: 'the body must be JSON' },
  { name: 'an array body', path: '/api/v1/events', body: [event({})], status: 400, error: 'the body must be a JSON object, not an array' },
  { name: 'missing name', path: '/api/v1/events', body: { anonymous_id: 'a' }, status: 400, error: 'name: is required' },
  { name: 'name over 100 bytes', path: '/api/v1/events', body: event({ name: 'é'.repeat(51) }), status: 400, error: 'name: must be at most 100 bytes (got 102)' },
  { name: 'unknown type', path: '/api/v1/events', body: event({ type: 'click' }), status: 400, error: 'type: must be one of event, page, screen' },
  { name: 'fractional timestamp', path: '/api/v1/events', body: event({ timestamp: 1.5e9 + 0.5 }), status: 400, error: 'timestamp: must be an integer number of unix seconds' },
  { name: 'timestamp in milliseconds', path: '/api/v1/events', body: event({ timestamp: now * 1000 }), status: 400, error: 'timestamp: is more than a day in the future' },
  { name: 'timestamp zero', path: '/api/v1/events', body: event({ timestamp: 0 }), status: 400, error: 'timestamp: must be unix seconds after 2000-01-01' },
  { name: 'timestamp as text', path: '/api/v1/events', body: event({ timestamp: '1700000000' }), status: 400, error: 'timestamp: must be an integer number of unix seconds' },
  { name: 'data over 100,000 bytes', path: '/api/v1/events', body: event({ data: { blob: 'x'.repeat(100_000) } }), status: 400, error: 'data: must be at most 100000 bytes as JSON' },
  { name: 'data not an object', path: '/api/v1/events', body: event({ data: 'text' }), status: 400, error: 'data: must be an object, not a string' },
  { name: 'empty anonymous_id', path: '/api/v1/events', body: event({ anonymous_id: '' }), status: 400, error: 'anonymous_id: must not be empty' },
  { name: 'anonymous_id over 150 bytes', path: '/api/v1/events', body: event({ anonymous_id: 'a'.repeat(151) }), status: 400, error: 'anonymous_id: must be at most 150 bytes' },
  { name: 'anonymous_id a number', path: '/api/v1/events', body: event({ anonymous_id: 42 }), status: 400, error: 'anonymous_id: must be a string, not a number' },
  { name: 'neither anonymous_id nor recipient', path: '/api/v1/events', body: { name: 'invite' }, status: 400, error: 'anonymous_id: is required unless data.recipient is set' },
  { name: 'invite to a non-email', path: '/api/v1/events', body: { name: 'invite', data: { recipient: 'bob' } }, status: 400, error: 'data.recipient: must be an email address' },
  { name: '__proto__ key', path: '/api/v1/events', body: '{"name":"x","anonymous_id":"a","__proto__":{"polluted":true}}', status: 400, error: 'forbidden key' },
  { name: 'constructor.prototype key', path: '/api/v1/events', body: '{"name":"x","anonymous_id":"a","data":{"constructor":{"prototype":{"polluted":true}}}}', status: 400, error: 'forbidden key' },
  { name: 'NUL in the name', path: '/api/v1/events', body: event({ name: 'a\u0000b' }), status: 400, error: 'name: must not contain NUL' },
  { name: 'lone surrogate in data', path: '/api/v1/events', body: '{"name":"x","anonymous_id":"a","data":{"s":"\\ud800"}}', status: 400, error: 'data.s: must be valid Unicode (it has a lone surrogate)' },
  // 34 levels: within what a body may nest, so the field's own check names it.
  { name: 'nesting deeper than 32', path: '/api/v1/events', body: event({ data: nested(33) }), status: 400, error: 'is nested deeper than 32 levels' },
  { name: 'nesting 5,000 deep', path: '/api/v1/events', body: `{"name":"x","anonymous_id":"a","data":${'{"d":'.repeat(5000)}1${'}'.repeat(5000)}}`, status: 400, error: 'the body is nested deeper than 35 levels' },
  { name: 'identifier over 150 bytes', method: 'PUT', path: `/api/v1/customers/${'p'.repeat(151)}`, body: {}, status: 400, error: 'identifier: must be at most 150 bytes' },
  { name: '301 attributes', method: 'PUT', path: '/api/v1/customers/p1', body: Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`a${i}`, i])), status: 400, error: 'at most 300 attributes per call (got 301)' },
  { name: 'attribute value over 1,000 bytes', method: 'PUT', path: '/api/v1/customers/p1', body: { bio: 'b'.repeat(1001) }, status: 400, error: 'bio: attribute value must be at most 1000 bytes' },
  { name: 'attribute name over 150 bytes', method: 'PUT', path: '/api/v1/customers/p1', body: { ['n'.repeat(151)]: 1 }, status: 400, error: 'attribute name must be at most 150 bytes' },
  { name: 'email attribute not an email', method: 'PUT', path: '/api/v1/customers/p1', body: { email: 'nope' }, status: 400, error: 'email: must be an email address' },
  { name: 'merge without secondary', path: '/api/v1/merge_customers', body: { primary: { id: 'a' } }, status: 400, error: 'secondary: must be an object with one of id, email or cio_id' },
  { name: 'merge of a person into itself', path: '/api/v1/merge_customers', body: { primary: { email: 'A@x.io' }, secondary: { email: 'a@x.io' } }, status: 400, error: 'secondary: must be a different person than primary' },
  { name: 'body over 256 KB', path: '/api/v1/events', body: event({ data: { blob: 'x'.repeat(300_000) } }), status: 413, error: 'the body is larger than 262144 bytes' },
  { name: 'gzip bomb', path: '/api/v1/events', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)), status: 413, error: 'larger than 262144 bytes once decompressed' },
  { name: 'broken gzip', path: '/api/v1/events', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: Buffer.from('not gzip at all'), status: 400, error: 'not valid gzip data' },
  { name: 'unsupported encoding', path: '/api/v1/events', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: 'x', status: 415, error: 'unsupported Content-Encoding "br"' },
  { name: 'Segment: unknown write key', path: '/v1/track', auth: basic('write-zzz', ''), body: { event: 'x', userId: 'u' }, status: 401, error: 'unauthorized: unknown write key' },
  { name: 'Segment: track without any id', path: '/v1/track', auth: WRITE, body: { event: 'x' }, status: 400, error: 'userId: track needs userId or anonymousId' },
  { name: 'Segment: timestamp not ISO-8601', path: '/v1/track', auth: WRITE, body: { event: 'x', userId: 'u', timestamp: 'yesterday' }, status: 400, error: 'timestamp: must be an ISO-8601 date-time' },
  { name: 'Segment: message over 32 KB', path: '/v1/track', auth: WRITE, body: { event: 'x', userId: 'u', properties: { blob: 'x'.repeat(33_000) } }, status: 413, error: 'the body is larger than 32768 bytes' },
  {
    name: 'Segment: batch with bad items',
    path: '/v1/batch',
    auth: WRITE,
    body: { batch: [{ type: 'track', userId: 'u', event: 'ok' }, { type: 'track', userId: 'u' }, { type: 'page', anonymousId: 'a', timestamp: 'nope' }, { type: 'click', userId: 'u' }] },
    status: 400,
    error: 'batch[1].event: is required',
  },
  { name: 'Segment: empty batch', path: '/v1/batch', auth: WRITE, body: { batch: [] }, status: 400, error: 'batch: must not be empty' },
  { name: 'unknown route', path: '/api/v1/nothing', body: {}, status: 404, error: 'no route POST /api/v1/nothing' },
];

const GOOD: Case[] = [
  { name: 'good anonymous event', path: '/api/v1/events', body: event({ id: 'good-1' }), status: 200, error: '' },
  { name: 'good identify', method: 'PUT', path: '/api/v1/customers/p1', body: { email: 'p1@example.com', anonymous_id: 'anon-1' }, status: 200, error: '' },
  { name: 'good segment batch', path: '/v1/batch', auth: WRITE, body: { batch: [{ type: 'track', userId: 'u', event: 'ok' }, { type: 'page', anonymousId: 'a', name: 'Home' }] }, status: 200, error: '' },
];

describe('bad requests (R8)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('bad');
  let ingest: RunningIngest;

  beforeAll(async () => {
    ingest = await startTestIngest(topics);
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  const send = (c: Case) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(c.auth === null ? {} : { authorization: c.auth ?? TRACK }), ...c.headers };
    const payload = typeof c.body === 'string' || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body);
    return fetch(`${ingest.url}${c.path}`, { method: c.method ?? 'POST', headers, body: payload });
  };

  it('answers each bad request with its status and a JSON error naming the problem; only the good ones are stored', async () => {
    const interleaved = CASES.flatMap((c, i) => (i % 15 === 0 && GOOD[i / 15] ? [GOOD[i / 15] as Case, c] : [c]));
    const outcomes: string[] = [];
    for (const c of interleaved) {
      const response = await send(c);
      const text = await response.text();
      const json = JSON.parse(text) as { meta?: { errors?: string[] } };
      const errors = (json.meta?.errors ?? []).join(' | ');
      if (response.status !== c.status || (c.error && !errors.includes(c.error))) outcomes.push(`${c.name}: got ${response.status} ${errors || text}`);
    }
    expect(outcomes).toEqual([]);
    // Good requests: 1 event + 1 identify + 2 batch items; the bad ones wrote nothing.
    // What ingest accepted: events in inbound, person operations in person-ops.
    expect((await countRecords(kafka, topics.inbound)) + (await countRecords(kafka, topics.personOps))).toBe(4);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('names every bad item of a batch by index and field', async () => {
    const c = CASES.find((x) => x.name === 'Segment: batch with bad items') as Case;
    const response = await send(c);
    const body = (await response.json()) as { meta: { errors: string[] }; errors: Array<{ field: string; message: string }> };
    expect(body.errors.map((e) => e.field)).toEqual(['batch[1].event', 'batch[2].timestamp', 'batch[3].type']);
    expect(body.meta.errors[2]).toBe('batch[3].type: must be one of identify, track, page, screen, alias, group');
  });
});
