/**
 * make bench: every figure in one run, beside the limit of anonmerge's own parts.
 * Prints a table, writes bench/results/all.json, regenerates docs/benchmarks.md and draws
 * docs/merge-latency-vs-backlog.svg. BENCH_RECORDS (1,000,000), BENCH_DURATION_S (15) and
 * BENCH_LATENCY_IDENTIFIES (100 per backlog size) size it; BENCH_REPORT_ONLY=1 writes the report again
 * from the last run's figures.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../services/shared/config';
import { projectRoot } from '../services/shared/projectRoot';
import { adminChangesTable, benchAdminChanges, type AdminChangeFigures } from './adminChanges';
import { benchBridgeOnly, bridgeTable, type BridgeFigures } from './bridge';
import { benchIngest, ingestTable, type IngestFigures } from './ingest';
import { benchNoisyNeighbour, tenantTable } from './noisyNeighbour';
import { BACKLOGS, coresBusy, latency, latencyPlot, latencyTable, throughput, throughputTable, writeDocFile, type LatencyFigures, type ThroughputFigures } from './merger';
import { measureStateCost } from './stateCost';
import { recordThroughputRun } from './history';
import { machine, RESULTS_DIR, round, saveResult, table } from './support';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const IDENTIFIES = Number(process.env.BENCH_LATENCY_IDENTIFIES ?? 100);

function versions(): Record<string, string> {
  const root = projectRoot();
  const pkg = (name: string) => (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  const env = readFileSync(path.join(root, 'infra/versions.env'), 'utf8');
  const redis = execSync('redis-server --version').toString().match(/v=([\d.]+)/)?.[1] ?? '?';
  return {
    node: process.version,
    kafka: /KAFKA_VERSION=(\S+)/.exec(env)?.[1] ?? '?',
    apicurio: /APICURIO_VERSION=(\S+)/.exec(env)?.[1] ?? '?',
    redis,
    kafkajs: pkg('kafkajs'),
    ioredis: pkg('ioredis'),
    avsc: pkg('avsc'),
  };
}

const mark = (ok: boolean) => (ok ? 'met' : '**missed**');

/** The merger settings a run used (from the environment, as the spawned mergers read it). */
function mergerSettings(): { fetchMaxBytes: number; partitionsConcurrently: number } {
  const { merger } = loadConfig(['merger']);
  return { fetchMaxBytes: merger.fetchMaxBytes, partitionsConcurrently: merger.partitionsConcurrently };
}

interface AllFigures {
  readonly at: string;
  readonly seconds: number;
  /** Absent from runs before it was recorded: the current settings are shown then. */
  readonly settings?: ReturnType<typeof mergerSettings>;
  readonly throughput: ThroughputFigures;
  readonly latency: LatencyFigures;
  readonly state: Awaited<ReturnType<typeof measureStateCost>>;
  readonly ingest: IngestFigures;
  readonly tenants: Awaited<ReturnType<typeof benchNoisyNeighbour>>;
  /** Absent from runs before they were measured. */
  readonly bridge?: BridgeFigures;
  readonly adminChanges?: AdminChangeFigures;
}

async function measureAll(): Promise<AllFigures> {
  const started = new Date();
  process.stderr.write(`make bench: ${RECORDS.toLocaleString()} records for throughput, backlogs ${BACKLOGS.join('/')} × ${IDENTIFIES} identifies for latency\n\n`);
  const throughputFigures = await throughput(RECORDS);
  const latencyFigures = await latency(BACKLOGS, IDENTIFIES);
  process.stderr.write('state cost…\n');
  const state = await measureStateCost();
  process.stderr.write('ingest…\n');
  const ingest = await benchIngest();
  process.stderr.write('noisy neighbour…\n');
  const tenants = await benchNoisyNeighbour();
  process.stderr.write('request bridge…\n');
  const bridge = await benchBridgeOnly();
  process.stderr.write('workspace changes through the admin API…\n');
  const adminChanges = await benchAdminChanges();
  return { at: started.toISOString(), seconds: Math.round((Date.now() - started.getTime()) / 1000), settings: mergerSettings(), throughput: throughputFigures, latency: latencyFigures, state, ingest, tenants, bridge, adminChanges };
}

async function main(): Promise<void> {
  // BENCH_REPORT_ONLY=1 writes the report again from the last run's figures (bench/results/all.json).
  const reportOnly = process.env.BENCH_REPORT_ONLY === '1';
  const figures: AllFigures = reportOnly ? (JSON.parse(readFileSync(path.join(RESULTS_DIR, 'all.json'), 'utf8')) as AllFigures) : await measureAll();
  const { throughput: tp, latency: lat, state, ingest, tenants, bridge, adminChanges } = figures;
  const bridgeSection = bridge ? bridgeTable(bridge, ingest) : '(not measured in this run)';
  const adminSection = adminChanges ? adminChangesTable(adminChanges) : '(not measured in this run)';
  const started = new Date(figures.at);
  const settings = figures.settings ?? mergerSettings();

  const ratio = tp.merger1.recordsPerSecond / tp.raw.recordsPerSecond;
  const scaling = tp.merger2.recordsPerSecond / tp.merger1.recordsPerSecond;
  const at1000 = lat.backlogs.find((b) => b.backlog === 1000);
  const bytes = state.memoryUsageBytesPerEvent ?? 0;
  const target = state.targetBytesPerEvent ?? 0;
  const headline = table(
    ['figure', 'measured', 'target', ''],
    [
      ['merger throughput, 1 instance', `${tp.merger1.recordsPerSecond.toLocaleString()} records/s`, '', ''],
      ['raw kafkajs pass-through (same I/O)', `${tp.raw.recordsPerSecond.toLocaleString()} records/s`, '', ''],
      ['merger / raw', `${round(ratio, 2)}×`, '≥ 0.6×', mark(ratio >= 0.6)],
      [`raw at the merger's ${tp.rawAtMergerVolume.outputsPerRecord} outputs/record`, `${tp.rawAtMergerVolume.recordsPerSecond.toLocaleString()} records/s (${round(tp.rawAtMergerVolume.recordsPerSecond / tp.raw.recordsPerSecond, 2)}× raw)`, '', ''],
      ['merger throughput, 2 instances', `${tp.merger2.recordsPerSecond.toLocaleString()} records/s`, '', ''],
      ['2 instances / 1', `${round(scaling, 2)}×`, '≥ 1.3×', mark(scaling >= 1.3)],
      ['merge latency p99, backlog 1,000 (identify written → merged readable)', `${at1000?.p99Ms ?? '?'} ms`, '≤ 250 ms', mark((at1000?.p99Ms ?? Infinity) <= 250)],
      ['of which reading the pending events back, p99', `${at1000?.readP99Ms ?? '?'} ms`, '', ''],
      ['Redis bytes per pending event', `${bytes} (Avro ${state.avroBytesPerEvent})`, `≤ ${target}`, mark(bytes <= target)],
      ['ingest, single events', `${ingest.http[0]?.eventsPerSecond.toLocaleString()} events/s, p99 ${ingest.http[0]?.p99Ms} ms`, '', ''],
      ['ingest, batches of 100', `${ingest.http[1]?.eventsPerSecond.toLocaleString()} events/s, p99 ${ingest.http[1]?.p99Ms} ms`, '', ''],
      ['other workspace p99 beside a 10× flood', `${tenants.calmUnderFloodP99Ms} ms (alone ${tenants.calmAloneP99Ms} ms)`, '< 100 ms, < alone + 50', mark(tenants.withinBound)],
    ],
  );
  const latencyRows = latencyTable(lat);
  const throughputRuns = throughputTable(tp);
  const stateTable = table(['figure', 'value'], Object.entries(state).map(([k, v]) => [k, v]));
  writeDocFile('merge-latency-vs-backlog.svg', latencyPlot(lat));

  const m = machine();
  const v = versions();
  const doc = `# Benchmarks

Generated by \`make bench\` on ${started.toISOString().slice(0, 10)} (${figures.seconds} s).
Raw figures: \`bench/results/all.json\`. Every figure comes from one run on the same machine, with
Kafka, the schema registry and Redis on the same cores as the services and the load generator.

**Machine**: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}.
**Settings**: ${tp.records.toLocaleString()} records on 6 inbound partitions (replication 1); merger: ${settings.fetchMaxBytes.toLocaleString()} bytes fetched per partition per round (the batch), ${settings.partitionsConcurrently} partitions processed at once, at most 2 transactions in flight per partition; Redis with AOF everysec.
**Versions**: Node ${v.node}, Kafka ${v.kafka} (KRaft, one node), Apicurio Registry ${v.apicurio}, Redis ${v.redis} (AOF everysec), kafkajs ${v.kafkajs}, ioredis ${v.ioredis}, avsc ${v.avsc}.

## Headline

${headline}

## Merger throughput

${tp.records.toLocaleString()} inbound records pre-loaded on 6 partitions (${tp.preloadSeconds} s to produce):
${tp.mix.anonymous.toLocaleString()} anonymous page views, ${tp.mix.identifies.toLocaleString()} identifies,
${tp.mix.identified.toLocaleString()} identified events, ${tp.mix.late.toLocaleString()} anonymous events after their window
(\`bench/workload.ts\`). Each run drains them with a fresh consumer group, timed from process start
until every partition's committed offset reached the end. The raw pass-through
(\`bench/rawPassThrough.ts\`) reads the same records with the same consumer settings and commits
the same kind of transaction per batch (one output per input, plus the next offset, by a
transactional producer per partition) — no decoding, no Redis, no decisions: the ceiling our own
Kafka I/O allows. A second pass-through publishes as many records per input as the merger did in
this run, over four topics: the merger's own Kafka I/O, with nothing else. CPU seconds are read
from /proc for the run's own process(es), Redis, Kafka (and the registry, idle here) while it ran.

${throughputRuns}

${limits(tp)}

## Merge latency

Backlogs of pending events, each id's spread over the log among the others', are pre-loaded and
applied; then identifies are sent one at a time. Measured end to end: from the identify written
to the last of its merged events readable (read_committed) on the merged-events topic — which
includes the reorder hold (\`ANONMERGE_MERGER_REORDER_MS\`) and the ticks that release it. Beside
it, the part of it the merger spent reading the pending events back from the inbound log
(pointers, docs/design-pending-pointers.md). \`make bench-latency\` also runs backlogs received
days before and dropped from the page cache.

${latencyRows}

![merge latency vs backlog](merge-latency-vs-backlog.svg)

## State cost

${(state.pendingEvents ?? 0).toLocaleString()} pending events (${EVENTS_NOTE}) written by the real merger, then every key it
wrote measured with \`MEMORY USAGE\`; \`INFO memory\` before/after gives the allocator's view.

${stateTable}

## Ingest

${ingestTable(ingest)}

(\`make bench-ingest\`: autocannon on the real ingest process; the raw producer sends the same Avro
records with the same producer settings: batches, acks=all, idempotent, one send in flight.)

## Tenants

${tenantTable(tenants)}

(\`make bench-tenants\`: one workspace floods at 10× its 100 records/s limit while another sends a
request every 20 ms; the other's p99 alone and beside the flood.)

## Request bridge

${bridgeSection}

(\`make bench-bridge\`: request records (anonymous page views) are written to the request topic
first, then an ingest process starts with the bridge on; the figure is from its readiness to its
group having committed every record, with the process's CPU over that time, beside the HTTP
figures above. The bridge reads six partitions at once and writes each batch in one transaction;
the HTTP path has one send in flight.)

## Workspace changes

${adminSection}

(\`make bench-admin\`: an admin API process and two ingest processes following the workspaces
log; the merge switch flipped one change at a time, each awaited until both replicas' metrics
report its version, read every 2 ms.)
`;
  writeDocFile('benchmarks.md', doc);
  const file = saveResult('all', { ...figures, machine: m, versions: v });
  // A run measured now goes into the history (once its figures are saved); a report written again from it does not.
  const history = reportOnly ? null : recordThroughputRun(figures.throughput, 'bench');
  process.stdout.write(`\n${headline}\n\nthroughput\n${throughputRuns}\n\nmerge latency\n${latencyRows}\n\nstate cost\n${stateTable}\n\ningest\n${ingestTable(ingest)}\n\ntenants\n${tenantTable(tenants)}\n\nrequest bridge\n${bridgeSection}\n\nworkspace changes\n${adminSection}\n\n${history ? `history (${history.file}):\n${history.report}\n\n` : ''}docs/benchmarks.md regenerated; raw figures in ${file}\n`);
}

/**
 * What limits the merger, from the run's own CPU figures: the two cores are shared, so a run's
 * rate is bounded by the CPU its records cost in total (service, Redis, Kafka), and by its one
 * Node thread.
 */
function limits(tp: ThroughputFigures): string {
  const target = 0.6 * tp.raw.recordsPerSecond;
  const budgetMicros = round((2 / target) * 1e6, 1);
  const volume = tp.rawAtMergerVolume;
  const left = round(budgetMicros - volume.cpuMicrosPerRecord, 1);
  const cores = coresBusy;
  const node = (f: typeof tp.merger1) => round(((f.cpu.merger ?? f.cpu['pass-through'] ?? 0) / tp.records) * 1e6, 1);
  return `### What limits it

Both cores are shared by every process, so a drain cannot be faster than the CPU its records cost
in total allows (2 cores ÷ CPU µs per record), nor faster than its single Node thread.

- The merger publishes ${tp.merger1.outputsPerRecord} records per inbound record (anonymous events, merged events,
  triggers, activity, across four topics); the raw pass-through publishes one. The same
  pass-through publishing ${volume.outputsPerRecord} per record over four topics — the merger's own Kafka I/O, and
  nothing else — drains at ${volume.recordsPerSecond.toLocaleString()} records/s, ${round(volume.recordsPerSecond / tp.raw.recordsPerSecond, 2)}× the raw one, for ${volume.cpuMicrosPerRecord} µs of CPU per record
  (its Node thread ${node(volume)} µs).
- 0.6× the raw pass-through is ${round(target).toLocaleString()} records/s: a budget of ${budgetMicros} µs of CPU per record on
  two cores. The merger's Kafka I/O alone takes ${volume.cpuMicrosPerRecord} of it, which leaves ${left} µs per record for
  everything else it does: decoding, the Redis scripts (Redis itself used ${round(((tp.merger1.cpu.redis ?? 0) / tp.records) * 1e6, 1)} µs per record
  here), deciding and encoding.
- The merger spent ${tp.merger1.cpuMicrosPerRecord} µs of CPU per record in all (its Node thread ${node(tp.merger1)} µs, Redis
  ${round(((tp.merger1.cpu.redis ?? 0) / tp.records) * 1e6, 1)} µs, Kafka ${round(((tp.merger1.cpu.kafka ?? 0) / tp.records) * 1e6, 1)} µs), and kept ${cores(tp.merger1)} of the 2 cores busy: its one Node
  thread was busy ${round((node(tp.merger1) * tp.merger1.recordsPerSecond) / 1e4)} % of the run, and is what bounds one process. \`BENCH_PROFILE=1 make bench-merger\`
  writes its CPU profile under .local/profiles (open it in Chrome's DevTools or speedscope).
- Two merger processes kept ${cores(tp.merger2)} cores busy, and each record cost ${round((node(tp.merger2) / Math.max(node(tp.merger1), 0.001) - 1) * 100)} % more Node CPU
  (${node(tp.merger2)} µs against ${node(tp.merger1)} µs): two Node threads, Redis and the broker take turns on two cores
  (more context switches, colder caches), and every batch of both still goes through the one Redis
  thread and the one broker. The more of the machine one process uses, the less a second one adds.`;
}

const EVENTS_NOTE = 'three per anonymous id, like page views before a sign-up';

main().catch((error: unknown) => {
  process.stderr.write(`make bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
