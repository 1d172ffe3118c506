/**
 * How far each data partition has published (docs/design-person-operations.md, "Tombstones after
 * the person's last events"): per control partition, the release point up to which every item of
 * the data partition was applied and its outputs committed in Kafka. Written by the data plane
 * after each batch (a point only ever moves forward); read by the control plane, which holds a
 * deletion's tombstone until every data partition has published past the deletion.
 *
 *   <prefix>:{part|<inbound topic>|<n>}:p   string   JSON { control partition: point }
 */
import type { Clocks } from '../ordered/dataBuffer';
import type { KeySpace } from './keys';
import type { MergerRedis } from './scripts';

export class PublishedPoints {
  /** Per data partition, the JSON last written, so an unchanged point costs nothing. */
  private readonly written = new Map<number, string>();

  constructor(
    private readonly redis: MergerRedis,
    private readonly keys: KeySpace,
    private readonly inboundTopic: string,
  ) {}

  private key(partition: number): string {
    return this.keys.partition(this.inboundTopic, partition).published;
  }

  /** After a batch committed (or decided nothing): the partition's points, if they moved. */
  async write(partition: number, published: Clocks): Promise<void> {
    const text = JSON.stringify(Object.fromEntries(published));
    if (this.written.get(partition) === text) return;
    await this.redis.set(this.key(partition), text);
    this.written.set(partition, text);
  }

  /** The lowest point of control partition `control` over data partitions 0 … `partitions` − 1 (−∞ if one has none). */
  async lowest(control: number, partitions: number): Promise<number> {
    const values = await Promise.all(Array.from({ length: partitions }, (_, partition) => this.redis.get(this.key(partition))));
    let lowest = Number.POSITIVE_INFINITY;
    for (const value of values) {
      const point = value ? (JSON.parse(value) as Record<string, number>)[String(control)] : undefined;
      lowest = Math.min(lowest, typeof point === 'number' ? point : Number.NEGATIVE_INFINITY);
    }
    return partitions > 0 ? lowest : Number.NEGATIVE_INFINITY;
  }
}
