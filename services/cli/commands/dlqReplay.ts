/**
 * anonmerge dlq replay [--from-offset N] [--dry-run]: re-submits dead letters to the topic they
 * came from, with their original key and bytes, after the cause was fixed (a schema registered,
 * a bug in the merger mended). Records that are still bad land on the dead-letter topic again.
 */
import type { Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { DeadLetter } from '../../shared/model/outbound';

export interface ReplaySummary {
  readonly read: number;
  readonly replayed: number;
  readonly skipped: number;
  readonly reasons: Record<string, number>;
}

export async function replayDeadLetters(kafka: Kafka, catalog: SchemaCatalog, options: { fromOffset: number; dryRun: boolean; groupId: string }): Promise<ReplaySummary> {
  const topic = catalog.topic('deadLetters');
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const remaining = new Set([...ends].filter(([, end]) => end > options.fromOffset).map(([p]) => p));
  const letters: Array<DeadLetter & { at: string }> = [];
  if (remaining.size > 0) {
    const consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const offset = Number(message.offset);
          const end = ends.get(partition) ?? 0;
          if (offset >= options.fromOffset && offset < end && message.value) letters.push({ ...(await catalog.decode<DeadLetter>('deadLetters', message.value)), at: `${partition}:${offset}` });
          if (offset >= end - 1 && remaining.delete(partition) && remaining.size === 0) resolve();
        },
      });
    });
    await consumer.disconnect();
  }
  const reasons: Record<string, number> = {};
  const replayable = letters.filter((l) => l.value !== null);
  for (const letter of letters) {
    const reason = letter.reason.replace(/\d+/g, 'N').slice(0, 80);
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  if (!options.dryRun && replayable.length > 0) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const byTopic = new Map<string, Array<{ key: Buffer | null; value: Buffer | null }>>();
    for (const letter of replayable) {
      const list = byTopic.get(letter.source_topic) ?? [];
      list.push({ key: letter.key, value: letter.value });
      byTopic.set(letter.source_topic, list);
    }
    for (const [source, messages] of byTopic) await producer.send({ topic: source, acks: -1, messages });
    await producer.disconnect();
  }
  return { read: letters.length, replayed: options.dryRun ? 0 : replayable.length, skipped: letters.length - replayable.length, reasons };
}
