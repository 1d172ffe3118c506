/**
 * The order of the correctness criterion (docs/correctness.md): records are applied by
 * `received_at`, then `id`, then — for two different records sharing both, such as two sends of
 * one id within the same millisecond — by their content, so the order never depends on where a
 * record sits in the log. The content comparison runs only on such ties.
 */
import type { InboundRecord } from './inbound';

export interface RecordStamp {
  readonly at: number;
  readonly id: string;
  /** The record's content as a canonical string (recordContentKey), for ties on at and id. */
  readonly content: () => string;
}

export function compareStamps(a: RecordStamp, b: RecordStamp): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  const x = a.content();
  const y = b.content();
  return x < y ? -1 : x > y ? 1 : 0;
}

export function stampOf(record: InboundRecord): RecordStamp {
  return { at: record.received_at, id: record.id, content: () => recordContentKey(record) };
}

export function compareRecords(a: InboundRecord, b: InboundRecord): number {
  return compareStamps(stampOf(a), stampOf(b));
}

/** JSON with every object's keys sorted: the same record gives the same string however it was built. */
export function recordContentKey(record: InboundRecord): string {
  return JSON.stringify(sortKeys(record));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
