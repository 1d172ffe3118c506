/**
 * The whole two-plane merger killed with SIGKILL at random moments (issue 13): random groups of
 * anonymous events, identifies, re-identifies, person events, deletes, chained merges, aliases,
 * merging switched off and repeated ids are appended on time, as ingest appends them, while a
 * merger process is killed and restarted. At the end its outputs — merged events, triggers,
 * activity, anonymous events, tombstones — are exactly the reference model's for the same
 * records applied one by one in (received_at, id) order: nothing lost, nothing twice, nothing
 * different (R1, R2a–g, R3–R7, R9, R10). TWO_PLANES_CRASH_KILLS and TWO_PLANES_CRASH_GROUPS scale it.
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Producer } from 'kafkajs';
import { readAll, waitForMerger } from '../../../bench/readTopics';
import { ReferenceModel } from '../../../services/merger/reference/referenceModel';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { recordContentKey } from '../../../services/shared/model/recordOrder';
import { GRACE_S } from '../../support/personOpsWorkload';
import { deleteRedisPrefix, mergerEnv, spawnMerger } from '../../support/merger';
import { resultsPath } from '../../support/results';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';
import { appendLikeIngest, twoPlaneWorkload } from '../../support/twoPlaneWorkload';

const KILLS = Number(process.env.TWO_PLANES_CRASH_KILLS ?? 6);
const GROUPS = Number(process.env.TWO_PLANES_CRASH_GROUPS ?? 200);
const PARTITIONS = 4;
const SEED = Number(process.env.TWO_PLANES_CRASH_SEED ?? Date.now() % 100000);
/** Ingest appends within this after stamping; the reorder bound is well above it. */
const JITTER_MS = 100;

type Output = { readonly stream: string; readonly key: string; readonly value: unknown };
const canonical = (o: Output) => `${o.stream} ${o.key} ${o.value === null ? 'null' : recordContentKey(o.value as never)}`;

/** What is in `a` more often than in `b`, each text with how many more. */
function excess(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const text of a) counts.set(text, (counts.get(text) ?? 0) + 1);
  for (const text of b) counts.set(text, (counts.get(text) ?? 0) - 1);
  return [...counts].filter(([, n]) => n > 0).map(([text, n]) => (n > 1 ? `${n}× ${text}` : text));
}

describe('the two-plane merger killed with SIGKILL at random moments (R7, R9, R10)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('two-planes-crash', PARTITIONS);
  const groupId = uniqueName('two-planes-crash-group');
  const prefix = uniqueName('two-planes-crash');
  const env = {
    ...mergerEnv(topics, groupId, prefix, { sessionTimeoutMs: 3000 }),
    ANONMERGE_MERGER_CONTROL_PLANE: 'true',
    // Above the append jitter by more than a loaded machine delays the writer.
    ANONMERGE_MERGER_REORDER_MS: '1000',
    // info: the health server's port and the claims are read from the log.
    ANONMERGE_LOG_LEVEL: 'info',
  };
  let child: ChildProcess | null = null;
  let producer: Producer;

  afterAll(async () => {
    child?.kill('SIGKILL');
    await producer?.disconnect();
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it(`every output equals the reference model's across ${KILLS} kills (seed ${SEED})`, async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    const logs: string[] = [];
    const start = () => {
      const logFile = resultsPath(`two-planes-crash-${SEED}-${uniqueName('m')}.log`);
      logs.push(logFile);
      return { spawned: spawnMerger(env, logFile), logFile };
    };
    const ready = async (logFile: string) => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const port = /"url":"http:\/\/[^"]*:(\d+)"/.exec(readLog(logFile))?.[1];
        if (port && (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false))) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the merger did not become ready; its log ends with ${readLog(logFile).slice(-2000)}`);
    };
    let current = start();
    child = current.spawned;
    await ready(current.logFile);

    // The groups start over 20 s and last ~15 s each: the kills land while both planes work.
    const records = twoPlaneWorkload(uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, ''), GROUPS, Date.now() + 1000, 20, SEED);
    const writing = appendLikeIngest(producer, catalog, topics, records, JITTER_MS);
    const seeded = (n: number) => ((SEED * 9301 + n * 49297) % 233280) / 233280;
    for (let kill = 0; kill < KILLS; kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000 + seeded(kill) * 3000));
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      current = start();
      child = current.spawned;
      await ready(current.logFile);
    }
    await writing;

    // Every window has ended (the last record plus the grace) before the outputs are read.
    const last = Math.max(...records.map((r) => r.received_at));
    const horizon = last + GRACE_S * 1000 + 2000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, horizon - Date.now())));
    await waitForMerger(kafka, topics, groupId, true, 180_000);
    // The windows ending up to the horizon fire once the control clock passes them.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const actual = (await readAll(kafka, catalog, topics, ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents'])).map(canonical);
    const expected = ReferenceModel.run(records, horizon).map(canonical);

    const lost = excess(expected, actual);
    const extra = excess(actual, expected);
    const log = logs.map(readLog).join('\n');
    const report = {
      seed: SEED,
      records: records.length,
      personOperations: records.filter((r) => r.command.kind !== 'track').length,
      expectedOutputs: expected.length,
      outputs: actual.length,
      lost: lost.length,
      extraOrDifferent: extra.length,
      kills: KILLS,
      claims: log.split('\n').filter((line) => line.includes('"partition claimed"')).length,
      late: log.split('\n').filter((line) => line.includes('later than the reorder bound')).length,
      missingOutbox: log.split('\n').filter((line) => line.includes('has no outbox entry')).length,
    };
    process.stdout.write(`two-plane crash test: ${JSON.stringify(report)}\n`);
    expect({ lost: lost.slice(0, 10), extra: extra.slice(0, 10) }).toEqual({ lost: [], extra: [] });
    expect(actual.length).toBe(expected.length);
    // A replay that needed an outbox entry and found none would have lost outputs.
    expect(report.missingOutbox).toBe(0);
  }, 600_000);
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
