/**
 * Model-based property test of the two-plane design (docs/design-person-operations.md): random
 * workloads of anonymous events, identifies (same and other people, again and again), person
 * events, invites, deletes, chained merges, aliases, merging switched off, repeated ids — through
 * random partitionings, logs appended out of received_at order within the reorder bound, random
 * batch sizes and turns, crashes and outages — emit exactly what the reference model emits
 * (R1–R10). Each data partition reads its inbound log and its commands log (the control plane's
 * commands and clocks), in random splits; a person's merged events go through the order stage
 * (order/orderBuffer.ts), and per person they come out in the model's order. ORDERED_RUNS sets the
 * number of cases (make chaos runs more).
 */
import fc from 'fast-check';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { ReferenceModel } from '../../../services/merger/reference/referenceModel';
import { simulateOrderedMerger } from '../../support/orderedSimulation';
import { GRACE_S, T0, toRecords, workload } from '../../support/personOpsWorkload';

const RUNS = Number(process.env.ORDERED_RUNS ?? 10_000);

/** mulberry32: successive draws (which consumer, batch size, crash) must not be correlated, as a plain LCG's are — one seed made every turn of one consumer crash. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function horizonOf(records: readonly InboundRecord[]): number {
  return (records[records.length - 1]?.received_at ?? T0) + GRACE_S * 1000 + 1000;
}

/** The most events received within L of each other: (t − L, t] for some t. */
function eventsWithin(records: readonly InboundRecord[], reorderMs: number): number {
  const times = records.filter((r) => r.command.kind === 'track').map((r) => r.received_at);
  let most = 0;
  for (let hi = 0, lo = 0; hi < times.length; hi += 1) {
    while ((times[lo] as number) <= (times[hi] as number) - reorderMs) lo += 1;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

/** A record as a string with its keys sorted: outputs compare as multisets of these. */
function canonical(output: { stream: string; key: string; value: unknown }): string {
  const sortKeys = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)])) : value;
  return `${output.stream} ${output.key} ${JSON.stringify(sortKeys(output.value))}`;
}

/** Per person key, its merged events and tombstones in the order they were emitted. */
function mergedByPerson(outputs: ReadonlyArray<{ stream: string; key: string; value: unknown }>): Map<string, string[]> {
  const byPerson = new Map<string, string[]>();
  for (const o of outputs) {
    if (o.stream !== 'mergedEvents') continue;
    byPerson.set(o.key, [...(byPerson.get(o.key) ?? []), canonical(o)]);
  }
  return byPerson;
}

describe('the two-plane merger against the reference model', () => {
  it('R1 R2a-g R3 R4 R5 R6 R7 R9 R10: same outputs, and per person the same order, whatever the partitioning, log skew, batches, turns, crashes and outages', () => {
    let crashes = 0;
    let outages = 0;
    let maxHeld = 0;
    let maxHeldCommands = 0;
    let clockRecords = 0;
    let mostHeldOrdered = 0;
    let droppedOrdered = 0;
    let resentClocks = 0;
    let sharedOrderRecords = 0;
    fc.assert(
      fc.property(
        workload,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 50, max: 1000 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        // One case in four has an outage, up to 10 s (the workload's windows are 2 s).
        fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 10_000 }) }),
        // One in four has its control plane take fewer turns than the data plane.
        fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0.1, max: 1, noNaN: true }) }),
        fc.integer({ min: 1, max: 3 }),
        // One in two has the order stage hold at most 1–3 merged events (it drops and reads again past it).
        fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
        fc.integer(),
        (steps, controlPartitions, dataPartitions, reorderMs, tickMs, crashRate, outageMs, controlTurns, orderPartitions, maxHeldOrdered, seed) => {
          const records = toRecords(steps);
          const horizon = horizonOf(records);
          const expected = ReferenceModel.run(records, horizon);
          const got = simulateOrderedMerger(records, { controlPartitions, dataPartitions, reorderMs, tickMs, horizon, random: mulberry32(seed), crashRate, outageMs, controlTurns, orderPartitions, ...(maxHeldOrdered === undefined ? {} : { maxHeldOrdered }) });
          crashes += got.crashes;
          droppedOrdered += got.droppedOrdered;
          resentClocks += got.resentClocks;
          sharedOrderRecords += got.sharedOrderRecords;
          expect(got.orderBoundBroken).toBe(0);
          if (outageMs > 0) outages += 1;
          maxHeld = Math.max(maxHeld, got.maxHeld);
          maxHeldCommands = Math.max(maxHeldCommands, got.maxHeldCommands);
          clockRecords += got.clockRecords;
          expect(got.outputs.map(canonical).sort()).toEqual(expected.map(canonical).sort());
          expect(mergedByPerson(got.outputs)).toEqual(mergedByPerson(expected));
          mostHeldOrdered = Math.max(mostHeldOrdered, got.maxHeldOrdered);
        },
      ),
      { numRuns: RUNS },
    );
    process.stdout.write(`ordered planes: ${RUNS} cases, ${crashes} crashes simulated, ${outages} with an outage, at most ${maxHeld} inbound items, ${maxHeldCommands} commands and ${mostHeldOrdered} ordered outputs held, ${droppedOrdered} dropped at the order hold's bound and read again, ${clockRecords} clock records, ${resentClocks} data clocks sent again unmoved, ${sharedOrderRecords} person-order records holding several outputs\n`);
    expect(crashes).toBeGreaterThan(0);
    expect(droppedOrdered).toBeGreaterThan(0);
    expect(resentClocks).toBeGreaterThan(0);
    // The order hold counts in positions within records (order/recordPositions.ts): exercised.
    expect(sharedOrderRecords).toBeGreaterThan(0);
    expect(outages).toBeGreaterThan(0);
  });

  it('with inbound reads paused above a bound, commands still read: same outputs, and the hold stays within the bound and a batch', () => {
    const runs = Math.max(20, Math.round(RUNS / 50));
    let paused = 0;
    const held = { unbounded: { most: 0, sum: 0 }, bounded: { most: 0, sum: 0 } };
    let heldCommands = 0;
    /** Cases where more were held than the bound and a batch: more events came within L than the bound. */
    let overBound = 0;
    fc.assert(
      fc.property(
        // Longer and denser workloads (up to 480 records, gaps divided by up to 20), so an outage
        // or a lagging control plane leaves a backlog to hold.
        fc.tuple(fc.array(workload, { minLength: 4, maxLength: 12 }), fc.integer({ min: 1, max: 20 })).map(([parts, density]) => parts.flat().map((step) => ({ ...step, gapMs: Math.floor(step.gapMs / density) }))),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 50, max: 1000 }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        fc.integer({ min: 1000, max: 30_000 }),
        fc.integer({ min: 0, max: 20 }),
        // The control plane slower than the data plane: unbounded, the data plane reads ahead of its clocks.
        fc.double({ min: 0.02, max: 1, noNaN: true }),
        fc.integer(),
        (steps, controlPartitions, dataPartitions, reorderMs, tickMs, crashRate, outageMs, maxHeldInbound, controlTurns, seed) => {
          const records = toRecords(steps);
          const horizon = horizonOf(records);
          const reference = ReferenceModel.run(records, horizon);
          const expected = reference.map(canonical).sort();
          const options = { controlPartitions, dataPartitions, reorderMs, tickMs, horizon, crashRate, outageMs, controlTurns };
          const unbounded = simulateOrderedMerger(records, { ...options, random: mulberry32(seed) });
          const bounded = simulateOrderedMerger(records, { ...options, random: mulberry32(seed), maxHeldInbound });
          expect(unbounded.outputs.map(canonical).sort()).toEqual(expected);
          expect(bounded.outputs.map(canonical).sort()).toEqual(expected);
          expect(mergedByPerson(bounded.outputs)).toEqual(mergedByPerson(reference));
          // Over the bound only while something held waits for a clock: items above the inbound
          // frontier were received within L of the highest read, and one batch more is read.
          const within = eventsWithin(records, reorderMs);
          expect(bounded.maxHeld).toBeLessThanOrEqual(Math.max(maxHeldInbound, within) + bounded.maxBatch);
          if (within <= maxHeldInbound) expect(bounded.maxHeld).toBeLessThanOrEqual(maxHeldInbound + bounded.maxBatch);
          if (bounded.maxHeld > maxHeldInbound + bounded.maxBatch) overBound += 1;
          paused += bounded.pausedReads;
          for (const [run, got] of [
            ['unbounded', unbounded],
            ['bounded', bounded],
          ] as const) {
            held[run].most = Math.max(held[run].most, got.maxHeld);
            held[run].sum += got.maxHeld;
            heldCommands = Math.max(heldCommands, got.maxHeldCommands);
          }
        },
      ),
      { numRuns: runs },
    );
    const mean = (run: keyof typeof held) => (held[run].sum / runs).toFixed(1);
    process.stdout.write(
      `bounded hold: ${runs} cases, ${paused} paused inbound reads; inbound items held at most, unbounded: ${held.unbounded.most} (mean of cases ${mean('unbounded')}), bounded: ${held.bounded.most} (mean ${mean('bounded')}); over bound + batch in ${overBound} cases; at most ${heldCommands} commands held\n`,
    );
    expect(paused).toBeGreaterThan(0);
  });
});
