/**
 * make bench-latency: merge latency alone — identifies of anonymous ids with backlogs of 10 …
 * 3,000 pending events, p50/p99 from the identify written to its last merged event readable
 * (read_committed); then, per identify, an event of the id inside the window it opened, written →
 * merged; and its plot (docs/merge-latency-vs-backlog.svg).
 *
 * Twice: backlogs received an hour before, and backlogs received BENCH_LATENCY_OLD_DAYS (3) days
 * before whose inbound segments were then dropped from the page cache (bench/pageCache.ts), so
 * that a bind reads its pending events from disk as it would days later.
 * BENCH_LATENCY_IDENTIFIES (100) per backlog size, after BENCH_LATENCY_WARMUP (5) per size on
 * ids of their own: the first merges of a fresh merger (code not compiled yet, the preload's
 * garbage on the heap) are reported on a row of their own, not mixed into the sizes' figures.
 */
import { latency, latencyPlot, latencyTable, writeDocFile, BACKLOGS } from './merger';
import { saveResult } from './support';

async function main(): Promise<void> {
  const identifies = Number(process.env.BENCH_LATENCY_IDENTIFIES ?? 100);
  const recent = await latency(BACKLOGS, identifies);
  process.stdout.write(`\n${latencyTable(recent)}\n\n`);
  const old = await latency(BACKLOGS, identifies, { ageDays: Number(process.env.BENCH_LATENCY_OLD_DAYS ?? 3), evict: true });
  const plot = writeDocFile('merge-latency-vs-backlog.svg', latencyPlot(recent));
  const file = saveResult('merge-latency', { recent, old });
  process.stdout.write(`${latencyTable(old)}\n\nplot: ${plot}; raw figures in ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`make bench-latency failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
