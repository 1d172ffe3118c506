/**
 * What an anonymous id's pending list in Redis holds: the stored entries, and the event ids they
 * stand for — copies read as they are, pointers (docs/design-pending-pointers.md) read back from
 * the inbound log the way a bind reads them.
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

  async stored(prefix: string, workspace: string, anonymousId: string): Promise<StoredPending[]> {
    const entries = await this.redis.lrangeBuffer(new KeySpace(prefix).entity({ kind: 'anonymous', workspace, anonymousId }).pending, 0, -1);
    return entries.map(decodeStoredPending);
  }

  /** The ids of the pending events, in stored order. */
  async ids(prefix: string, workspace: string, anonymousId: string): Promise<string[]> {
    const stored = await this.stored(prefix, workspace, anonymousId);
    const resolved = await resolvePending([{ workspace, anonymousId, stored, cutoff: Number.NEGATIVE_INFINITY }], (partition, offsets) => this.reader.read(this.topics.inbound, partition, offsets), this.catalog, testLogger);
    if (resolved.missing > 0) throw new Error(`${resolved.missing} pending events of ${anonymousId} are gone from ${this.topics.inbound}`);
    return (resolved.events[0] ?? []).map((event) => event.id);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.reader.close();
  }
}
