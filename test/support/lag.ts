/**
 * Consumer lag of a group on a topic: end offsets minus committed offsets, summed.
 */
import { fetchCommittedOffsets } from '../../services/shared/kafka/committedOffsets';
import type { Kafka } from 'kafkajs';
import { withAdmin } from './stack';

export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const [ends, committedOf] = await Promise.all([admin.fetchTopicOffsets(topic), fetchCommittedOffsets(admin, groupId, topic)]);
    return ends.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, committedOf.get(p.partition) ?? 0)), 0);
  });
}

export async function waitForLag(kafka: Kafka, groupId: string, topic: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const lag = await groupLag(kafka, groupId, topic).catch(() => Number.POSITIVE_INFINITY);
    // Ticks keep arriving; a lag of a few records is the merger keeping up with them.
    if (lag <= 6) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`consumer lag still ${lag} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
