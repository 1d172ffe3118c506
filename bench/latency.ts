/**
 * make bench-latency: merge latency alone — identifies of anonymous ids with backlogs of 10 …
 * 3,000 pending events, p50/p99 from the identify written to its last merged event readable
 * (read_committed), end to end in either merger mode; then, per identify, an event of the id
 * inside the window it opened, written → merged; and
 * its plot (docs/merge-latency-vs-backlog.svg). BENCH_LATENCY_IDENTIFIES (10) per backlog size.
 */
import { latency, latencyPlot, latencyTable, writeDocFile, BACKLOGS } from './merger';
import { saveResult } from './support';

async function main(): Promise<void> {
  const figures = await latency(BACKLOGS, Number(process.env.BENCH_LATENCY_IDENTIFIES ?? 10));
  const plot = writeDocFile('merge-latency-vs-backlog.svg', latencyPlot(figures));
  const file = saveResult('merge-latency', figures);
  process.stdout.write(`\n${latencyTable(figures)}\n\nplot: ${plot}; raw figures in ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`make bench-latency failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
