/**
 * What an anonymous id's pending list in Redis holds, as event ids: copies are read as they are,
 * pointers (docs/design-pending-pointers.md) are read back from the inbound log — the way a bind
 * reads them.
 */
import Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import { OffsetReader } from '../../services/merger/kafka/offsetReader';
import { resolvePending } from '../../services/merger/pendingBodies';
import { decodeStoredPending, type StoredPending } from '../../services/merger/redis/codec';
import { KeySpace } from '../../services/merger/redis/keys';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { TopicConfig } from '../../services/shared/config';
import { config, testLogger } from './stack';

export async function storedPending(prefix: string, workspace: string, anonymousId: string): Promise<StoredPending[]> {
  const redis = new Redis(config.redis.url);
  try {
    const entries = await redis.lrangeBuffer(new KeySpace(prefix).entity({ kind: 'anonymous', workspace, anonymousId }).pending, 0, -1);
    return entries.map(decodeStoredPending);
  } finally {
    redis.disconnect();
  }
}

/** The ids of the pending events, in stored order. */
export async function pendingIds(kafka: Kafka, topics: TopicConfig, prefix: string, workspace: string, anonymousId: string): Promise<string[]> {
  const stored = await storedPending(prefix, workspace, anonymousId);
  const reader = new OffsetReader(kafka, testLogger);
  try {
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['inbound']);
    const resolved = await resolvePending([{ workspace, anonymousId, stored, cutoff: Number.NEGATIVE_INFINITY }], (partition, offsets) => reader.read(topics.inbound, partition, offsets), catalog, testLogger);
    if (resolved.missing > 0) throw new Error(`${resolved.missing} pending events of ${anonymousId} are gone from ${topics.inbound}`);
    return (resolved.events[0] ?? []).map((event) => event.id);
  } finally {
    await reader.close();
  }
}
