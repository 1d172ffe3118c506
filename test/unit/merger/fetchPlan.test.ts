import { FetchPlan, type PlannedFetch } from '../../../services/merger/kafka/fetchPlan';

const options = { maxBytes: 64 * 1024, gapBytes: 4 * 1024, recordBytesGuess: 100, batchBytesGuess: 1000 };

function drain(plan: FetchPlan): PlannedFetch[] {
  const out: PlannedFetch[] = [];
  for (let fetch = plan.next(); fetch; fetch = plan.next()) out.push(fetch);
  return out;
}

describe('the offset reader fetch plan', () => {
  it('puts nearby offsets in one run and offsets far apart in runs of their own', () => {
    // 40 records apart is 4,000 bytes at 100 a record: one run; 41 apart is not.
    const plan = new FetchPlan([10, 50, 90, 131, 5000], options);
    const fetches = drain(plan);
    expect(fetches.map((f) => [f.from, f.to])).toEqual([
      [10, 90],
      [131, 131],
      [5000, 5000],
    ]);
    // A run asks for its length plus one batch; a lone offset for one byte (exactly its batch).
    expect(fetches.map((f) => f.maxBytes)).toEqual([81 * 100 + 1000, 1, 1]);
  });

  it('splits a long run at the byte budget', () => {
    const wanted = Array.from({ length: 1000 }, (_, i) => i);
    const fetches = drain(new FetchPlan(wanted, options));
    for (const fetch of fetches) expect(fetch.maxBytes).toBeLessThanOrEqual(options.maxBytes);
    expect(fetches.length).toBeGreaterThan(1);
    // Together they cover every offset once.
    expect(fetches.flatMap((f) => wanted.slice(f.first, f.last + 1))).toEqual(wanted);
  });

  it('never hands out an offset already in flight, and plans again what an answer fell short of', () => {
    const plan = new FetchPlan([0, 10, 20, 30], options);
    const first = plan.next() as PlannedFetch;
    expect([first.from, first.to]).toEqual([0, 30]);
    expect(plan.next()).toBeNull();
    // The answer reached offset 15 only: 0 and 10 are settled, 20 and 30 planned again.
    plan.answered(first, 15);
    expect(plan.isSettled(0) && plan.isSettled(1)).toBe(true);
    expect(plan.done).toBe(false);
    const second = plan.next() as PlannedFetch;
    expect([second.from, second.to]).toEqual([20, 30]);
    plan.answered(second, 40);
    expect(plan.done).toBe(true);
    expect(plan.next()).toBeNull();
  });

  it('settles offsets another Fetch still has in flight when an answer covers them', () => {
    const plan = new FetchPlan([0, 10_000, 10_010], options);
    const a = plan.next() as PlannedFetch;
    const b = plan.next() as PlannedFetch;
    expect([a.from, b.from]).toEqual([0, 10_000]);
    // The first answer was long enough to reach the second run.
    plan.answered(a, 20_000);
    expect(plan.done).toBe(true);
    plan.answered(b, 10_010);
    expect(plan.done).toBe(true);
  });

  it('gives a failed Fetch its run back', () => {
    const plan = new FetchPlan([5, 6], options);
    const fetch = plan.next() as PlannedFetch;
    expect(plan.next()).toBeNull();
    plan.failed(fetch);
    expect(plan.next()).toEqual(fetch);
  });

  it('learns record and batch sizes from answers', () => {
    const plan = new FetchPlan([0, 100, 200], { ...options, gapBytes: 6000 });
    // At the guessed 100 bytes a record, offsets 100 apart are too far for one run.
    const lone = plan.next() as PlannedFetch;
    expect([lone.from, lone.to]).toEqual([0, 0]);
    // Records turn out to be 10 bytes (the estimate moves halfway, to 55): the next two fit one run.
    plan.answered(lone, 0, { bytes: 1000, records: 100, batches: 1 });
    const run = plan.next() as PlannedFetch;
    expect([run.from, run.to]).toEqual([100, 200]);
  });
});
