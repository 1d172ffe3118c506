/**
 * Producers on Kafka (issue 16, part 3; docs/producing.md): commands written to the request
 * topic reach the merger as the same commands over HTTP do, through ingest's request bridge — on
 * the real stack, with the merger running. Bad records go to the dead-letter topic with their
 * reason and hold nothing up; a Python producer (Debian's python3-confluent-kafka) that dies
 * mid-batch and sends again loses nothing and duplicates nothing.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { header as wireHeader } from '../../../services/shared/avro/wireFormat';
import type { RunningIngest } from '../../../services/ingest/service';
import { MAX_REQUEST_BYTES } from '../../../services/ingest/requestBridge';
import { WorkspaceRegistry, parseWorkspaces } from '../../../services/ingest/workspaces';
import type { Request } from '../../../services/shared/generated/requestTypes';
import type { MergedEvent } from '../../../services/shared/model/outbound';
import { projectRoot } from '../../../services/shared/projectRoot';
import { pythonEnv } from '../../support/exampleConsumers';
import { basic, startTestIngest } from '../../support/ingest';
import { deleteRedisPrefix, OutputReader, startTestMerger } from '../../support/merger';
import { config, deleteTopics, isolatedTopics, readToEnd, testKafka, testLogger, uniqueName } from '../../support/stack';

jest.setTimeout(240_000);

const WORKSPACES = ['ws-http', 'ws-kafka', 'ws-py', 'ws-bad'].map((id) => ({ id, site_id: `site-${id}`, api_key: `key-${id}`, write_key: `write-${id}` }));

type Command = Request['command'];
const track = (anonymousId: string | null, identifier: string | null, name: string, data: object = {}): Command => ({
  'dev.anonmerge.requests.Track': { identifier, anonymous_id: anonymousId, name, type: 'event', data_json: JSON.stringify(data) },
});
const identify = (identifier: string, anonymousId: string | null, attributes: object = {}): Command => ({ 'dev.anonmerge.requests.Identify': { identifier, anonymous_id: anonymousId, attributes_json: JSON.stringify(attributes) } });
const remove = (identifier: string): Command => ({ 'dev.anonmerge.requests.Delete': { identifier } });
const merge = (primary: string, secondary: string): Command => ({ 'dev.anonmerge.requests.Merge': { primary: { kind: 'id', value: primary }, secondary: { kind: 'id', value: secondary } } });
const alias = (userId: string, previousId: string): Command => ({ 'dev.anonmerge.requests.Alias': { user_id: userId, previous_id: previousId } });

/** One step of the shared workload: an event id for events (the same on both paths), and the command. */
interface Step {
  readonly key: string;
  readonly eventId: string | null;
  readonly command: Command;
}

/**
 * Twelve independent groups of what a backend does around sign-up: anonymous events, identify,
 * events inside the grace window, a person event, and per group one of: a delete then an event of
 * the freed anonymous id (R10), a merge of a second person into the first (R9), an alias of a
 * second anonymous id (Segment), a rebind attempt of the anonymous id (R2f).
 */
function workload(): Step[] {
  const steps: Step[] = [];
  for (let g = 0; g < 12; g += 1) {
    const key = `g${g}`;
    const a = `anon-${g}`;
    const u = `user-${g}`;
    const event = (n: number, anonymousId: string | null, person: string | null) => ({ key, eventId: `ev-${g}-${n}`, command: track(anonymousId, person, `step ${n}`, { g, n }) });
    steps.push(event(1, a, null), event(2, a, null), { key, eventId: null, command: identify(u, a, { plan: g % 2 === 0 ? 'free' : 'pro' }) }, event(3, a, null), event(4, null, u));
    switch (g % 4) {
      case 0:
        steps.push({ key, eventId: null, command: remove(u) }, event(5, a, null));
        break;
      case 1:
        steps.push(event(5, `${a}-b`, null), { key, eventId: null, command: identify(`${u}-b`, `${a}-b`) }, { key, eventId: null, command: merge(u, `${u}-b`) }, event(6, `${a}-b`, null));
        break;
      case 2:
        steps.push(event(5, `${a}-c`, null), { key, eventId: null, command: alias(u, `${a}-c`) }, event(6, `${a}-c`, null));
        break;
      default:
        steps.push({ key, eventId: null, command: identify(`${u}-other`, a) }, event(5, a, null));
    }
  }
  return steps;
}

/** The HTTP request that carries a step, as a backend would send it. */
async function sendOverHttp(ingest: RunningIngest, workspace: string, step: Step): Promise<void> {
  const auth = { authorization: basic(`site-${workspace}`, `key-${workspace}`), 'content-type': 'application/json' };
  const command = step.command;
  let response: Response;
  if ('dev.anonmerge.requests.Track' in command) {
    const t = command['dev.anonmerge.requests.Track'];
    const body = { id: step.eventId, name: t.name, type: t.type, data: JSON.parse(t.data_json ?? '{}') as object };
    response = t.identifier
      ? await fetch(`${ingest.url}/api/v1/customers/${encodeURIComponent(t.identifier)}/events`, { method: 'POST', headers: auth, body: JSON.stringify(body) })
      : await fetch(`${ingest.url}/api/v1/events`, { method: 'POST', headers: auth, body: JSON.stringify({ ...body, anonymous_id: t.anonymous_id }) });
  } else if ('dev.anonmerge.requests.Identify' in command) {
    const i = command['dev.anonmerge.requests.Identify'];
    response = await fetch(`${ingest.url}/api/v1/customers/${encodeURIComponent(i.identifier)}`, { method: 'PUT', headers: auth, body: JSON.stringify({ ...(JSON.parse(i.attributes_json ?? '{}') as object), anonymous_id: i.anonymous_id }) });
  } else if ('dev.anonmerge.requests.Delete' in command) {
    response = await fetch(`${ingest.url}/api/v1/customers/${encodeURIComponent(command['dev.anonmerge.requests.Delete'].identifier)}`, { method: 'DELETE', headers: auth });
  } else if ('dev.anonmerge.requests.Merge' in command) {
    const m = command['dev.anonmerge.requests.Merge'];
    response = await fetch(`${ingest.url}/api/v1/merge_customers`, { method: 'POST', headers: auth, body: JSON.stringify({ primary: { id: m.primary.value }, secondary: { id: m.secondary.value } }) });
  } else {
    const s = command['dev.anonmerge.requests.Alias'];
    response = await fetch(`${ingest.url}/v1/alias`, { method: 'POST', headers: { authorization: basic(`write-${workspace}`, ''), 'content-type': 'application/json' }, body: JSON.stringify({ userId: s.user_id, previousId: s.previous_id }) });
  }
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
}

/** What a consumer of merged events sees of a workspace, without the stamps that differ by path. */
const mergedView = (events: readonly MergedEvent[]) =>
  events.map((e) => `${e.person.value} ${e.event_id.replace(/^k\d{4}-/, '')} ${e.name} ${e.data_json} ${e.previously_anonymous} ${e.anonymous_id ?? '-'}`).sort();

describe('the request bridge (producers on Kafka)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('bridge', 3);
  let ingest: RunningIngest;
  let merger: Awaited<ReturnType<typeof startTestMerger>>;
  let catalog: SchemaCatalog;
  let producer: Producer;
  let reader: OutputReader;

  const request = (workspace: string, id: string | null, command: Command, timestamp: number | null = null): Buffer => catalog.encode('requests', { workspace_id: workspace, id, timestamp, command } satisfies Request);

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { workspaces: new WorkspaceRegistry(parseWorkspaces({ workspaces: WORKSPACES }, 'test')), bridge: { groupId: uniqueName('test-bridge') } });
    // The HTTP and the Kafka path are compared record for record: a bridge batch whose
    // transaction a loaded CI machine commits later than the default 100 ms bound would be placed
    // as late (deterministically, but not where the HTTP path's records are). As the sequences
    // test does, a bound that load does not reach.
    merger = await startTestMerger(topics, { reorderMs: 1000 });
    catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['requests']);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    reader = await new OutputReader(kafka, topics).open();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await reader?.close();
    await ingest?.close();
    await merger?.close();
    await deleteRedisPrefix(merger.prefix);
    await deleteTopics(kafka, topics);
  });

  it('passes good commands on and dead-letters bad ones with their reason, the rest of the batch going on (R8)', async () => {
    const good = (id: string, command: Command) => ({ key: 'bad-batch', value: request('ws-bad', id, command) });
    const oversize = Buffer.concat([wireHeader(catalog.schemaId('requests')), Buffer.alloc(MAX_REQUEST_BYTES)]);
    // One send, one partition: a batch of the bridge holds good and bad records together.
    const batch = [
      good('bad-1', track('anon-bad', null, 'first')),
      { key: 'bad-batch', value: Buffer.from('not avro at all') },
      { key: 'bad-batch', value: request('no-such-workspace', 'bad-2', track('anon-bad', null, 'x')) },
      good('bad-3', { 'dev.anonmerge.requests.Track': { identifier: null, anonymous_id: 'anon-bad', name: 'x', type: 'event', data_json: '[1]' } }),
      { key: 'bad-batch', value: oversize },
      { key: 'bad-batch', value: request('ws-bad', 'bad-4', track('anon-bad', null, 'ms'), Date.now()) },
      good('bad-5', identify('bad-person', 'anon-bad')),
      good('bad-6', track('anon-bad', null, 'second')),
    ];
    await producer.send({ topic: topics.requests, acks: -1, messages: batch });
    // Near what the broker takes (1 MiB), most of it in the key: its dead letter must not carry
    // it, or the letter's transaction would be refused on every attempt and the partition stop.
    const huge = { key: 'k'.repeat(600_000), value: Buffer.concat([wireHeader(catalog.schemaId('requests')), Buffer.alloc(300_000)]) };
    await producer.send({ topic: topics.requests, acks: -1, messages: [huge] });
    const got = await reader.until((g) => g.deadLetters.length >= 6 && g.mergedEvents.filter((e) => e.workspace_id === 'ws-bad').length >= 2, 60_000, 'two merged events and six dead letters');
    const reasons = got.deadLetters.filter((d) => d.source_topic === topics.requests).map((d) => d.reason);
    expect(reasons).toEqual([
      expect.stringMatching(/^undecodable: /),
      'workspace_id: no workspace "no-such-workspace" is in force',
      'data_json: must be a JSON object',
      `the record's key and value are ${MAX_REQUEST_BYTES + 5 + 9} bytes; at most ${MAX_REQUEST_BYTES} (its ${MAX_REQUEST_BYTES + 5 + 9} bytes are not kept here: read them at their offset)`,
      expect.stringMatching(/^timestamp: is more than a day in the future .*milliseconds instead of seconds\?$/),
      `the record's key and value are 900005 bytes; at most ${MAX_REQUEST_BYTES} (its 900005 bytes are not kept here: read them at their offset)`,
    ]);
    const hugeLetter = got.deadLetters.find((d) => d.reason.includes('900005'));
    expect([hugeLetter?.key, hugeLetter?.value]).toEqual([null, null]);
    // Each dead letter keeps the bytes it refused, for a replay after a fix.
    expect(got.deadLetters.find((d) => d.reason.startsWith('undecodable'))?.value?.toString()).toBe('not avro at all');
    // The good ones around them: the first pending until the identify (R2a), the last merged on arrival (R2b).
    expect(mergedView(got.mergedEvents.filter((e) => e.workspace_id === 'ws-bad'))).toEqual([
      'bad-person bad-1 first {} true anon-bad',
      'bad-person bad-6 second {} true anon-bad',
    ]);
    const metrics = await (await fetch(`${ingest.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/anonmerge_bridge_records_total\{outcome="accepted",service="ingest"\} 3/);
    expect(metrics).toMatch(/anonmerge_bridge_records_total\{outcome="dead_letter",service="ingest"\} 6/);
  });

  it('gives the same merged output and activity as the HTTP API for the same workload', async () => {
    const steps = workload();
    let sequence = 0;
    for (const step of steps) {
      await sendOverHttp(ingest, 'ws-http', step);
      // Ids that sort in the producer's order, as docs/producing.md asks (a ULID would do): the
      // bridge stamps a batch's records with one received_at, and the merger applies records of
      // one millisecond in id order. The same event ids as over HTTP after the order prefix.
      const id = `k${String((sequence += 1)).padStart(4, '0')}-${step.eventId ?? 'cmd'}`;
      await producer.send({ topic: topics.requests, acks: -1, messages: [{ key: step.key, value: request('ws-kafka', id, step.command) }] });
    }
    const expectedEvents = steps.filter((s) => s.eventId !== null).length;
    const activityView = (list: typeof reader.got.activity) => list.map((a) => `${a.kind} ${a.person.value} ${a.anonymous_id ?? '-'} ${a.other_person?.value ?? '-'}`).sort();
    const views = () => {
      const one = reader.of('ws-http');
      const other = reader.of('ws-kafka');
      return {
        http: JSON.stringify([mergedView(one.mergedEvents), activityView(one.activity), one.tombstones.map((k) => k.replace('ws-http/', ''))]),
        viaKafka: JSON.stringify([mergedView(other.mergedEvents), activityView(other.activity), other.tombstones.map((k) => k.replace('ws-kafka/', ''))]),
        done: one.tombstones.length === 3 && other.tombstones.length === 3,
      };
    };
    // Wait for both paths to have written all of it (the three deletions come last, held until
    // every data partition's clock passed them), not for a pause in the output: a rebalance or a
    // slow merge would look like one. If they never agree, the expectations below show how.
    await reader
      .until(() => {
        const now = views();
        return now.done && now.http === now.viaKafka;
      }, 60_000, 'the same outputs from both workspaces')
      .catch(() => undefined);
    // Nothing more arrives after that on either side.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const http = reader.of('ws-http');
    const viaKafka = reader.of('ws-kafka');
    expect(mergedView(viaKafka.mergedEvents)).toEqual(mergedView(http.mergedEvents));
    expect(activityView(viaKafka.activity)).toEqual(activityView(http.activity));
    expect(viaKafka.tombstones.map((k) => k.replace('ws-kafka/', ''))).toEqual(http.tombstones.map((k) => k.replace('ws-http/', '')));
    // The workload exercised what it was built for, on both paths alike.
    const kinds = new Set(http.activity.map((a) => a.kind));
    expect([...kinds].sort()).toEqual(['ANONYMOUS_DATA_MERGED', 'ANONYMOUS_ID_REBIND_REFUSED', 'PEOPLE_MERGED', 'PERSON_DELETED']);
    expect(http.mergedEvents.length).toBeGreaterThan(expectedEvents / 2);
    expect(http.tombstones.length).toBe(3);
  });

  it('R7: takes a Python producer (confluent-kafka) that dies mid-batch and sends everything again: no loss, no duplicate', async () => {
    const env = { ...process.env, ...(await pythonEnv()), BOOTSTRAP_SERVERS: config.kafka.brokers.join(','), SCHEMA_REGISTRY_URL: config.registry.url, TOPIC: topics.requests, IDEMPOTENT: '0' };
    const script = path.join(projectRoot(), 'examples/producers/python/send_requests.py');
    const lines = [
      { key: 'py', request: { workspace_id: 'ws-py', id: 'py-identify', timestamp: null, command: { identifier: 'py-person', anonymous_id: 'py-anon', attributes_json: '{}' } } },
      ...Array.from({ length: 40 }, (_, i) => ({
        key: 'py',
        request: { workspace_id: 'ws-py', id: `py-${String(i + 1).padStart(2, '0')}`, timestamp: null, command: { identifier: null, anonymous_id: 'py-anon', name: 'viewed', type: 'page', data_json: JSON.stringify({ n: i + 1 }) } },
      })),
    ];
    const input = lines.map((line) => JSON.stringify(line)).join('\n');
    const runProducer = (extra: Record<string, string>) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
        const child = spawn('/usr/bin/python3', [script], { env: { ...env, ...extra }, stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
        child.stdin.end(input);
      });
    const crashed = await runProducer({ CRASH_AFTER: '20' });
    expect(crashed.signal).toBe('SIGKILL');
    const again = await runProducer({});
    expect([again.code, again.stderr]).toEqual([0, '']);
    await reader.until((g) => g.mergedEvents.filter((e) => e.workspace_id === 'ws-py').length >= 40, 60_000, 'the Python producer\'s 40 events');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const ids = reader.of('ws-py').mergedEvents.map((e) => e.event_id).sort();
    expect(ids).toEqual(lines.slice(1).map((line) => line.request.id));
    // The crash did leave copies in the request topic: the merger applied each id once (R7).
    const written = (await readToEnd(kafka, topics.requests)).filter((m) => m.key?.toString() === 'py');
    expect(written.length).toBeGreaterThan(lines.length);
  });
});
