/**
 * The records of the person-order topic (schemas/person-order-record.avsc): merged events at their
 * place in the model's order — one per record (the control plane's tombstones) or a data step's
 * several for one partition (OrderedOutputs) — or a data partition's clock. Written by the data
 * and control planes, read by the order stage (order/orderBuffer.ts, order/recordPositions.ts).
 */
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { EncodedOutput } from '../redis/codec';
import type { Clocks } from '../ordered/dataBuffer';
import { keyPartition } from '../../shared/kafka/keyPartition';

const OUTPUT = 'dev.anonmerge.order.OrderedOutput';
const CLOCK = 'dev.anonmerge.order.SourceClock';
const OUTPUTS = 'dev.anonmerge.order.OrderedOutputs';

/** A merged event's place in the order, compared as `(at, recordId, content, source, index)`: the model's order of records first. */
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
  /** The merged-events values as they will be sent, in order (null: a tombstone). */
  readonly values: ReadonlyArray<Buffer | null>;
}

export type OrderEntry = { readonly kind: 'output'; readonly output: OrderedOutput } | { readonly kind: 'clock'; readonly source: number; readonly points: Clocks };

interface Wire {
  readonly entry: Record<string, Record<string, unknown>>;
}

/** The control plane's source number for its partition p. */
export const controlSource = (controlPartition: number) => -1 - controlPartition;

/** An OrderedOutput as the schema's record (its key travels beside it). */
const outputWire = (output: OrderedOutput) => ({
  control_partition: output.controlPartition,
  at: output.at,
  record_id: output.recordId,
  content: output.content,
  index: output.index,
  source: output.source,
  values: output.values,
});

/**
 * An ordered output as a record of its own under its key: how the control plane sends a
 * deletion's tombstone (a data step sends all of its outputs for a partition together:
 * orderedOutputsRecords).
 */
function orderedOutputRecord(catalog: SchemaCatalog, output: OrderedOutput): EncodedOutput {
  const wire: Wire = { entry: { [OUTPUT]: outputWire(output) } };
  return { stream: 'personOrder', key: output.key, value: catalog.encode('personOrder', wire) };
}

/** An item's outputs, in order: each other output alone, each run of consecutive merged events of one key together (with the index of its first). */
export type RoutedPart<T> = { readonly kind: 'other'; readonly output: T } | { readonly kind: 'merged'; readonly index: number; readonly outputs: T[] };

/** Where the run of one key's merged events that starts at `start` ends (the index after its last). */
function runEnd<T extends { readonly stream: string; readonly key: string }>(outputs: readonly T[], start: number): number {
  const { key } = outputs[start] as T;
  let end = start + 1;
  while (end < outputs.length && (outputs[end] as T).stream === 'mergedEvents' && (outputs[end] as T).key === key) end += 1;
  return end;
}

export function mergedEventRuns<T extends { readonly stream: string; readonly key: string }>(outputs: readonly T[]): Array<RoutedPart<T>> {
  const parts: Array<RoutedPart<T>> = [];
  for (let i = 0; i < outputs.length; ) {
    const first = outputs[i] as T;
    if (first.stream !== 'mergedEvents') {
      parts.push({ kind: 'other', output: first });
      i += 1;
      continue;
    }
    const end = runEnd(outputs, i);
    parts.push({ kind: 'merged', index: i, outputs: outputs.slice(i, end) });
    i = end;
  }
  return parts;
}

/**
 * Bytes of merged events one person-order record carries at most. Kafka refuses a record above
 * its message.max.bytes (1 MiB by default): an identify merging a backlog of a few megabytes,
 * sent as one record, failed its transaction on every attempt and stopped its partition.
 */
export const ORDER_RECORD_BYTES = 256 * 1024;

/** A run's outputs in consecutive pieces of at most `limit` bytes of values (at least one output each), with the index of each piece's first. */
export function piecesOfRun<T extends { readonly value: Buffer | null }>(outputs: readonly T[], index: number, limit: number): Array<{ readonly index: number; readonly outputs: T[] }> {
  const pieces: Array<{ index: number; outputs: T[] }> = [];
  let bytes = 0;
  outputs.forEach((output, i) => {
    const size = output.value?.length ?? 0;
    const last = pieces[pieces.length - 1];
    if (last && bytes + size <= limit) {
      last.outputs.push(output);
      bytes += size;
      return;
    }
    pieces.push({ index: index + i, outputs: [output] });
    bytes = size;
  });
  return pieces;
}

/**
 * A run of one key's merged events at an item's place, as OrderedOutput: in pieces of at most
 * ORDER_RECORD_BYTES. Nearly every run fits in one, built directly (this runs for every item with
 * merged events; the general split cost ~2 % of the merger's CPU).
 */
function orderedPieces(run: readonly EncodedOutput[], index: number, place: Omit<OrderPlace, 'index'>): OrderedOutput[] {
  const key = (run[0] as EncodedOutput).key;
  let bytes = 0;
  for (const output of run) bytes += output.value?.length ?? 0;
  const piece = (at: number, outputs: readonly EncodedOutput[]): OrderedOutput => ({
    controlPartition: place.controlPartition,
    at: place.at,
    recordId: place.recordId,
    content: place.content,
    source: place.source,
    index: at,
    key,
    values: outputs.map((output) => output.value),
  });
  if (bytes <= ORDER_RECORD_BYTES) return [piece(index, run)];
  return piecesOfRun(run, index, ORDER_RECORD_BYTES).map((p) => piece(p.index, p.outputs));
}

/** An item's outputs with each run of consecutive merged events of one key as person-order records of their own (the control plane's). */
export function routeMergedEvents(catalog: SchemaCatalog, outputs: readonly EncodedOutput[], place: Omit<OrderPlace, 'index'>): EncodedOutput[] {
  return mergedEventRuns(outputs).flatMap((part) => (part.kind === 'other' ? [part.output] : orderedPieces(part.outputs, part.index, place).map((output) => orderedOutputRecord(catalog, output))));
}

/** An item's outputs split: its merged events as OrderedOutput at the item's place, and the others as they are (the data plane's). */
export function splitMergedEvents(outputs: readonly EncodedOutput[], place: Omit<OrderPlace, 'index'>): { readonly others: EncodedOutput[]; readonly ordered: OrderedOutput[] } {
  const others: EncodedOutput[] = [];
  const ordered: OrderedOutput[] = [];
  // The runs walked in place (mergedEventRuns' parts are an allocation per output on this path).
  for (let i = 0; i < outputs.length; ) {
    const first = outputs[i] as EncodedOutput;
    if (first.stream !== 'mergedEvents') {
      others.push(first);
      i += 1;
      continue;
    }
    const end = runEnd(outputs, i);
    ordered.push(...orderedPieces(outputs.slice(i, end), i, place));
    i = end;
  }
  return { others, ordered };
}

/** What an OrderedOutput costs a record beyond its values' bytes (its place, key and framing), counted generously. */
const ORDERED_OUTPUT_OVERHEAD = 128;

/**
 * Ordered outputs grouped per person-order partition (`partitionOf` their key), in order, in
 * records of at most `limit` bytes (at least one output each): a step's merged events cost the hop
 * a record per partition, not one each.
 */
export function packOrderedOutputs(outputs: readonly OrderedOutput[], partitionOf: (key: string) => number, limit: number): Array<{ readonly partition: number; readonly outputs: OrderedOutput[] }> {
  const records: Array<{ partition: number; outputs: OrderedOutput[]; bytes: number }> = [];
  const open = new Map<number, { partition: number; outputs: OrderedOutput[]; bytes: number }>();
  for (const output of outputs) {
    const partition = partitionOf(output.key);
    const size = ORDERED_OUTPUT_OVERHEAD + output.key.length + output.recordId.length + output.content.length + output.values.reduce((sum, value) => sum + (value?.length ?? 0), 0);
    const record = open.get(partition);
    if (record && record.bytes + size <= limit) {
      record.outputs.push(output);
      record.bytes += size;
      continue;
    }
    const next = { partition, outputs: [output], bytes: size };
    records.push(next);
    open.set(partition, next);
  }
  return records.map(({ partition, outputs: packed }) => ({ partition, outputs: packed }));
}

/**
 * A data step's ordered outputs as person-order records: per partition of the topic (where the
 * person's key alone would go, as the control plane's tombstones do), one record of at most
 * ORDER_RECORD_BYTES. Sent before the step's clock records.
 */
export function orderedOutputsRecords(catalog: SchemaCatalog, outputs: readonly OrderedOutput[], partitions: number, source: number): EncodedOutput[] {
  return packOrderedOutputs(outputs, (key) => keyPartition(key, partitions), ORDER_RECORD_BYTES).map(({ partition, outputs: packed }): EncodedOutput => {
    const wire: Wire = {
      entry: {
        [OUTPUTS]: {
          outputs: packed.map((output) => ({ key: output.key, output: outputWire(output) })),
        },
      },
    };
    return { stream: 'personOrder', key: `outputs/${source}`, value: catalog.encode('personOrder', wire), partition };
  });
}

/** A data partition's published points, to each of the person-order topic's `partitions` (encoded once). */
export function sourceClockRecords(catalog: SchemaCatalog, source: number, points: Clocks, partitions: number): EncodedOutput[] {
  const finite = [...points].filter(([, point]) => Number.isFinite(point)).map(([control, point]) => [String(control), point]);
  const wire: Wire = { entry: { [CLOCK]: { source, points: Object.fromEntries(finite) } } };
  const value = catalog.encode('personOrder', wire);
  return Array.from({ length: partitions }, (_, partition): EncodedOutput => ({ stream: 'personOrder', key: `clock/${source}`, value, partition }));
}

const outputOf = (key: string, body: Record<string, unknown>): OrderedOutput => ({
  controlPartition: body.control_partition as number,
  at: body.at as number,
  recordId: body.record_id as string,
  content: body.content as string,
  index: body.index as number,
  source: body.source as number,
  key,
  values: body.values as Array<Buffer | null>,
});

/** Decodes one record of the topic into its entries (several for an OrderedOutputs record); throws on one that is not a person-order record. */
export async function decodeOrderEntries(catalog: SchemaCatalog, key: Buffer | null, value: Buffer | null): Promise<OrderEntry[]> {
  if (value === null) throw new Error('a person-order record has no value');
  const known = catalog.decodeIfKnown<Wire>('personOrder', value);
  const wire = known ? known.value : await catalog.decode<Wire>('personOrder', value);
  const [branch, body] = Object.entries(wire.entry)[0] ?? [];
  if (branch === OUTPUT && body) {
    if (key === null) throw new Error('an ordered output has no key');
    return [{ kind: 'output', output: outputOf(key.toString(), body) }];
  }
  if (branch === OUTPUTS && body) {
    return (body.outputs as Array<{ key: string; output: Record<string, unknown> }>).map(({ key: outputKey, output }) => ({ kind: 'output', output: outputOf(outputKey, output) }));
  }
  if (branch === CLOCK && body) {
    const points = new Map(Object.entries(body.points as Record<string, number>).map(([control, point]) => [Number(control), point]));
    return [{ kind: 'clock', source: body.source as number, points }];
  }
  throw new Error(`unknown person-order branch ${String(branch)}`);
}
