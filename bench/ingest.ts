/**
 * make bench-ingest: HTTP load on the real ingest process (autocannon), single events and
 * Segment batches of 100, beside a raw kafkajs producer sending the same Avro records to the
 * same broker in the same run. The ratio to the raw producer is the figure that counts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { ulid } from 'ulid';
import { SchemaCatalog } from '../services/shared/avro/catalog';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { ensureTopics } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import { toWire } from '../services/shared/model/inbound';
import { inboundKey } from '../services/shared/model/keys';
import { projectRoot } from '../services/shared/projectRoot';
import { translateAnonymousEvent } from '../services/ingest/trackV1';
import { benchTopics, machine, round, saveResult, spawnService, table, topicEnv } from './support';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 15);
const PORT = Number(process.env.BENCH_INGEST_PORT ?? 3100);
const auth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface HttpFigures {
  readonly scenario: string;
  readonly requestsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function load(scenario: string, options: autocannon.Options, eventsPerRequest: number): Promise<HttpFigures> {
  process.stderr.write(`\n${scenario}: ${options.connections} connections for ${options.duration} s\n`);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, finished) => (error ? reject(error) : resolve(finished)));
    autocannon.track(instance, { renderResultsTable: false, renderLatencyTable: false, outputStream: process.stderr });
  });
  const seconds = result.duration;
  const ok = result['2xx'];
  return {
    scenario,
    requestsPerSecond: round(ok / seconds),
    eventsPerSecond: round((ok * eventsPerRequest) / seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** The same records ingest writes for single events, produced straight from kafkajs. */
async function rawProducer(topic: string, seconds: number): Promise<{ eventsPerSecond: number; batches: number }> {
  const config = loadConfig(['kafka', 'registry', 'topics']);
  const logger = createLogger('bench', 'warn');
  const kafka = createKafka(config.kafka, logger, 'bench-raw');
  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger, ['inbound']);
  const settings = { merge_enabled: true, retention_seconds: 2_592_000, grace_seconds: 300, trigger_window_seconds: 259_200 };
  const template = (i: number) => {
    const translation = translateAnonymousEvent({ name: 'https://example.com/pricing', type: 'page', anonymous_id: `anon-${i % 5000}`, data: { plan: 'pro', ref: 'bench' } }, { workspaceId: 'demo', settings, receivedAt: Date.now(), newId: ulid });
    if (!translation.ok) throw new Error('bench record invalid');
    const record = translation.records[0] as Parameters<typeof toWire>[0];
    return { key: inboundKey(record), value: catalog.encode('inbound', toWire(record)) };
  };
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  process.stderr.write(`\nraw kafkajs producer: ${seconds} s, batches of 1000, acks=-1, idempotent, one send in flight (as ingest)\n`);
  const end = Date.now() + seconds * 1000;
  const start = Date.now();
  let sent = 0;
  let batches = 0;
  let i = 0;
  while (Date.now() < end) {
    const messages = Array.from({ length: 1000 }, () => template((i += 1)));
    await producer.send({ topic, acks: -1, messages });
    sent += messages.length;
    batches += 1;
    if (batches % 20 === 0) process.stderr.write(`  ${sent} records, ${round(sent / ((Date.now() - start) / 1000))}/s\r`);
  }
  const elapsed = (Date.now() - start) / 1000;
  await producer.disconnect();
  process.stderr.write('\n');
  return { eventsPerSecond: round(sent / elapsed), batches };
}

export interface IngestFigures {
  readonly durationSeconds: number;
  readonly http: HttpFigures[];
  readonly raw: { eventsPerSecond: number; batches: number };
}

export async function benchIngest(): Promise<IngestFigures> {
  const config = loadConfig(['kafka', 'registry']);
  const logger = createLogger('bench', 'warn');
  const topics = benchTopics('ingest', 6);
  const rawTopics = { ...topics, inbound: `${topics.inbound}-raw` };
  const kafka = createKafka(config.kafka, logger, 'bench-admin');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  await ensureTopics(admin, rawTopics, logger);

  // The demo workspaces with a rate limit above this load: this measures the ingest path, not
  // the per-workspace limit (10,000 records/s by default, which batches exceed here; the limit
  // has its own benchmark, make bench-tenants).
  // Its keys are the demo's, which ingest accepts only in a demo (ANONMERGE_DEMO=1).
  const registry = JSON.parse(readFileSync(path.join(projectRoot(), 'config/workspaces.json'), 'utf8')) as { workspaces: Array<Record<string, unknown>> };
  const workspacesFile = path.join(mkdtempSync(path.join(tmpdir(), 'anonmerge-ingest-')), 'workspaces.json');
  writeFileSync(workspacesFile, JSON.stringify({ workspaces: registry.workspaces.map((w) => ({ ...w, rate_limit: { records_per_second: 1_000_000 } })) }));
  const logFile = path.join(projectRoot(), '.local/logs/bench-ingest.log');
  const ingest = await spawnService('ingest', { ...topicEnv(topics), ANONMERGE_WORKSPACES_FILE: workspacesFile, ANONMERGE_DEMO: '1', ANONMERGE_INGEST_PORT: String(PORT), ANONMERGE_INGEST_METRICS_PORT: '0', ANONMERGE_LOG_LEVEL: 'warn' }, `http://127.0.0.1:${PORT}/readyz`, logFile);
  const url = `http://127.0.0.1:${PORT}`;
  const single = JSON.stringify({ name: 'https://example.com/pricing', type: 'page', anonymous_id: 'anon-bench', data: { plan: 'pro', ref: 'bench' } });
  const batch = JSON.stringify({
    batch: Array.from({ length: 100 }, (_, i) => ({ type: 'track', anonymousId: `anon-${i % 17}`, event: 'Viewed Pricing', properties: { plan: 'pro', ref: 'bench' } })),
  });
  const results: HttpFigures[] = [];
  try {
    // Warm up the JIT and the producer before measuring.
    await autocannon({ url: `${url}/api/v1/events`, method: 'POST', headers: { authorization: auth('demo-site', 'demo-key-not-secret'), 'content-type': 'application/json' }, body: single, connections: 16, duration: 3 });
    results.push(
      await load('single events (POST /api/v1/events)', { url: `${url}/api/v1/events`, method: 'POST', headers: { authorization: auth('demo-site', 'demo-key-not-secret'), 'content-type': 'application/json' }, body: single, connections: 64, duration: DURATION_S }, 1),
    );
    results.push(await load('batches of 100 (POST /v1/batch)', { url: `${url}/v1/batch`, method: 'POST', headers: { authorization: auth('demo-write-key-not-secret', ''), 'content-type': 'application/json' }, body: batch, connections: 16, duration: DURATION_S }, 100));
  } finally {
    await ingest.stop();
  }
  const raw = await rawProducer(rawTopics.inbound, DURATION_S);
  await admin.deleteTopics({ topics: [...Object.values(topics), rawTopics.inbound].filter((t): t is string => typeof t === 'string' && t.startsWith('bench-')) }).catch(() => undefined);
  await admin.disconnect();

  return { durationSeconds: DURATION_S, http: results, raw };
}

export function ingestTable(figures: IngestFigures): string {
  const { http: results, raw } = figures;
  const rows = results.map((r) => [r.scenario, r.requestsPerSecond, r.eventsPerSecond, r.p50Ms, r.p99Ms, r.non2xx + r.errors, `${round(r.eventsPerSecond / raw.eventsPerSecond, 2)}×`]);
  rows.push(['raw kafkajs producer, same records', '-', raw.eventsPerSecond, '-', '-', 0, '1.00×']);
  return table(['scenario', 'req/s', 'events/s', 'p50 ms', 'p99 ms', 'failed', 'vs raw'], rows);
}

if (require.main === module) {
  benchIngest()
    .then((figures) => {
      const rendered = ingestTable(figures);
      process.stdout.write(`\ningest, ${DURATION_S} s per scenario, ${machine().cores} cores shared with Kafka, the registry and Redis\n\n${rendered}\n`);
      const file = saveResult('ingest', { at: new Date().toISOString(), machine: machine(), ...figures, table: rendered });
      process.stdout.write(`\nraw figures: ${file}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`bench-ingest failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
