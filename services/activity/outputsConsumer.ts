/**
 * Feeds the activity view from the merger's outbound topics: merged events, anonymous events
 * and activity records, read_committed. Each process reads everything with a consumer group of
 * its own (nothing committed), starting a bounded distance back from the end of each partition,
 * so a restart shows recent history at once without reading 35 days of topic.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { StreamName } from '../shared/avro/schemaFiles';
import { settledTopicOffsets } from '../shared/kafka/topicOffsets';
import type { Logger } from '../shared/logger';
import type { Activity, AnonymousEvent, MergedEvent } from '../shared/model/outbound';
import { rowOfActivity, rowOfAnonymous, rowOfMerged, type ViewRow } from './view';

const STREAMS = ['mergedEvents', 'anonymousEvents', 'activity'] as const satisfies readonly StreamName[];

export interface OutputsConsumer {
  readonly consumer: Consumer;
  /** Has the group given this consumer its partitions (it reads from then on)? */
  joined(): boolean;
}

export async function consumeOutputs(kafka: Kafka, catalog: SchemaCatalog, logger: Logger, backfillPerPartition: number, onRow: (workspace: string, row: ViewRow) => void): Promise<OutputsConsumer> {
  const topics = new Map<string, (typeof STREAMS)[number]>(STREAMS.map((stream) => [catalog.topic(stream), stream]));
  const admin = kafka.admin();
  await admin.connect();
  const starts = new Map<string, Map<number, string>>();
  try {
    for (const topic of topics.keys()) {
      const offsets = await settledTopicOffsets(admin, topic);
      starts.set(topic, new Map(offsets.map((o) => [o.partition, String(Math.max(Number(o.low), Number(o.high) - backfillPerPartition))])));
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `anonmerge-activity-${process.pid}-${Date.now().toString(36)}`, readUncommitted: false, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics.keys()], fromBeginning: true });
  let joined = false;
  // Once the group gave us the partitions, move each to its backfill start.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions) {
        const offset = starts.get(topic)?.get(partition);
        if (offset !== undefined) consumer.seek({ topic, partition, offset });
      }
    }
  });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      if (message.value === null) return; // a deleted person's tombstone
      const stream = topics.get(topic);
      try {
        if (stream === 'mergedEvents') {
          const event = await catalog.decode<MergedEvent>('mergedEvents', message.value);
          onRow(event.workspace_id, rowOfMerged(event));
        } else if (stream === 'anonymousEvents') {
          const event = await catalog.decode<AnonymousEvent>('anonymousEvents', message.value);
          onRow(event.workspace_id, rowOfAnonymous(event));
        } else if (stream === 'activity') {
          const activity = await catalog.decode<Activity>('activity', message.value);
          onRow(activity.workspace_id, rowOfActivity(activity));
        }
      } catch (error) {
        logger.warn({ err: error, topic, partition, offset: message.offset }, 'an outbound record could not be decoded; the activity view skips it');
      }
    },
  });
  return { consumer, joined: () => joined };
}
