/**
 * make bench-merger: the merger beside the limit of its own parts, in one run.
 *
 *   throughput  a pre-loaded realistic mix drained by 1 and by 2 merger processes, beside a raw
 *               kafkajs pass-through (same consumer settings, same transaction per batch)
 *   latency     identifies of anonymous ids with backlogs of 10 … 3000 pending events: from the
 *               identify written to its last merged event readable (read_committed), p50/p99
 *   state cost  Redis bytes per pending event beside its Avro size (bench/stateCost.ts)
 *
 * BENCH_RECORDS (default 1,000,000) sizes the throughput run; BENCH_PROFILE=1 writes CPU
 * profiles of the merger under .local/profiles.
 */
import { fetchCommittedOffsets } from '../services/shared/kafka/committedOffsets';
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { SchemaCatalog } from '../services/shared/avro/catalog';
import { loadConfig, type TopicConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { ensureTopics, topicDefinitions, waitForLeaders } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import { isPersonOperation, toWire, type InboundRecord } from '../services/shared/model/inbound';
import { inboundKey } from '../services/shared/model/keys';
import { projectRoot } from '../services/shared/projectRoot';
import { deleteByPrefix } from '../services/shared/redis/deleteByPrefix';
import { createRedis, type AnyRedis } from '../services/shared/redis/client';
import { startMerger } from '../services/merger/service';
import { cpuOf, cpuSnapshot, cpuSpent, pidsMatching, type CpuParts } from './cpuUsage';
import { lineChartSvg } from './svgPlot';
import { recordThroughputRun } from './history';
import { benchTopics, percentile, round, saveResult, spawnScript, spawnService, table, topicEnv, type SpawnedService } from './support';
import { BENCH_SETTINGS, websiteTraffic, type MixCounts } from './workload';
import { evictTopicFromPageCache, type Eviction } from './pageCache';

const config = loadConfig(['kafka', 'registry', 'redis', 'merger', 'topics']);
const logger = createLogger('bench', 'warn');
const LOG_DIR = path.join(projectRoot(), '.local/logs');

function progress(text: string): void {
  process.stderr.write(`\r\u001b[2K${text}`);
}

/**
 * Writes the records as ingest would: person operations to person-ops keyed by workspace (the
 * two-plane merger, ANONMERGE_INGEST_PERSON_OPS), everything else to `topic`.
 */
export async function produceAll(
  kafka: Kafka,
  catalog: SchemaCatalog,
  topic: string,
  chunks: Iterable<InboundRecord[]>,
  label: string,
  expected: number,
  toPersonOps = loadConfig(['ingest']).ingest.personOps,
): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const personOps = toPersonOps ? catalog.topic('personOps') : null;
  let sent = 0;
  const started = Date.now();
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += 5000) {
      const slice = chunk.slice(i, i + 5000);
      const operations = personOps ? slice.filter(isPersonOperation) : [];
      const rest = personOps ? slice.filter((r) => !isPersonOperation(r)) : slice;
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic, messages: rest.map((r) => ({ key: inboundKey(r), value: catalog.encode('inbound', toWire(r)) })) },
          ...(personOps && operations.length > 0 ? [{ topic: personOps, messages: operations.map((r) => ({ key: r.workspace_id, value: catalog.encode('personOps', toWire(r)) })) }] : []),
        ],
      });
      sent += slice.length;
      progress(`${label}: ${sent.toLocaleString()}/${expected.toLocaleString()} records (${round(sent / ((Date.now() - started) / 1000))}/s)`);
    }
  }
  await producer.disconnect();
  process.stderr.write('\n');
  return sent;
}

async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
}

/** When the topic last grew, once it has not grown for `quietMs` (polled every 50 ms). */
async function lastWriteTo(admin: Admin, topic: string, quietMs: number): Promise<number> {
  const size = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  let last = await size();
  let changedAt = Date.now();
  while (Date.now() - changedAt < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await size();
    if (now !== last) {
      last = now;
      changedAt = Date.now();
    }
  }
  return changedAt;
}

/** Polls the group's committed offsets until every partition reached `ends`. */
/** The control plane's own backlog (two planes): its group reads person-ops; the data plane waits for its clock. */
interface ControlProgress {
  readonly groupId: string;
  readonly topic: string;
  readonly ends: Map<number, number>;
}

/** How far a group's committed offsets are into `ends`, and whether any partition is behind. */
async function committedProgress(admin: Admin, groupId: string, topic: string, ends: Map<number, number>): Promise<{ done: number; behind: boolean }> {
  const committed = await fetchCommittedOffsets(admin, groupId, topic).catch(() => new Map<number, number>());
  let done = 0;
  let behind = false;
  for (const [partition, end] of ends) {
    const at = Math.min(end, Math.max(0, committed.get(partition) ?? 0));
    done += at;
    if (at < end) behind = true;
  }
  return { done, behind };
}

async function drain(admin: Admin, groupId: string, topic: string, ends: Map<number, number>, total: number, label: string, control?: ControlProgress): Promise<{ seconds: number; firstProgressAt: number; doneAt: number; controlCaughtUpAt: number }> {
  const started = Date.now();
  let firstProgressAt = 0;
  let controlCaughtUpAt = 0;
  const controlTotal = control ? [...control.ends.values()].reduce((a, b) => a + b, 0) : 0;
  for (;;) {
    const { done, behind } = await committedProgress(admin, groupId, topic, ends);
    if (done > 0 && !firstProgressAt) firstProgressAt = Date.now();
    const elapsed = (Date.now() - started) / 1000;
    let controlText = '';
    if (control && !controlCaughtUpAt) {
      const controlled = await committedProgress(admin, control.groupId, control.topic, control.ends);
      if (!controlled.behind) controlCaughtUpAt = Date.now();
      controlText = `; person operations ${controlled.done.toLocaleString()}/${controlTotal.toLocaleString()}`;
    }
    progress(`${label}: ${done.toLocaleString()}/${total.toLocaleString()} records in ${elapsed.toFixed(1)} s (${round(done / Math.max(elapsed, 0.001))}/s)${controlText}`);
    if (process.env.BENCH_TIMELINE === '1') process.stderr.write('\n');
    if (!behind) {
      process.stderr.write('\n');
      return { seconds: (Date.now() - started) / 1000, firstProgressAt, doneAt: Date.now(), controlCaughtUpAt: controlCaughtUpAt || Date.now() };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One drain of the pre-loaded records. */
export interface DrainFigures {
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** CPU seconds of the run's own process(es), Redis, Kafka and the registry while it ran. */
  readonly cpu: CpuParts;
  /** All of that CPU per inbound record, in µs. */
  readonly cpuMicrosPerRecord: number;
  /** Records the run published per inbound record. */
  readonly outputsPerRecord: number;
  /** Kafka transactions the merger committed per 1,000 inbound records, both planes (the pass-through: one per batch, not counted). */
  readonly transactionsPer1k?: number;
  /** The same, per consumer of the merger. */
  readonly transactionsSplit?: string;
  /** Two planes: seconds until the control plane had committed every person operation (the data plane waits for its clock). */
  readonly controlCaughtUpSeconds?: number;
}

export interface ThroughputFigures {
  readonly records: number;
  readonly mix: MixCounts;
  readonly preloadSeconds: number;
  readonly raw: DrainFigures;
  /** The raw pass-through publishing as many records per input as the merger did, over four topics. */
  readonly rawAtMergerVolume: DrainFigures;
  readonly merger1: DrainFigures;
  readonly merger2: DrainFigures;
}

/** The stack's processes, for the CPU figures (Redis by its own report of its pid). */
export async function stackPids(redis: AnyRedis): Promise<Record<string, number[]>> {
  const info = await redis.info('server');
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
  return { redis: redisPid ? [redisPid] : [], kafka: pidsMatching('kafka.Kafka'), registry: pidsMatching('apicurio-registry') };
}

function drainFigures(total: number, seconds: number, cpu: CpuParts, outputs: number): DrainFigures {
  const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
  return { seconds: round(seconds, 2), recordsPerSecond: round(total / seconds), cpu, cpuMicrosPerRecord: round((cpuTotal / total) * 1e6, 1), outputsPerRecord: round(outputs / total, 3) };
}

export async function throughput(records: number): Promise<ThroughputFigures> {
  const topics = benchTopics('merger', 6);
  const kafka = createKafka(config.kafka, logger, 'bench-merger');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  const rawOutput = `${topics.inbound}-raw-out`;
  const rawOutputs = [rawOutput, ...[0, 1, 2, 3].map((i) => `${rawOutput}-${i}`)];
  await admin.createTopics({ topics: rawOutputs.map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })), waitForLeaders: false });
  await waitForLeaders(admin, rawOutputs, 30_000);
  const catalog = await SchemaCatalog.open(config.registry, topics, logger);
  const mix: MixCounts = { anonymous: 0, identifies: 0, identified: 0, late: 0 };
  const preloadStart = Date.now();
  const total = await produceAll(kafka, catalog, topics.inbound, websiteTraffic(records, 11, undefined, mix), 'pre-loading the inbound topic', records);
  const preloadSeconds = (Date.now() - preloadStart) / 1000;
  const ends = await endOffsets(admin, topics.inbound);
  const redis = createRedis(config.redis, logger, 'bench');
  const stack = await stackPids(redis);
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(projectRoot(), '.local/profiles')}`] : [];

  const runRaw = async (outputsPerRecord: number, label: string): Promise<DrainFigures> => {
    const group = `${topics.inbound}-raw-${Date.now()}`;
    const before = cpuSnapshot(stack);
    const started = Date.now();
    const child = await spawnScript('dist/bench/rawPassThrough.js', { ...topicEnv(topics), BENCH_TOPIC: topics.inbound, BENCH_OUTPUT_TOPIC: rawOutput, BENCH_GROUP: group, BENCH_OUTPUTS_PER_RECORD: String(outputsPerRecord) }, null, path.join(LOG_DIR, 'bench-raw.log'));
    await drain(admin, group, topics.inbound, ends, total, label);
    const seconds = (Date.now() - started) / 1000;
    const cpu = { 'pass-through': cpuOf([child.child.pid ?? 0]), ...cpuSpent(before, cpuSnapshot(stack)) };
    await child.stop();
    return drainFigures(total, seconds, cpu, outputsPerRecord * total);
  };
  const runMerger = (instances: number) => drainWithMergers({ admin, topics, ends, total, instances, redis, profile, stack });

  const raw = await runRaw(1, 'raw kafkajs pass-through');
  const merger1 = await runMerger(1);
  const rawAtMergerVolume = await runRaw(merger1.outputsPerRecord, `raw pass-through, ${merger1.outputsPerRecord} outputs per record`);
  const merger2 = await runMerger(2);
  redis.disconnect();
  await admin.deleteTopics({ topics: [...Object.values(topics).filter((t): t is string => typeof t === 'string'), ...rawOutputs] }).catch(() => undefined);
  await admin.disconnect();
  return { records: total, mix, preloadSeconds: round(preloadSeconds, 1), raw, rawAtMergerVolume, merger1, merger2 };
}

/**
 * How many of the machine's cores a run kept busy on average (all its processes: the run's own,
 * Redis, Kafka, the registry): on a machine shared with the broker and Redis, what bounds scaling
 * is this, so capacity is sized from CPU per record, not from one process's records/s.
 */
export function coresBusy(f: DrainFigures): number {
  return round((f.cpuMicrosPerRecord * f.recordsPerSecond) / 1e6, 2);
}

/** The throughput runs as a table: time, rate, outputs per record, and where the CPU went. */
export function throughputTable(tp: ThroughputFigures): string {
  const cores = os.cpus().length;
  const row = (run: string, f: DrainFigures) => [run, f.seconds, f.recordsPerSecond, f.outputsPerRecord, f.transactionsPer1k === undefined ? '–' : `${f.transactionsPer1k} (${f.transactionsSplit ?? ''})`, f.cpu['pass-through'] ?? f.cpu.merger ?? 0, f.cpu.redis ?? 0, f.cpu.kafka ?? 0, f.cpuMicrosPerRecord, `${coresBusy(f)} of ${cores}`];
  return table(
    ['run', 'seconds', 'records/s', 'outputs/record', 'transactions/1k records', 'CPU s: node', 'CPU s: Redis', 'CPU s: Kafka', 'CPU µs/record', 'cores busy'],
    [row('raw kafkajs pass-through', tp.raw), row(`raw pass-through, ${tp.rawAtMergerVolume.outputsPerRecord} outputs/record`, tp.rawAtMergerVolume), row('merger × 1', tp.merger1), row('merger × 2', tp.merger2)],
  );
}

export interface DrainRun {
  readonly admin: Admin;
  readonly topics: TopicConfig;
  readonly ends: Map<number, number>;
  readonly total: number;
  readonly instances: number;
  /** Where the merger keeps its state, for the clean-up afterwards (same settings as the merger). */
  readonly redis: AnyRedis;
  readonly profile?: string[];
  /** Settings of the merger processes beyond the topics, group and prefix (e.g. the Redis mode). */
  readonly env?: Record<string, string>;
  readonly label?: string;
  /** Processes of the stack whose CPU the run reports (see stackPids). */
  readonly stack?: Record<string, number[]>;
  /** The merger's mode (ANONMERGE_MERGER_CONTROL_PLANE); the bench's own setting when not given. */
  readonly controlPlane?: boolean;
}

/** Records the merger processes published and the transactions they committed, from their /metrics. */
async function publishedBy(ports: number[]): Promise<{ outputs: number; transactions: number; byConsumer: Map<string, number> }> {
  let outputs = 0;
  let transactions = 0;
  const byConsumer = new Map<string, number>();
  for (const port of ports) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    // The records of the merger's own person-order topic are a step on the way, not outputs.
    for (const match of text.matchAll(/^anonmerge_merger_outputs_total\{([^}]*)\} (\d+)/gm)) if (!(match[1] as string).includes('"personOrder"')) outputs += Number(match[2]);
    for (const match of text.matchAll(/^anonmerge_merger_transactions_total\{([^}]*)\} (\d+)/gm)) {
      const consumer = /consumer="([^"]*)"/.exec(match[1] as string)?.[1] ?? '?';
      transactions += Number(match[2]);
      byConsumer.set(consumer, (byConsumer.get(consumer) ?? 0) + Number(match[2]));
    }
  }
  return { outputs, transactions, byConsumer };
}

/** Drains the pre-loaded inbound topic with `instances` merger processes of a fresh group. */
export async function drainWithMergers(run: DrainRun): Promise<DrainFigures> {
  const group = `${run.topics.inbound}-merger${run.instances}-${Date.now()}`;
  const prefix = `bench-${run.instances}-${Date.now().toString(36)}`;
  // The commands topic belongs to one merger group (its control plane writes it, its data plane
  // reads it): each run has its own, as each has its own group and Redis prefix.
  const commands = `${run.topics.commands}-${run.instances}-${Date.now().toString(36)}`;
  // So does the person-order topic (its data planes write it, its order stage reads it).
  const personOrder = `${run.topics.personOrder}-${run.instances}-${Date.now().toString(36)}`;
  const env = { ...topicEnv(run.topics), ...run.env, ANONMERGE_TOPIC_COMMANDS: commands, ANONMERGE_TOPIC_PERSON_ORDER: personOrder, ANONMERGE_MERGER_GROUP_ID: group, ANONMERGE_MERGER_REDIS_PREFIX: prefix, ANONMERGE_LOG_LEVEL: 'warn' };
  const before = cpuSnapshot(run.stack ?? {});
  const started = Date.now();
  const children: SpawnedService[] = [];
  const ports = Array.from({ length: run.instances }, (_, i) => 3201 + i);
  const spawning = ports.map((port, i) =>
    spawnService('merger', { ...env, ANONMERGE_MERGER_PORT: String(port) }, `http://127.0.0.1:${port}/readyz`, path.join(LOG_DIR, `bench-merger-${i}.log`), run.profile ?? []).then((c) => children.push(c)),
  );
  const twoPlanes = run.controlPlane ?? loadConfig(['merger']).merger.controlPlane;
  const control = twoPlanes ? { groupId: `${group}.control`, topic: run.topics.personOps, ends: await endOffsets(run.admin, run.topics.personOps) } : undefined;
  let result = await drain(run.admin, group, run.topics.inbound, run.ends, run.total, run.label ?? `merger × ${run.instances}`, control);
  await Promise.all(spawning);
  if (twoPlanes) {
    // Two planes: the order stage writes the merged events after the data plane has committed;
    // done when merged-events has stopped growing, at its last write.
    result = { ...result, doneAt: await lastWriteTo(run.admin, run.topics.mergedEvents, 2000) };
  }
  const published = await publishedBy(ports).catch(() => ({ outputs: 0, transactions: 0, byConsumer: new Map<string, number>() }));
  const cpu = { merger: cpuOf(children.map((c) => c.child.pid ?? 0)), ...cpuSpent(before, cpuSnapshot(run.stack ?? {})) };
  await Promise.all(children.map((c) => c.stop()));
  process.stderr.write(`  cleaning up ${run.instances}-instance state in Redis…\n`);
  await deleteByPrefix(run.redis, prefix);
  await run.admin.deleteTopics({ topics: [commands, personOrder] }).catch(() => undefined);
  return { ...drainFigures(run.total, (result.doneAt - started) / 1000, cpu, published.outputs), transactionsPer1k: round((published.transactions / run.total) * 1000, 1), transactionsSplit: per1kSplit(published.byConsumer, run.total), ...(control ? { controlCaughtUpSeconds: round((result.controlCaughtUpAt - started) / 1000, 1) } : {}) };
}

/** Transactions per 1,000 records of each consumer (main: the data plane; control; order), as "a + b + c". */
function per1kSplit(byConsumer: ReadonlyMap<string, number>, total: number): string {
  return ['main', 'control', 'order']
    .filter((consumer) => byConsumer.has(consumer))
    .map((consumer) => `${consumer} ${round(((byConsumer.get(consumer) ?? 0) / total) * 1000, 1)}`)
    .join(' + ');
}

export interface ClusterFigures {
  readonly records: number;
  readonly masters: number;
  readonly runs: Array<{ run: string; seconds: number; recordsPerSecond: number }>;
}

/**
 * make bench-cluster: the same pre-loaded mix drained by one merger on the single Redis and on
 * the Redis Cluster (one script call per slot there, instead of one per batch), then by two on
 * the cluster.
 */
export async function clusterThroughput(records: number, clusterNodes: string[]): Promise<ClusterFigures> {
  const topics = benchTopics('cluster', 6);
  const kafka = createKafka(config.kafka, logger, 'bench-cluster');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  const catalog = await SchemaCatalog.open(config.registry, topics, logger);
  const total = await produceAll(kafka, catalog, topics.inbound, websiteTraffic(records, 11, undefined, { anonymous: 0, identifies: 0, identified: 0, late: 0 }), 'pre-loading the inbound topic', records);
  const ends = await endOffsets(admin, topics.inbound);
  const clusterSettings = { ...config.redis, mode: 'cluster' as const, clusterNodes };
  const single = createRedis({ ...config.redis, mode: 'single' }, logger, 'bench');
  const cluster = createRedis(clusterSettings, logger, 'bench');
  await cluster.ping();
  const clusterEnv = { ANONMERGE_REDIS_MODE: 'cluster', ANONMERGE_REDIS_CLUSTER_NODES: clusterNodes.join(',') };
  const masters = (cluster as import('ioredis').Cluster).nodes('master').length;
  const runs = [
    { run: 'merger × 1, single Redis', ...(await drainWithMergers({ admin, topics, ends, total, instances: 1, redis: single, env: { ANONMERGE_REDIS_MODE: 'single' }, label: 'merger × 1 (single Redis)' })) },
    { run: `merger × 1, Redis Cluster (${masters} masters)`, ...(await drainWithMergers({ admin, topics, ends, total, instances: 1, redis: cluster, env: clusterEnv, label: 'merger × 1 (cluster)' })) },
    { run: `merger × 2, Redis Cluster (${masters} masters)`, ...(await drainWithMergers({ admin, topics, ends, total, instances: 2, redis: cluster, env: clusterEnv, label: 'merger × 2 (cluster)' })) },
  ];
  single.disconnect();
  cluster.disconnect();
  await admin.deleteTopics({ topics: Object.values(topics).filter((t): t is string => typeof t === 'string') }).catch(() => undefined);
  await admin.disconnect();
  return { records: total, masters, runs };
}

/** Pending backlog sizes the latency run measures (a plot's x axis: log scale). */
export const BACKLOGS = [10, 30, 100, 300, 1000, 3000];

export interface LatencyFigures {
  readonly backlogs: Array<{ backlog: number; identifies: number; p50Ms: number; p99Ms: number; maxMs: number; readP50Ms: number; readP99Ms: number; readAheadShare?: number }>;
  /**
   * The first identifies after the merger started (BENCH_LATENCY_WARMUP per backlog size, ids of
   * their own, before the measured ones): written → merged readable, all sizes together. Absent
   * from runs before it was kept apart.
   */
  readonly warmUp?: { identifies: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** An event of an id just identified, inside its window: written → merged event readable. */
  readonly inWindow?: { events: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** How long before the identifies the backlogs were received, in days. */
  readonly ageDays?: number;
  /** The inbound segments dropped from the page cache before the identifies (old backlogs). */
  readonly eviction?: Eviction;
}

export interface LatencyOptions {
  /** Backlogs received this many days before the identifies (0: an hour before). */
  readonly ageDays?: number;
  /** Drop the inbound segments from the page cache once the backlogs are pending (bench/pageCache.ts). */
  readonly evict?: boolean;
  /** Identifies per backlog size sent first and reported apart (default BENCH_LATENCY_WARMUP, 5). */
  readonly warmUpEach?: number;
}


export async function latency(backlogs: number[], identifiesEach: number, options: LatencyOptions = {}): Promise<LatencyFigures> {
  const ageDays = options.ageDays ?? 0;
  const topics: TopicConfig = benchTopics(ageDays > 0 ? 'latency-old' : 'latency', 6);
  const kafka = createKafka(config.kafka, logger, 'bench-latency');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  // Small segments (the broker's least): the backlogs lie in many closed segments, as old data does.
  // (AlterConfigs replaces a topic's whole configuration: the retention it was created with is given again.)
  if (options.evict) {
    const created = topicDefinitions(topics).find((t) => t.topic === topics.inbound)?.configEntries ?? [];
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topics.inbound, configEntries: [...created, { name: 'segment.bytes', value: String(1024 * 1024) }] }] });
  }
  const catalog = await SchemaCatalog.open(config.registry, topics, logger);
  const prefix = `bench-latency-${Date.now().toString(36)}`;
  // The first merges after a start are slower than the rest: V8 has not compiled the merge path
  // yet and the preload's garbage is still on the heap (in runs of backlogs 10 and 1,000, the
  // first ~10 identifies took up to 370 ms at 1,000 pending, the rest at most 220–273 ms). A merger runs
  // for days, so the figures are of one that has merged before: warm-up ids, with backlogs like
  // the measured ones, go first, and are reported on a row of their own.
  const warmUpEach = options.warmUpEach ?? Number(process.env.BENCH_LATENCY_WARMUP ?? 5);
  if (!Number.isInteger(warmUpEach) || warmUpEach < 0) throw new Error(`BENCH_LATENCY_WARMUP must be a whole number of identifies per backlog size, not ${JSON.stringify(process.env.BENCH_LATENCY_WARMUP)}`);
  const warmUpIds: Array<{ anonymousId: string; backlog: number }> = [];
  for (const backlog of backlogs) for (let k = 0; k < warmUpEach; k += 1) warmUpIds.push({ anonymousId: `warm-${backlog}-${k}`, backlog });
  const ids: Array<{ anonymousId: string; backlog: number }> = [...warmUpIds];
  for (const backlog of backlogs) for (let k = 0; k < identifiesEach; k += 1) ids.push({ anonymousId: `lat-${backlog}-${k}`, backlog });
  // Interleaved as visitors' page views are: the e-th event of every id that has one, then the
  // next, so each id's events are spread over the log (pointers far apart), received in log order.
  const records: InboundRecord[] = [];
  const deepest = Math.max(...backlogs);
  const base = Date.now() - ageDays * 86_400_000 - 3_600_000;
  for (let e = 0; e < deepest; e += 1) {
    for (const { anonymousId, backlog } of ids) {
      if (e >= backlog) continue;
      const receivedAt = base + Math.floor(records.length / 10);
      records.push({ workspace_id: 'bench', id: `${anonymousId}-${e}`, received_at: receivedAt, settings: BENCH_SETTINGS, command: { kind: 'track', body: { person: null, anonymous_id: anonymousId, name: 'https://shop.example.com/pricing', type: 'page', timestamp: Math.floor(receivedAt / 1000), data_json: '{"path":"/pricing"}' } } });
    }
  }
  const total = await produceAll(kafka, catalog, topics.inbound, [records], 'pre-loading backlogs', records.length);
  const merger = await startMerger({ ...config, topics, merger: { ...config.merger, groupId: `${prefix}-group`, redisKeyPrefix: prefix, port: 0 } }, logger, { listen: false });
  while (merger.totals.pending < total) {
    progress(`backlogs pending in Redis: ${merger.totals.pending.toLocaleString()}/${total.toLocaleString()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  process.stderr.write('\n');
  // The preload, written to disk before the identifies (the old backlogs' eviction does it too):
  // a backlog received an hour before would have been. Without it the kernel writes the ~150 MB
  // back during the identifies (dirty pages expire after 30 s).
  if (!options.evict) execFileSync('sync');
  const eviction = options.evict ? evictTopicFromPageCache(path.join(projectRoot(), '.local/kafka/data'), topics.inbound) : undefined;
  if (eviction) process.stderr.write(`inbound segments dropped from the page cache: ${eviction.files} files, ${(eviction.bytes / 1e6).toFixed(1)} MB, resident ${(eviction.residentBefore / 1e6).toFixed(1)} → ${(eviction.residentAfter / 1e6).toFixed(1)} MB\n`);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // End to end, the same in both merger modes: from the identify written (its received_at) until
  // its last merged event can be read (read_committed) on the merged-events topic.
  const mergedOf = new Map<string, number>();
  const waiting = new Map<string, { want: number; resolve: (at: number) => void }>();
  const reader = kafka.consumer({ groupId: `${prefix}-reader`, readUncommitted: false, maxWaitTimeInMs: 20 });
  await reader.connect();
  await reader.subscribe({ topic: topics.mergedEvents, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const { anonymous_id: anonymousId } = await catalog.decode<{ anonymous_id: string | null }>('mergedEvents', message.value);
      if (!anonymousId) return;
      const count = (mergedOf.get(anonymousId) ?? 0) + 1;
      mergedOf.set(anonymousId, count);
      const waiter = waiting.get(anonymousId);
      if (waiter && count >= waiter.want) waiter.resolve(Date.now());
    },
  });
  const personOps = loadConfig(['ingest']).ingest.personOps;
  /** An event of the id, inside the window its identify opened, merged one by one (R2): written → merged readable. */
  const eventInWindow = async (anonymousId: string, backlog: number): Promise<number> => {
    const eventMerged = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no merge of ${anonymousId}'s event in its window within 30 s`)), 30000);
      waiting.set(anonymousId, { want: backlog + 1, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
    const eventAt = Date.now();
    const event: InboundRecord = { workspace_id: 'bench', id: `${anonymousId}-in-window`, received_at: eventAt, settings: BENCH_SETTINGS, command: { kind: 'track', body: { person: null, anonymous_id: anonymousId, name: 'https://shop.example.com/checkout', type: 'page', timestamp: Math.floor(eventAt / 1000), data_json: '{"path":"/checkout"}' } } };
    await producer.send({ topic: topics.inbound, acks: -1, messages: [{ key: inboundKey(event), value: catalog.encode('inbound', toWire(event)) }] });
    const ms = (await eventMerged) - eventAt;
    waiting.delete(anonymousId);
    return ms;
  };
  const samples = new Map<number, number[]>();
  // Of each, the time the merger spent reading the bind's pending events back from the inbound
  // log (its pendingReadMs total, moved by this identify alone: they are sent one at a time).
  const readSamples = new Map<number, number[]>();
  // Of the pending events merged, how many the bind's step found read ahead (pendingReadAhead.ts).
  const readAhead = new Map<number, { ahead: number; read: number }>();
  const inWindow: number[] = [];
  const warmUp: number[] = [];
  // Identify in random order (the warm-up ones first), one at a time, so each merge is measured on its own.
  const shuffled = <T>(list: T[]) => [...list].sort(() => Math.random() - 0.5);
  const order = [...shuffled(warmUpIds).map((id) => ({ ...id, warm: true })), ...shuffled(ids.slice(warmUpIds.length)).map((id) => ({ ...id, warm: false }))];
  let done = 0;
  for (const { anonymousId, backlog, warm } of order) {
    const merged = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no merge of ${anonymousId} within 30 s`)), 30000);
      waiting.set(anonymousId, { want: backlog, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
    const readBefore = merger.totals.pendingReadMs ?? 0;
    const aheadBefore = merger.totals.pendingReadAhead ?? 0;
    const eventsReadBefore = merger.totals.pendingRead ?? 0;
    const sentAt = Date.now();
    const identify: InboundRecord = { workspace_id: 'bench', id: `identify-${anonymousId}`, received_at: sentAt, settings: BENCH_SETTINGS, command: { kind: 'identify', body: { person: { id_type: 'ID', value: `person-${anonymousId}` }, anonymous_id: anonymousId, attributes_json: '{}' } } };
    // As ingest writes it: to person-ops, keyed by workspace, for the two-plane merger.
    const message = personOps ? { topic: topics.personOps, key: identify.workspace_id, value: catalog.encode('personOps', toWire(identify)) } : { topic: topics.inbound, key: inboundKey(identify), value: catalog.encode('inbound', toWire(identify)) };
    await producer.send({ topic: message.topic, acks: -1, messages: [{ key: message.key, value: message.value }] });
    const ms = (await merged) - sentAt;
    waiting.delete(anonymousId);
    if (warm) warmUp.push(ms);
    else {
      samples.set(backlog, [...(samples.get(backlog) ?? []), ms]);
      readSamples.set(backlog, [...(readSamples.get(backlog) ?? []), (merger.totals.pendingReadMs ?? 0) - readBefore]);
      const share = readAhead.get(backlog) ?? { ahead: 0, read: 0 };
      readAhead.set(backlog, { ahead: share.ahead + (merger.totals.pendingReadAhead ?? 0) - aheadBefore, read: share.read + (merger.totals.pendingRead ?? 0) - eventsReadBefore });
    }
    // A warm-up id's event goes through the window too (the merger warms up on both), uncounted.
    const eventMs = await eventInWindow(anonymousId, backlog);
    if (!warm) inWindow.push(eventMs);
    done += 1;
    progress(`merge latency: ${done}/${order.length} identifies (${warmUpIds.length} to warm up)`);
  }
  await reader.disconnect();
  process.stderr.write('\n');
  await producer.disconnect();
  await merger.close();
  const redis = createRedis(config.redis, logger, 'bench');
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
  await admin.deleteTopics({ topics: Object.values(topics).filter((t): t is string => typeof t === 'string') }).catch(() => undefined);
  await admin.disconnect();
  const inWindowSorted = [...inWindow].sort((a, b) => a - b);
  const warmUpSorted = [...warmUp].sort((a, b) => a - b);
  return {
    backlogs: backlogs.map((backlog) => {
      const sorted = [...(samples.get(backlog) ?? [])].sort((a, b) => a - b);
      const reads = [...(readSamples.get(backlog) ?? [])].sort((a, b) => a - b);
      const share = readAhead.get(backlog);
      return { backlog, identifies: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? 0, readP50Ms: Math.round(percentile(reads, 50)), readP99Ms: Math.round(percentile(reads, 99)), ...(share && share.read > 0 ? { readAheadShare: share.ahead / share.read } : {}) };
    }),
    ...(warmUpSorted.length > 0 ? { warmUp: { identifies: warmUpSorted.length, p50Ms: percentile(warmUpSorted, 50), p99Ms: percentile(warmUpSorted, 99), maxMs: warmUpSorted[warmUpSorted.length - 1] ?? 0 } } : {}),
    inWindow: { events: inWindowSorted.length, p50Ms: percentile(inWindowSorted, 50), p99Ms: percentile(inWindowSorted, 99), maxMs: inWindowSorted[inWindowSorted.length - 1] ?? 0 },
    ageDays,
    ...(eviction ? { eviction } : {}),
  };
}

export function latencyTable(lat: LatencyFigures): string {
  const age = lat.ageDays ? `, received ${lat.ageDays} days before${lat.eviction ? ', not in the page cache' : ''}` : '';
  const percent = (share: number | undefined) => (share === undefined ? '' : `${Math.round(share * 100)} %`);
  const rows: Array<Array<string | number>> = lat.backlogs.map((b) => [`identify, ${b.backlog} pending${age}`, b.identifies, b.p50Ms, b.p99Ms, b.maxMs, b.readP50Ms ?? '', b.readP99Ms ?? '', percent(b.readAheadShare)]);
  if (lat.warmUp) rows.push([`warm-up: the first identifies after the start, every size${age}`, lat.warmUp.identifies, lat.warmUp.p50Ms, lat.warmUp.p99Ms, lat.warmUp.maxMs, '', '', '']);
  if (lat.inWindow) rows.push(['event in the window, after it', lat.inWindow.events, lat.inWindow.p50Ms, lat.inWindow.p99Ms, lat.inWindow.maxMs, '', '', '']);
  return table(['written → merged readable', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'of which read back, p50 ms', 'p99 ms', 'read ahead'], rows);
}

/** Latency against backlog size, p50 and p99, as an SVG line chart. */
export function latencyPlot(lat: LatencyFigures): string {
  return lineChartSvg('Merge latency vs pending backlog', 'pending events merged by one identify (log scale)', 'ms, identify consumed → merged events committed', [
    { name: 'p50', color: '#2563eb', points: lat.backlogs.map((b) => [b.backlog, b.p50Ms] as const) },
    { name: 'p99', color: '#dc2626', points: lat.backlogs.map((b) => [b.backlog, b.p99Ms] as const) },
  ]);
}

export function writeDocFile(name: string, content: string): string {
  const dir = path.join(projectRoot(), 'docs');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** make bench-merger: the throughput runs alone (BENCH_RECORDS, default 1,000,000). */
if (require.main === module) {
  void (async () => {
    const records = Number(process.env.BENCH_RECORDS ?? 1_000_000);
    const figures = await throughput(records);
    const file = saveResult('merger-throughput', figures);
    const history = recordThroughputRun(figures, 'bench-merger');
    process.stdout.write(`\n${throughputTable(figures)}\n\nmerger / raw: ${round(figures.merger1.recordsPerSecond / figures.raw.recordsPerSecond, 2)}×; raw figures in ${file}\n\nhistory (${history.file}):\n${history.report}\n`);
  })().catch((error: unknown) => {
    process.stderr.write(`make bench-merger failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
