/**
 * make bench-sequences: back-to-back person operations through the HTTP API, each sequence
 * checked against the reference model (issue 13). A backend that signs a user up and at once
 * deletes, merges or aliases the account sends exactly these; the merger must answer them as if
 * every record were applied one by one in (received_at, id) order.
 *
 *   delete    PUT P {anonymous_id: A}, DELETE P; later an event of A, PUT R {anonymous_id: A}
 *   merge     PUT P {anonymous_id: A}, merge_customers(Q ← P); later an event of A
 *   alias     Segment identify P with A, alias(Q ← P); later an event of A
 *   reverse   merge_customers(Q ← P), then PUT P {anonymous_id: A}; later an event of A
 *
 * Real ingest and merger processes on topics of their own; the records are read back from the
 * inbound topic (with the received_at ingest stamped), the model applied to them, and each
 * sequence's outputs compared with the model's. make bench-sequences prints the figures
 * (bench/sequences.ts); a test asserts them for the two-plane mode.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SchemaCatalog } from '../services/shared/avro/catalog';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { ensureTopics } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import { fromWire, type InboundRecordWire } from '../services/shared/model/inbound';
import { recordContentKey } from '../services/shared/model/recordOrder';
import { projectRoot } from '../services/shared/projectRoot';
import { ReferenceModel } from '../services/merger/reference/referenceModel';
import { benchTopics, spawnService, topicEnv } from './support';
import { readAll, waitForMerger } from './readTopics';
import { prefixedTopics } from '../services/shared/config/topicSets';
import { createRedis } from '../services/shared/redis/client';
import { deleteByPrefix } from '../services/shared/redis/deleteByPrefix';

const config = loadConfig(['kafka', 'registry', 'topics']);
const logger = createLogger('bench', 'warn');
export const KINDS = ['delete', 'merge', 'alias', 'reverse'] as const;
export type Kind = (typeof KINDS)[number];

const auth = `Basic ${Buffer.from('demo-site:demo-key-not-secret').toString('base64')}`;
const writeKey = `Basic ${Buffer.from('demo-write-key-not-secret:').toString('base64')}`;

async function callAt(port: number, method: string, route: string, body?: unknown, authorization = auth): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, { method, headers: { authorization, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${await response.text()}`);
}

/** Each sequence's ids carry its tag, so its outputs can be told from the others'. */
const ids = (kind: Kind, i: number, run: string) => {
  const tag = `${kind}${i}x${run}`;
  return { tag, p: `p-${tag}`, q: `q-${tag}`, r: `r-${tag}`, a: `a-${tag}` };
};

/** The back-to-back part of a sequence. */
async function first(kind: Kind, s: ReturnType<typeof ids>, port: number): Promise<void> {
  const call = (method: string, route: string, body?: unknown, authorization?: string) => callAt(port, method, route, body, authorization);
  switch (kind) {
    case 'delete':
      await call('PUT', `/api/v1/customers/${s.p}`, { anonymous_id: s.a });
      await call('DELETE', `/api/v1/customers/${s.p}`);
      return;
    case 'merge':
      await call('PUT', `/api/v1/customers/${s.p}`, { anonymous_id: s.a });
      await call('POST', '/api/v1/merge_customers', { primary: { id: s.q }, secondary: { id: s.p } });
      return;
    case 'alias':
      await call('POST', '/v1/identify', { userId: s.p, anonymousId: s.a }, writeKey);
      await call('POST', '/v1/alias', { userId: s.q, previousId: s.p }, writeKey);
      return;
    case 'reverse':
      await call('POST', '/api/v1/merge_customers', { primary: { id: s.q }, secondary: { id: s.p } });
      await call('PUT', `/api/v1/customers/${s.p}`, { anonymous_id: s.a });
      return;
  }
}

/** What follows a few seconds later. */
async function then(kind: Kind, s: ReturnType<typeof ids>, port: number): Promise<void> {
  const call = (method: string, route: string, body?: unknown, authorization?: string) => callAt(port, method, route, body, authorization);
  await call('POST', '/api/v1/events', { name: 'viewed-pricing', anonymous_id: s.a });
  if (kind === 'delete') await call('PUT', `/api/v1/customers/${s.r}`, { anonymous_id: s.a });
}

export interface SequenceOptions {
  readonly sequences: number;
  /** Ingest and merger in the two-plane mode (docs/design-person-operations.md). */
  readonly twoPlanes: boolean;
  readonly ingestPort: number;
  readonly mergerPort: number;
  readonly progress?: (text: string) => void;
  /**
   * The control plane's reorder bound (ANONMERGE_MERGER_REORDER_MS; default: the merger's). A
   * person operation that ingest appends later than this after stamping it is applied after the
   * frontier, not at its place: a test on a loaded machine gives it room.
   */
  readonly reorderMs?: number;
  /** Names of the run's topics, groups and Redis keys start with it (a test passes its own). */
  readonly namePrefix?: string;
}

export interface SequenceFigures {
  readonly sequences: number;
  readonly twoPlanes: boolean;
  readonly figures: Record<Kind, { agree: number; agreeExceptIds: number; example: string | null }>;
}

/** Runs `sequences` of each kind on real ingest and merger processes; each compared with the model. */
export async function runSequences(options: SequenceOptions): Promise<SequenceFigures> {
  const { sequences: SEQUENCES, twoPlanes: TWO_PLANES, ingestPort: INGEST_PORT, mergerPort: MERGER_PORT } = options;
  const progress = options.progress ?? (() => undefined);
  const run = Date.now().toString(36);
  const prefix = options.namePrefix ?? `bench-sequences-${run}`;
  const topics = options.namePrefix ? prefixedTopics(prefix, 6) : benchTopics('sequences', 6);
  const kafka = createKafka(config.kafka, logger, 'bench-sequences');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  await admin.disconnect();
  const catalog = await SchemaCatalog.open(config.registry, topics, logger);

  // The demo workspace with a window longer than the run: no grace timer fires during it.
  // Its keys are the demo's, which ingest accepts only in a demo (ANONMERGE_DEMO=1).
  const registry = JSON.parse(readFileSync(path.join(projectRoot(), 'config/workspaces.json'), 'utf8')) as { workspaces: Array<{ settings?: Record<string, unknown> } & Record<string, unknown>> };
  const workspacesFile = path.join(mkdtempSync(path.join(tmpdir(), 'anonmerge-sequences-')), 'workspaces.json');
  writeFileSync(workspacesFile, JSON.stringify({ workspaces: registry.workspaces.map((w) => ({ ...w, settings: { ...w.settings, grace_seconds: 600 }, rate_limit: { records_per_second: 100_000 } })) }));
  const groupId = `${prefix}-merger`;
  const logDir = path.join(projectRoot(), '.local/logs');
  const env = { ...topicEnv(topics), ANONMERGE_LOG_LEVEL: 'warn', ...(TWO_PLANES ? { ANONMERGE_INGEST_PERSON_OPS: 'true', ANONMERGE_MERGER_CONTROL_PLANE: 'true' } : {}), ...(options.reorderMs ? { ANONMERGE_MERGER_REORDER_MS: String(options.reorderMs) } : {}) };
  const ingest = await spawnService('ingest', { ...env, ANONMERGE_WORKSPACES_FILE: workspacesFile, ANONMERGE_DEMO: '1', ANONMERGE_INGEST_PORT: String(INGEST_PORT), ANONMERGE_INGEST_METRICS_PORT: '0' }, `http://127.0.0.1:${INGEST_PORT}/readyz`, path.join(logDir, 'bench-sequences-ingest.log'));
  const merger = await spawnService('merger', { ...env, ANONMERGE_MERGER_GROUP_ID: groupId, ANONMERGE_MERGER_REDIS_PREFIX: prefix, ANONMERGE_MERGER_PORT: String(MERGER_PORT) }, `http://127.0.0.1:${MERGER_PORT}/readyz`, path.join(logDir, 'bench-sequences-merger.log'));
  try {
    for (const kind of KINDS) {
      for (let i = 0; i < SEQUENCES; i += 1) {
        await first(kind, ids(kind, i, run), INGEST_PORT);
        progress(`${kind}: ${i + 1}/${SEQUENCES} sent`);
      }
    }
    // "A few seconds later."
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const kind of KINDS) for (let i = 0; i < SEQUENCES; i += 1) await then(kind, ids(kind, i, run), INGEST_PORT);
    progress('waiting for the merger to catch up');
    await waitForMerger(kafka, topics, groupId, TWO_PLANES);

    // What ingest accepted: events in inbound, person operations in person-ops (two planes), not
    // the control plane's own records.
    const inbound = (await readAll(kafka, catalog, topics, ['inbound', 'personOps'])).map((r) => fromWire(r.value as InboundRecordWire)).filter((r) => r.command.kind !== 'tick' && r.command.kind !== 'binding' && r.command.kind !== 'clock');
    const actual = await readAll(kafka, catalog, topics, ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents']);
    const expected = ReferenceModel.run(inbound, Math.max(...inbound.map((r) => r.received_at)));
    const canonical = (o: { stream: string; key: string; value: unknown }) => `${o.stream} ${o.key} ${o.value === null ? 'null' : recordContentKey(o.value as never)}`;

    // Today's merger names some activities by log position where the model names them by record
    // id (docs/correctness.md): compared with and without activity ids, so the figure says
    // where the events went whatever the ids.
    const withoutActivityId = (o: { stream: string; key: string; value: unknown }) => canonical({ ...o, value: o.value && typeof o.value === 'object' ? { ...(o.value as object), activity_id: '' } : o.value });
    const figures = {} as SequenceFigures['figures'];
    for (const kind of KINDS) {
      let agree = 0;
      let agreeExceptIds = 0;
      let example: string | null = null;
      for (let i = 0; i < SEQUENCES; i += 1) {
        const { tag } = ids(kind, i, run);
        const mine = (list: Array<{ stream: string; key: string; value: unknown }>, as: typeof canonical) => list.map(as).filter((text) => text.includes(tag)).sort();
        if (JSON.stringify(mine(expected, canonical)) === JSON.stringify(mine(actual, canonical))) agree += 1;
        const want = mine(expected, withoutActivityId);
        const got = mine(actual, withoutActivityId);
        if (JSON.stringify(want) === JSON.stringify(got)) agreeExceptIds += 1;
        else example ??= `${tag}: model ${want.length} outputs, merger ${got.length}; only in model: ${want.filter((w) => !got.includes(w)).map((w) => w.slice(0, 200)).join(' | ') || '-'}; only from merger: ${got.filter((g) => !want.includes(g)).map((g) => g.slice(0, 200)).join(' | ') || '-'}`;
      }
      figures[kind] = { agree, agreeExceptIds, example };
    }
    return { sequences: SEQUENCES, twoPlanes: TWO_PLANES, figures };
  } finally {
    await merger.stop();
    await ingest.stop();
    // What the run created goes with it.
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteTopics({ topics: [...new Set(Object.values(topics).filter((v): v is string => typeof v === 'string'))] }).catch(() => undefined);
    const groups = (await cleanup.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix) || g.startsWith(topics.inbound));
    if (groups.length > 0) await cleanup.deleteGroups(groups).catch(() => undefined);
    await cleanup.disconnect();
    const redis = createRedis(loadConfig(['redis']).redis, logger, 'bench-sequences');
    await redis.connect().catch(() => undefined);
    await deleteByPrefix(redis, prefix).catch(() => undefined);
    await redis.quit();
  }
}

