/**
 * Turns an anonymous id's stored pending list — pointers into the inbound log, and copies the
 * legacy merger left — into the events a bind merges (docs/design-pending-pointers.md): the
 * pointers a bind can still merge are read back from Kafka (kafka/offsetReader.ts), all of a
 * batch's at once, per partition.
 *
 *   - A pointer received before the bind's retention cutoff is not read: the bind drops it
 *     whatever its body (SPEC R1, R2b). It stays in the list as an unread event, so that if the
 *     bind turns out to be a replay the list is written back as it was.
 *   - A record the log no longer holds is left out, counted, and logged with the id and offsets:
 *     the inbound topic keeps less than the workspace's retention (the merger checks it at start).
 */
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { fromWire, type InboundRecordWire } from '../shared/model/inbound';
import type { PendingEvent } from './model/state';
import type { PendingPointer, StoredPending } from './redis/codec';

export interface PendingToResolve {
  readonly workspace: string;
  readonly anonymousId: string;
  readonly stored: readonly StoredPending[];
  /** Pointers received before this are not read (the bind drops them). */
  readonly cutoff: number;
}

export interface ResolvedPending {
  /** Per request, the events in stored order. */
  readonly events: PendingEvent[][];
  readonly read: number;
  readonly missing: number;
}

/** Reads offsets of one inbound partition: OffsetReader.read, bound to the inbound topic. */
export type ReadOffsets = (partition: number, offsets: readonly number[]) => Promise<{ values: Map<number, Buffer | null>; missing: number[] }>;

const positionOf = (partition: number, offset: number) => `${partition}:${offset}`;

/** An event the bind will drop, kept only to be written back: its body is never used. */
function unread(pointer: PendingPointer): PendingEvent {
  return { id: '', receivedAt: pointer.receivedAt, name: '', type: 'event', timestamp: 0, dataJson: '{}', source: { partition: pointer.partition, offset: pointer.offset } };
}

export async function resolvePending(requests: readonly PendingToResolve[], readOffsets: ReadOffsets, catalog: SchemaCatalog, logger: Logger): Promise<ResolvedPending> {
  const wanted = new Map<number, number[]>();
  for (const request of requests) {
    for (const entry of request.stored) {
      if (entry.kind !== 'pointer' || entry.receivedAt < request.cutoff) continue;
      let offsets = wanted.get(entry.partition);
      if (!offsets) wanted.set(entry.partition, (offsets = []));
      offsets.push(entry.offset);
    }
  }
  const bodies = new Map<string, Buffer | null>();
  const gone = new Set<string>();
  await Promise.all(
    [...wanted].map(async ([partition, offsets]) => {
      const { values, missing } = await readOffsets(partition, offsets);
      for (const [offset, value] of values) bodies.set(positionOf(partition, offset), value);
      for (const offset of missing) gone.add(positionOf(partition, offset));
    }),
  );
  let read = 0;
  let missing = 0;
  const events: PendingEvent[][] = [];
  for (const request of requests) {
    const list: PendingEvent[] = [];
    const lost: string[] = [];
    for (const entry of request.stored) {
      if (entry.kind === 'copy') {
        list.push(entry.event);
        continue;
      }
      if (entry.receivedAt < request.cutoff) {
        list.push(unread(entry));
        continue;
      }
      const position = positionOf(entry.partition, entry.offset);
      const value = bodies.get(position);
      if (gone.has(position) || !value) {
        lost.push(position);
        continue;
      }
      const wire = catalog.decodeIfKnown<InboundRecordWire>('inbound', value);
      const record = fromWire(wire ? wire.value : await catalog.decode<InboundRecordWire>('inbound', value));
      const body = record.command.kind === 'track' ? record.command.body : null;
      // A pointer names the record it was made from; anything else there is a broken state.
      if (!body || body.anonymous_id !== request.anonymousId || record.workspace_id !== request.workspace) {
        throw new Error(`the pending pointer ${position} of ${request.workspace}/${JSON.stringify(request.anonymousId)} names another record (${record.command.kind} of ${record.workspace_id})`);
      }
      read += 1;
      // received_at as applied: a late record was applied with a moved one (ordered/dataBuffer.ts).
      list.push({ id: record.id, receivedAt: entry.receivedAt, name: body.name, type: body.type, timestamp: body.timestamp, dataJson: body.data_json, source: { partition: entry.partition, offset: entry.offset } });
    }
    if (lost.length > 0) {
      missing += lost.length;
      logger.error(
        { workspace: request.workspace, anonymousId: request.anonymousId, positions: lost.slice(0, 20), count: lost.length },
        'pending events gone from the inbound log before their retention ended: merged without them (the inbound topic keeps less than the workspace retention; docs/deployment.md)',
      );
    }
    events.push(list);
  }
  return { events, read, missing };
}
