/**
 * make bench-tenants: does one workspace flooding at 10× its rate limit slow another down?
 * A real ingest process, two workspaces (flood: 100 records/s; calm: unlimited). The calm one
 * sends a request every 20 ms, first alone and then while the flood runs; we print both p99s
 * beside the bound docs/capacity.md states (p99 under 100 ms, within 50 ms of the calm p99).
 * Tests check the behaviour (429, Retry-After, the calm workspace never refused); the
 * latency figure lives here because tests never assert on wall-clock speed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { ensureTopics } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import { projectRoot } from '../services/shared/projectRoot';
import { benchTopics, machine, percentile, round, saveResult, spawnService, table, topicEnv } from './support';

const PHASE_S = Number(process.env.BENCH_TENANT_PHASE_S ?? 8);
const PORT = Number(process.env.BENCH_TENANT_PORT ?? 3101);
const FLOOD_LIMIT = 100;
const BOUND_MS = 100;
const MARGIN_MS = 50;
const auth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface TenantFigures {
  readonly phaseSeconds: number;
  readonly calmAloneP99Ms: number;
  readonly calmUnderFloodP99Ms: number;
  readonly calmRequests: number;
  readonly floodAnswers: Record<string, number>;
  readonly withinBound: boolean;
}

export async function benchNoisyNeighbour(): Promise<TenantFigures> {
  const config = loadConfig(['kafka']);
  const logger = createLogger('bench', 'warn');
  const topics = benchTopics('tenants', 2);
  const kafka = createKafka(config.kafka, logger, 'bench-admin');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'anonmerge-tenants-')), 'workspaces.json');
  writeFileSync(
    file,
    JSON.stringify({
      workspaces: [
        { id: 'flood', site_id: 'flood-site', api_key: 'flood-api-key-0123456789', rate_limit: { records_per_second: FLOOD_LIMIT } },
        { id: 'calm', site_id: 'calm-site', api_key: 'calm-api-key-0123456789' },
      ],
    }),
  );
  const ingest = await spawnService(
    'ingest',
    { ...topicEnv(topics), ANONMERGE_WORKSPACES_FILE: file, ANONMERGE_INGEST_PORT: String(PORT), ANONMERGE_INGEST_METRICS_PORT: '0', ANONMERGE_LOG_LEVEL: 'warn' },
    `http://127.0.0.1:${PORT}/readyz`,
    path.join(projectRoot(), '.local/logs/bench-tenants.log'),
  );
  const post = (site: string, key: string, i: number) =>
    fetch(`http://127.0.0.1:${PORT}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: auth(site, key), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'viewed', anonymous_id: `a-${i % 50}`, id: `${site}-${i}-${Math.random()}` }),
      signal: AbortSignal.timeout(10_000),
    });

  async function calmLatencies(label: string): Promise<number[]> {
    const latencies: number[] = [];
    const end = Date.now() + PHASE_S * 1000;
    let i = 0;
    while (Date.now() < end) {
      const started = performance.now();
      const response = await post('calm-site', 'calm-api-key-0123456789', (i += 1));
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`calm workspace got ${response.status}`);
      latencies.push(performance.now() - started);
      if (latencies.length % 50 === 0) process.stderr.write(`  ${label}: ${latencies.length} requests\r`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.stderr.write('\n');
    return latencies;
  }

  try {
    process.stderr.write(`calm workspace alone, ${PHASE_S} s\n`);
    await calmLatencies('warm-up');
    const alone = await calmLatencies('alone');
    process.stderr.write(`calm workspace beside a flood of ${10 * FLOOD_LIMIT} records/s (10× its limit), ${PHASE_S} s\n`);
    let flooding = true;
    const answers: Record<string, number> = {};
    const flood = Array.from({ length: 10 }, async (_, worker) => {
      let i = 0;
      const started = Date.now();
      while (flooding) {
        const response = await post('flood-site', 'flood-api-key-0123456789', worker * 1_000_000 + (i += 1));
        await response.arrayBuffer();
        answers[response.status] = (answers[response.status] ?? 0) + 1;
        // 10 workers × 100 requests/s each.
        const due = started + i * 10;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      }
    });
    const underFlood = await calmLatencies('under flood');
    flooding = false;
    await Promise.all(flood);
    const aloneP99 = round(percentile(alone, 99), 1);
    const floodP99 = round(percentile(underFlood, 99), 1);
    return {
      phaseSeconds: PHASE_S,
      calmAloneP99Ms: aloneP99,
      calmUnderFloodP99Ms: floodP99,
      calmRequests: alone.length + underFlood.length,
      floodAnswers: answers,
      withinBound: floodP99 < BOUND_MS && floodP99 < aloneP99 + MARGIN_MS,
    };
  } finally {
    await ingest.stop();
    await admin.deleteTopics({ topics: Object.values(topics).filter((t): t is string => typeof t === 'string' && t.startsWith('bench-')) }).catch(() => undefined);
    await admin.disconnect();
  }
}

export function tenantTable(figures: TenantFigures): string {
  return table(
    ['figure', 'value'],
    [
      ['calm workspace p99, alone', `${figures.calmAloneP99Ms} ms`],
      ['calm workspace p99, beside a 10× flood', `${figures.calmUnderFloodP99Ms} ms`],
      ['stated bound', `< ${BOUND_MS} ms and < alone + ${MARGIN_MS} ms: ${figures.withinBound ? 'met' : '**missed**'}`],
      ['flood answers', Object.entries(figures.floodAnswers).map(([status, n]) => `${status}: ${n}`).join(', ')],
    ],
  );
}

if (require.main === module) {
  benchNoisyNeighbour()
    .then((figures) => {
      const rendered = tenantTable(figures);
      process.stdout.write(`\nnoisy neighbour, ${PHASE_S} s per phase, ${machine().cores} cores shared with Kafka, the registry and Redis\n\n${rendered}\n`);
      process.stdout.write(`\nraw figures: ${saveResult('tenants', { at: new Date().toISOString(), machine: machine(), ...figures, table: rendered })}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`bench-tenants failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
