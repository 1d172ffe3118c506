/**
 * make bench-sequences: back-to-back person operations through the HTTP API, 100 of each kind
 * (BENCH_SEQUENCES), each compared with the reference model (bench/sequenceRuns.ts).
 * BENCH_TWO_PLANES=1 runs ingest and the merger in the two-plane mode.
 */
import { KINDS, runSequences } from './sequenceRuns';
import { saveResult, table } from './support';

async function main(): Promise<void> {
  const sequences = Number(process.env.BENCH_SEQUENCES ?? 100);
  const result = await runSequences({
    sequences,
    twoPlanes: process.env.BENCH_TWO_PLANES === '1',
    ingestPort: 3190,
    mergerPort: 3191,
    progress: (text) => process.stderr.write(`\r\u001b[2K${text}`),
  });
  process.stderr.write('\n');
  const rows = KINDS.map((kind) => [kind, sequences, `${result.figures[kind].agreeExceptIds}/${sequences}`, `${result.figures[kind].agree}/${sequences}`]);
  const file = saveResult(result.twoPlanes ? 'sequences-two-planes' : 'sequences', result);
  process.stdout.write(`\n${result.twoPlanes ? 'two planes' : 'one plane (default)'}:\n${table(['sequence', 'runs', 'same outputs as the model (activity ids aside)', 'same, activity ids included'], rows)}\n\n`);
  for (const kind of KINDS) if (result.figures[kind].example) process.stdout.write(`first difference (${kind}): ${result.figures[kind].example}\n`);
  process.stdout.write(`\nraw figures in ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`make bench-sequences failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
