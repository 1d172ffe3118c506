/**
 * make bench-bridge: the request bridge's throughput beside ingest's HTTP throughput, same
 * machine, same run. BENCH_BRIDGE_RECORDS request records (anonymous page views, as bench-ingest
 * sends over HTTP) are written to the request topic first; then an ingest process is started with
 * the bridge on, and the time from its readiness to the bridge's group having committed every
 * record is measured, with the ingest process's CPU over it. Then make bench-ingest's scenarios.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ulid } from 'ulid';
import { SchemaCatalog } from '../services/shared/avro/catalog';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { fetchCommittedOffsets } from '../services/shared/kafka/committedOffsets';
import { ensureTopics } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import type { Request } from '../services/shared/generated/requestTypes';
import { projectRoot } from '../services/shared/projectRoot';
import { cpuSeconds } from './cpuUsage';
import { benchIngest, type IngestFigures } from './ingest';
import { benchTopics, machine, round, saveResult, spawnService, table, topicEnv } from './support';

const RECORDS = Number(process.env.BENCH_BRIDGE_RECORDS ?? 200_000);
const PORT = Number(process.env.BENCH_BRIDGE_PORT ?? 3101);

export interface BridgeFigures {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly cpuMicrosPerRecord: number;
  readonly ingestCpuBusy: number;
}

export async function benchBridgeOnly(): Promise<BridgeFigures> {
  const config = loadConfig(['kafka', 'registry']);
  const logger = createLogger('bench', 'warn');
  const topics = benchTopics('bridge', 6);
  const kafka = createKafka(config.kafka, logger, 'bench-bridge');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  const catalog = await SchemaCatalog.open(config.registry, topics, logger, ['requests']);

  process.stderr.write(`writing ${RECORDS.toLocaleString()} request records to ${topics.requests}\n`);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const page = (i: number): Request => ({
    workspace_id: 'demo',
    id: ulid(),
    timestamp: null,
    command: { 'dev.anonmerge.requests.Track': { identifier: null, anonymous_id: `anon-${i % 5000}`, name: 'https://example.com/pricing', type: 'page', data_json: '{"plan":"pro","ref":"bench"}' } },
  });
  for (let sent = 0; sent < RECORDS; sent += 1000) {
    const count = Math.min(1000, RECORDS - sent);
    await producer.send({ topic: topics.requests, acks: -1, messages: Array.from({ length: count }, (_, j) => ({ key: `anon-${(sent + j) % 5000}`, value: catalog.encode('requests', page(sent + j)) })) });
    if ((sent / 1000) % 20 === 0) process.stderr.write(`  ${(sent + count).toLocaleString()} written\r`);
  }
  await producer.disconnect();
  process.stderr.write('\n');

  const registry = JSON.parse(readFileSync(path.join(projectRoot(), 'config/workspaces.json'), 'utf8')) as { workspaces: Array<Record<string, unknown>> };
  const workspacesFile = path.join(mkdtempSync(path.join(tmpdir(), 'anonmerge-bridge-')), 'workspaces.json');
  writeFileSync(workspacesFile, JSON.stringify(registry));
  const groupId = `${topics.requests}-bridge`;
  const logFile = path.join(projectRoot(), '.local/logs/bench-bridge.log');
  const ingest = await spawnService(
    'ingest',
    { ...topicEnv(topics), ANONMERGE_WORKSPACES_FILE: workspacesFile, ANONMERGE_DEMO: '1', ANONMERGE_INGEST_PORT: String(PORT), ANONMERGE_INGEST_METRICS_PORT: String(PORT + 1), ANONMERGE_INGEST_BRIDGE: 'true', ANONMERGE_INGEST_BRIDGE_GROUP_ID: groupId, ANONMERGE_LOG_LEVEL: 'warn' },
    // The metrics port's readiness includes the bridge's group joined.
    `http://127.0.0.1:${PORT + 1}/readyz`,
    logFile,
  );
  const pid = ingest.child.pid as number;
  const cpuBefore = cpuSeconds(pid);
  const start = Date.now();
  let committed = 0;
  try {
    const deadline = start + 600_000;
    while (committed < RECORDS) {
      if (Date.now() > deadline) throw new Error(`the bridge committed ${committed} of ${RECORDS} records in 600 s; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const offsets = await fetchCommittedOffsets(admin, groupId, topics.requests);
      committed = [...offsets.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
      const elapsed = (Date.now() - start) / 1000;
      process.stderr.write(`  bridge: ${committed.toLocaleString()} of ${RECORDS.toLocaleString()} committed, ${round(committed / elapsed).toLocaleString()}/s\r`);
    }
  } finally {
    process.stderr.write('\n');
  }
  const seconds = (Date.now() - start) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  await ingest.stop();
  await admin.deleteTopics({ topics: Object.values(topics).filter((t): t is string => typeof t === 'string' && t.startsWith('bench-')) }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  return { records: RECORDS, seconds: round(seconds, 1), recordsPerSecond: round(RECORDS / seconds), cpuMicrosPerRecord: round((cpu * 1e6) / RECORDS, 1), ingestCpuBusy: round(cpu / seconds, 2) };
}

export function bridgeTable(bridge: BridgeFigures, ingest: IngestFigures): string {
  const rows: Array<Array<string | number>> = [[`request bridge (Kafka → inbound, exactly once), ${bridge.records.toLocaleString()} records`, bridge.recordsPerSecond, bridge.cpuMicrosPerRecord, `${Math.round(bridge.ingestCpuBusy * 100)} %`]];
  for (const http of ingest.http) rows.push([`ingest HTTP: ${http.scenario}`, http.eventsPerSecond, '-', '-']);
  rows.push(['raw kafkajs producer, same records', ingest.raw.eventsPerSecond, '-', '-']);
  return table(['path', 'records/s', 'ingest CPU µs per record', 'ingest process busy'], rows);
}

if (require.main === module) {
  (async () => {
    const bridge = await benchBridgeOnly();
    process.stderr.write('ingest over HTTP, same machine…\n');
    const ingest = await benchIngest();
    const rendered = bridgeTable(bridge, ingest);
    process.stdout.write(`\nrequest bridge beside ingest's HTTP routes, ${machine().cores} cores shared with Kafka, the registry and Redis\n\n${rendered}\n`);
    const file = saveResult('bridge', { at: new Date().toISOString(), machine: machine(), bridge, ingest, table: rendered });
    process.stdout.write(`\nraw figures: ${file}\n`);
  })().catch((error: unknown) => {
    process.stderr.write(`bench-bridge failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
