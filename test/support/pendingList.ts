/**
 * What an anonymous id's pending list in Redis holds: the stored entries, and the event ids they
 * stand for — copies read as they are, pointers (docs/design-pending-pointers.md) read back from
 * the inbound log the way a bind reads them.
 */
import Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import { OffsetReader } from '../../services/merger/kafka/offsetReader';
import { resolvePending } from '../../services/merger/pendingBodies';
import type { StoredPending } from '../../services/merger/redis/codec';
import { KeySpace } from '../../services/merger/redis/keys';
import { compactOptions } from '../../services/merger/redis/listpackLimits';
import { OrderedEntityStore, type LoadedOrdered } from '../../services/merger/redis/orderedEntityStore';
import { defineMergerCommands } from '../../services/merger/redis/scripts';
import { StateStore } from '../../services/merger/redis/stateStore';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { TopicConfig } from '../../services/shared/config';
import { config, testLogger } from './stack';

/**
 * An anonymous id's state as the merger loads it, from its own keys or its compact record
 * (services/merger/redis/orderedEntityStore.ts), with its pending pointers.
 */
export async function anonymousState(redis: Redis, prefix: string, workspace: string, anonymousId: string): Promise<LoadedOrdered> {
  const store = new OrderedEntityStore(new StateStore(defineMergerCommands(redis), new KeySpace(prefix)), await compactOptions(redis, true, testLogger));
  const [loaded] = await store.load([{ entity: { kind: 'anonymous', workspace, anonymousId }, ids: [], withPending: true, outbox: [] }]);
  return loaded as LoadedOrdered;
}

export class PendingLists {
  private constructor(
    private readonly redis: Redis,
    private readonly reader: OffsetReader,
    private readonly catalog: SchemaCatalog,
    private readonly topics: TopicConfig,
  ) {}

  /** On the given Redis (the shared stack's by default) and the Kafka the topics live on. */
  static async open(kafka: Kafka, topics: TopicConfig, redisUrl = config.redis.url): Promise<PendingLists> {
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['inbound']);
    return new PendingLists(new Redis(redisUrl), new OffsetReader(kafka, testLogger), catalog, topics);
  }

  async stored(prefix: string, workspace: string, anonymousId: string): Promise<readonly StoredPending[]> {
    return (await anonymousState(this.redis, prefix, workspace, anonymousId)).storedPending;
  }

  /** The ids of the pending events, in stored order. */
  async ids(prefix: string, workspace: string, anonymousId: string): Promise<string[]> {
    return (await this.idsOf(prefix, workspace, [anonymousId])).get(anonymousId) ?? [];
  }

  /** The same for many anonymous ids, their pointers read together (a few Fetches per partition). */
  async idsOf(prefix: string, workspace: string, anonymousIds: readonly string[]): Promise<Map<string, string[]>> {
    const requests = await Promise.all(anonymousIds.map(async (anonymousId) => ({ workspace, anonymousId, stored: await this.stored(prefix, workspace, anonymousId), cutoff: Number.NEGATIVE_INFINITY })));
    const resolved = await resolvePending(requests, (partition, offsets) => this.reader.read(this.topics.inbound, partition, offsets), this.catalog, testLogger);
    if (resolved.missing > 0) throw new Error(`${resolved.missing} pending events of ${workspace} are gone from ${this.topics.inbound}`);
    return new Map(anonymousIds.map((anonymousId, i) => [anonymousId, (resolved.events[i] ?? []).map((event) => event.id)]));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.reader.close();
  }
}
