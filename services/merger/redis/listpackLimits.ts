/**
 * How large a Redis hash may grow and stay in the compact listpack encoding
 * (`hash-max-listpack-entries`, `hash-max-listpack-value`): the compact records' buckets
 * (compactRecord.ts) are sized to stay under both, since a bucket past either becomes a hashtable
 * that costs several times the bytes. Read from the server at start; a server that refuses
 * CONFIG (some managed services) is taken to have Redis' defaults, and said so.
 */
import type { Cluster } from 'ioredis';
import type Redis from 'ioredis';
import type { Logger } from '../../shared/logger';
import type { CompactOptions } from './orderedEntityStore';

const DEFAULT_ENTRIES = 128;
const DEFAULT_VALUE = 64;
/** Buckets split beyond this many records however large the server allows them (a lookup scans its bucket). */
const MOST_PER_BUCKET = 256;

async function configNumber(redis: Redis | Cluster, names: readonly string[]): Promise<number | null> {
  for (const name of names) {
    const reply = (await redis.config('GET', name)) as unknown as string[];
    if (Array.isArray(reply) && reply.length >= 2) return Number(reply[1]);
  }
  return null;
}

export async function compactOptions(redis: Redis | Cluster, enabled: boolean, logger: Logger): Promise<CompactOptions> {
  const bySlot = (redis as { isCluster?: boolean }).isCluster === true;
  if (!enabled) return { enabled: false, bySlot, mostPerBucket: 0, largestValue: 0 };
  let entries: number | null = null;
  let value: number | null = null;
  try {
    // Redis 7 names them listpack; 6.2 ziplist (7 answers to both).
    entries = await configNumber(redis, ['hash-max-listpack-entries', 'hash-max-ziplist-entries']);
    value = await configNumber(redis, ['hash-max-listpack-value', 'hash-max-ziplist-value']);
  } catch (error) {
    logger.warn({ err: error }, 'CONFIG GET refused: compact records sized for Redis defaults (hash-max-listpack-entries 128, hash-max-listpack-value 64)');
  }
  const options: CompactOptions = { enabled: true, bySlot, mostPerBucket: Math.max(2, Math.min(MOST_PER_BUCKET, Math.floor((entries ?? DEFAULT_ENTRIES) / 2))), largestValue: value ?? DEFAULT_VALUE };
  if (options.largestValue < 256) logger.warn({ hashMaxListpackValue: options.largestValue }, 'hash-max-listpack-value is below 256: anonymous ids with more than a few pending events keep their own keys (docs/deployment.md, Redis)');
  return options;
}
