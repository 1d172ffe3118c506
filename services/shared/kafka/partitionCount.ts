/**
 * A topic's partition count, read at start and again every `refreshMs`: partitions added to a
 * topic are picked up within that time, as the clients' own metadata refresh does. A failed read
 * keeps the count known before (logged).
 */
import type { Admin } from 'kafkajs';
import type { Logger } from '../logger';

export interface PartitionCount {
  readonly current: () => number;
  stop(): void;
}

export async function followPartitionCount(admin: Admin, topic: string, refreshMs: number, logger: Logger): Promise<PartitionCount> {
  let count = (await admin.fetchTopicOffsets(topic)).length;
  const timer = setInterval(() => {
    admin
      .fetchTopicOffsets(topic)
      .then((offsets) => (count = offsets.length))
      .catch((error: unknown) => logger.warn({ err: error, topic }, 'reading the partition count failed; going on with the one known'));
  }, refreshMs);
  timer.unref();
  return { current: () => count, stop: () => clearInterval(timer) };
}
