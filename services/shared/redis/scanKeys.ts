/**
 * SCAN over every key matching a pattern. A Redis Cluster has no cluster-wide SCAN: each master
 * is scanned on its own (replicas hold copies of the same keys).
 */
import type Redis from 'ioredis';
import type { AnyRedis } from './client';

async function scanNode(node: Redis, pattern: string, found: string[]): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    for (const key of keys) found.push(key);
    cursor = next;
  } while (cursor !== '0');
}

/** `text` with the characters MATCH treats as a pattern escaped, to match it literally (a prefix, a topic name). */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

export async function scanKeys(redis: AnyRedis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  if (redis.isCluster) {
    const cluster = redis as import('ioredis').Cluster;
    // nodes() is empty until the client has the slot table.
    if (cluster.status !== 'ready') await cluster.ping();
    for (const node of cluster.nodes('master')) await scanNode(node, pattern, found);
  } else {
    await scanNode(redis as Redis, pattern, found);
  }
  return found;
}
