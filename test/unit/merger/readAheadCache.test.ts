/**
 * The bounded cache of bodies read ahead (services/merger/kafka/readAheadCache.ts): what it hands
 * out, and that its memory stays within its bound however it is fed.
 */
import { ReadAheadCache } from '../../../services/merger/kafka/readAheadCache';

const body = (text: string) => Buffer.from(text);

describe('the read-ahead cache', () => {
  it('hands out what was put, by partition and offset, once', () => {
    const cache = new ReadAheadCache({ maxBytes: 10_000, ttlMs: 1000 });
    cache.put(0, 5, body('five'), 0);
    cache.put(1, 5, body('five of 1'), 0);
    const taken = cache.take(0, [4, 5, 6], 10);
    expect([...taken].map(([offset, value]) => [offset, value.toString()])).toEqual([[5, 'five']]);
    expect(cache.take(0, [5], 10).size).toBe(0);
    expect(cache.take(1, [5], 10).get(5)?.toString()).toBe('five of 1');
    expect(cache.size).toBe(0);
    expect(cache.heldBytes).toBe(0);
  });

  it('keeps a copy, not a slice of the buffer the body came in', () => {
    // A Fetch answer of its own memory, as a large one is.
    const answer = Buffer.alloc(100_000, 'x');
    answer.write('body', 500);
    const cache = new ReadAheadCache({ maxBytes: 10_000, ttlMs: 1000 });
    cache.put(0, 1, answer.subarray(500, 504), 0);
    answer.fill(0);
    const value = cache.take(0, [1], 0).get(1) as Buffer;
    expect(value.toString()).toBe('body');
    expect(value.buffer.byteLength).toBeLessThan(answer.length);
    // Nor of Node's shared pool, which a small Buffer.from copy lands in: one entry would pin 8 KiB.
    cache.put(0, 2, Buffer.from('small body'), 0);
    const small = cache.take(0, [2], 0).get(2) as Buffer;
    expect(small.toString()).toBe('small body');
    expect(small.buffer.byteLength).toBe(small.length);
  });

  it('drops entries older than its time to live', () => {
    const cache = new ReadAheadCache({ maxBytes: 10_000, ttlMs: 1000 });
    cache.put(0, 1, body('old'), 0);
    cache.put(0, 2, body('new'), 900);
    expect([...cache.take(0, [1, 2], 1500).keys()]).toEqual([2]);
    expect(cache.heldBytes).toBe(0);
  });

  it('stays within its byte bound, the oldest entries going first, whatever is put', () => {
    const maxBytes = 5_000;
    const cache = new ReadAheadCache({ maxBytes, ttlMs: 60_000 });
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const kept: number[] = [];
    for (let offset = 0; offset < 2000; offset += 1) {
      cache.put(offset % 3, offset, Buffer.alloc(1 + Math.floor(random() * 600), 1), offset);
      kept.push(offset);
      expect(cache.heldBytes).toBeLessThanOrEqual(maxBytes);
    }
    // What is left is a run of the newest.
    const left = [0, 1, 2].flatMap((partition) => [...cache.take(partition, kept, 2000).keys()]).sort((a, b) => a - b);
    expect(left.length).toBeGreaterThan(0);
    expect(left[left.length - 1]).toBe(1999);
    expect(left).toEqual(Array.from({ length: left.length }, (_, i) => 2000 - left.length + i));
    expect(cache.heldBytes).toBe(0);
  });

  it('refuses a body larger than its whole bound, and keeps what it held', () => {
    const cache = new ReadAheadCache({ maxBytes: 1_000, ttlMs: 60_000 });
    cache.put(0, 1, body('small'), 0);
    cache.put(0, 2, Buffer.alloc(2_000), 0);
    expect([...cache.take(0, [1, 2], 0).keys()]).toEqual([1]);
  });

  it('counts a body put twice once', () => {
    const cache = new ReadAheadCache({ maxBytes: 10_000, ttlMs: 60_000 });
    cache.put(0, 1, body('same'), 0);
    const once = cache.heldBytes;
    cache.put(0, 1, body('same'), 1);
    expect(cache.heldBytes).toBe(once);
    expect(cache.size).toBe(1);
  });
});
