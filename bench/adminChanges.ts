/**
 * make bench-admin: how long a workspace change made through the admin API takes to be in force
 * on every ingest replica. An admin API process and two ingest processes following the workspaces
 * log (ANONMERGE_WORKSPACES_SOURCE=log) are started on topics of their own; then the merge switch
 * (R3) is flipped BENCH_ADMIN_CHANGES times (default 200), one change at a time, each a PATCH with
 * If-Match as an operator sends it. For each, the time from the request being sent until both
 * replicas' metrics (anonmerge_workspaces_version) report the new version, and from the admin
 * API's answer (it answers once it has read its write back from the log) until then.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../services/shared/projectRoot';
import { benchTopics, machine, percentile, round, saveResult, spawnScript, spawnService, table, topicEnv, type SpawnedService } from './support';

const CHANGES = Number(process.env.BENCH_ADMIN_CHANGES ?? 200);
const BASE_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 3110);
/** How often each replica's metrics are read while a change is awaited. */
const POLL_MS = 2;

export interface AdminChangeFigures {
  readonly changes: number;
  readonly replicas: number;
  /** Request sent → in force on every replica. */
  readonly sentToEffect: Percentiles;
  /** The admin API's answer → in force on every replica (0 when the replicas had it first). */
  readonly answeredToEffect: Percentiles;
  /** Request sent → the admin API's answer. */
  readonly sentToAnswer: Percentiles;
}

interface Percentiles {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function percentiles(values: readonly number[]): Percentiles {
  const at = (p: number) => round(percentile(values, p), 1);
  return { p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), maxMs: at(100) };
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** The version of `workspace` a replica's metrics say it runs, or null before it has one. */
async function versionOn(metricsUrl: string, workspace: string): Promise<number | null> {
  const text = await (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  const match = new RegExp(`anonmerge_workspaces_version\\{[^}]*workspace="${workspace}"[^}]*\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : null;
}

async function untilEvery(metricsUrls: readonly string[], workspace: string, version: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(metricsUrls);
  for (;;) {
    await Promise.all(
      [...pending].map(async (url) => {
        if ((await versionOn(url, workspace)) === version) pending.delete(url);
      }),
    );
    if (pending.size === 0) return now();
    if (Date.now() > deadline) throw new Error(`version ${version} of ${workspace} not in force on ${[...pending].join(', ')} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export async function benchAdminChanges(): Promise<AdminChangeFigures> {
  const topics = benchTopics('admin', 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'anonmerge-bench-admin-'));
  const token = randomBytes(24).toString('hex');
  const operatorsFile = path.join(dir, 'operators.json');
  writeFileSync(operatorsFile, JSON.stringify({ operators: [{ name: 'bench', token_sha256: createHash('sha256').update(token).digest('hex') }] }), { mode: 0o600 });
  const secretKey = randomBytes(32).toString('hex');
  const logDir = path.join(projectRoot(), '.local/logs');
  const env = { ...topicEnv(topics), ANONMERGE_LOG_LEVEL: 'warn', ANONMERGE_WORKSPACES_SECRET_KEY: secretKey };
  const adminUrl = `http://127.0.0.1:${BASE_PORT}`;
  const started: SpawnedService[] = [];
  try {
    started.push(
      await spawnScript(
        'dist/services/admin/main.js',
        { ...env, ANONMERGE_ADMIN_PORT: String(BASE_PORT), ANONMERGE_OPERATORS_FILE: operatorsFile, ANONMERGE_ADMIN_TRANSACTIONAL_ID: `${topics.workspaces}-admin` },
        `${adminUrl}/readyz`,
        path.join(logDir, 'bench-admin.log'),
      ),
    );
    const call = async (method: string, route: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${adminUrl}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
      return Number(JSON.parse(response.headers.get('etag') ?? '0'));
    };
    let version = await call('POST', '/v1/workspaces', { id: 'bench', site_id: 'bench-site' });

    const metricsUrls: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const port = BASE_PORT + 1 + 2 * i;
      started.push(
        await spawnService(
          'ingest',
          { ...env, ANONMERGE_WORKSPACES_SOURCE: 'log', ANONMERGE_INGEST_PORT: String(port), ANONMERGE_INGEST_METRICS_PORT: String(port + 1), ANONMERGE_INGEST_BRIDGE: 'false' },
          `http://127.0.0.1:${port}/readyz`,
          path.join(logDir, `bench-admin-ingest-${i}.log`),
        ),
      );
      metricsUrls.push(`http://127.0.0.1:${port + 1}`);
    }
    await untilEvery(metricsUrls, 'bench', version);

    process.stderr.write(`${CHANGES} merge switches through the admin API, each awaited on ${metricsUrls.length} ingest replicas\n`);
    const sentToEffect: number[] = [];
    const answeredToEffect: number[] = [];
    const sentToAnswer: number[] = [];
    for (let i = 0; i < CHANGES; i += 1) {
      const sent = now();
      const next = await call('PATCH', '/v1/workspaces/bench', { settings: { merge_enabled: i % 2 === 1 } }, { 'if-match': `"${version}"` });
      const answered = now();
      const inForce = await untilEvery(metricsUrls, 'bench', next);
      version = next;
      sentToEffect.push(inForce - sent);
      answeredToEffect.push(Math.max(0, inForce - answered));
      sentToAnswer.push(answered - sent);
      if ((i + 1) % 20 === 0) process.stderr.write(`  ${i + 1} of ${CHANGES} changes, last in force ${round(inForce - sent, 1)} ms after it was sent\r`);
    }
    process.stderr.write('\n');
    return { changes: CHANGES, replicas: metricsUrls.length, sentToEffect: percentiles(sentToEffect), answeredToEffect: percentiles(answeredToEffect), sentToAnswer: percentiles(sentToAnswer) };
  } finally {
    for (const service of started.reverse()) await service.stop();
  }
}

export function adminChangesTable(figures: AdminChangeFigures): string {
  const row = (what: string, p: Percentiles) => [what, p.p50Ms, p.p90Ms, p.p99Ms, p.maxMs];
  return table(
    [`${figures.changes} changes, ${figures.replicas} ingest replicas`, 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    [
      row('request sent → in force on every replica', figures.sentToEffect),
      row('request sent → admin API answered', figures.sentToAnswer),
      row('admin API answered → in force on every replica', figures.answeredToEffect),
    ],
  );
}

if (require.main === module) {
  (async () => {
    const figures = await benchAdminChanges();
    const rendered = adminChangesTable(figures);
    process.stdout.write(`\nworkspace changes through the admin API, to their effect on every ingest replica\n\n${rendered}\n`);
    const file = saveResult('admin', { at: new Date().toISOString(), machine: machine(), figures, table: rendered });
    process.stdout.write(`\nraw figures: ${file}\n`);
  })().catch((error: unknown) => {
    process.stderr.write(`bench-admin failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
