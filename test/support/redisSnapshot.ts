/**
 * A Redis that lost its last writes, made on purpose: the keys of one prefix dumped at a moment
 * (while their only writer is stopped, so the copy is one point in Redis's order of writes), and
 * later put back in place of whatever they hold then — as a failover to a replica that lagged,
 * or a restore from a backup, would leave them.
 */
import type Redis from 'ioredis';
import { deleteByPrefix } from '../../services/shared/redis/deleteByPrefix';
import { escapeGlob, scanKeys } from '../../services/shared/redis/scanKeys';

export type RedisSnapshot = ReadonlyArray<{ readonly key: string; readonly dump: Buffer; readonly ttlMs: number }>;


export async function snapshotPrefix(redis: Redis, prefix: string): Promise<RedisSnapshot> {
  const snapshot: Array<{ key: string; dump: Buffer; ttlMs: number }> = [];
  for (const key of await scanKeys(redis, `${escapeGlob(prefix)}*`)) {
    const [dump, ttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
    if (dump && ttl !== -2) snapshot.push({ key, dump, ttlMs: ttl > 0 ? ttl : 0 });
  }
  return snapshot;
}

export async function restorePrefix(redis: Redis, prefix: string, snapshot: RedisSnapshot): Promise<void> {
  await deleteByPrefix(redis, prefix);
  for (const { key, dump, ttlMs } of snapshot) await redis.restore(key, ttlMs, dump, 'REPLACE');
}
