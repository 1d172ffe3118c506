/**
 * The compact record of an anonymous id that has only ever had events (docs/design-pending-pointers.md,
 * "The compact record"): one binary value in a shared Redis hash instead of three keys. Pure.
 *
 *   bytes 0–2    big-endian: the format (top 3 bits) and the hour since the epoch from which
 *                the record is expired (21 bits, to the year 2209): Lua reads it there without
 *                decoding the rest (scripts/commitCompact.lua sweeps)
 *   varint       version (the compare-and-set of orderedEntityStore.ts; kept across forms)
 *   varint       partition of every pointer
 *   varint       format 2 only: the expiry minus `seenFrom` (compactForm.ts); format 1 has none
 *   per pending event, in the order applied:
 *     varint          the first: the expiry minus its received_at (~31 days: 5 bytes, not 6)
 *     zigzag varint   the others: received_at minus the previous one's
 *     varint          zigzag(offset minus the previous one's) × 4 + how the id is kept (below)
 *     the id          0: varint length + UTF-8; 1: a ULID whose time is its received_at, its
 *                     80 random bits (10 bytes); 2: another ULID, zigzag varint of its time
 *                     minus received_at, then its 10 random bytes
 *
 * Lossless: the record holds the event ids themselves, so an id leaves the compact form for the
 * per-id keys (at a bind, say) with nothing guessed. A ULID is kept as bytes only when written
 * back it gives the same text (upper case, 26 characters).
 */
import { hash } from 'node:crypto';

/** Format 1: no seen cutoff (nearly every record); 2: with one. */
const FORMAT_PLAIN = 1;
const FORMAT_SEEN_FROM = 2;
const HOUR_BITS = 2 ** 21;
const HOUR_MS = 3_600_000;

export interface CompactEntry {
  readonly receivedAt: number;
  readonly offset: number;
  readonly id: string;
}

export interface CompactRecord {
  readonly version: number;
  /** Expired from this instant on (ms, a whole hour). */
  readonly expireAt: number;
  readonly partition: number;
  /**
   * Events received before this count as seen no more (SPEC R7), as the own keys' seen ids are
   * trimmed (compactForm.ts); 0 when none is.
   */
  readonly seenFrom: number;
  /** Pending events in the order they were applied (their received_at order). */
  readonly entries: readonly CompactEntry[];
}

/** The hash field of an anonymous id: 12 bytes of SHA-256, so no id can be chosen to land on another's. */
export function compactField(anonymousId: string): Buffer {
  return hash('sha256', anonymousId, 'buffer').subarray(0, 12);
}

/** The whole hour at or after `ms`: the record's expiry is kept in hours (3 bytes). */
export function expiryHourOf(ms: number): number {
  return Math.ceil(ms / HOUR_MS);
}

// Varints on plain numbers (up to 2^53): bit operators would cut them to 32 bits. Written into
// one scratch buffer (this runs for every anonymous id of every batch), copied out at the end.
const scratch = Buffer.allocUnsafe(64 * 1024);

/** What cannot be a record (too long, a number out of range): the id keeps its own keys. */
class NotRepresentable extends Error {}

class Writer {
  private at = 0;
  constructor(private readonly limit: number) {}
  private room(bytes: number): void {
    if (this.at + bytes > this.limit) throw new NotRepresentable('compact record longer than its limit');
  }
  byte(value: number): void {
    this.room(1);
    scratch[this.at++] = value;
  }
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new NotRepresentable(`not a varint: ${value}`);
    this.room(8);
    let rest = value;
    while (rest >= 0x80) {
      scratch[this.at++] = (rest % 0x80) + 0x80;
      rest = Math.floor(rest / 0x80);
    }
    scratch[this.at++] = rest;
  }
  signed(value: number): void {
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }
  raw(buffer: Buffer): void {
    this.room(buffer.length);
    this.at += buffer.copy(scratch, this.at);
  }
  text(value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    this.varint(length);
    this.room(length);
    this.at += scratch.write(value, this.at, 'utf8');
  }
  done(): Buffer {
    return Buffer.from(scratch.subarray(0, this.at));
  }
}

class Reader {
  at = 0;
  constructor(private readonly buffer: Buffer) {}
  get more(): boolean {
    return this.at < this.buffer.length;
  }
  byte(): number {
    if (this.at >= this.buffer.length) throw new Error('compact record cut short');
    return this.buffer[this.at++] as number;
  }
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error('compact record varint too long');
    }
  }
  signed(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  raw(length: number): Buffer {
    if (this.at + length > this.buffer.length) throw new Error('compact record cut short');
    const out = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
}

// ULIDs (Crockford base32): 10 characters of time, 16 of randomness (80 bits = 10 bytes).
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Character code → value, -1 for characters a ULID as written by `ulid` never holds (lower case included). */
const CROCKFORD_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < CROCKFORD.length; i += 1) CROCKFORD_VALUE[CROCKFORD.charCodeAt(i)] = i;
const CROCKFORD_CODE = Buffer.from(CROCKFORD, 'latin1');
const ulidText = Buffer.allocUnsafe(26);

const valueAt = (id: string, i: number): number => {
  const code = id.charCodeAt(i);
  return code < 128 ? (CROCKFORD_VALUE[code] as number) : -1;
};

/**
 * A ULID's time and random bytes, or null when `id` is not one written the canonical way (26
 * upper-case characters, a 48-bit time): written back, those give the same text.
 */
function parseUlid(id: string): { time: number; random: Buffer } | null {
  if (id.length !== 26 || id.charCodeAt(0) > 0x37 /* '7': the time is 48 bits */) return null;
  let time = 0;
  for (let i = 0; i < 10; i += 1) {
    const v = valueAt(id, i);
    if (v < 0) return null;
    time = time * 32 + v;
  }
  const random = Buffer.allocUnsafe(10);
  // Two groups of 8 characters, 40 bits = 5 bytes each.
  for (let g = 0; g < 2; g += 1) {
    let bits = 0;
    for (let i = 0; i < 8; i += 1) {
      const v = valueAt(id, 10 + g * 8 + i);
      if (v < 0) return null;
      bits = bits * 32 + v;
    }
    for (let b = 4; b >= 0; b -= 1) {
      random[g * 5 + b] = bits % 256;
      bits = Math.floor(bits / 256);
    }
  }
  return { time, random };
}

function formatUlid(time: number, random: Buffer): string {
  let t = time;
  for (let i = 9; i >= 0; i -= 1) {
    ulidText[i] = CROCKFORD_CODE[t % 32] as number;
    t = Math.floor(t / 32);
  }
  for (let g = 0; g < 2; g += 1) {
    let bits = 0;
    for (let b = 0; b < 5; b += 1) bits = bits * 256 + (random[g * 5 + b] as number);
    for (let i = 7; i >= 0; i -= 1) {
      ulidText[10 + g * 8 + i] = CROCKFORD_CODE[bits % 32] as number;
      bits = Math.floor(bits / 32);
    }
  }
  return ulidText.toString('latin1');
}

const ID_TEXT = 0;
const ID_ULID_AT_RECEIVED = 1;
const ID_ULID = 2;

/** The record's bytes, or null when it would be longer than `limit` or a number is out of range. */
export function encodeCompactWithin(record: CompactRecord, limit: number): Buffer | null {
  try {
    return encodeCompact(record, Math.min(limit, scratch.length));
  } catch (error) {
    if (error instanceof NotRepresentable) return null;
    throw error;
  }
}

export function encodeCompact(record: CompactRecord, limit = scratch.length): Buffer {
  const w = new Writer(limit);
  const hour = record.expireAt / HOUR_MS;
  if (!Number.isInteger(hour) || hour < 0 || hour >= HOUR_BITS) throw new Error(`compact record expiry not a whole hour in range: ${record.expireAt}`);
  if (record.seenFrom > record.expireAt) throw new Error('compact record seen cutoff after its expiry');
  const head = (record.seenFrom > 0 ? FORMAT_SEEN_FROM : FORMAT_PLAIN) * HOUR_BITS + hour;
  w.byte(Math.floor(head / 65536));
  w.byte(Math.floor(head / 256) % 256);
  w.byte(head % 256);
  w.varint(record.version);
  w.varint(record.partition);
  if (record.seenFrom > 0) w.varint(record.expireAt - record.seenFrom);
  let receivedAt = 0;
  let offset = 0;
  record.entries.forEach((entry, i) => {
    if (i === 0) {
      if (entry.receivedAt > record.expireAt) throw new Error('compact record with an event received after its expiry');
      w.varint(record.expireAt - entry.receivedAt);
    } else w.signed(entry.receivedAt - receivedAt);
    const offsetDelta = entry.offset - offset;
    const zigzag = offsetDelta >= 0 ? offsetDelta * 2 : -offsetDelta * 2 - 1;
    const ulid = parseUlid(entry.id);
    const kind = ulid === null ? ID_TEXT : ulid.time === entry.receivedAt ? ID_ULID_AT_RECEIVED : ID_ULID;
    w.varint(zigzag * 4 + kind);
    if (kind === ID_TEXT) w.text(entry.id);
    else {
      const { time, random } = ulid as { time: number; random: Buffer };
      if (kind === ID_ULID) w.signed(time - entry.receivedAt);
      w.raw(random);
    }
    receivedAt = entry.receivedAt;
    offset = entry.offset;
  });
  return w.done();
}

export function decodeCompact(value: Buffer): CompactRecord {
  const r = new Reader(value);
  const head = r.byte() * 65536 + r.byte() * 256 + r.byte();
  const format = Math.floor(head / HOUR_BITS);
  if (format !== FORMAT_PLAIN && format !== FORMAT_SEEN_FROM) throw new Error(`compact record of unknown format ${format}`);
  const hour = head % HOUR_BITS;
  const expireAt = hour * HOUR_MS;
  const version = r.varint();
  const partition = r.varint();
  const seenFrom = format === FORMAT_SEEN_FROM ? expireAt - r.varint() : 0;
  const entries: CompactEntry[] = [];
  let receivedAt = 0;
  let offset = 0;
  while (r.more) {
    receivedAt = entries.length === 0 ? expireAt - r.varint() : receivedAt + r.signed();
    const packed = r.varint();
    const kind = packed % 4;
    const zigzag = (packed - kind) / 4;
    offset += zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    let id: string;
    if (kind === ID_TEXT) id = r.raw(r.varint()).toString('utf8');
    else if (kind === ID_ULID_AT_RECEIVED) id = formatUlid(receivedAt, r.raw(10));
    else if (kind === ID_ULID) {
      const time = receivedAt + r.signed();
      id = formatUlid(time, r.raw(10));
    } else throw new Error(`compact record id kind ${kind}`);
    entries.push({ receivedAt, offset, id });
  }
  return { version, expireAt, partition, seenFrom, entries };
}

/** Read without decoding: the instant from which a stored record counts as expired. */
export function compactExpireAt(value: Buffer): number {
  return ((((value[0] ?? 0) % 32) * 65536 + (value[1] ?? 0) * 256 + (value[2] ?? 0)) % HOUR_BITS) * HOUR_MS;
}
