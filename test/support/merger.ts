/**
 * The merger against the real stack for tests: in-process (or as a child process, for crash
 * tests), with its own topics, consumer group and Redis key prefix; a writer of inbound records
 * with chosen received_at values; and a reader of everything the merger emits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import Redis from 'ioredis';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { StreamName } from '../../services/shared/avro/schemaFiles';
import { loadConfig, type TopicConfig } from '../../services/shared/config';
import { isPersonOperation, toWire, type InboundRecord, type WorkspaceSettings } from '../../services/shared/model/inbound';
import { inboundKey } from '../../services/shared/model/keys';
import type { Activity, AnonymousEvent, CampaignTrigger, DeadLetter, MergedEvent } from '../../services/shared/model/outbound';
import { startMerger, type RunningMerger } from '../../services/merger/service';
import { topicEnv } from '../../services/shared/config/topicSets';
import { deleteByPrefix } from '../../services/shared/redis/deleteByPrefix';
import { config, testLogger, uniqueName } from './stack';
import pino from 'pino';
import { createLogger } from '../../services/shared/logger';
import { resultsPath } from './results';

export const DEFAULT_SETTINGS: WorkspaceSettings = { merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 };

export interface MergerTestOptions {
  /**
   * Which merger: the two-plane one (docs/design-person-operations.md) or the legacy one kept for a
   * rollback; unset, the configuration's default.
   */
  readonly mode?: 'two-planes' | 'legacy';
  readonly tickIntervalMs?: number;
  readonly timerLatenessMs?: number;
  readonly sessionTimeoutMs?: number;
  /** ANONMERGE_MERGER_REORDER_MS; the configuration's default (100 ms) unset. */
  readonly reorderMs?: number;
  /** ANONMERGE_MERGER_PENDING_POINTERS; the configuration's default (copies) unset. */
  readonly pendingPointers?: boolean;
  /** ANONMERGE_MERGER_PENDING_READ_AHEAD_BYTES (0: no reading ahead); the configuration's default unset. */
  readonly pendingReadAheadBytes?: number;
}

export function mergerConfig(topics: TopicConfig, groupId: string, redisPrefix: string, options: MergerTestOptions = {}) {
  const base = loadConfig(['kafka', 'registry', 'redis', 'merger']);
  return {
    kafka: { ...base.kafka, brokers: config.kafka.brokers },
    registry: base.registry,
    redis: base.redis,
    topics,
    merger: {
      ...base.merger,
      groupId,
      redisKeyPrefix: redisPrefix,
      port: 0,
      tickIntervalMs: options.tickIntervalMs ?? 500,
      timerLatenessMs: options.timerLatenessMs ?? 1000,
      sessionTimeoutMs: options.sessionTimeoutMs ?? base.merger.sessionTimeoutMs,
      reorderMs: options.reorderMs ?? base.merger.reorderMs,
      controlPlane: options.mode === undefined ? base.merger.controlPlane : options.mode === 'two-planes',
      pendingPointers: options.pendingPointers ?? base.merger.pendingPointers,
      pendingReadAheadBytes: options.pendingReadAheadBytes ?? base.merger.pendingReadAheadBytes,
    },
  };
}

export async function startTestMerger(topics: TopicConfig, options: MergerTestOptions = {}): Promise<RunningMerger & { groupId: string; prefix: string }> {
  const groupId = uniqueName('test-merger');
  const prefix = uniqueName('t');
  // Its log goes to a file of its own (test-results/), so that a stalled test can be read after.
  const logger = createLogger('merger', process.env.TEST_CHILD_LOG_LEVEL ?? 'info', pino.destination({ dest: resultsPath(`merger-${groupId}.log`), sync: false }));
  const merger = await startMerger(mergerConfig(topics, groupId, prefix, options), logger, { listen: false });
  return Object.assign(merger, { groupId, prefix });
}

/** Environment for a child merger process with the same isolation. */
export function mergerEnv(topics: TopicConfig, groupId: string, prefix: string, options: MergerTestOptions & { port?: number } = {}): Record<string, string> {
  return {
    ...topicEnv(topics),
    ANONMERGE_MERGER_GROUP_ID: groupId,
    ANONMERGE_MERGER_REDIS_PREFIX: prefix,
    ANONMERGE_MERGER_PORT: String(options.port ?? 0),
    ANONMERGE_MERGER_TICK_INTERVAL_MS: String(options.tickIntervalMs ?? 500),
    ANONMERGE_MERGER_TIMER_LATENESS_MS: String(options.timerLatenessMs ?? 1000),
    ANONMERGE_MERGER_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 10000),
    ...(options.mode === undefined ? {} : { ANONMERGE_MERGER_CONTROL_PLANE: String(options.mode === 'two-planes') }),
    ...(options.pendingPointers === undefined ? {} : { ANONMERGE_MERGER_PENDING_POINTERS: String(options.pendingPointers) }),
    ...(options.pendingReadAheadBytes === undefined ? {} : { ANONMERGE_MERGER_PENDING_READ_AHEAD_BYTES: String(options.pendingReadAheadBytes) }),
    ANONMERGE_LOG_LEVEL: process.env.TEST_CHILD_LOG_LEVEL ?? 'warn',
  };
}

/** A child process's log so far ('' before it wrote one). */
export function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Waits until the merger logging to `logFile` answers /readyz on the port it took (port 0: read
 * from its "merger consuming" line); fails with the log's end after a minute.
 */
export async function waitForMergerReady(logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const port = /"url":"http:\/\/[^"]*:(\d+)"/.exec(readLog(logFile))?.[1];
    if (port && (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the merger did not become ready; its log ends with ${readLog(logFile).slice(-2000)}`);
}

/**
 * Transactions the merger logging to `logFile` has committed on its inbound partitions so far
 * (anonmerge_merger_transactions_total{consumer="main"} of its /metrics); 0 before it serves them.
 */
export async function mergerMainTransactions(logFile: string): Promise<number> {
  const port = /"url":"http:\/\/[^"]*:(\d+)"/.exec(readLog(logFile))?.[1];
  if (!port) return 0;
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
    .then((r) => r.text())
    .catch(() => '');
  // Its labels also carry the default ones (service="merger"), in prom-client's order.
  return Number(/^anonmerge_merger_transactions_total\{[^}]*consumer="main"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

export function spawnMerger(env: Record<string, string>, logFile: string): ChildProcess {
  const root = path.resolve(__dirname, '../..');
  const out = openSync(logFile, 'a');
  return spawn('node', [path.join(root, 'dist/services/merger/main.js')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
}

let counter = 0;

/**
 * Writes inbound records as ingest would (same topic, key and encoding), with any received_at:
 * person operations to person-ops keyed by workspace when ingest does so by default (the
 * two-plane merger), else everything to inbound.
 */
export class InboundWriter {
  private producer: Producer | null = null;
  private catalog: SchemaCatalog | null = null;
  private readonly personOps: boolean;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicConfig,
    options: { readonly personOps?: boolean } = {},
  ) {
    this.personOps = options.personOps ?? loadConfig(['ingest']).ingest.personOps;
  }

  async open(): Promise<this> {
    this.catalog = await SchemaCatalog.open(config.registry, this.topics, testLogger, ['inbound', 'personOps']);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    return this;
  }

  async write(records: InboundRecord[]): Promise<void> {
    if (!this.producer || !this.catalog) throw new Error('writer not open');
    const catalog = this.catalog;
    const operations = this.personOps ? records.filter(isPersonOperation) : [];
    const rest = this.personOps ? records.filter((r) => !isPersonOperation(r)) : records;
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: this.topics.personOps, messages: operations.map((r) => ({ key: r.workspace_id, value: catalog.encode('personOps', toWire(r)) })) },
        { topic: this.topics.inbound, messages: rest.map((r) => ({ key: inboundKey(r), value: catalog.encode('inbound', toWire(r)) })) },
      ].filter((t) => t.messages.length > 0),
    });
  }

  /** Raw bytes straight to the inbound topic (poison records). */
  async writeRaw(messages: Array<{ key: string; value: Buffer | null; partition?: number }>): Promise<void> {
    await this.producer?.send({ topic: this.topics.inbound, acks: -1, messages });
  }

  encodeRaw(value: unknown): Buffer {
    return (this.catalog as SchemaCatalog).encode('inbound', value);
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}

export const anonymousEvent = (workspace: string, anonymousId: string, receivedAt: number, id = `ev-${(counter += 1)}`, extra: { timestamp?: number; settings?: WorkspaceSettings; name?: string } = {}): InboundRecord => ({
  workspace_id: workspace,
  id,
  received_at: receivedAt,
  settings: extra.settings ?? DEFAULT_SETTINGS,
  command: { kind: 'track', body: { person: null, anonymous_id: anonymousId, name: extra.name ?? `page-${id}`, type: 'page', timestamp: extra.timestamp ?? Math.floor(receivedAt / 1000), data_json: '{}' } },
});

export const personEvent = (workspace: string, person: string, receivedAt: number, id = `pe-${(counter += 1)}`, extra: { timestamp?: number } = {}): InboundRecord => ({
  workspace_id: workspace,
  id,
  received_at: receivedAt,
  settings: DEFAULT_SETTINGS,
  command: { kind: 'track', body: { person: { id_type: 'ID', value: person }, anonymous_id: null, name: `event-${id}`, type: 'event', timestamp: extra.timestamp ?? Math.floor(receivedAt / 1000), data_json: '{}' } },
});

export const identify = (workspace: string, person: string, anonymousId: string | null, receivedAt: number, settings: WorkspaceSettings = DEFAULT_SETTINGS): InboundRecord => ({
  workspace_id: workspace,
  id: `id-${(counter += 1)}`,
  received_at: receivedAt,
  settings,
  command: { kind: 'identify', body: { person: { id_type: 'ID', value: person }, anonymous_id: anonymousId, attributes_json: '{}' } },
});

export interface Collected {
  mergedEvents: MergedEvent[];
  tombstones: string[];
  campaignTriggers: CampaignTrigger[];
  activity: Activity[];
  anonymousEvents: AnonymousEvent[];
  deadLetters: DeadLetter[];
}

/** Reads every outbound topic (read_committed, from the beginning) and keeps what it decodes. */
export class OutputReader {
  readonly got: Collected = { mergedEvents: [], tombstones: [], campaignTriggers: [], activity: [], anonymousEvents: [], deadLetters: [] };
  private consumer: Consumer | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicConfig,
  ) {}

  async open(): Promise<this> {
    const catalog = await SchemaCatalog.open(config.registry, this.topics, testLogger);
    const streams: StreamName[] = ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents', 'deadLetters'];
    const streamOf = new Map(streams.map((s) => [this.topics[s], s]));
    this.consumer = this.kafka.consumer({ groupId: uniqueName('test-output'), readUncommitted: false, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...streamOf.keys()], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        const stream = streamOf.get(topic) as StreamName;
        if (message.value === null) {
          this.got.tombstones.push(message.key?.toString() ?? '');
          return;
        }
        (this.got[stream as keyof Collected] as unknown[]).push(await catalog.decode(stream, message.value));
      },
    });
    return this;
  }

  /** Waits until the predicate holds (polling), or fails with what was collected. */
  async until(predicate: (got: Collected) => boolean, timeoutMs = 30000, what = 'the expected outputs'): Promise<Collected> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.got)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; collected ${JSON.stringify(summary(this.got))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.got;
  }

  /** What one workspace got. */
  of(workspace: string): Collected {
    const mine = <T extends { workspace_id: string }>(list: T[]) => list.filter((x) => x.workspace_id === workspace);
    return {
      mergedEvents: mine(this.got.mergedEvents),
      tombstones: this.got.tombstones.filter((k) => k.startsWith(`${workspace}/`)),
      campaignTriggers: mine(this.got.campaignTriggers),
      activity: mine(this.got.activity),
      anonymousEvents: mine(this.got.anonymousEvents),
      deadLetters: this.got.deadLetters,
    };
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

function summary(got: Collected) {
  return Object.fromEntries(Object.entries(got).map(([k, v]) => [k, (v as unknown[]).length]));
}

/** Deletes every Redis key under a prefix (test clean-up). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(config.redis.url);
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
}
