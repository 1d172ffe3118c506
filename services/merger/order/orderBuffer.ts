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

export interface OrderBuffer {
  /** In the order read. */
  readonly held: readonly HeldOutput[];
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
}

export function emptyOrderBuffer(): OrderBuffer {
  return { held: [], clocks: new Map(), clockOffsets: new Map() };
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
 * `readBefore`: records before this offset were read before a restart (an output among them at or
 * below `published` was released then).
 */
export function releaseOrdered(buffer: OrderBuffer, read: readonly OrderLogEntry[], sources: number, published: Clocks, readBefore = 0): OrderRelease {
  let clocks = buffer.clocks;
  let clockOffsets = buffer.clockOffsets;
  const held: HeldOutput[] = [...buffer.held];
  for (const { offset, entry } of read) {
    if (entry.kind === 'output') {
      held.push({ offset, output: entry.output });
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
    }
  }
  const points = new Map<number, number>();
  const pointOf = (control: number) => {
    let point = points.get(control);
    if (point === undefined) points.set(control, (point = orderReleasePoint(clocks, control, sources)));
    return point;
  };
  const ready: HeldOutput[] = [];
  const kept: HeldOutput[] = [];
  const late: HeldOutput[] = [];
  let skipped = 0;
  for (const entry of held) {
    const { output } = entry;
    const releasedUpTo = published.get(output.controlPartition) ?? Number.NEGATIVE_INFINITY;
    if (output.at <= releasedUpTo && entry.offset < readBefore) skipped += 1;
    else if (output.at <= releasedUpTo) {
      late.push(entry);
      ready.push(entry);
    } else if (output.at > pointOf(output.controlPartition)) kept.push(entry);
    else ready.push(entry);
  }
  ready.sort((a, b) => comparePlaces(a.output, b.output));
  const next = new Map(published);
  for (const [control, point] of points) if (point > (next.get(control) ?? Number.NEGATIVE_INFINITY)) next.set(control, point);
  return { buffer: { held: kept, clocks, clockOffsets }, ready, skipped, late, published: next };
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

/** Where a restart reads again from: the first output still held or clock record in force, or the next offset. */
export function committableOrderOffset(buffer: OrderBuffer, next: number): number {
  let first = next;
  for (const entry of buffer.held) if (entry.offset < first) first = entry.offset;
  for (const offset of buffer.clockOffsets.values()) if (offset < first) first = offset;
  return first;
}
