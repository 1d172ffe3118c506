/**
 * The fault matrix (issue: reliability). Each fault runs while website traffic flows through the
 * real ingest; then the checker asserts no loss, no duplicates, merges right, and liveness.
 * make test runs the short version; make chaos (CHAOS_FULL=1) the long one and prints the table.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ChaosRun, ChaosStack, check, LoadGenerator, recoveryTime, sleep, TWO_PLANES, type CheckResult } from './harness';
import { resultsPath } from '../support/results';
import { kafkaKill, mergerKill, partitionsAdded, rebalances, redisKill, unreachable, zombie, type Fault } from './faults';

const FULL = process.env.CHAOS_FULL === '1';
const LAG_BOUND_MS = 90_000;
const MATRIX: Array<{ name: string; fault: Fault; times: number; proxied?: boolean }> = [
  { name: 'merger SIGKILL during batches', fault: mergerKill, times: FULL ? 50 : 5 },
  { name: 'merger SIGSTOP past the session, SIGCONT (zombie)', fault: zombie, times: FULL ? 5 : 1 },
  { name: 'merger instances added and removed', fault: rebalances, times: FULL ? 10 : 3 },
  { name: 'Redis SIGKILL (AOF everysec), restarted', fault: redisKill, times: FULL ? 10 : 2 },
  { name: 'Kafka broker SIGKILL, restarted', fault: kafkaKill, times: FULL ? 5 : 1 },
  { name: 'partitions added while traffic flows', fault: partitionsAdded, times: FULL ? 3 : 1 },
  { name: 'Redis and Kafka unreachable (proxy cuts and stalls)', fault: unreachable(FULL ? 60 : 8), times: FULL ? 6 : 2, proxied: true },
];
const ONLY = process.env.CHAOS_ONLY;

const rows: Array<{ fault: string; runs: number; counted: Record<string, number>; result: CheckResult; recoveredMs: number; seconds: number }> = [];

describe('faults under load: nothing lost, nothing doubled (R7)', () => {
  const stack = new ChaosStack();
  const proxiedStack = new ChaosStack(true);
  const wanted = MATRIX.filter((m) => !ONLY || m.name.includes(ONLY));

  beforeAll(async () => {
    if (wanted.some((m) => !m.proxied)) await stack.start();
    if (wanted.some((m) => m.proxied)) await proxiedStack.start();
  }, 180000);
  afterAll(async () => {
    await stack.destroy();
    await proxiedStack.destroy();
    const table = [
      '| fault | runs | records | lost | duplicated | wrong merges | time to recover | counted |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.fault} | ${r.runs} | ${r.result.records} | ${r.result.lost} | ${r.result.duplicated + r.result.duplicateTriggers} | ${r.result.wrongMerges + r.result.wrongPending} | ${(r.recoveredMs / 1000).toFixed(1)} s | ${Object.entries(r.counted).map(([k, v]) => `${k} ${v}`).join(', ')} |`),
    ].join('\n');
    const label = `${FULL ? 'full' : 'short'}${TWO_PLANES ? '-two-planes' : ''}`;
    process.stdout.write(`\nchaos (${label}):\n${table}\n`);
    writeFileSync(resultsPath(`chaos-${label}.md`), `${table}\n`);
  });

  for (const { name, fault, times, proxied } of wanted) {
    it(`${name} ×${times}`, async () => {
      const started = Date.now();
      const run = new ChaosRun(proxied ? proxiedStack : stack, name.split(' ')[0]?.toLowerCase() ?? 'fault');
      await run.start();
      const load = new LoadGenerator(run.ingest?.url as string, 8);
      try {
        load.start();
        await sleep(1000);
        const counted = await fault(run, times);
        if (run.live().length === 0) run.spawnMerger();
        const recoveredMs = await recoveryTime(run, LAG_BOUND_MS);
        await sleep(1000);
        await load.stop();
        if (run.live().length === 0) await run.ready(run.spawnMerger());
        const result = await check(run, load.ledger, LAG_BOUND_MS);
        rows.push({ fault: name, runs: times, counted: { ...counted, requests: load.ledger.requests, retries: load.ledger.retries, pendingListsCompared: result.pendingCompared }, result, recoveredMs, seconds: (Date.now() - started) / 1000 });
        expect(run.unexpectedExits()).toEqual([]);
        expect(result.details).toEqual([]);
        expect(result).toMatchObject({ lost: 0, duplicated: 0, duplicateTriggers: 0, wrongMerges: 0, wrongPending: 0 });
        expect(result.ledgerEvents).toBeGreaterThan(50);
      } finally {
        await load.stop();
        await run.close();
      }
    }, FULL ? 1_800_000 : 300_000);
  }
});
