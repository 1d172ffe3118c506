/**
 * make bench-cluster: merger throughput on the single Redis beside a local Redis Cluster of 3
 * masters (infra/redis-cluster.sh, started by the make target), same records, same machine.
 * BENCH_CLUSTER_RECORDS (default 200,000) sizes it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../services/shared/projectRoot';
import { clusterThroughput } from './merger';
import { machine, saveResult, table } from './support';

const RECORDS = Number(process.env.BENCH_CLUSTER_RECORDS ?? 200_000);

async function main(): Promise<void> {
  const nodes = execFileSync('bash', [path.join(projectRoot(), 'infra/redis-cluster.sh'), 'nodes']).toString().trim().split(',');
  const figures = await clusterThroughput(RECORDS, nodes);
  const base = figures.runs[0]?.recordsPerSecond ?? 1;
  const rendered = table(
    ['run', 'seconds', 'records/s', 'vs single Redis'],
    figures.runs.map((r) => [r.run, r.seconds, r.recordsPerSecond.toLocaleString(), `${(r.recordsPerSecond / base).toFixed(2)}×`]),
  );
  process.stdout.write(`\nmerger on a Redis Cluster, ${figures.records.toLocaleString()} records, ${machine().cores} cores shared with Kafka, the registry and every Redis\n\n${rendered}\n`);
  process.stdout.write(`\nraw figures: ${saveResult('cluster', { at: new Date().toISOString(), machine: machine(), ...figures, table: rendered })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-cluster failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
