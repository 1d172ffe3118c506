/**
 * The merger service: consumes the inbound topic and emits what downstream consumers subscribe to.
 */
import type { Message } from 'kafkajs';
import { SchemaCatalog } from '../shared/avro/catalog';
import { createSchemaRegistry } from '../shared/avro/registry';
import { buildHealthServer } from '../shared/http/healthServer';
import { createKafka } from '../shared/kafka/client';
import { ensureTopics } from '../shared/kafka/topics';
import { installShutdown } from '../shared/lifecycle/shutdown';
import { configOrExit } from '../shared/lifecycle/startup';
import { createLogger } from '../shared/logger';
import { fromWire, type InboundRecordWire } from '../shared/model/inbound';
import type { DeadLetter } from '../shared/model/outbound';
import { passThrough } from './passThrough';

async function main(): Promise<void> {
  const config = configOrExit('merger', ['kafka', 'topics', 'registry', 'log', 'merger']);
  const logger = createLogger('merger', config.log.level);
  const kafka = createKafka(config.kafka, logger, 'merger');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.topics, logger);
  await admin.disconnect();
  const catalog = await SchemaCatalog.open(createSchemaRegistry(config.registry), config.topics, logger);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: config.merger.groupId });
  let running = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    running = true;
  });
  consumer.on(consumer.events.CRASH, () => {
    running = false;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.inbound, fromBeginning: config.merger.fromBeginning });

  const health = buildHealthServer({ logger, ready: () => running });
  await health.listen({ host: config.merger.host, port: config.merger.port });

  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const byTopic = new Map<string, Message[]>();
      const add = (topic: string, message: Message) => {
        const list = byTopic.get(topic) ?? [];
        list.push(message);
        byTopic.set(topic, list);
      };
      for (const message of batch.messages) {
        try {
          const record = fromWire(await catalog.decode<InboundRecordWire>('inbound', message.value ?? Buffer.alloc(0)));
          for (const output of passThrough(record)) add(catalog.topic(output.stream), { key: output.key, value: catalog.encode(output.stream, output.value) });
        } catch (error) {
          const letter: DeadLetter = { reason: (error as Error).message, source_topic: batch.topic, source_partition: batch.partition, source_offset: Number(message.offset), key: message.key, value: message.value, failed_at: Date.now() };
          logger.warn({ err: error, partition: batch.partition, offset: message.offset }, 'dead-lettering an inbound record');
          add(catalog.topic('deadLetters'), { key: message.key, value: catalog.encode('deadLetters', letter) });
        }
      }
      if (byTopic.size > 0) {
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      }
      const last = batch.messages[batch.messages.length - 1];
      if (last) resolveOffset(last.offset);
      await heartbeat();
    },
  });
  logger.info({ group: config.merger.groupId, topic: config.topics.inbound }, 'merger consuming');

  installShutdown(logger, () => [
    { name: 'consumer', close: () => consumer.disconnect() },
    { name: 'producer', close: () => producer.disconnect() },
    { name: 'health server', close: () => health.close() },
  ]);
}

main().catch((error: unknown) => {
  process.stderr.write(`merger failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
