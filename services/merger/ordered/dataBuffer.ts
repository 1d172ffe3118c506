/**
 * The data consumer's hold on one partition (docs/design-person-operations.md). It reads two
 * logs of the same partition number: the inbound log (events, ticks) and the commands log (the
 * control plane's binding changes for the ids keyed to this partition, and its clocks).
 *
 * An item — an event or a command of workspace W — is released once both of these have passed
 * its received_at (its *release point*, per W):
 *   - W's control clock, read in the commands log: every command received at or before it is
 *     before the clock record there (the control plane writes them in one transaction, first);
 *   - the inbound frontier, the highest received_at read in the inbound log minus the reorder
 *     bound L: ingest appends a record less than L after stamping it, so every event at or before
 *     the frontier has been read.
 * Released items go out in (received_at, id) order, so each entity applies its items in the
 * reference model's order, whatever the interleaving of the two logs' reads.
 *
 * Because commands come in their own log, the inbound log can be read only as far as the control
 * plane has decided: after an outage, a backlog is held up to the commands' clock, not whole
 * (the consumer stops reading inbound while `held` is over its bound, and reads commands).
 *
 * An inbound item read at or below the frontier is *late* (its ingest stalled past L): it is
 * applied as if received just after that frontier — a function of the inbound log before it, so a
 * replay treats it the same — which is after everything released so far.
 *
 * Pure: the consumer keeps the buffer between batches; a restart reads each log again from its
 * first held item, with what was read before it (`committableDataPositions`), which the commit
 * stores.
 */
import type { InboundRecord } from '../../shared/model/inbound';
import { commandOf } from './commandRecords';
import { compareItems, type DataItem } from './dataPlane';

/** Clock per control partition; replaced, never changed, when a clock record moves one. */
export type Clocks = ReadonlyMap<number, number>;

export type DataLog = 'inbound' | 'commands';

export interface HeldItem {
  readonly log: DataLog;
  readonly offset: number;
  readonly workspace: string;
  /** As read; a late one with its received_at moved to just after the frontier it was read under. */
  readonly item: DataItem;
  /** The item's received_at (the moved one for a late item): what the hold compares. */
  readonly at: number;
  /** Inbound items: the highest received_at read before it in the inbound log. */
  readonly highestBefore: number;
  /** Commands: the clocks read before it in the commands log. */
  readonly clocksBefore: Clocks;
  readonly lateFrom: number | null;
}

/**
 * The held items of one log and one workspace, sorted by `at`: they share a release point, so a
 * release takes a prefix, and what waits for a clock or the frontier is found by a binary search.
 * Never changed once built (a batch whose transaction fails is processed again on the old buffer).
 *
 * Before, the hold was one list scanned whole several times per batch; while the control plane
 * ran ahead of a backlog, a partition held ~8,000 commands waiting for the inbound frontier, and
 * the scans took 10 % of the merger's CPU at a million records.
 */
interface HeldGroup {
  readonly log: DataLog;
  readonly workspace: string;
  readonly items: readonly HeldItem[];
  /** The highest `at` ever added to the group (while it held something). */
  readonly maxAt: number;
  /**
   * Every item was added with `at` above `maxAt` − L at the time: then an item read after another
   * is received less than L before it, so the first item read among those held (the lowest
   * offset) is among the first by `at` (see firstRead). Always so in inbound (a late item is moved
   * to just after the frontier); checked for commands, with a full scan when it does not hold.
   */
  readonly withinL: boolean;
}

export interface DataBuffer {
  /** Per log and workspace (`groupKey`): what is held. */
  readonly groups: ReadonlyMap<string, HeldGroup>;
  /** From the commands log. */
  readonly clocks: Clocks;
  /** The highest received_at read in the inbound log (events, ticks, anything stamped). */
  readonly highest: number;
}

export interface LogEntry {
  readonly offset: number;
  readonly record: InboundRecord;
}

export function emptyDataBuffer(clocks: Clocks = new Map(), highest = Number.NEGATIVE_INFINITY): DataBuffer {
  return { groups: new Map(), clocks, highest };
}

export interface DataRelease {
  readonly buffer: DataBuffer;
  /** In (received_at, id) order. */
  readonly ready: HeldItem[];
  /** Inbound records this plane does not apply (ticks, and person operations written there by an older ingest). */
  readonly other: LogEntry[];
  /** Records in a log where they do not belong (a command in inbound, an event in commands): skipped. */
  readonly misplaced: LogEntry[];
}

/** The clocks of an inbound item (none: it is placed by the inbound log alone), shared. */
const NO_CLOCKS: Clocks = new Map();

const clockOf = (clocks: Clocks, controlPartition: number) => clocks.get(controlPartition) ?? Number.NEGATIVE_INFINITY;

/** A workspace id holds no control character (ingest refuses them): \u0000 separates. */
const groupKey = (log: DataLog, workspace: string) => (log === 'inbound' ? `i\u0000${workspace}` : `c\u0000${workspace}`);

/** Up to where the workspace of control partition `controlPartition` can be applied. */
export function releasePoint(buffer: Pick<DataBuffer, 'clocks' | 'highest'>, controlPartition: number, reorderMs: number): number {
  return Math.min(clockOf(buffer.clocks, controlPartition), buffer.highest - reorderMs);
}

function withReceivedAt(item: DataItem, at: number): DataItem {
  return item.kind === 'event' ? { kind: 'event', record: { ...item.record, received_at: at } } : { kind: 'command', command: { ...item.command, at } };
}

/** The index of the first item with `at` above `time` (items sorted by at). */
function firstAfter(items: readonly HeldItem[], time: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((items[mid] as HeldItem).at <= time) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The items sorted by at, with `added` (in log order) put in place: appended, in the usual case of items read in received_at order. */
function withAdded(items: readonly HeldItem[], added: readonly HeldItem[]): HeldItem[] {
  const next = items.slice();
  for (const item of added) {
    if (next.length === 0 || (next[next.length - 1] as HeldItem).at <= item.at) next.push(item);
    else next.splice(firstAfter(next, item.at), 0, item);
  }
  return next;
}

/**
 * Adds what was read from each log (each in log order; either may be empty) and releases every
 * held item whose release point has passed it. `controlPartitionOf` names a workspace's
 * person-ops partition; `reorderMs` is L.
 */
export function releaseData(
  buffer: DataBuffer,
  read: { readonly inbound?: readonly LogEntry[]; readonly commands?: readonly LogEntry[] },
  controlPartitionOf: (workspace: string) => number,
  reorderMs: number,
): DataRelease {
  let { clocks, highest } = buffer;
  const added = new Map<string, HeldItem[]>();
  const add = (held: HeldItem) => {
    const key = groupKey(held.log, held.workspace);
    const list = added.get(key);
    if (list) list.push(held);
    else added.set(key, [held]);
  };
  const other: LogEntry[] = [];
  const misplaced: LogEntry[] = [];
  for (const entry of read.commands ?? []) {
    const { record, offset } = entry;
    if (record.command.kind === 'clock') {
      const partition = record.command.body.control_partition;
      if (record.received_at > clockOf(clocks, partition)) clocks = new Map(clocks).set(partition, record.received_at);
      continue;
    }
    const command = commandOf(record);
    if (!command) {
      misplaced.push(entry);
      continue;
    }
    add({ log: 'commands', offset, workspace: record.workspace_id, item: { kind: 'command', command }, at: command.at, highestBefore: Number.NEGATIVE_INFINITY, clocksBefore: clocks, lateFrom: null });
  }
  for (const entry of read.inbound ?? []) {
    const { record, offset } = entry;
    const highestBefore = highest;
    if (record.received_at > highest) highest = record.received_at;
    if (record.command.kind === 'binding' || record.command.kind === 'clock') {
      misplaced.push(entry);
      continue;
    }
    if (record.command.kind !== 'track') {
      other.push(entry);
      continue;
    }
    const item: DataItem = { kind: 'event', record };
    const frontier = highestBefore - reorderMs;
    if (record.received_at <= frontier) add({ log: 'inbound', offset, workspace: record.workspace_id, item: withReceivedAt(item, frontier + 1), at: frontier + 1, highestBefore, clocksBefore: NO_CLOCKS, lateFrom: record.received_at });
    else add({ log: 'inbound', offset, workspace: record.workspace_id, item, at: record.received_at, highestBefore, clocksBefore: NO_CLOCKS, lateFrom: null });
  }
  const next = { clocks, highest };
  const groups = new Map(buffer.groups);
  for (const [key, items] of added) {
    const group = groups.get(key);
    const first = items[0] as HeldItem;
    let { maxAt, withinL } = group ?? { maxAt: Number.NEGATIVE_INFINITY, withinL: true };
    for (const item of items) {
      if (item.at <= maxAt - reorderMs) withinL = false;
      if (item.at > maxAt) maxAt = item.at;
    }
    groups.set(key, { log: first.log, workspace: first.workspace, items: withAdded(group?.items ?? [], items), maxAt, withinL });
  }
  // Every group whose release point has passed its first item gives up a prefix.
  const ready: HeldItem[] = [];
  for (const [key, group] of groups) {
    const point = releasePoint(next, controlPartitionOf(group.workspace), reorderMs);
    if ((group.items[0] as HeldItem).at > point) continue;
    const cut = firstAfter(group.items, point);
    for (let i = 0; i < cut; i += 1) ready.push(group.items[i] as HeldItem);
    if (cut === group.items.length) groups.delete(key);
    else groups.set(key, { ...group, items: group.items.slice(cut) });
  }
  ready.sort((a, b) => compareItems(a.item, b.item));
  return { buffer: { groups, clocks, highest }, ready, other, misplaced };
}

/** Everything held, group by group (each by received_at): for tests and diagnostics. */
export function heldItems(buffer: DataBuffer): HeldItem[] {
  return [...buffer.groups.values()].flatMap((group) => group.items);
}

/** The held item of the group read first (lowest offset). */
function firstRead(group: HeldGroup, reorderMs: number): HeldItem {
  const { items } = group;
  // Items read after the first-read one are received less than L before it: it is among those within L of the earliest.
  const end = group.withinL ? firstAfter(items, (items[0] as HeldItem).at + reorderMs) : items.length;
  let first = items[0] as HeldItem;
  for (let i = 1; i < end; i += 1) if ((items[i] as HeldItem).offset < first.offset) first = items[i] as HeldItem;
  return first;
}

export interface DataPositions {
  /** The first inbound record not yet applied, and the highest received_at read before it. */
  readonly inbound: { readonly offset: number; readonly highest: number };
  /** The first command not yet applied, and the clocks read before it. */
  readonly commands: { readonly offset: number; readonly clocks: Clocks };
}

/**
 * Where a restart reads each log again from once the released items are applied: its first item
 * still held, with what was read before it; or, when it holds none, the next offset with all.
 */
export function committableDataPositions(buffer: DataBuffer, next: { readonly inbound: number; readonly commands: number }, reorderMs: number): DataPositions {
  let firstInbound: HeldItem | null = null;
  let firstCommand: HeldItem | null = null;
  for (const group of buffer.groups.values()) {
    const first = firstRead(group, reorderMs);
    if (first.log === 'inbound' && (!firstInbound || first.offset < firstInbound.offset)) firstInbound = first;
    if (first.log === 'commands' && (!firstCommand || first.offset < firstCommand.offset)) firstCommand = first;
  }
  return {
    inbound: firstInbound ? { offset: firstInbound.offset, highest: firstInbound.highestBefore } : { offset: next.inbound, highest: buffer.highest },
    commands: firstCommand ? { offset: firstCommand.offset, clocks: firstCommand.clocksBefore } : { offset: next.commands, clocks: buffer.clocks },
  };
}

/**
 * Whether the consumer should stop reading inbound for now: more than `bound` inbound items are
 * held *and* one of them waits for a control clock only (the frontier has passed it), which
 * reading commands will move. Held items above the frontier wait for the frontier, which only
 * reading inbound moves: pausing on the count alone would stall a partition that receives more
 * than `bound` events within L (found by the model-based test). So the hold stays within
 * max(bound, the events of any L) + one batch.
 */
export function pausesInbound(buffer: DataBuffer, reorderMs: number, bound: number): boolean {
  if (heldInbound(buffer) <= bound) return false;
  const frontier = buffer.highest - reorderMs;
  for (const group of buffer.groups.values()) if (group.log === 'inbound' && (group.items[0] as HeldItem).at <= frontier) return true;
  return false;
}

/**
 * The received_at the inbound log must show for every held item above the frontier to be passed
 * by it (the oldest such item's received_at + L), or null when none waits for the frontier.
 */
export function frontierWaitsUntil(buffer: DataBuffer, reorderMs: number): number | null {
  const frontier = buffer.highest - reorderMs;
  let oldest = Number.POSITIVE_INFINITY;
  for (const group of buffer.groups.values()) {
    const above = group.items[firstAfter(group.items, frontier)];
    if (above && above.at < oldest) oldest = above.at;
  }
  return Number.isFinite(oldest) ? oldest + reorderMs : null;
}

/**
 * Per control partition, the received_at its log must show for this partition to go on (control
 * clocks move only when someone asks: kafka/ticker.ts): the oldest held item the clock has not
 * passed, + L; and the earliest open window of its workspaces that the clock has not passed
 * (`windowEnds`), + 1 + L — a window ends once the release point is past its end.
 */
export function controlClocksAwaited(
  buffer: Pick<DataBuffer, 'groups' | 'clocks'>,
  windowEnds: ReadonlyMap<number, number>,
  controlPartitionOf: (workspace: string) => number,
  reorderMs: number,
): Map<number, number> {
  const awaited = new Map<number, number>();
  const await_ = (control: number, at: number) => {
    if (at < (awaited.get(control) ?? Number.POSITIVE_INFINITY)) awaited.set(control, at);
  };
  for (const group of buffer.groups.values()) {
    const control = controlPartitionOf(group.workspace);
    const above = group.items[firstAfter(group.items, clockOf(buffer.clocks, control))];
    if (above) await_(control, above.at + reorderMs);
  }
  for (const [control, end] of windowEnds) if (end >= clockOf(buffer.clocks, control)) await_(control, end + 1 + reorderMs);
  return awaited;
}

/** How many inbound items are held. */
export function heldInbound(buffer: DataBuffer): number {
  let count = 0;
  for (const group of buffer.groups.values()) if (group.log === 'inbound') count += group.items.length;
  return count;
}

/** How many items are held, of both logs. */
export function heldCount(buffer: DataBuffer): number {
  let count = 0;
  for (const group of buffer.groups.values()) count += group.items.length;
  return count;
}
