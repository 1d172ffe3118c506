/**
 * The ceiling of the merger's own Kafka I/O: the same consumer settings, and the same
 * transaction per batch (one output per input record, plus the next offset, by a transactional
 * producer per partition) — but no decoding, no Redis, no decisions. Run as a child process by
 * bench/merger.ts. Env: BENCH_TOPIC, BENCH_OUTPUT_TOPIC, BENCH_GROUP.
 */
import type { Message, Producer } from 'kafkajs';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { createLogger } from '../services/shared/logger';

async function main(): Promise<void> {
  const topic = process.env.BENCH_TOPIC as string;
  const output = process.env.BENCH_OUTPUT_TOPIC as string;
  const groupId = process.env.BENCH_GROUP as string;
  const outputsPerRecord = Number(process.env.BENCH_OUTPUTS_PER_RECORD ?? 1);
  const outputTopics = outputsPerRecord === 1 ? [output] : [0, 1, 2, 3].map((i) => `${output}-${i}`);
  const config = loadConfig(['kafka', 'merger']);
  const logger = createLogger('raw-pass-through', 'warn');
  const kafka = createKafka(config.kafka, logger, 'raw');
  const producers = new Map<number, Promise<Producer>>();
  const producerFor = (partition: number) => {
    let producer = producers.get(partition);
    if (!producer) {
      const created = kafka.producer({ transactionalId: `${groupId}.${topic}.${partition}`, idempotent: true, maxInFlightRequests: 1 });
      producer = created.connect().then(() => created);
      producers.set(partition, producer);
    }
    return producer;
  };
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, maxBytesPerPartition: config.merger.fetchMaxBytes, sessionTimeout: config.merger.sessionTimeoutMs });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.merger.partitionsConcurrently,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const transaction = await (await producerFor(batch.partition)).transaction();
      // As many outputs per record as asked (the merger's own volume, spread over four topics as
      // its streams), or one each to one topic.
      const byTopic: Message[][] = outputTopics.map(() => []);
      batch.messages.forEach((m, i) => {
        const count = Math.floor(outputsPerRecord) + (((Number(m.offset) * 7919) % 1000) / 1000 < outputsPerRecord % 1 ? 1 : 0);
        for (let c = 0; c < count; c += 1) (byTopic[(i + c) % outputTopics.length] as Message[]).push({ key: m.key, value: m.value });
      });
      await transaction.sendBatch({ acks: -1, topicMessages: outputTopics.map((topic, t) => ({ topic, messages: byTopic[t] ?? [] })).filter((tm) => tm.messages.length > 0) });
      await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] });
      await transaction.commit();
      resolveOffset(batch.lastOffset());
      await heartbeat();
    },
  });
  const stop = async () => {
    await consumer.disconnect();
    await Promise.all([...producers.values()].map(async (p) => (await p).disconnect()));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`raw pass-through failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
