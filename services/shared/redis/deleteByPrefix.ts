/**
 * Deletes every key under a prefix (SCAN + UNLINK in pages): clean-up after tests and
 * benchmarks, and emptying a key space before a rebuild.
 */
import type Redis from 'ioredis';

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}
