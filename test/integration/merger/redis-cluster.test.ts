/**
 * The merger on a real Redis Cluster (3 masters, 3 replicas, started by infra/redis-cluster.sh):
 * a seeded workload of anonymous events, identifies and identified events, with the merger
 * killed (SIGKILL) once mid-stream, gives exactly the outputs SPEC.md says (R1–R3, R7), and the
 * state is spread over every master — each script call stayed within one slot, or the cluster
 * would have refused it with CROSSSLOT. Then `anonmerge rebuild` derives the same state again on
 * the cluster.
 */
import type { ChildProcess } from 'node:child_process';
import { Cluster } from 'ioredis';
import { KeySpace } from '../../../services/merger/redis/keys';
import { scanKeys } from '../../../services/shared/redis/scanKeys';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { DedicatedRedisCluster } from '../../support/dedicatedRedisCluster';
import { waitForLag } from '../../support/lag';
import { InboundWriter, mergerConfig, mergerEnv, OutputReader, spawnMerger } from '../../support/merger';
import { compareStates, rebuildState } from '../../../services/cli/commands/rebuild';
import { deleteByPrefix } from '../../../services/shared/redis/deleteByPrefix';
import { resultsPath } from '../../support/results';
import { deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';
import { buildWorkload } from '../../support/workload';

const SEED = Number(process.env.CLUSTER_SEED ?? Date.now() % 100000);

describe('merger on a Redis Cluster', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('cluster', 4);
  const groupId = uniqueName('cluster-group');
  const prefix = uniqueName('cl');
  const cluster = new DedicatedRedisCluster();
  const logFile = resultsPath(`cluster-merger-${SEED}.log`);
  let child: ChildProcess | null = null;
  let client: Cluster;

  beforeAll(async () => {
    cluster.start();
    client = new Cluster(cluster.nodes.slice(0, 3).map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
  }, 120000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    client?.disconnect();
    cluster.destroy();
    await deleteTopics(kafka, topics);
  });

  it(`R1–R3 and R7 hold with the state spread over three masters, across a crash (seed ${SEED})`, async () => {
    const workload = buildWorkload(`cluster${SEED}`, 600, SEED);
    const env = {
      ...mergerEnv(topics, groupId, prefix, { mode: 'legacy', sessionTimeoutMs: 3000 }),
      ANONMERGE_REDIS_MODE: 'cluster',
      ANONMERGE_REDIS_CLUSTER_NODES: cluster.nodes.slice(0, 2).join(','),
    };
    const writer = await new InboundWriter(kafka, topics, { personOps: false }).open();
    const half = Math.floor(workload.records.length / 2);
    await writer.write(workload.records.slice(0, half));
    child = spawnMerger(env, logFile);
    // Kill it once it has applied part of the first half, then start another.
    const deadline = Date.now() + 60000;
    while ((await scanKeys(client, `${prefix}:*`)).length < 200) {
      if (Date.now() > deadline) throw new Error(`the merger wrote nothing to the cluster; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    child = spawnMerger(env, logFile);
    await writer.write(workload.records.slice(half));
    await writer.close();
    await waitForLag(kafka, groupId, topics.inbound, 120000);

    const reader = await new OutputReader(kafka, topics).open();
    await reader.until(() => reader.of(workload.workspace).mergedEvents.length >= workload.expectedMerged.size, 60000, 'every merged event');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a duplicate would have arrived by now
    const mine = reader.of(workload.workspace);
    await reader.close();

    const merged = mine.mergedEvents.map((e) => e.event_id);
    expect(merged.length - new Set(merged).size).toBe(0);
    expect(new Set(merged)).toEqual(workload.expectedMerged);
    const triggers = mine.campaignTriggers.map((t) => t.event_id);
    expect(new Set(triggers)).toEqual(workload.expectedTriggers);
    expect(triggers.length).toBe(workload.expectedTriggers.size);

    const keys = new KeySpace(prefix);
    const wrongPending: string[] = [];
    for (const [anonymousId, expected] of workload.expectedPending) {
      const entries = await client.lrange(keys.entity({ kind: 'anonymous', workspace: workload.workspace, anonymousId }).pending, 0, -1);
      const actual = entries.map((e) => e.slice(13, e.indexOf('\u0000'))).sort();
      if (JSON.stringify(actual) !== JSON.stringify([...expected].sort())) wrongPending.push(`${anonymousId}: ${actual} ≠ ${expected}`);
    }
    expect(wrongPending).toEqual([]);

    // Every master holds part of the state.
    const perMaster = await Promise.all(client.nodes('master').map(async (node) => (await node.keys(`${prefix}:*`)).length));
    process.stdout.write(`redis cluster: ${workload.records.length} records, merged ${merged.length}, triggers ${triggers.length}, keys per master ${perMaster.join('/')}\n`);
    expect(perMaster).toHaveLength(3);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
  }, 240000);

  it('rebuild on the cluster: the state derived again from the log equals the live state', async () => {
    const base = mergerConfig(topics, groupId, prefix, { mode: 'legacy' });
    const config = { ...base, redis: { ...base.redis, mode: 'cluster' as const, clusterNodes: cluster.nodes.slice(0, 1) } };
    const into = `${prefix}-rebuilt`;
    const report = await rebuildState(config, testLogger, into, () => undefined);
    const comparison = await compareStates(client, into, prefix);
    process.stdout.write(`redis cluster rebuild: ${report.records} records in ${report.seconds.toFixed(1)} s, ${comparison.anonymousIds} anonymous ids, ${comparison.people} people compared\n`);
    expect(comparison.differences).toEqual([]);
    expect(comparison.anonymousIds).toBeGreaterThan(100);
    expect(comparison.people).toBeGreaterThan(100);
    expect(await deleteByPrefix(client, into)).toBeGreaterThan(0);
    expect(await scanKeys(client, `${into}:*`)).toEqual([]);
  }, 120000);
});
