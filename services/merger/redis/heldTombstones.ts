/**
 * Deletions' tombstones the control plane holds until every data partition has published past
 * them (docs/design-person-operations.md, "Tombstones after the person's last events"), per
 * control partition, in the order they are sent: (received_at, record id, key).
 *
 *   <prefix>:{part|<person-ops topic>|<n>}:h   zset   JSON [received_at, record id, key] → received_at
 *
 * Adding one is idempotent (a replayed deletion adds the same member); one is removed once a
 * committed transaction sent it, and the committed position's metadata names the last one sent,
 * so a restart never sends one twice.
 */
import type { KeySpace } from './keys';
import type { MergerRedis } from './scripts';

export interface HeldTombstone {
  readonly at: number;
  readonly recordId: string;
  /** The merged-events key the tombstone deletes (the person's). */
  readonly key: string;
}

/** The order tombstones are sent in. */
export function compareTombstones(a: HeldTombstone, b: HeldTombstone): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.recordId !== b.recordId) return a.recordId < b.recordId ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

const member = (t: HeldTombstone) => JSON.stringify([t.at, t.recordId, t.key]);

export class HeldTombstones {
  constructor(
    private readonly redis: MergerRedis,
    private readonly keys: KeySpace,
    private readonly personOpsTopic: string,
  ) {}

  private key(partition: number): string {
    return this.keys.partition(this.personOpsTopic, partition).tombstones;
  }

  async add(partition: number, tombstones: readonly HeldTombstone[]): Promise<void> {
    if (tombstones.length === 0) return;
    await this.redis.zadd(this.key(partition), ...(tombstones.flatMap((t) => [t.at, member(t)]) as [number, string]));
  }

  /** Every held tombstone of the partition, in sending order. */
  async list(partition: number): Promise<HeldTombstone[]> {
    const members = await this.redis.zrange(this.key(partition), 0, -1);
    return members
      .map((text) => {
        const [at, recordId, key] = JSON.parse(text) as [number, string, string];
        return { at, recordId, key };
      })
      .sort(compareTombstones);
  }

  async remove(partition: number, tombstones: readonly HeldTombstone[]): Promise<void> {
    if (tombstones.length === 0) return;
    await this.redis.zrem(this.key(partition), ...tombstones.map(member));
  }
}
