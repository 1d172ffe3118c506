/**
 * anonmerge partitions add --count N [--stream inbound]: adds partitions to a topic (the admin
 * API). Keys move to other partitions from then on; docs/runbook-partitions.md says what that
 * does to anonymous ids that are in flight, and why SPEC R2c still holds.
 */
import type { Kafka } from 'kafkajs';
import type { TopicConfig } from '../../shared/config';
import type { StreamName } from '../../shared/avro/schemaFiles';
import { waitForLeaders } from '../../shared/kafka/topics';

export async function addPartitions(kafka: Kafka, topics: TopicConfig, stream: StreamName, count: number): Promise<string> {
  const topic = topics[stream];
  const admin = kafka.admin();
  await admin.connect();
  try {
    // The commands topic is co-partitioned with inbound: both grow together.
    const withCommands = stream === 'inbound' && (await admin.listTopics()).includes(topics.commands);
    // A topic created a moment ago may not answer yet ("does not host this topic-partition").
    await waitForLeaders(admin, withCommands ? [topic, topics.commands] : [topic], 30_000);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const current = metadata?.partitions.length ?? 0;
    if (count <= current) throw new Error(`${topic} has ${current} partitions; the new count must be larger (Kafka cannot remove partitions)`);
    const commands = withCommands ? ((await admin.fetchTopicMetadata({ topics: [topics.commands] })).topics[0]?.partitions.length ?? 0) : 0;
    const together = commands > 0 && commands < count ? [{ topic, count }, { topic: topics.commands, count }] : [{ topic, count }];
    await admin.createPartitions({ topicPartitions: together });
    // Returned once the new partitions have leaders: whoever reads the topic next sees them whole.
    await waitForLeaders(admin, together.map((t) => t.topic), 30_000, new Map(together.map((t) => [t.topic, t.count])));
    return `${together.map((t) => t.topic).join(' and ')}: ${current} → ${count} partitions. Producers and the merger group pick them up at their next metadata refresh (ANONMERGE_KAFKA_METADATA_MAX_AGE_MS).`;
  } finally {
    await admin.disconnect();
  }
}

