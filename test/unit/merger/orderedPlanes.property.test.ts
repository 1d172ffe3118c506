/**
 * Model-based property test of the two-plane design (docs/design-person-operations.md): random
 * workloads of anonymous events, identifies (same and other people, again and again), person
 * events, invites, deletes, chained merges, aliases, merging switched off, repeated ids — through
 * random partitionings, logs appended out of received_at order within the reorder bound, random
 * batch sizes and turns, and crashes — emit exactly what the reference model emits (R1–R10).
 * ORDERED_RUNS sets the number of cases (make chaos runs more).
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { personKey } from '../../../services/shared/model/person';
import { ReferenceModel } from '../../../services/merger/reference/referenceModel';
import type { Output } from '../../../services/merger/model/outputs';
import { simulateOrderedMerger } from '../../support/orderedSimulation';
import { GRACE_S, T0, toRecords, workload } from '../../support/personOpsWorkload';

const RUNS = Number(process.env.ORDERED_RUNS ?? 10_000);

/** A record as a string with its keys sorted: outputs compare as multisets of these. */
function canonical(output: { stream: string; key: string; value: unknown }): string {
  const sortKeys = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)])) : value;
  return `${output.stream} ${output.key} ${JSON.stringify(sortKeys(output.value))}`;
}

/**
 * Per person key and per source — the anonymous id it was merged from, or the person it was sent
 * for as named (after a merge, two named people feed one key from two partitions) — merged events
 * in the order they were emitted.
 */
function mergedBySource(outputs: ReadonlyArray<{ stream: string; key: string; value: unknown }>, records: readonly InboundRecord[]): Map<string, string[]> {
  const namedAs = new Map<string, string>();
  for (const r of records) {
    if (r.command.kind === 'track' && r.command.body.person) namedAs.set(`${r.id} ${r.received_at}`, personKey(r.command.body.person));
  }
  const bySource = new Map<string, string[]>();
  for (const o of outputs) {
    if (o.stream !== 'mergedEvents' || o.value === null) continue;
    const value = o.value as { anonymous_id: string | null; event_id: string; received_at: number };
    const source = `${o.key} ${value.anonymous_id ?? `as ${namedAs.get(`${value.event_id} ${value.received_at}`) ?? '?'}`}`;
    bySource.set(source, [...(bySource.get(source) ?? []), value.event_id]);
  }
  return bySource;
}

describe('the two-plane merger against the reference model', () => {
  it('R1 R2a-g R3 R4 R5 R6 R7 R9 R10: same outputs whatever the partitioning, log skew, batches, turns and crashes', () => {
    let crashes = 0;
    fc.assert(
      fc.property(
        workload,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 50, max: 1000 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.integer(),
        (steps, controlPartitions, dataPartitions, reorderMs, tickMs, crashRate, seed) => {
          const records = toRecords(steps);
          const horizon = (records[records.length - 1]?.received_at ?? T0) + GRACE_S * 1000 + 1000;
          const expected = ReferenceModel.run(records, horizon);
          // mulberry32: successive draws (which consumer, batch size, crash) must not be correlated,
          // as a plain LCG's are — one seed made every turn of one consumer crash.
          let state = seed | 0;
          const random = () => {
            state = (state + 0x6d2b79f5) | 0;
            let t = Math.imul(state ^ (state >>> 15), 1 | state);
            t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
            return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
          };
          const got = simulateOrderedMerger(records, { controlPartitions, dataPartitions, reorderMs, tickMs, horizon, random, crashRate });
          crashes += got.crashes;
          expect(got.outputs.map(canonical).sort()).toEqual(expected.map(canonical).sort());
          expect(mergedBySource(got.outputs as Output[], records)).toEqual(mergedBySource(expected, records));
        },
      ),
      { numRuns: RUNS },
    );
    process.stdout.write(`ordered planes: ${RUNS} cases, ${crashes} crashes simulated\n`);
    expect(crashes).toBeGreaterThan(0);
  });
});
