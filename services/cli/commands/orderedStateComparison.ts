/**
 * anonmerge rebuild --compare-with, for the two-plane merger: every key of one prefix against the
 * same key of the other — control state (bindings, merges, people's ids, the last operation
 * applied), each entity's ordered state, pending events, seen ids, and the open windows' timers.
 * Left out, as they say how the state was written rather than what it is: versions (one per
 * write, and a rebuild writes in other batches), outbox entries (deleted once published),
 * partitions' claims, progress records (how far the writing went, not what it decided), the
 * published points and held tombstones an earlier version kept (`:p`, `:h`), and expiry times.
 */
import type { AnyRedis } from '../../shared/redis/client';
import { scanKeys } from '../../shared/redis/scanKeys';
import type { Comparison } from './rebuild';

/** The key's value as text, or null when it says nothing about the state. */
async function valueOf(redis: AnyRedis, key: string): Promise<string | null> {
  if (/\}:x$/.test(key) || /^\S*\{part\|[^}]*\}:[soph]$/.test(key)) return null;
  const type = await redis.type(key);
  switch (type) {
    case 'hash': {
      const fields = Object.entries(await redis.hgetall(key)).filter(([field]) => field !== 'v' && !field.startsWith('x:'));
      return fields.length === 0 ? null : JSON.stringify(fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify((await redis.smembers(key)).sort());
    case 'zset':
      return JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'));
    case 'string':
      return (await redis.get(key)) ?? null;
    default:
      return null;
  }
}

export async function compareOrderedStates(redis: AnyRedis, left: string, right: string): Promise<Comparison> {
  const read = async (prefix: string) => {
    const values = new Map<string, string>();
    for (const key of await scanKeys(redis, `${prefix}:*`)) {
      const value = await valueOf(redis, key);
      if (value !== null) values.set(key.slice(prefix.length + 1), value);
    }
    return values;
  };
  const [a, b] = await Promise.all([read(left), read(right)]);
  const differences: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(key) !== b.get(key)) differences.push(`${key}: ${a.get(key)?.slice(0, 300) ?? '(none)'} ≠ ${b.get(key)?.slice(0, 300) ?? '(none)'}`);
  }
  const count = (values: Map<string, string>, pattern: RegExp) => [...values.keys()].filter((key) => pattern.test(key)).length;
  return {
    anonymousIds: Math.max(count(a, /\|a\|.*\}:s$/), count(b, /\|a\|.*\}:s$/)),
    people: Math.max(count(a, /\|c\}:i:/), count(b, /\|c\}:i:/)),
    differences,
  };
}
