/**
 * A consumer group's committed offsets of a topic.
 *
 * With `stable`, read with KIP-447's require_stable (OffsetFetch v7, added to kafkajs by
 * patches/kafkajs+2.2.4.patch): while a transaction that commits an offset of the group is
 * undecided — or decided but not yet applied by the group coordinator — the broker answers
 * UNSTABLE_OFFSET_COMMIT for that partition instead of the offset from before it. kafkajs' admin
 * does not retry that answer, so this does, until the transaction is settled (up to
 * `timeoutMs`). Ask only for the partitions whose transactions are settled or about to be: a
 * partition whose last owner died mid-transaction stays unstable until someone fences that
 * owner's producer, or until the transaction times out.
 */
import type { Admin } from 'kafkajs';

const UNSTABLE = 'UNSTABLE_OFFSET_COMMIT';

export interface CommittedOffsetOptions {
  /** Only these partitions (default: all of the topic's). */
  readonly partitions?: readonly number[];
  /** Wait until no transaction that commits these offsets is in progress. */
  readonly stable?: boolean;
  readonly timeoutMs?: number;
}

/** partition → the next offset to consume (-1: the group has committed nothing there). */
export async function fetchCommittedOffsets(admin: Admin, groupId: string, topic: string, options: CommittedOffsetOptions = {}): Promise<Map<number, number>> {
  const positions = await fetchCommittedPositions(admin, groupId, topic, options);
  return new Map([...positions].map(([partition, position]) => [partition, position.offset]));
}

/** partition → the next offset to consume and the metadata committed with it (null: none). */
export async function fetchCommittedPositions(admin: Admin, groupId: string, topic: string, options: CommittedOffsetOptions = {}): Promise<Map<number, { offset: number; metadata: string | null }>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // The patched admin takes { topic, partitions } and requireStable; its typings do not know.
  const topics = (options.partitions ? [{ topic, partitions: options.partitions }] : [topic]) as unknown as string[];
  const request = { groupId, topics, requireStable: options.stable ?? false } as Parameters<Admin['fetchOffsets']>[0];
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      const [offsets] = await admin.fetchOffsets(request);
      return new Map((offsets?.partitions ?? []).map((p) => [p.partition, { offset: Number(p.offset), metadata: p.metadata ?? null }]));
    } catch (error) {
      if ((error as { type?: string }).type !== UNSTABLE || Date.now() + wait > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
