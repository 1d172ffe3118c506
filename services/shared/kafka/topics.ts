/**
 * The topics anonmerge owns, and their creation at start (idempotent; each service does it so
 * that either can start first). Partitions of an existing topic are never changed here: adding
 * partitions moves keys, so it is a deliberate operation, not a side effect of a restart.
 */
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type { TopicConfig } from '../config';
import type { Logger } from '../logger';
import { STREAMS, type StreamName } from '../avro/schemaFiles';

const DAY_MS = 24 * 60 * 60 * 1000;

// The inbound topic is the event log the merger's state can be rebuilt from, so it keeps at
// least the longest workspace retention (30 days by default) plus a margin.
const RETENTION_MS: Record<StreamName, number> = {
  inbound: 35 * DAY_MS,
  mergedEvents: 7 * DAY_MS,
  campaignTriggers: 7 * DAY_MS,
  activity: 30 * DAY_MS,
  anonymousEvents: 7 * DAY_MS,
  deadLetters: 30 * DAY_MS,
  // Like inbound: the control plane's state is rebuilt from it.
  personOps: 35 * DAY_MS,
  // The data plane's state is rebuilt from inbound and this, together.
  commands: 35 * DAY_MS,
  // Read by the order stage within seconds; kept as long as the merged events it becomes.
  personOrder: 7 * DAY_MS,
  // Compacted, not expired: every change is kept under its own key (docs/design-workspaces.md).
  workspaces: -1,
  // Read by the bridge within seconds; a week leaves room to replay after a bridge outage.
  requests: 7 * DAY_MS,
};

/** Partitions a stream's topic is created with: the person-order topic has its own count (see its setting). */
export function partitionsOf(topics: TopicConfig, stream: StreamName): number {
  if (stream === 'workspaces') return 1; // one order of changes, read whole by every follower
  return stream === 'personOrder' ? topics.personOrderPartitions : topics.partitions;
}

export function topicDefinitions(topics: TopicConfig): ITopicConfig[] {
  return STREAMS.map((stream) => ({
    topic: topics[stream],
    numPartitions: partitionsOf(topics, stream),
    replicationFactor: topics.replicationFactor,
    configEntries: [
      { name: 'retention.ms', value: String(RETENTION_MS[stream]) },
      { name: 'cleanup.policy', value: stream === 'workspaces' ? 'compact' : 'delete' },
    ],
  }));
}

/**
 * Until every partition of the topics has a leader. kafkajs' own waitForLeaders gives up on the
 * first UNKNOWN_TOPIC_OR_PARTITION a broker answers while it is still propagating a topic it has
 * just created (seen on a fresh KRaft broker: a whole test suite failed at its start), so we wait
 * here instead, retrying that answer and LEADER_NOT_AVAILABLE.
 */
export async function waitForLeaders(admin: Admin, names: string[], timeoutMs: number, minPartitions: ReadonlyMap<string, number> = new Map()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const transient = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      if (metadata.topics.length === names.length && metadata.topics.every((t) => t.partitions.length >= (minPartitions.get(t.name) ?? 1) && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (!transient.has((error as { type?: string }).type ?? '') || Date.now() + wait > deadline) throw error;
    }
    if (Date.now() + wait > deadline) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * The commands topic is co-partitioned with inbound (a binding change goes to the partition of
 * its id's events): it has inbound's partition count, created with it or grown to it.
 */
async function inboundPartitionCount(admin: Admin, topics: TopicConfig, existing: ReadonlySet<string>): Promise<number> {
  if (!existing.has(topics.inbound)) return topics.partitions;
  const [inbound] = (await admin.fetchTopicMetadata({ topics: [topics.inbound] })).topics;
  return inbound?.partitions.length || topics.partitions;
}

export async function ensureTopics(admin: Admin, topics: TopicConfig, logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const inboundPartitions = await inboundPartitionCount(admin, topics, existing);
  const wanted = topicDefinitions(topics).map((t) => (t.topic === topics.commands ? { ...t, numPartitions: inboundPartitions } : t));
  const missing = wanted.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
      logger.info({ topics: missing.map((t) => t.topic), partitions: Object.fromEntries(missing.map((t) => [t.topic, t.numPartitions])) }, 'topics created');
    } catch (error) {
      // Another service may have created them between our list and create.
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
    }
  }
  await waitForLeaders(admin, wanted.map((t) => t.topic), 30_000);
  const metadata = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
  await coPartitionCommands(admin, topics, metadata.topics, logger);
  const configured = new Map(wanted.map((t) => [t.topic, t.numPartitions]));
  for (const topic of metadata.topics) {
    if (topic.partitions.length !== configured.get(topic.name)) {
      logger.info({ topic: topic.name, partitions: topic.partitions.length, configured: configured.get(topic.name) }, 'topic keeps its existing partition count');
    }
  }
}

/** Grows the commands topic to inbound's partition count (partitions were added to inbound). */
async function coPartitionCommands(admin: Admin, topics: TopicConfig, metadata: ReadonlyArray<{ name: string; partitions: readonly unknown[] }>, logger: Logger): Promise<void> {
  const count = (name: string) => metadata.find((t) => t.name === name)?.partitions.length ?? 0;
  const inbound = count(topics.inbound);
  const commands = count(topics.commands);
  if (commands === 0 || commands >= inbound) return;
  try {
    await admin.createPartitions({ topicPartitions: [{ topic: topics.commands, count: inbound }] });
    logger.info({ topic: topics.commands, from: commands, to: inbound }, 'commands topic grown to the inbound partition count');
  } catch (error) {
    // Another service may have grown it meanwhile.
    if ((error as { type?: string }).type !== 'INVALID_PARTITIONS') throw error;
  }
}

/** ensureTopics with an admin client of its own, closed afterwards (services that keep none). */
export async function ensureTopicsWith(kafka: Kafka, topics: TopicConfig, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics, logger);
  } finally {
    await admin.disconnect();
  }
}
