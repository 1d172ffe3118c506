/**
 * The order stage's hold on one partition of the person-order topic (docs/design-person-operations.md,
 * "One order per person"). The data planes decide a person's merged events on several partitions
 * (one per anonymous id, one for the person's own events) and the control plane decides its
 * deletions' tombstones; each sends them here, keyed by person, with their place in the reference
 * model's order. A data partition also sends its clock: every merged event it decided at or before
 * that point, for a workspace of control partition c, is before the clock in each partition here.
 *
 * The hold releases, per control partition c, every held output at or before the lowest clock of
 * every data partition (the *release point*), in `(at, record id, content, source, index)` order: so each
 * person's merged events leave in the model's order, however the partitions interleaved. A
 * deletion's tombstone is sent by the control plane in the transaction that sends, to the data
 * partitions, the clock that lets them pass it; their clocks here come after it, so it is held
 * before they can release anything after it.
 *
 * Bounded: past `maxHeld` outputs the hold keeps those of the earliest received_at and drops the
 * rest — and every output it reads at or above that cutoff — keeping only the cutoff and where to
 * read again from. It reads on for the clocks, releases what they pass below the cutoff, and once
 * it has room reads the log again from the first dropped; the cutoff goes on holding back the
 * release until that reading has passed where the drops were. A data partition that stops (an
 * outage, a rebalance) made every other partition's merged events wait in memory without end; now
 * they wait in the log. The release order is the same: nothing at or above the cutoff is released
 * before it is read again.
 *
 * Pure: the stage keeps the buffer between batches. A restart reads again from the first held
 * output or the record that set a data partition's clock, whichever is first — so it finds the
 * clocks it had, even of a data partition that sends no more (found by the model-based test) —
 * and skips what was released before it (`published`, committed with the position).
 */
import type { Clocks } from '../ordered/dataBuffer';
import type { OrderedOutput, OrderEntry, OrderPlace } from './orderRecords';

export interface HeldOutput {
  readonly offset: number;
  readonly output: OrderedOutput;
}

/** What the hold dropped at its bound, to be read again. */
export interface DroppedOutputs {
  /** Where to read again from: the first offset of an output dropped since the last reading again began (Infinity: none). */
  readonly from: number;
  /** Outputs read with a received_at at or above this are dropped (Infinity while reading again, until the bound is met again). */
  readonly loadCutoff: number;
  /** Nothing at or above this is released: some of it waits in the log. */
  readonly releaseCutoff: number;
  /** Reading again: records before this offset were read before; past it, the release cutoff becomes the load cutoff. */
  readonly until: number | null;
}

export interface OrderBuffer {
  /** In the order read. */
  readonly held: readonly HeldOutput[];
  /** Dropped at the bound since the last read-again (null: none). */
  readonly dropped: DroppedOutputs | null;
  /** Per data partition, its points as last read (each only moves forward). */
  readonly clocks: ReadonlyMap<number, Clocks>;
  /** Per data partition, the offset of the last clock record that moved its points. */
  readonly clockOffsets: ReadonlyMap<number, number>;
}

export interface OrderLogEntry {
  readonly offset: number;
  readonly entry: OrderEntry;
}

export interface OrderRelease {
  readonly buffer: OrderBuffer;
  /** In the model's order; outputs read again after a restart and released before it left out. */
  readonly ready: HeldOutput[];
  /** Outputs read again after a restart that were released before it. */
  readonly skipped: number;
  /**
   * Outputs read for the first time at or below a point already released: released at once, out
   * of order rather than lost. It takes a data partition the stage did not count yet (inbound
   * partitions added: the stage learns their number at its next metadata refresh).
   */
  readonly late: HeldOutput[];
  /** Per control partition, up to where everything is released once `ready` is sent (never lower than `published`). */
  readonly published: Clocks;
  /** Outputs read and dropped at the bound (read again later). */
  readonly dropped: number;
  /** The hold has room again for what it dropped: the stage reads the log again from this offset. */
  readonly readAgainFrom: number | null;
}

export function emptyOrderBuffer(): OrderBuffer {
  return { held: [], dropped: null, clocks: new Map(), clockOffsets: new Map() };
}

export function comparePlaces(a: OrderPlace, b: OrderPlace): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.recordId !== b.recordId) return a.recordId < b.recordId ? -1 : 1;
  if (a.content !== b.content) return a.content < b.content ? -1 : 1;
  if (a.source !== b.source) return a.source - b.source;
  return a.index - b.index;
}

/** The release point of control partition `control`: the lowest clock of data partitions 0 … `sources` − 1 (−∞ while one has sent none). */
export function orderReleasePoint(clocks: ReadonlyMap<number, Clocks>, control: number, sources: number): number {
  let lowest = Number.POSITIVE_INFINITY;
  for (let source = 0; source < sources; source += 1) lowest = Math.min(lowest, clocks.get(source)?.get(control) ?? Number.NEGATIVE_INFINITY);
  return sources > 0 ? lowest : Number.NEGATIVE_INFINITY;
}

/**
 * Adds what was read (in log order) and releases every held output its control partition's release
 * point has passed. `sources`: the data partitions (the inbound topic's partition count);
 * `published`: per control partition, up to where outputs were released in committed transactions;
 * `readBefore`: records before this offset were read before (before a restart, or before the hold
 * read again what it dropped): an output among them at or below `published` was released then.
 * `maxHeld`: the bound, past which outputs read are dropped and read again later.
 */
export function releaseOrdered(buffer: OrderBuffer, read: readonly OrderLogEntry[], sources: number, published: Clocks, readBefore = 0, maxHeld = Number.POSITIVE_INFINITY): OrderRelease {
  let clocks = buffer.clocks;
  let clockOffsets = buffer.clockOffsets;
  const held: HeldOutput[] = [...buffer.held];
  const was = buffer.dropped ?? { from: Number.POSITIVE_INFINITY, loadCutoff: Number.POSITIVE_INFINITY, releaseCutoff: Number.POSITIVE_INFINITY, until: null };
  let { from, loadCutoff, releaseCutoff } = was;
  let until = was.until;
  let droppedNow = 0;
  /** Offsets held now: what is read again and is held already is not held twice. */
  let heldOffsets: Set<number> | null = null;
  let nextOffset = -1;
  for (const { offset, entry } of read) {
    nextOffset = offset + 1;
    if (entry.kind === 'output') {
      const { output } = entry;
      // One at or below `published` is released (or skipped) at once below: never dropped.
      if (output.at > (published.get(output.controlPartition) ?? Number.NEGATIVE_INFINITY)) {
        if (output.at >= loadCutoff) {
          droppedNow += 1;
          if (offset < from) from = offset;
          continue;
        }
        if (offset < readBefore && (heldOffsets ??= new Set(buffer.held.map((h) => h.offset))).has(offset)) continue;
      }
      held.push({ offset, output });
      continue;
    }
    const before = clocks.get(entry.source);
    let moved: Map<number, number> | null = null;
    for (const [control, point] of entry.points) {
      if (point > (before?.get(control) ?? Number.NEGATIVE_INFINITY)) (moved ??= new Map(before)).set(control, point);
    }
    if (moved) {
      clocks = new Map(clocks).set(entry.source, moved);
      clockOffsets = new Map(clockOffsets).set(entry.source, offset);
    } else if (before && [...before].every(([control, point]) => (entry.points.get(control) ?? Number.NEGATIVE_INFINITY) >= point)) {
      // The same points sent again (a quiet data partition does, every IDLE_COMMIT_MS): this record
      // is in force now, so a restart need not read from the older one — the position moves on.
      clockOffsets = new Map(clockOffsets).set(entry.source, offset);
    }
  }
  // Read again past where the drops were: everything dropped before is held or dropped again.
  if (until !== null && nextOffset >= until) {
    releaseCutoff = loadCutoff;
    until = null;
  }
  const points = new Map<number, number>();
  const pointOf = (control: number) => {
    let point = points.get(control);
    if (point === undefined) points.set(control, (point = orderReleasePoint(clocks, control, sources)));
    return point;
  };
  const ready: HeldOutput[] = [];
  let kept: HeldOutput[] = [];
  const late: HeldOutput[] = [];
  let skipped = 0;
  for (const entry of held) {
    const { output } = entry;
    const releasedUpTo = published.get(output.controlPartition) ?? Number.NEGATIVE_INFINITY;
    if (output.at <= releasedUpTo && entry.offset < readBefore) skipped += 1;
    else if (output.at <= releasedUpTo) {
      late.push(entry);
      ready.push(entry);
    } else if (output.at > pointOf(output.controlPartition) || output.at >= releaseCutoff) kept.push(entry);
    else ready.push(entry);
  }
  ready.sort((a, b) => comparePlaces(a.output, b.output));
  const next = new Map(published);
  for (const [control, point] of points) {
    // Nothing at or above the release cutoff was released: some of it waits in the log
    // (received_at is in whole milliseconds).
    const upTo = Math.min(point, releaseCutoff - 1);
    if (upTo > (next.get(control) ?? Number.NEGATIVE_INFINITY)) next.set(control, upTo);
  }
  // Over the bound: the latest received_at go back to the log. The cutoff keeps at least every
  // output of the earliest received_at (ties are never split), so the hold always has something
  // the clocks will release, and what it keeps is before everything it dropped.
  if (kept.length > maxHeld) {
    const ats = kept.map(({ output }) => output.at).sort((x, y) => x - y);
    let cut = ats[Math.floor(maxHeld)] as number;
    if (cut === ats[0]) cut = ats.find((at) => at > cut) ?? Number.POSITIVE_INFINITY;
    if (cut < loadCutoff) {
      loadCutoff = cut;
      releaseCutoff = Math.min(releaseCutoff, cut);
      const evicted = kept.filter(({ output }) => output.at >= cut);
      kept = kept.filter(({ output }) => output.at < cut);
      droppedNow += evicted.length;
      for (const { offset } of evicted) if (offset < from) from = offset;
    }
  }
  // Room again (half the bound, so that it does not read again at every batch): read again from
  // the first dropped, loading everything up to the bound; the release cutoff stays until that
  // reading has passed where it stands now.
  let readAgainFrom: number | null = null;
  if (until === null && Number.isFinite(from) && kept.length <= maxHeld / 2) {
    readAgainFrom = from;
    until = Math.max(readBefore, nextOffset);
    from = Number.POSITIVE_INFINITY;
    loadCutoff = Number.POSITIVE_INFINITY;
  }
  const done = until === null && !Number.isFinite(from) && !Number.isFinite(releaseCutoff);
  const dropped = done ? null : { from, loadCutoff, releaseCutoff, until };
  return { buffer: { held: kept, dropped, clocks, clockOffsets }, ready, skipped, late, published: next, dropped: droppedNow, readAgainFrom };
}

/**
 * What the hold waits for: per data partition behind, the received_at its clock must reach for
 * the oldest held output of some control partition to be released.
 */
export function clocksAwaited(buffer: OrderBuffer, sources: number): Map<number, number> {
  const oldest = new Map<number, number>();
  for (const { output } of buffer.held) if (output.at < (oldest.get(output.controlPartition) ?? Number.POSITIVE_INFINITY)) oldest.set(output.controlPartition, output.at);
  const awaited = new Map<number, number>();
  for (const [control, at] of oldest) {
    for (let source = 0; source < sources; source += 1) {
      if ((buffer.clocks.get(source)?.get(control) ?? Number.NEGATIVE_INFINITY) < at && at < (awaited.get(source) ?? Number.POSITIVE_INFINITY)) awaited.set(source, at);
    }
  }
  return awaited;
}

/** Where a restart reads again from: the first output still held or dropped, or clock record in force, or the next offset. */
export function committableOrderOffset(buffer: OrderBuffer, next: number): number {
  let first = Math.min(next, buffer.dropped?.from ?? next);
  // Reading again: what is still ahead of it was dropped, and is read after a restart from `next`.
  for (const entry of buffer.held) if (entry.offset < first) first = entry.offset;
  for (const offset of buffer.clockOffsets.values()) if (offset < first) first = offset;
  return first;
}
