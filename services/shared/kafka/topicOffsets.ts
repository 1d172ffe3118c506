/**
 * A topic's offsets, read once its partitions have leaders that answer. A broker that has just
 * created a topic (the merger creates the stack's topics at its start) can give a partition a
 * leader in its metadata and still answer ListOffsets with "not the leader" for a moment: the
 * activity service died of it on a fresh stack (make-lifecycle.test.ts, in CI).
 *
 * kafkajs' fetchTopicOffsets also fails with a TypeError ("Cannot destructure property
 * 'partitions' of 'low.pop(...)'", tulios/kafkajs#461) when the admin's metadata is replaced
 * between its two ListOffsets calls and no longer names the topic's leaders — an admin that several
 * consumers share, each asking about its own new topic. The control plane crashed on it at a claim
 * (restarted 2 s later, its outputs late). It is a moment, like the others: asked again.
 */
import type { Admin } from 'kafkajs';
import { waitForLeaders } from './topics';

const TRANSIENT = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/** Worth asking again: a leader moving, or kafkajs' metadata race (its TypeError, wrapped or not). */
export function isTransientOffsetsError(error: unknown): boolean {
  if (TRANSIENT.has((error as { type?: string } | null)?.type ?? '')) return true;
  const cause = (error as { cause?: unknown } | null)?.cause ?? error;
  return cause instanceof TypeError && /partitions/.test(cause.message);
}

export async function settledTopicOffsets(admin: Admin, topic: string, timeoutMs = 30_000): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  const deadline = Date.now() + timeoutMs;
  await waitForLeaders(admin, [topic], timeoutMs);
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (!isTransientOffsetsError(error) || Date.now() + wait > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
