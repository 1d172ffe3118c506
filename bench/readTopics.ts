/**
 * Reading a run's topics back for a comparison with the reference model (make bench-sequences and
 * the two-plane tests): "has the merger caught up" and "every record up to the ends".
 */
import type { Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../services/shared/avro/catalog';
import type { StreamName } from '../services/shared/avro/schemaFiles';
import type { TopicConfig } from '../services/shared/config';
import { fetchCommittedOffsets } from '../services/shared/kafka/committedOffsets';

/**
 * Waits until the group's committed offsets on the inbound topic are at its ends. Two planes:
 * ticks keep arriving, so "caught up" is within a few of them; then until the order stage has
 * committed past what the person-order topic held at that moment (every merged event decided
 * by then is out).
 */
export async function waitForMerger(kafka: Kafka, topics: TopicConfig, groupId: string, TWO_PLANES: boolean, timeoutMs = 120_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topics.inbound), fetchCommittedOffsets(admin, groupId, topics.inbound)]);
      const slack = TWO_PLANES ? 50 : 0;
      if (ends.every((e) => (committed.get(e.partition) ?? -1) >= Number(e.high) - slack)) break;
      if (Date.now() > deadline) throw new Error(`the merger did not catch up within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!TWO_PLANES) return;
    const orderEnds = await admin.fetchTopicOffsets(topics.personOrder);
    for (;;) {
      const committed = await fetchCommittedOffsets(admin, `${groupId}.order`, topics.personOrder);
      if (orderEnds.every((e) => (committed.get(e.partition) ?? -1) >= Number(e.high))) return;
      if (Date.now() > deadline) throw new Error(`the merger's order stage did not catch up within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every record of the given streams (read_committed, or read_uncommitted when asked: records of
 * aborted transactions too) up to their ends as they are now (ticks keep coming, so "until
 * nothing new" would never come), or until nothing new for 1.5 s.
 */
export interface ReadRecord {
  readonly stream: StreamName;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: unknown;
}

export async function readAll(kafka: Kafka, catalog: SchemaCatalog, topics: TopicConfig, streams: StreamName[], options: { readUncommitted?: boolean } = {}): Promise<ReadRecord[]> {
  const got: ReadRecord[] = [];
  const streamOf = new Map(streams.map((stream) => [topics[stream], stream]));
  const admin = kafka.admin();
  await admin.connect();
  // The last offset that can hold a record: a transaction's last offset is its commit marker.
  const ends = new Map<string, number>();
  for (const topic of streamOf.keys()) for (const end of await admin.fetchTopicOffsets(topic)) if (Number(end.high) > 0) ends.set(`${topic}/${end.partition}`, Number(end.high) - 2);
  await admin.disconnect();
  const reached = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `${topics.inbound}-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, readUncommitted: options.readUncommitted ?? false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...streamOf.keys()], fromBeginning: true });
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      last = Date.now();
      reached.set(`${topic}/${partition}`, Number(message.offset));
      const stream = streamOf.get(topic) as StreamName;
      got.push({ stream, topic, partition, offset: Number(message.offset), key: message.key?.toString() ?? '', value: message.value === null ? null : await catalog.decode(stream, message.value) });
    },
  });
  const atEnds = () => [...ends].every(([key, end]) => (reached.get(key) ?? -1) >= end);
  // Before the first record the group may still be joining: idle counts from then on, not before.
  const idleLimit = () => (got.length === 0 ? 15_000 : 1500);
  while (!atEnds() && Date.now() - last < idleLimit()) await new Promise((resolve) => setTimeout(resolve, 200));
  await consumer.disconnect();
  return got;
}
