/**
 * Deletes every key under a prefix (SCAN + UNLINK): clean-up after tests and benchmarks, and
 * emptying a key space before a rebuild. In a cluster, each UNLINK names keys of one slot only.
 */
import calculateSlot from 'cluster-key-slot';
import type { AnyRedis } from './client';
import { scanKeys } from './scanKeys';

export async function deleteByPrefix(redis: AnyRedis, prefix: string): Promise<number> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  const bySlot = new Map<number, string[]>();
  for (const key of keys) {
    const slot = redis.isCluster ? calculateSlot(key) : 0;
    const group = bySlot.get(slot) ?? [];
    group.push(key);
    bySlot.set(slot, group);
  }
  let deleted = 0;
  for (const group of bySlot.values()) {
    for (let start = 0; start < group.length; start += 1000) deleted += await redis.unlink(...group.slice(start, start + 1000));
  }
  return deleted;
}
