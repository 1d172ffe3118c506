// Scratch entry for one part of the benchmark: node dist/bench/quick.js throughput|latency
import { latency, throughput } from './merger';

async function main() {
  const what = process.argv[2];
  if (what === 'throughput') console.log(JSON.stringify(await throughput(Number(process.env.BENCH_RECORDS ?? 100000)), null, 2));
  if (what === 'latency') console.log(JSON.stringify(await latency([10, 100, 1000], Number(process.env.BENCH_IDENTIFIES ?? 10)), null, 2));
  process.exit(0);
}
void main();
