/**
 * The control plane killed with SIGKILL at random moments (docs/design-person-operations.md): a
 * merger process running it is killed while person operations stream in, and restarted each
 * time. Whatever the crash point — before its Redis step, between it and the Kafka transaction,
 * after the transaction — the commands, activity and tombstones come out exactly once each,
 * equal to deciding the operations one by one (R2a–f, R3, R7, R9, R10). CONTROL_CRASH_KILLS
 * scales it.
 */
import type { ChildProcess } from 'node:child_process';
import type { Producer } from 'kafkajs';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { appendOnTime, canonical, commandsPerTarget, expectedControlOutputs, personOperationsFrom, readControlOutputs } from '../../support/controlPlane';
import { deleteRedisPrefix, mergerEnv, readLog, spawnMerger, waitForMergerReady } from '../../support/merger';
import { resultsPath } from '../../support/results';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

const KILLS = Number(process.env.CONTROL_CRASH_KILLS ?? 5);
const PARTITIONS = 3;
const SEED = Number(process.env.CONTROL_CRASH_SEED ?? Date.now() % 100000);

describe('the control plane killed with SIGKILL at random moments (R7)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('control-crash', PARTITIONS);
  const groupId = uniqueName('control-crash-group');
  const prefix = uniqueName('control-crash');
  const env = {
    ...mergerEnv(topics, groupId, prefix, { sessionTimeoutMs: 3000 }),
    ANONMERGE_MERGER_CONTROL_PLANE: 'true',
    // Above the append jitter (100 ms) by more than a loaded machine delays the writer.
    ANONMERGE_MERGER_REORDER_MS: '1000',
    // info: the port of the health server, claims and re-sent operations are read from the log.
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

  it(`commands, activity and tombstones exactly once across ${KILLS} kills (seed ${SEED})`, async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    const start = () => {
      const logFile = resultsPath(`control-crash-${SEED}-${uniqueName('m')}.log`);
      const spawned = spawnMerger(env, logFile);
      return { spawned, logFile };
    };
    const logs: string[] = [];
    const ready = waitForMergerReady;

    let current = start();
    child = current.spawned;
    logs.push(current.logFile);
    await ready(current.logFile);

    // 40 random steps take ~30 s; at half that they span the kills (each ~1 s apart, plus a restart).
    const operations = personOperationsFrom(Date.now() + 500, 3 * KILLS, 2, SEED);
    const expected = expectedControlOutputs(operations);
    const writing = appendOnTime(producer, catalog, topics, operations, 100);
    const seeded = (n: number) => ((SEED * 9301 + n * 49297) % 233280) / 233280;

    for (let kill = 0; kill < KILLS; kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, 300 + seeded(kill) * 1500));
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      current = start();
      child = current.spawned;
      logs.push(current.logFile);
      await ready(current.logFile);
    }
    await writing;
    const got = await readControlOutputs(kafka, catalog, topics, Math.max(...operations.map((r) => r.received_at)), 120_000, expected.tombstones.length);

    const log = logs.map(readLog).join('\n');
    const report = {
      seed: SEED,
      operations: operations.length,
      commands: got.commands.length,
      expectedCommands: expected.commands.length,
      kills: KILLS,
      claims: log.split('\n').filter((line) => line.includes('"partition claimed"') && line.includes(topics.personOps)).length,
      resent: [...log.matchAll(/"resent":(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0),
    };
    process.stdout.write(`control crash test: ${JSON.stringify(report)}\n`);

    expect(got.commands.map((c) => JSON.stringify(c)).sort()).toEqual(expected.commands.map((c) => JSON.stringify(c)).sort());
    expect(got.activity.map(canonical).sort()).toEqual(expected.activity.map(canonical).sort());
    expect(got.tombstones.sort()).toEqual(expected.tombstones.sort());
    expect(commandsPerTarget(got.commands)).toEqual(commandsPerTarget(expected.commands));
    expect(log).not.toContain('has no outbox entry');
  });
});

