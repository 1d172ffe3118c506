/**
 * The two-plane merger on a real Redis Cluster (3 masters, 3 replicas): the crash test's random
 * groups of events and person operations, a merger killed with SIGKILL while they stream in, and
 * every output compared with the reference model's (issue 13). The control plane's state is one
 * hash tag per workspace, the data plane's one per entity, so every script stays within a slot
 * and the state is spread over every master.
 */
import type { ChildProcess } from 'node:child_process';
import { Cluster } from 'ioredis';
import { DedicatedRedisCluster } from '../../support/dedicatedRedisCluster';
import { deleteTopics, isolatedTopics, testKafka, uniqueName } from '../../support/stack';
import { crashAgainstModel } from '../../support/twoPlaneCrash';

const SEED = Number(process.env.CLUSTER_SEED ?? Date.now() % 100000);

describe('the two-plane merger on a Redis Cluster', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('two-planes-cluster', 4);
  const prefix = uniqueName('tpc');
  const cluster = new DedicatedRedisCluster();
  const child: { current: ChildProcess | null } = { current: null };
  let client: Cluster;

  beforeAll(() => {
    cluster.start();
    client = new Cluster(cluster.nodes.slice(0, 3).map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
  }, 120000);

  afterAll(async () => {
    child.current?.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    client?.disconnect();
    cluster.destroy();
    await deleteTopics(kafka, topics);
  });

  it(`R1–R10 and R7 across crashes, the state spread over three masters, equal to the model (seed ${SEED})`, async () => {
    const report = await crashAgainstModel(
      {
        kafka,
        topics,
        groupId: uniqueName('two-planes-cluster-group'),
        prefix,
        kills: 3,
        groups: 120,
        seed: SEED,
        label: 'two-planes-cluster',
        env: { ANONMERGE_REDIS_MODE: 'cluster', ANONMERGE_REDIS_CLUSTER_NODES: cluster.nodes.slice(0, 2).join(',') },
      },
      child,
    );
    const perMaster = await Promise.all(client.nodes('master').map(async (node) => (await node.keys(`${prefix}:*`)).length));
    // Ids nobody identified are compact records, in buckets striped by slot (services/merger/redis/keys.ts).
    const bucketsPerMaster = await Promise.all(client.nodes('master').map(async (node) => (await node.keys(`${prefix}:{*}:n:*|*`)).length));
    process.stdout.write(`two-plane merger on a Redis Cluster: ${JSON.stringify({ ...report, lost: report.lost.length, extra: report.extra.length, keysPerMaster: perMaster, compactBucketsPerMaster: bucketsPerMaster })}\n`);
    expect({ lost: report.lost.slice(0, 10), extra: report.extra.slice(0, 10) }).toEqual({ lost: [], extra: [] });
    expect(report.outputs).toBe(report.expectedOutputs);
    expect(report.missingOutbox).toBe(0);
    expect(perMaster).toHaveLength(3);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    expect(bucketsPerMaster.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
  }, 600_000);
});
