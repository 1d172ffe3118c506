/**
 * The two-plane merger in a child process, killed with SIGKILL at random moments while random
 * groups of person operations and events are appended on time (test/support/twoPlaneWorkload.ts),
 * and at the end every output compared with the reference model's for the same records
 * (issue 13). Used by the crash test on a single Redis and on a Redis Cluster.
 */
import type { ChildProcess } from 'node:child_process';
import type { Kafka, Producer } from 'kafkajs';
import { readAll, waitForMerger } from '../../bench/readTopics';
import { ReferenceModel } from '../../services/merger/reference/referenceModel';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { TopicConfig } from '../../services/shared/config';
import { ensureTopics } from '../../services/shared/kafka/topics';
import { canonicalJson } from '../../services/shared/model/recordOrder';
import type { InboundRecord } from '../../services/shared/model/inbound';
import { personRecordKey } from '../../services/shared/model/keys';
import { GRACE_S } from './personOpsWorkload';
import { mergerEnv, readLog, spawnMerger, waitForMergerReady } from './merger';
import { resultsPath } from './results';
import { config, testLogger, uniqueName, withAdmin } from './stack';
import { appendLikeIngest, twoPlaneWorkload } from './twoPlaneWorkload';
import { restorePrefix, snapshotPrefix, type RedisSnapshot } from './redisSnapshot';
import Redis from 'ioredis';

/** Ingest appends within this after stamping; the reorder bound is well above it. */
const JITTER_MS = 100;

type Output = { readonly stream: string; readonly key: string; readonly value: unknown };
const canonical = (o: Output) => `${o.stream} ${o.key} ${o.value === null ? 'null' : canonicalJson(o.value)}`;

/** What is in `a` more often than in `b`, each text with how many more. */
function excess(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const text of a) counts.set(text, (counts.get(text) ?? 0) + 1);
  for (const text of b) counts.set(text, (counts.get(text) ?? 0) - 1);
  return [...counts].filter(([, n]) => n > 0).map(([text, n]) => (n > 1 ? `${n}× ${text}` : text));
}

/**
 * R10 for a consumer keeping a table per person: a deletion's tombstone comes after every merged
 * event that became the person's (its associated_at) before the deletion. `read`: the
 * merged-events records in each partition's order (so each key's in its order). The n-th
 * tombstone of a key is the n-th deletion naming it, in received_at order. Also counted: events
 * that became the person's after a deletion written before its tombstone (a person identified
 * again at once).
 */
export function tombstoneOrder(records: readonly InboundRecord[], read: ReadonlyArray<{ stream: string; key: string; value: unknown }>): { tooEarly: string[]; newBefore: number } {
  const deletions = new Map<string, number[]>();
  for (const record of [...records].sort((a, b) => a.received_at - b.received_at)) {
    if (record.command.kind !== 'delete') continue;
    const key = personRecordKey(record.workspace_id, record.command.body.person);
    deletions.set(key, [...(deletions.get(key) ?? []), record.received_at]);
  }
  const merged = read.filter((output) => output.stream === 'mergedEvents');
  const tombstones = new Map<string, Array<{ index: number; deletedAt: number; n: number }>>();
  merged.forEach((output, index) => {
    if (output.value !== null) return;
    const list = tombstones.get(output.key) ?? [];
    const deletedAt = deletions.get(output.key)?.[list.length];
    if (deletedAt !== undefined) list.push({ index, deletedAt, n: list.length });
    tombstones.set(output.key, list);
  });
  const tooEarly: string[] = [];
  let newBefore = 0;
  merged.forEach((output, index) => {
    if (output.value === null) return;
    const associatedAt = (output.value as { associated_at: number }).associated_at;
    for (const tombstone of tombstones.get(output.key) ?? []) {
      if (index > tombstone.index && associatedAt < tombstone.deletedAt) tooEarly.push(`${output.key}: tombstone ${tombstone.n + 1} before an event that became the person's ${tombstone.deletedAt - associatedAt} ms before its deletion`);
      if (index < tombstone.index && associatedAt > tombstone.deletedAt) newBefore += 1;
    }
  });
  return { tooEarly, newBefore };
}

/** How many keys of merged-events carry their events and tombstones in another order than the model's. */
export function keysOutOfOrder(model: ReadonlyArray<{ stream: string; key: string; value: unknown }>, read: ReadonlyArray<{ stream: string; key: string; value: unknown }>): number {
  const sequences = (outputs: ReadonlyArray<{ stream: string; key: string; value: unknown }>) => {
    const byKey = new Map<string, string[]>();
    for (const o of outputs) {
      if (o.stream !== 'mergedEvents') continue;
      const list = byKey.get(o.key) ?? [];
      list.push(o.value === null ? 'tombstone' : (o.value as { event_id: string }).event_id);
      byKey.set(o.key, list);
    }
    return byKey;
  };
  const want = sequences(model);
  const got = sequences(read);
  let differ = 0;
  for (const [key, ids] of want) if ((got.get(key) ?? []).join('\n') !== ids.join('\n')) differ += 1;
  return differ;
}

export interface CrashRun {
  readonly kafka: Kafka;
  readonly topics: TopicConfig;
  readonly groupId: string;
  readonly prefix: string;
  readonly kills: number;
  readonly groups: number;
  readonly seed: number;
  /** More settings for the merger (a Redis Cluster's, say). */
  readonly env?: Record<string, string>;
  /**
   * Redis loses writes at each kill: its keys are copied a few seconds before, while the merger
   * goes on committing, and put back before the restart (test/support/redisSnapshot.ts).
   */
  readonly redisRollbacks?: boolean;
  readonly label: string;
}

export interface CrashReport {
  readonly seed: number;
  readonly records: number;
  readonly personOperations: number;
  readonly expectedOutputs: number;
  readonly outputs: number;
  readonly lost: string[];
  readonly extra: string[];
  readonly kills: number;
  readonly claims: number;
  readonly late: number;
  readonly missingOutbox: number;
  /** Tombstones followed, under their key, by a merged event that became the person's before their deletion (R10). */
  readonly tombstonesTooEarly: string[];
  /** Merged events that became the person's after a deletion, written before its tombstone. */
  readonly newEventsBeforeTombstone: number;
  /** Person keys whose merged events and tombstones came in another order than the model emits them. */
  readonly personKeysOutOfOrder: number;
  readonly personKeys: number;
  /** Claims that found Redis behind Kafka's committed positions, and checks that found it had lost writes. */
  readonly rollbacks: number;
  /** Times an order-stage partition reached its bound (ANONMERGE_MERGER_ORDER_MAX_HELD) and read the log again. */
  readonly orderHoldRereads: number;
}

export async function crashAgainstModel(run: CrashRun, child: { current: ChildProcess | null }): Promise<CrashReport> {
  const { kafka, topics } = run;
  const env = {
    ...mergerEnv(topics, run.groupId, run.prefix, { mode: 'two-planes', sessionTimeoutMs: 3000 }),
    // Above the append jitter by more than a loaded machine delays the writer.
    ANONMERGE_MERGER_REORDER_MS: '1000',
    // info: the health server's port and the claims are read from the log.
    ANONMERGE_LOG_LEVEL: 'info',
    ...run.env,
  };
  await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
  const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const redis = new Redis(config.redis.url);
  try {
    const logs: string[] = [];
    const start = () => {
      const logFile = resultsPath(`${run.label}-${run.seed}-${uniqueName('m')}.log`);
      logs.push(logFile);
      return { spawned: spawnMerger(env, logFile), logFile };
    };
    const ready = waitForMergerReady;
    let current = start();
    child.current = current.spawned;
    await ready(current.logFile);

    // The groups start over 20 s and last ~15 s each: the kills land while both planes work.
    const records = twoPlaneWorkload(uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, ''), run.groups, Date.now() + 1000, 20, run.seed);
    const writing = appendLikeIngest(producer, catalog, topics, records, JITTER_MS);
    const seeded = (n: number) => ((run.seed * 9301 + n * 49297) % 233280) / 233280;
    for (let kill = 0; kill < run.kills; kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000 + seeded(kill) * 3000));
      let snapshot: RedisSnapshot | null = null;
      if (run.redisRollbacks) {
        // A copy of one moment (the merger stopped meanwhile), then more batches committed to Kafka.
        child.current.kill('SIGSTOP');
        snapshot = await snapshotPrefix(redis, run.prefix);
        child.current.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 1500 + seeded(kill + 100) * 1500));
      }
      const exited = new Promise((resolve) => child.current?.once('exit', resolve));
      child.current.kill('SIGKILL');
      await exited;
      if (snapshot) await restorePrefix(redis, run.prefix, snapshot);
      current = start();
      child.current = current.spawned;
      await ready(current.logFile);
    }
    await writing;

    // Every window has ended (the last record plus the grace) before the outputs are read.
    const last = Math.max(...records.map((r) => r.received_at));
    const horizon = last + GRACE_S * 1000 + 2000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, horizon - Date.now())));
    await waitForMerger(kafka, topics, run.groupId, true, 180_000);
    // The windows ending up to the horizon fire once the control clock passes them: a tick, then
    // a batch, which under load (a merger just restarted, the other suites on the same cores)
    // can take more than a moment. Every window ends before the horizon, so waiting longer adds
    // nothing the model does not expect: read until nothing is missing, or 30 s have passed.
    const modelOutputs = ReferenceModel.run(records, horizon);
    const expected = modelOutputs.map(canonical);
    const readOutputs = () => readAll(kafka, catalog, topics, ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents']);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    let read = await readOutputs();
    for (const settleBy = Date.now() + 30_000; excess(expected, read.map(canonical)).length > 0 && Date.now() < settleBy; ) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      read = await readOutputs();
    }
    const actual = read.map(canonical);

    const log = logs.map(readLog).join('\n');
    const lines = log.split('\n');
    return {
      seed: run.seed,
      records: records.length,
      personOperations: records.filter((r) => r.command.kind !== 'track').length,
      expectedOutputs: expected.length,
      outputs: actual.length,
      lost: excess(expected, actual),
      extra: excess(actual, expected),
      kills: run.kills,
      claims: lines.filter((line) => line.includes('"partition claimed"')).length,
      late: lines.filter((line) => line.includes('later than the reorder bound')).length,
      missingOutbox: lines.filter((line) => line.includes('has no outbox entry')).length,
      tombstonesTooEarly: tombstoneOrder(records, read).tooEarly,
      newEventsBeforeTombstone: tombstoneOrder(records, read).newBefore,
      personKeysOutOfOrder: keysOutOfOrder(modelOutputs, read),
      personKeys: new Set(modelOutputs.filter((o) => o.stream === 'mergedEvents' && o.value !== null).map((o) => o.key)).size,
      rollbacks: lines.filter((line) => line.includes('redis is behind the committed offset') || line.includes('redis lost writes')).length,
      orderHoldRereads: lines.filter((line) => line.includes('the order hold has room again')).length,
    };
  } finally {
    await producer.disconnect();
    redis.disconnect();
  }
}
