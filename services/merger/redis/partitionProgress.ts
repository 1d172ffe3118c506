/**
 * Where each partition of a two-plane consumer stood in Redis: the positions (offset and
 * metadata per topic) its last batch that wrote state was about to commit in Kafka, recorded
 * after that batch's state writes (scripts/recordProgress-1.lua).
 *
 * Redis may lose its last writes — a failover to a replica that lagged, a restore, a restart
 * without the last second of its AOF — while the Kafka transactions that published those
 * batches' outputs stay committed. A claim then finds this record behind the committed positions
 * and reads the logs again from it, with outputs already published held back
 * (kafka/sequentialPartitions.ts); a consumer that finds the count changed under it while
 * running claims again.
 */
import type { ClaimedPosition, RecordedProgress } from '../../shared/kafka/sequentialPartitions';
import { escapeGlob, scanKeys } from '../../shared/redis/scanKeys';
import type { KeySpace } from './keys';
import type { MergerRedis } from './scripts';

const offsetField = (topic: string) => `o|${topic}`;
const metadataField = (topic: string) => `m|${topic}`;

export class PartitionProgress {
  /**
   * `topic`: the consumer's own topic (the first of those it reads), which names the partition
   * in the key space; `topics`: every topic whose position is recorded.
   */
  constructor(
    private readonly redis: MergerRedis,
    private readonly keys: KeySpace,
    private readonly topic: string,
    private readonly topics: readonly string[],
  ) {}

  private key(partition: number): string {
    return this.keys.partition(this.topic, partition).progress;
  }

  async read(partition: number): Promise<RecordedProgress> {
    const hash = await this.redis.hgetall(this.key(partition));
    const positions = new Map<string, ClaimedPosition>();
    for (const topic of this.topics) {
      const offset = hash[offsetField(topic)];
      if (offset !== undefined) positions.set(topic, { offset: Number(offset), metadata: hash[metadataField(topic)] ?? null });
    }
    return { writes: Number(hash.n ?? 0), positions };
  }

  async writes(partition: number): Promise<number> {
    return Number((await this.redis.hget(this.key(partition), 'n')) ?? 0);
  }

  /**
   * Partitions the legacy merger applied (its watermark is in the partition's state hash) that
   * have no progress record: a legacy deployment started as two planes without `anonmerge migrate
   * two-planes`, which would run without the legacy state. Redis alone answers: given the inbound
   * partition count, each partition's keys are read (what the merger does at every start); without
   * it, a scan of the key space finds the partitions' state keys (the CLI's check, which must not
   * need Kafka) — a scan costs a pass over every key, 2.2 s at 1.4 million keys.
   */
  async unmigratedLegacy(partitions?: number): Promise<number[]> {
    const candidates: number[] = [];
    if (partitions !== undefined) {
      for (let partition = 0; partition < partitions; partition += 1) candidates.push(partition);
    } else {
      const sample = this.keys.partition(this.topic, 0).state;
      const head = sample.slice(0, sample.length - '0}:s'.length);
      for (const key of await scanKeys(this.redis, `${escapeGlob(head)}*}:s`)) {
        const partition = Number(key.slice(head.length, -'}:s'.length));
        if (Number.isInteger(partition) && this.keys.partition(this.topic, partition).state === key) candidates.push(partition);
      }
    }
    const found: number[] = [];
    await Promise.all(
      candidates.map(async (partition) => {
        const [watermark, recorded] = await Promise.all([this.redis.hget(this.keys.partition(this.topic, partition).state, 'w'), this.redis.exists(this.key(partition))]);
        if (watermark !== null && recorded === 0) found.push(partition);
      }),
    );
    return found.sort((a, b) => a - b);
  }

  /** The new count of writes, or null when Redis holds another count than `writes` (see the script). */
  async record(partition: number, writes: number, positions: ReadonlyMap<string, ClaimedPosition>): Promise<number | null> {
    const args: string[] = [];
    for (const [topic, position] of positions) args.push(offsetField(topic), String(position.offset), metadataField(topic), position.metadata ?? '');
    const count = await this.redis.recordProgress(this.key(partition), String(writes), ...args);
    return count < 0 ? null : count;
  }
}
