/**
 * make bench-planes: the two-plane merger beside the legacy one it replaces, in alternated pairs
 * on the same records, one merger process each.
 *
 * The throughput budget compares the two "back to back on the same machine", and this
 * machine's speed drifts by more than the gap being measured within minutes. So both inputs are
 * pre-loaded once (the same generated mix: identifies in inbound for the legacy merger, in
 * person-ops for the two planes, as each mode's ingest writes them), then each pair drains both
 * with fresh groups and state, legacy first; the table gives each pair's ratio, and the spread of
 * the ratios says how far to trust it.
 *
 * BENCH_RECORDS (default 1,000,000) and BENCH_PAIRS (default 5); BENCH_PROFILE=1 writes CPU
 * profiles of the mergers under .local/profiles.
 */
import path from 'node:path';
import { SchemaCatalog } from '../services/shared/avro/catalog';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { ensureTopics } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import { projectRoot } from '../services/shared/projectRoot';
import { createRedis } from '../services/shared/redis/client';
import { drainWithMergers, produceAll, stackPids, type DrainFigures } from './merger';
import { benchTopics, machine, round, saveResult, table } from './support';
import { websiteTraffic } from './workload';

const config = loadConfig(['kafka', 'registry', 'redis']);
const logger = createLogger('bench', 'warn');
const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 5);

interface Pair {
  readonly legacy: DrainFigures;
  readonly twoPlanes: DrainFigures;
}

async function main(): Promise<void> {
  const kafka = createKafka(config.kafka, logger, 'bench-planes');
  const admin = kafka.admin();
  await admin.connect();
  const modes = [
    { name: 'legacy', controlPlane: false, topics: benchTopics('planes-legacy', 6) },
    { name: 'two planes', controlPlane: true, topics: benchTopics('planes-two', 6) },
  ] as const;
  const loaded: Array<{ total: number; ends: Map<number, number> }> = [];
  for (const mode of modes) {
    await ensureTopics(admin, mode.topics, logger);
    const catalog = await SchemaCatalog.open(config.registry, mode.topics, logger);
    // The same seed: both modes get the very same records.
    const total = await produceAll(kafka, catalog, mode.topics.inbound, websiteTraffic(RECORDS, 11, undefined, { anonymous: 0, identifies: 0, identified: 0, late: 0 }), `pre-loading for ${mode.name}`, RECORDS, mode.controlPlane);
    const ends = new Map((await admin.fetchTopicOffsets(mode.topics.inbound)).map((p) => [p.partition, Number(p.high)]));
    loaded.push({ total, ends });
  }
  const redis = createRedis(config.redis, logger, 'bench');
  const stack = await stackPids(redis);
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(projectRoot(), '.local/profiles')}`] : [];
  const pairs: Pair[] = [];
  for (let i = 1; i <= PAIRS; i += 1) {
    const runs: DrainFigures[] = [];
    for (const [m, mode] of modes.entries()) {
      const { total, ends } = loaded[m] as { total: number; ends: Map<number, number> };
      const env = { ANONMERGE_MERGER_CONTROL_PLANE: String(mode.controlPlane), ANONMERGE_INGEST_PERSON_OPS: String(mode.controlPlane) };
      runs.push(await drainWithMergers({ admin, topics: mode.topics, ends, total, instances: 1, redis, stack, env, controlPlane: mode.controlPlane, profile, label: `pair ${i}/${PAIRS}, ${mode.name}` }));
    }
    pairs.push({ legacy: runs[0] as DrainFigures, twoPlanes: runs[1] as DrainFigures });
  }
  redis.disconnect();
  await admin.deleteTopics({ topics: modes.flatMap((mode) => Object.values(mode.topics).filter((t): t is string => typeof t === 'string')) }).catch(() => undefined);
  await admin.disconnect();

  const ratios = pairs.map((p) => p.twoPlanes.recordsPerSecond / p.legacy.recordsPerSecond);
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const nodeMicros = (f: DrainFigures) => round(((f.cpu.merger ?? 0) / RECORDS) * 1e6, 1);
  const rendered = table(
    ['pair', 'legacy records/s', 'two planes records/s', 'ratio', 'legacy CPU µs/record (node)', 'two planes CPU µs/record (node)', 'control plane caught up after'],
    pairs.map((p, i) => [
      i + 1,
      p.legacy.recordsPerSecond.toLocaleString(),
      p.twoPlanes.recordsPerSecond.toLocaleString(),
      `${(ratios[i] as number).toFixed(2)}×`,
      `${p.legacy.cpuMicrosPerRecord} (${nodeMicros(p.legacy)})`,
      `${p.twoPlanes.cpuMicrosPerRecord} (${nodeMicros(p.twoPlanes)})`,
      `${p.twoPlanes.controlCaughtUpSeconds ?? '?'} of ${p.twoPlanes.seconds} s`,
    ]),
  );
  process.stdout.write(
    `\ntwo planes beside legacy, ${RECORDS.toLocaleString()} records, one merger process, ${machine().cores} cores\n\n${rendered}\n\n` +
      `ratio: mean ${mean.toFixed(2)}×, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×\n`,
  );
  process.stdout.write(`raw figures: ${saveResult('planes', { at: new Date().toISOString(), machine: machine(), records: RECORDS, pairs, meanRatio: round(mean, 3), table: rendered })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-planes failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
