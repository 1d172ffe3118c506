/**
 * A topic's offsets, read once its partitions have leaders that answer. A broker that has just
 * created a topic (the merger creates the stack's topics at its start) can give a partition a
 * leader in its metadata and still answer ListOffsets with "not the leader" for a moment: the
 * activity service died of it on a fresh stack (make-lifecycle.test.ts, in CI).
 */
import type { Admin } from 'kafkajs';
import { waitForLeaders } from './topics';

const TRANSIENT = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

export async function settledTopicOffsets(admin: Admin, topic: string, timeoutMs = 30_000): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  const deadline = Date.now() + timeoutMs;
  await waitForLeaders(admin, [topic], timeoutMs);
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (!TRANSIENT.has((error as { type?: string }).type ?? '') || Date.now() + wait > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
