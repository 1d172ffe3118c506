/**
 * A topic's partition count, read at start and again every `refreshMs`: partitions added to a
 * topic are picked up within that time, as the clients' own metadata refresh does. A failed read
 * keeps the count known before (logged).
 *
 * Read from the topic's metadata, not its offsets: listing offsets needs each partition's leader
 * to answer, which a topic created a moment before may not yet (a merger starting on a fresh stack
 * died of "not the leader for that topic-partition" here).
 */
import type { Admin } from 'kafkajs';
import type { Logger } from '../logger';
import { waitForLeaders } from './topics';

export interface PartitionCount {
  readonly current: () => number;
  stop(): void;
}

/** The topic's partition count now (0: no such topic). */
export async function partitionCountOf(admin: Admin, topic: string): Promise<number> {
  const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  return metadata?.partitions.length ?? 0;
}

export async function followPartitionCount(admin: Admin, topic: string, refreshMs: number, logger: Logger): Promise<PartitionCount> {
  await waitForLeaders(admin, [topic], 30_000);
  let count = await partitionCountOf(admin, topic);
  const timer = setInterval(() => {
    partitionCountOf(admin, topic)
      .then((partitions) => {
        if (partitions > 0) count = partitions;
      })
      .catch((error: unknown) => logger.warn({ err: error, topic }, 'reading the partition count failed; going on with the one known'));
  }, refreshMs);
  timer.unref();
  return { current: () => count, stop: () => clearInterval(timer) };
}
