/**
 * The data consumer's hold on its partition's records (docs/design-person-operations.md): an
 * event or a command of workspace W waits until the clock of W's control partition, read in this
 * same log, has passed its received_at; then it goes out in (received_at, id) order with the
 * others released, so each entity applies its items in the reference model's order.
 *
 * A clock record says that every command it covers is before it in the log, and (by the reorder
 * bound) every event too. An item read after a clock that already passed it is *late* (its
 * ingest stalled past the bound): it is applied as if received just after that clock — the
 * clocks read before it in the log, so a replay treats it the same — which is after everything
 * the clock released.
 *
 * Pure: the consumer keeps the buffer between batches; a restart reads again from the first held
 * record, with the clocks read before it (`committablePosition`), which the commit stores.
 */
import type { InboundRecord } from '../../shared/model/inbound';
import { commandOf } from './commandRecords';
import { compareItems, type DataItem } from './dataPlane';

/** Clock per control partition; replaced, never changed, when a clock record moves one. */
export type Clocks = ReadonlyMap<number, number>;

export interface HeldItem {
  readonly offset: number;
  readonly workspace: string;
  /** As read; a late one with its received_at moved to just after the clock it was read under. */
  readonly item: DataItem;
  /** The clocks read before it in the log. */
  readonly clocksBefore: Clocks;
  readonly lateFrom: number | null;
}

export interface DataBuffer {
  readonly held: readonly HeldItem[];
  readonly clocks: Clocks;
}

export function emptyDataBuffer(clocks: Clocks = new Map()): DataBuffer {
  return { held: [], clocks };
}

export interface DataRelease {
  readonly buffer: DataBuffer;
  /** In (received_at, id) order. */
  readonly ready: HeldItem[];
  /** Records this plane does not apply (ticks, and person operations written here by an older ingest). */
  readonly other: Array<{ readonly offset: number; readonly record: InboundRecord }>;
}

const clockOf = (clocks: Clocks, controlPartition: number) => clocks.get(controlPartition) ?? Number.NEGATIVE_INFINITY;

function withReceivedAt(item: DataItem, at: number): DataItem {
  return item.kind === 'event' ? { kind: 'event', record: { ...item.record, received_at: at } } : { kind: 'command', command: { ...item.command, at } };
}

/**
 * Adds what was read (in log order) and releases every held item whose workspace's control
 * clock has passed it. `controlPartitionOf` names the person-ops partition of a workspace.
 */
export function releaseData(buffer: DataBuffer, read: ReadonlyArray<{ readonly offset: number; readonly record: InboundRecord }>, controlPartitionOf: (workspace: string) => number): DataRelease {
  let clocks = buffer.clocks;
  const held: HeldItem[] = [...buffer.held];
  const other: DataRelease['other'] = [];
  for (const { offset, record } of read) {
    const { command } = record;
    if (command.kind === 'clock') {
      const partition = command.body.control_partition;
      if (record.received_at > clockOf(clocks, partition)) clocks = new Map(clocks).set(partition, record.received_at);
      continue;
    }
    const dataCommand = commandOf(record);
    if (command.kind !== 'track' && !dataCommand) {
      other.push({ offset, record });
      continue;
    }
    const item: DataItem = dataCommand ? { kind: 'command', command: dataCommand } : { kind: 'event', record };
    const passed = clockOf(clocks, controlPartitionOf(record.workspace_id));
    if (record.received_at <= passed) held.push({ offset, workspace: record.workspace_id, item: withReceivedAt(item, passed + 1), clocksBefore: clocks, lateFrom: record.received_at });
    else held.push({ offset, workspace: record.workspace_id, item, clocksBefore: clocks, lateFrom: null });
  }
  const isReady = (entry: HeldItem) => itemAt(entry.item) <= clockOf(clocks, controlPartitionOf(entry.workspace));
  const ready = held.filter(isReady).sort((a, b) => compareItems(a.item, b.item));
  return { buffer: { held: held.filter((entry) => !isReady(entry)), clocks }, ready, other };
}

function itemAt(item: DataItem): number {
  return item.kind === 'event' ? item.record.received_at : item.command.at;
}

/**
 * Where a restart reads again from once the released items are applied: the first item still
 * held, with the clocks read before it; or, when none is held, the next offset with every clock.
 */
export function committableDataPosition(buffer: DataBuffer, nextToRead: number): { readonly offset: number; readonly clocks: Clocks } {
  let first: HeldItem | null = null;
  for (const entry of buffer.held) if (!first || entry.offset < first.offset) first = entry;
  return first ? { offset: first.offset, clocks: first.clocksBefore } : { offset: nextToRead, clocks: buffer.clocks };
}
