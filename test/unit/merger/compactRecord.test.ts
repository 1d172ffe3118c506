/**
 * The compact record's bytes (services/merger/redis/compactRecord.ts): lossless for any ids,
 * small for the usual ones, and its expiry readable where the Lua sweep reads it.
 */
import fc from 'fast-check';
import { ulid } from 'ulid';
import { compactExpireAt, compactField, decodeCompact, encodeCompact, encodeCompactWithin, expiryHourOf, type CompactRecord } from '../../../services/merger/redis/compactRecord';

const HOUR = 3_600_000;
const T0 = 1_795_000_000_000;

const anyId = fc.oneof(
  fc.string({ minLength: 0, maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((t) => ulid(t)),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((t) => ulid(t).toLowerCase()),
  fc.constantFrom('7ZZZZZZZZZZZZZZZZZZZZZZZZZ', '8ZZZZZZZZZZZZZZZZZZZZZZZZZ', '0000000000000000000000000I', '01ARZ3NDEKTSV4RRFFQ69G5FAV'),
);

// Every event is received before the record expires (the record's expiry is after its newest).
const anyRecord: fc.Arbitrary<CompactRecord> = fc.integer({ min: 0, max: 2 ** 21 - 1 }).chain((hour) =>
  fc.record({
    version: fc.integer({ min: 0, max: 2 ** 40 }),
    expireAt: fc.constant(hour * HOUR),
    partition: fc.integer({ min: 0, max: 10_000 }),
    seenFrom: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Math.max(1, hour * HOUR) })).map((at) => Math.min(at, hour * HOUR)),
    entries: fc.array(fc.record({ receivedAt: fc.integer({ min: 0, max: hour * HOUR }), offset: fc.integer({ min: 0, max: 2 ** 48 - 1 }) /* as the 15-byte pointers (codec.ts) */, id: anyId }), { maxLength: 12 }),
  }),
);

describe('compact record', () => {
  it('round-trips any record: ids of every shape, offsets and received_at in any order', () => {
    fc.assert(
      fc.property(anyRecord, (record) => {
        expect(decodeCompact(encodeCompact(record))).toEqual(record);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a ULID made at its received_at in 10 bytes, and one made at another time in a few more', () => {
    const at = (receivedAt: number, id: string): CompactRecord => ({ version: 1, expireAt: 500_000 * HOUR, partition: 3, seenFrom: 0, entries: [{ receivedAt, offset: 1000, id }] });
    const same = encodeCompact(at(T0, ulid(T0)));
    const other = encodeCompact(at(T0, ulid(T0 - 25)));
    const text = encodeCompact(at(T0, 'page-view-0001'));
    // header 5 (format and hour, version, partition) + received_at 5 (before the expiry) + offset 2 + 10 random bytes
    expect(same.length).toBe(22);
    expect(other.length).toBe(23);
    expect(text.length).toBe(5 + 5 + 2 + 1 + 14);
  });

  it('three page views a few seconds apart cost under 60 bytes', () => {
    const entries = [0, 4_200, 9_900].map((d, i) => ({ receivedAt: T0 + d, offset: 52_000 + i * 700, id: ulid(T0 + d) }));
    const bytes = encodeCompact({ version: 3, expireAt: expiryHourOf(T0 + 31 * 86_400_000) * HOUR, partition: 4, seenFrom: 0, entries });
    expect(bytes.length).toBeLessThan(60);
  });

  it('says when it expires in its first 3 bytes, as commitCompact.lua reads them', () => {
    fc.assert(
      fc.property(anyRecord, (record) => {
        expect(compactExpireAt(encodeCompact(record))).toBe(record.expireAt);
      }),
    );
  });

  it('refuses an expiry that is not a whole hour, and bytes of another format', () => {
    expect(() => encodeCompact({ version: 1, expireAt: HOUR + 1, partition: 0, seenFrom: 0, entries: [] })).toThrow(/whole hour/);
    expect(() => decodeCompact(Buffer.from([0x01, 0, 0, 1, 0]))).toThrow(/format/);
    expect(() => encodeCompact({ version: 1, expireAt: HOUR, partition: 0, seenFrom: 0, entries: [{ receivedAt: HOUR + 1, offset: 5, id: 'x' }] })).toThrow(/after its expiry/);
    const good = encodeCompact({ version: 1, expireAt: Math.ceil(T0 / HOUR) * HOUR + HOUR, partition: 0, seenFrom: 0, entries: [{ receivedAt: T0, offset: 5, id: 'x' }] });
    expect(() => decodeCompact(good.subarray(0, good.length - 1))).toThrow(/cut short/);
  });

  it('a seen cutoff costs bytes only when there is one', () => {
    const entries = [{ receivedAt: T0, offset: 10, id: ulid(T0) }];
    const expireAt = Math.ceil(T0 / HOUR) * HOUR + 31 * 24 * HOUR;
    const plain = encodeCompact({ version: 1, expireAt, partition: 0, seenFrom: 0, entries });
    const withCutoff = encodeCompact({ version: 1, expireAt, partition: 0, seenFrom: T0 - 5, entries });
    expect(withCutoff.length).toBeGreaterThan(plain.length);
    expect(decodeCompact(withCutoff).seenFrom).toBe(T0 - 5);
  });

  it('is no record (null) when it would be longer than the limit or a number is out of range, rather than failing the batch', () => {
    const expireAt = Math.ceil(T0 / HOUR) * HOUR + HOUR;
    const many = Array.from({ length: 500 }, (_, i) => ({ receivedAt: T0 - 500 + i, offset: i, id: 'x'.repeat(150) + i }));
    expect(encodeCompactWithin({ version: 1, expireAt, partition: 0, seenFrom: 0, entries: many }, 512)).toBeNull();
    expect(encodeCompactWithin({ version: 1, expireAt, partition: 0, seenFrom: 0, entries: [{ receivedAt: T0, offset: 2 ** 51, id: 'x' }] }, 512)).toBeNull();
    expect(encodeCompactWithin({ version: 1, expireAt, partition: 0, seenFrom: 0, entries: many.slice(0, 2) }, 512)?.length).toBeLessThan(512);
  });

  it('names an id by 12 bytes of SHA-256', () => {
    expect(compactField('anon-1')).toHaveLength(12);
    expect(compactField('anon-1').equals(compactField('anon-1'))).toBe(true);
    expect(compactField('anon-1').equals(compactField('anon-2'))).toBe(false);
  });
});
