/**
 * Event sourcing on the two-plane merger: its whole Redis state — control state, entities,
 * pending events, seen ids, open windows — derived again from the logs by `anonmerge rebuild`
 * (person-ops for the control plane; inbound, with the commands and clocks the control plane
 * wrote into it, for the data plane) equals the live state, key by key. Random groups of events
 * and person operations, appended on time, make the state (test/support/twoPlaneWorkload.ts).
 */
import { Producer } from 'kafkajs';
import Redis from 'ioredis';
import { waitForMerger } from '../../../bench/readTopics';
import { compareOrderedStates } from '../../../services/cli/commands/orderedStateComparison';
import { rebuildState } from '../../../services/cli/commands/rebuild';
import { scanKeys } from '../../../services/shared/redis/scanKeys';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { GRACE_S } from '../../support/personOpsWorkload';
import { deleteRedisPrefix, mergerConfig, startTestMerger } from '../../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';
import { appendLikeIngest, twoPlaneWorkload } from '../../support/twoPlaneWorkload';

const SEED = Number(process.env.REBUILD_SEED ?? Date.now() % 100000);

describe('rebuild of the two-plane merger', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('two-planes-rebuild', 3);
  const into = uniqueName('rebuilt');
  let merger: Awaited<ReturnType<typeof startTestMerger>>;
  let redis: Redis;
  let producer: Producer;

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    merger = await startTestMerger(topics, { mode: 'two-planes' });
    redis = new Redis(config.redis.url);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await merger?.close();
    await deleteRedisPrefix(merger.prefix);
    await deleteRedisPrefix(into);
    redis?.disconnect();
    await deleteTopics(kafka, topics);
  });

  it(`R1–R10: the state derived again from the logs equals the live state, key by key (seed ${SEED})`, async () => {
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    const records = twoPlaneWorkload(uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, ''), 60, Date.now() + 1000, 5, SEED);
    await appendLikeIngest(producer, catalog, topics, records, 100);
    // Every window ended and every record applied before the state is compared.
    const last = Math.max(...records.map((r) => r.received_at));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, last + GRACE_S * 1000 + 3000 - Date.now())));
    await waitForMerger(kafka, topics, merger.groupId, true, 120_000);
    await merger.close();

    const report = await rebuildState(mergerConfig(topics, merger.groupId, merger.prefix, { mode: 'two-planes' }), testLogger, into, () => undefined);
    const comparison = await compareOrderedStates(redis, into, merger.prefix);
    process.stdout.write(`two-plane rebuild: ${JSON.stringify({ seed: SEED, records: records.length, rebuiltFrom: report.records, anonymousIds: comparison.anonymousIds, people: comparison.people, differences: comparison.differences.length })}\n`);
    expect(comparison.differences.slice(0, 10)).toEqual([]);
    expect(comparison.anonymousIds).toBeGreaterThan(10);

    // The comparison sees a binding gone from the rebuilt control state.
    const [bindings] = await scanKeys(redis, `${into}:{*|c}:b`);
    const [field] = bindings ? await redis.hkeys(bindings) : [];
    expect(field).toBeDefined();
    await redis.hdel(bindings as string, field as string);
    expect((await compareOrderedStates(redis, into, merger.prefix)).differences).toHaveLength(1);
  }, 200_000);
});
