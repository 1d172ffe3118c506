/**
 * The legacy merger (kept for a rollback; two-planes-crash.test.ts covers the default one).
 * SPEC R7 by killing processes: a child merger is SIGKILLed at random moments while thousands of
 * records stream in, and restarted each time. At the end every accepted event is on the merged
 * stream exactly once or still pending, as SPEC.md says it should be, and no trigger is twice.
 * (make chaos runs the long version; CRASH_KILLS and CRASH_ANONYMOUS_IDS scale it.)
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { KeySpace } from '../../../services/merger/redis/keys';
import { deleteRedisPrefix, InboundWriter, mergerEnv, OutputReader, spawnMerger } from '../../support/merger';
import { waitForLag } from '../../support/lag';
import { resultsPath } from '../../support/results';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';
import { buildWorkload, random } from '../../support/workload';

const KILLS = Number(process.env.CRASH_KILLS ?? 10);
const ANONYMOUS_IDS = Number(process.env.CRASH_ANONYMOUS_IDS ?? 1500);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100000);

describe('merger killed with SIGKILL at random moments (R7)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('crash', 4);
  const groupId = uniqueName('crash-group');
  const prefix = uniqueName('crash');
  const logFile = resultsPath(`crash-merger-${SEED}.log`);
  // info, so that the report can count claims and replays from the merger's own log lines.
  const env = { ...mergerEnv(topics, groupId, prefix, { mode: 'legacy', sessionTimeoutMs: 3000, tickIntervalMs: 500, timerLatenessMs: 1000 }), ANONMERGE_LOG_LEVEL: process.env.TEST_CHILD_LOG_LEVEL ?? 'info' };
  let child: ChildProcess | null = null;

  afterAll(async () => {
    child?.kill('SIGKILL');
    // CRASH_KEEP=1 keeps the topics and state, to look at a failing run with other tools.
    if (process.env.CRASH_KEEP === '1') {
      process.stdout.write(`kept: topics ${JSON.stringify(topics)}, redis prefix ${prefix}\n`);
      return;
    }
    await deleteRedisPrefix(prefix);
    await deleteTopics(kafka, topics);
  });

  it(`every accepted event is merged exactly once or still pending (seed ${SEED})`, async () => {
    const workload = buildWorkload(uniqueName('crash').replace(/[^A-Za-z0-9_-]/g, ''), ANONYMOUS_IDS, SEED);
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const writer = await new InboundWriter(kafka, topics, { personOps: false }).open();
    const rand = random(SEED + 1);
    // A merger that dies on its own (not killed by us) is a failure of the test.
    const unexpectedExits: Array<number | null> = [];
    let killing = false;
    let port = 0;
    const start = () => {
      port = 21000 + Math.floor(rand() * 8000);
      const spawned = spawnMerger({ ...env, ANONMERGE_MERGER_PORT: String(port) }, logFile);
      spawned.once('exit', (code) => {
        if (!killing) unexpectedExits.push(code);
      });
      return spawned;
    };
    child = start();

    // Write the stream in chunks while the merger is killed and restarted underneath.
    const chunks: (typeof workload.records)[] = [];
    for (let i = 0; i < workload.records.length; i += 100) chunks.push(workload.records.slice(i, i + 100));
    // Half the stream is a backlog the merger starts on; the rest arrives in bursts while it is
    // killed and restarted, so that kills land while batches are in progress.
    const backlog = chunks.splice(0, Math.floor(chunks.length / 2));
    for (const chunk of backlog) await writer.write(chunk);
    const pace = (KILLS * 1500) / Math.max(1, chunks.length);
    const writing = (async () => {
      for (const chunk of chunks) {
        await writer.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, pace));
      }
    })();
    const ready = async () => {
      const deadline = Date.now() + 30000;
      while (Date.now() < deadline) {
        if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the merger did not become ready');
    };
    let kills = 0;
    while (kills < KILLS) {
      // Once it is working (joined, consuming), kill it at a random moment.
      await ready();
      await new Promise((resolve) => setTimeout(resolve, rand() * 1000));
      expect(unexpectedExits).toEqual([]);
      killing = true;
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      killing = false;
      kills += 1;
      child = start();
    }
    await writing;
    await writer.close();
    const recovery = await waitForLag(kafka, groupId, topics.inbound, 120000);

    const reader = await new OutputReader(kafka, topics).open();
    await reader.until((g) => reader.of(workload.workspace).mergedEvents.length >= workload.expectedMerged.size, 60000, 'every merged event');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // anything extra (a duplicate) would arrive by now
    const mine = reader.of(workload.workspace);
    await reader.close();

    const merged = mine.mergedEvents.map((e) => e.event_id);
    const duplicates = merged.filter((id, i) => merged.indexOf(id) !== i);
    const triggers = mine.campaignTriggers.map((t) => t.event_id);
    const anonymous = mine.anonymousEvents.map((e) => e.event_id);
    const redis = new Redis(config.redis.url);
    const keys = new KeySpace(prefix);
    const wrongPending: string[] = [];
    for (const [anonymousId, expected] of workload.expectedPending) {
      const entries = await redis.lrange(keys.entity({ kind: 'anonymous', workspace: workload.workspace, anonymousId }).pending, 0, -1);
      const actual = entries.map((e) => e.slice(13, e.indexOf('\u0000')));
      if (JSON.stringify([...actual].sort()) !== JSON.stringify([...expected].sort())) wrongPending.push(`${anonymousId}: ${actual} ≠ ${expected}`);
    }
    redis.disconnect();

    const log = readFileSync(logFile, 'utf8');
    const replayBatches = log.split('\n').filter((line) => line.includes('re-sent from the outbox'));
    const report = {
      seed: SEED,
      records: workload.records.length,
      kills,
      recoveryMs: recovery,
      merged: merged.length,
      expectedMerged: workload.expectedMerged.size,
      duplicates: duplicates.length,
      triggers: triggers.length,
      duplicateTriggers: triggers.length - new Set(triggers).size,
      duplicateAnonymous: anonymous.length - new Set(anonymous).size,
      partitionClaims: (log.match(/"partition claimed"/g) ?? []).length,
      batchesReplayedFromOutbox: replayBatches.length,
      operationsReplayedFromOutbox: replayBatches.reduce((sum, line) => sum + Number(/"replayed":(\d+)/.exec(line)?.[1] ?? 0), 0),
      log: logFile,
    };
    process.stdout.write(`crash test: ${JSON.stringify(report)}\n`);
    for (const id of duplicates.slice(0, 3)) {
      process.stdout.write(`duplicate ${id}: ${JSON.stringify(mine.mergedEvents.filter((e) => e.event_id === id))}\n`);
    }
    expect(unexpectedExits).toEqual([]);
    expect(duplicates).toEqual([]);
    expect(new Set(merged)).toEqual(workload.expectedMerged);
    expect(new Set(triggers)).toEqual(workload.expectedTriggers);
    expect(report.duplicateTriggers).toBe(0);
    expect(report.duplicateAnonymous).toBe(0);
    expect(wrongPending).toEqual([]);
  }, 600000);
});
