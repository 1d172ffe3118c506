/**
 * How the merger's state is laid out in Redis values. Pure.
 *
 * - A pending event is a pointer into the inbound log, 0x01 then received_at (48 bits), partition
 *   (16 bits) and offset (48 bits), all big-endian: 15 bytes (docs/design-pending-pointers.md);
 *   or, as the legacy merger writes it, a copy, "<received_at: 13 digits><id>\0<Avro body>": the
 *   received_at and id can be read by Lua without decoding (retention trim), the rest is Avro.
 * - The state hash holds the binding and window as short fields, "o:<partition>" offsets, and
 *   the outbox entries as "x:<partition>:<offset>" fields.
 * - An outbox entry is Avro: the already-encoded outbound records of an operation (the bytes that
 *   will go to Kafka, schema id included) and its follow-up writes.
 *
 * These schemas are internal (Redis only); the public contract is schemas/*.avsc.
 */
import avro from 'avsc';
import type { EncodedOutput } from '../../shared/kafka/encodedOutput';
import { ScratchEncoder } from '../../shared/avro/scratchEncoder';
import { EVENT_TYPES, type EventType } from '../../shared/model/inbound';
import { personFromKey, personKey } from '../../shared/model/person';
import type { FollowUp } from '../model/outputs';
import type { AnonymousState, Binding, PendingEvent, PendingSource, SimpleState } from '../model/state';

const PendingBody = avro.Type.forSchema({
  type: 'record',
  name: 'PendingBody',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'type', type: { type: 'enum', name: 'PendingType', symbols: [...EVENT_TYPES] } },
    { name: 'timestamp', type: 'long' },
    { name: 'data', type: 'string' },
  ],
});

const RECEIVED_DIGITS = 13;

const pendingScratch = Buffer.allocUnsafe(256 * 1024);

export function encodePending(event: PendingEvent): Buffer {
  let at = pendingScratch.write(String(event.receivedAt).padStart(RECEIVED_DIGITS, '0'), 0, 'latin1');
  at += pendingScratch.write(event.id, at, 'utf8');
  pendingScratch[at] = 0;
  const end = PendingBody.encode({ name: event.name, type: event.type, timestamp: event.timestamp, data: event.dataJson }, pendingScratch, at + 1);
  if (end < 0 || at + 1 > pendingScratch.length - 1) throw new Error('pending event larger than 256 KB');
  return Buffer.from(pendingScratch.subarray(0, end));
}

const POINTER = 0x01;
const POINTER_BYTES = 15;

/** A pending event as stored: a pointer when it came from the inbound log, else a copy. */
export function encodePendingEntry(event: PendingEvent): Buffer {
  return event.source ? encodePointer({ receivedAt: event.receivedAt, ...event.source }) : encodePending(event);
}

/** A pending event as Redis keeps it in the two-plane merger: where it is, and when it was received (as applied). */
export interface PendingPointer extends PendingSource {
  readonly receivedAt: number;
}

export type StoredPending = { readonly kind: 'copy'; readonly event: PendingEvent } | ({ readonly kind: 'pointer' } & PendingPointer);

export function encodePointer(pointer: PendingPointer): Buffer {
  const entry = Buffer.allocUnsafe(POINTER_BYTES);
  entry[0] = POINTER;
  entry.writeUIntBE(pointer.receivedAt, 1, 6);
  entry.writeUInt16BE(pointer.partition, 7);
  entry.writeUIntBE(pointer.offset, 9, 6);
  return entry;
}

/** Either kind of entry: a copy starts with a digit, a pointer with 0x01. */
export function decodeStoredPending(entry: Buffer): StoredPending {
  if (entry[0] !== POINTER) return { kind: 'copy', event: decodePending(entry) };
  if (entry.length !== POINTER_BYTES) throw new Error(`a pending pointer of ${entry.length} bytes`);
  return { kind: 'pointer', receivedAt: entry.readUIntBE(1, 6), partition: entry.readUInt16BE(7), offset: entry.readUIntBE(9, 6) };
}

export function decodePending(entry: Buffer): PendingEvent {
  const nul = entry.indexOf(0, RECEIVED_DIGITS);
  if (nul < 0) throw new Error('pending entry without its id separator');
  const receivedAt = Number(entry.subarray(0, RECEIVED_DIGITS).toString('latin1'));
  const id = entry.subarray(RECEIVED_DIGITS, nul).toString('utf8');
  const body = PendingBody.fromBuffer(entry.subarray(nul + 1)) as { name: string; type: EventType; timestamp: number; data: string };
  return { id, receivedAt, name: body.name, type: body.type, timestamp: body.timestamp, dataJson: body.data };
}

/** Field names of the state hash. */
const F = { version: 'v', person: 'p', boundAt: 'b', windowEnd: 'w', windowOpen: 'wo', windowCount: 'wc', windowOldest: 'wt' } as const;
const APPLIED = 'o:';

function parseApplied(hash: Record<string, string>): Record<number, number> {
  const applied: Record<number, number> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(APPLIED)) applied[Number(field.slice(APPLIED.length))] = Number(value);
  }
  return applied;
}

export function parseSimpleState(hash: Record<string, string>): SimpleState {
  return { version: Number(hash[F.version] ?? 0), applied: parseApplied(hash) };
}

export function parseAnonymousState(hash: Record<string, string>, pending: PendingEvent[] | null): AnonymousState {
  const person = hash[F.person];
  const binding: Binding | null = person
    ? {
        person: personFromKey(person),
        boundAt: Number(hash[F.boundAt]),
        windowEnd: Number(hash[F.windowEnd]),
        windowOpen: hash[F.windowOpen] === '1',
        windowCount: Number(hash[F.windowCount] ?? 0),
        windowOldest: hash[F.windowOldest] === undefined ? null : Number(hash[F.windowOldest]),
      }
    : null;
  return { version: Number(hash[F.version] ?? 0), binding, pending, applied: parseApplied(hash) };
}

/**
 * Fields to set and to delete so that the hash holds `state` (version is set by the script).
 * `stored` is the binding the hash holds now, when known: only fields it has are deleted (most
 * writes are of anonymous ids that were never bound, and have none to delete).
 */
export function stateFields(state: { applied: Readonly<Record<number, number>>; binding?: Binding | null }, stored?: Binding | null): { set: string[]; unset: string[] } {
  const set: string[] = [];
  for (const [partition, offset] of Object.entries(state.applied)) set.push(`${APPLIED}${partition}`, String(offset));
  const unset: string[] = [];
  if (state.binding === undefined) return { set, unset };
  const b = state.binding;
  if (b === null) {
    if (stored !== null) unset.push(F.person, F.boundAt, F.windowEnd, F.windowOpen, F.windowCount, F.windowOldest);
  } else {
    set.push(F.person, personKey(b.person), F.boundAt, String(b.boundAt), F.windowEnd, String(b.windowEnd), F.windowOpen, b.windowOpen ? '1' : '0', F.windowCount, String(b.windowCount));
    if (b.windowOldest !== null) set.push(F.windowOldest, String(b.windowOldest));
    else if (stored === undefined || (stored !== null && stored.windowOldest !== null)) unset.push(F.windowOldest);
  }
  return { set, unset };
}

export type { EncodedOutput };

export interface OutboxEntry {
  readonly outputs: EncodedOutput[];
  readonly followUps: FollowUp[];
}

const OutboxEntryType = avro.Type.forSchema({
  type: 'record',
  name: 'OutboxEntry',
  fields: [
    {
      name: 'outputs',
      type: { type: 'array', items: { type: 'record', name: 'OutboxOutput', fields: [{ name: 'stream', type: 'string' }, { name: 'key', type: 'string' }, { name: 'value', type: ['null', 'bytes'] }] } },
    },
    { name: 'followUps', type: 'string' },
  ],
});

/**
 * Most operations' outcomes follow from the operation alone once it is known which way it went,
 * so their outbox entry is a one-letter code and a replay rebuilds the outputs from the record
 * (byte for byte: the same builders, the same encoder). Only the others — merges, refusals,
 * timers, deletions — keep their encoded outputs ("B" + Avro).
 *
 *   N  nothing came out            P  an anonymous event became pending (its AnonymousEvent)
 *   E  a person's own event (merged event, and its trigger per R4)     I  an invite's trigger
 */
export type OutboxCode = 'N' | 'P' | 'E' | 'I';

export type StoredOutcome = { readonly code: OutboxCode } | { readonly code: 'B'; readonly entry: OutboxEntry };

/** The state hash field of an operation's outbox entry; `position` is "<partition>:<offset>". */
export const outboxField = (position: string) => `x:${position}`;

// One shared buffer per code: most operations store one of these (they are only ever copied).
const CODE_BUFFERS = new Map<string, Buffer>(['N', 'P', 'E', 'I'].map((code) => [code, Buffer.from(code, 'latin1')]));

const B = Buffer.from('B', 'latin1');
// An entry of a merge holds every merged event it sent: often above avsc's 1 KiB scratch.
const outboxEncoder = new ScratchEncoder();

export function encodeOutbox(outcome: StoredOutcome): Buffer {
  if (outcome.code !== 'B') return CODE_BUFFERS.get(outcome.code) as Buffer;
  return outboxEncoder.encode(OutboxEntryType, { outputs: outcome.entry.outputs, followUps: JSON.stringify(outcome.entry.followUps) }, B);
}

export function decodeOutbox(buffer: Buffer): StoredOutcome {
  const code = String.fromCharCode(buffer[0] ?? 0);
  if (code === 'N' || code === 'P' || code === 'E' || code === 'I') return { code };
  if (code !== 'B') throw new Error(`unknown outbox entry code ${JSON.stringify(code)}`);
  const raw = OutboxEntryType.fromBuffer(buffer.subarray(1)) as { outputs: EncodedOutput[]; followUps: string };
  return { code: 'B', entry: { outputs: raw.outputs, followUps: JSON.parse(raw.followUps) as FollowUp[] } };
}
