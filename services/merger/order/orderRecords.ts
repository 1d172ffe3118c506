/**
 * The records of the person-order topic (schemas/person-order-record.avsc): a merged event at its
 * place in the model's order, or a data partition's clock. Written by the data and control planes,
 * read by the order stage (order/orderBuffer.ts).
 */
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { EncodedOutput } from '../redis/codec';
import type { Clocks } from '../ordered/dataBuffer';

const OUTPUT = 'dev.anonmerge.order.OrderedOutput';
const CLOCK = 'dev.anonmerge.order.SourceClock';

/** A merged event's place in the order: `(at, recordId, content, source, index)`, the model's order of records first. */
export interface OrderPlace {
  /** The workspace's person-ops partition: the release points it waits for are that partition's. */
  readonly controlPartition: number;
  readonly at: number;
  readonly recordId: string;
  /** The record's content key: two records may share received_at and id (shared/model/recordOrder.ts). */
  readonly content: string;
  readonly index: number;
  /** The data partition, or −1 − p for control partition p. */
  readonly source: number;
}

export interface OrderedOutput extends OrderPlace {
  /** The merged-events key (the person's). */
  readonly key: string;
  /** The merged-events value as it will be sent, or null for a tombstone. */
  readonly value: Buffer | null;
}

export type OrderEntry = { readonly kind: 'output'; readonly output: OrderedOutput } | { readonly kind: 'clock'; readonly source: number; readonly points: Clocks };

interface Wire {
  readonly entry: Record<string, Record<string, unknown>>;
}

/** The control plane's source number for its partition p. */
export const controlSource = (controlPartition: number) => -1 - controlPartition;

/** A merged-events output, sent through the person-order topic under the same key. */
export function orderedOutputRecord(catalog: SchemaCatalog, output: EncodedOutput, place: OrderPlace): EncodedOutput {
  const wire: Wire = {
    entry: { [OUTPUT]: { control_partition: place.controlPartition, at: place.at, record_id: place.recordId, content: place.content, index: place.index, source: place.source, value: output.value } },
  };
  return { stream: 'personOrder', key: output.key, value: catalog.encode('personOrder', wire) };
}

/** A data partition's published points, to one partition of the person-order topic. */
export function sourceClockRecord(catalog: SchemaCatalog, source: number, points: Clocks, partition: number): EncodedOutput {
  const finite = [...points].filter(([, point]) => Number.isFinite(point)).map(([control, point]) => [String(control), point]);
  const wire: Wire = { entry: { [CLOCK]: { source, points: Object.fromEntries(finite) } } };
  return { stream: 'personOrder', key: `clock/${source}`, value: catalog.encode('personOrder', wire), partition };
}

/** Decodes one record of the topic; throws on one that is not a person-order record. */
export async function decodeOrderEntry(catalog: SchemaCatalog, key: Buffer | null, value: Buffer | null): Promise<OrderEntry> {
  if (value === null) throw new Error('a person-order record has no value');
  const known = catalog.decodeIfKnown<Wire>('personOrder', value);
  const wire = known ? known.value : await catalog.decode<Wire>('personOrder', value);
  const [branch, body] = Object.entries(wire.entry)[0] ?? [];
  if (branch === OUTPUT && body) {
    if (key === null) throw new Error('an ordered output has no key');
    return {
      kind: 'output',
      output: { controlPartition: body.control_partition as number, at: body.at as number, recordId: body.record_id as string, content: body.content as string, index: body.index as number, source: body.source as number, key: key.toString(), value: (body.value as Buffer | null) ?? null },
    };
  }
  if (branch === CLOCK && body) {
    const points = new Map(Object.entries(body.points as Record<string, number>).map(([control, point]) => [Number(control), point]));
    return { kind: 'clock', source: body.source as number, points };
  }
  throw new Error(`unknown person-order branch ${String(branch)}`);
}
