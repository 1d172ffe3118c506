/**
 * Which Fetches read a set of offsets of one partition: the planning half of the offset reader
 * (kafka/offsetReader.ts), kept free of I/O so that it can be tested alone.
 *
 * A Fetch from offset X returns whole record batches from the one holding X, up to a byte budget
 * (at least one batch whatever the budget). An anonymous id's pending events cluster in time, so
 * the wanted offsets come in runs; each Fetch asks for one run:
 *
 *   - a run is wanted offsets no further apart than `gapBytes` of log between neighbours, and no
 *     longer than `maxBytes` in all; its budget is its length in bytes plus one batch (the Fetch
 *     starts at the batch holding its first offset), by the sizes learnt from earlier answers;
 *   - a lone offset asks for one byte: the broker sends exactly the batch that holds it;
 *   - runs are handed out one at a time to however many Fetches are in flight, never one that
 *     overlaps a Fetch still out; when an answer ends before its run does, the rest of the run is
 *     planned again.
 */

export interface PlannedFetch {
  /** The offset the Fetch starts at. */
  readonly from: number;
  /** The last wanted offset it aims to reach. */
  readonly to: number;
  readonly maxBytes: number;
  /** Indices into the wanted offsets, for settling. */
  readonly first: number;
  readonly last: number;
}

export interface FetchPlanOptions {
  /** The most a Fetch asks for. */
  readonly maxBytes: number;
  /** Wanted offsets further apart than this much log go to separate Fetches. */
  readonly gapBytes: number;
  /** Bytes per record and per batch before any answer told (they are learnt from answers). */
  readonly recordBytesGuess?: number;
  readonly batchBytesGuess?: number;
}

export class FetchPlan {
  private readonly settled: boolean[];
  private readonly inFlight: boolean[];
  private cursor = 0;
  private left: number;
  private recordBytes: number;
  private batchBytes: number;

  /** @param wanted sorted, without repeats */
  constructor(
    readonly wanted: readonly number[],
    private readonly options: FetchPlanOptions,
  ) {
    this.settled = wanted.map(() => false);
    this.inFlight = wanted.map(() => false);
    this.left = wanted.length;
    this.recordBytes = options.recordBytesGuess ?? 300;
    this.batchBytes = options.batchBytesGuess ?? 16 * 1024;
  }

  /** Every wanted offset has been found or judged gone. */
  get done(): boolean {
    return this.left === 0;
  }

  isSettled(index: number): boolean {
    return this.settled[index] === true;
  }

  /** The next run to fetch, or null when every offset not settled is already in flight. */
  next(): PlannedFetch | null {
    while (this.cursor < this.wanted.length && this.settled[this.cursor]) this.cursor += 1;
    let first = this.cursor;
    while (first < this.wanted.length && (this.settled[first] || this.inFlight[first])) first += 1;
    if (first >= this.wanted.length) return null;
    const from = this.wanted[first] as number;
    let last = first;
    for (;;) {
      const next = last + 1;
      if (next >= this.wanted.length || this.settled[next] || this.inFlight[next]) break;
      const offset = this.wanted[next] as number;
      if ((offset - (this.wanted[last] as number)) * this.recordBytes > this.options.gapBytes) break;
      if ((offset - from + 1) * this.recordBytes + this.batchBytes > this.options.maxBytes) break;
      last = next;
    }
    for (let i = first; i <= last; i += 1) this.inFlight[i] = true;
    const to = this.wanted[last] as number;
    const maxBytes = first === last ? 1 : Math.min(this.options.maxBytes, Math.ceil((to - from + 1) * this.recordBytes + this.batchBytes));
    return { from, to, maxBytes, first, last };
  }

  /**
   * An answer to `fetch` covered the log up to `lastOffset`: the wanted offsets up to it are
   * settled (whatever other Fetch still has them in flight), the rest of its run goes back to be
   * planned again. `bytes`, `records` and `batches` are what the answer held, to learn sizes from.
   */
  answered(fetch: PlannedFetch, lastOffset: number, sizes?: { bytes: number; records: number; batches: number }): void {
    for (let i = fetch.first; i <= fetch.last; i += 1) this.inFlight[i] = false;
    for (let i = firstAtLeast(this.wanted, fetch.from); i < this.wanted.length && (this.wanted[i] as number) <= lastOffset; i += 1) {
      if (!this.settled[i]) {
        this.settled[i] = true;
        this.left -= 1;
      }
    }
    if (sizes && sizes.records > 0 && sizes.batches > 0) {
      // Averages over everything seen, weighted towards the latest answers.
      this.recordBytes = Math.max(1, Math.round((this.recordBytes + sizes.bytes / sizes.records) / 2));
      this.batchBytes = Math.max(1, Math.round((this.batchBytes + sizes.bytes / sizes.batches) / 2));
    }
  }

  /** A Fetch that failed: its run is planned again. */
  failed(fetch: PlannedFetch): void {
    for (let i = fetch.first; i <= fetch.last; i += 1) this.inFlight[i] = false;
  }

  /** An offset judged gone on its own (below the log start): settled. */
  gone(index: number): void {
    if (!this.settled[index]) {
      this.settled[index] = true;
      this.left -= 1;
    }
  }
}

/** The index of the first element of sorted `values` at or above `value`. */
export function firstAtLeast(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
