/**
 * Helpers for integration tests: clients of the real local stack, and names that keep one test's
 * topics, subjects, groups and Redis keys apart from every other's.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { loadConfig, type TopicConfig } from '../../services/shared/config';
import { prefixedTopics } from '../../services/shared/config/topicSets';
import { createKafka } from '../../services/shared/kafka/client';
import { createLogger, type Logger } from '../../services/shared/logger';
import { runMarker } from './testRun';

export const config = loadConfig(['kafka', 'registry', 'redis', 'topics']);

export const testLogger: Logger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

/** A name of this test run's own (see testRun.ts: the run's teardown removes what carries it). */
export function uniqueName(prefix: string): string {
  return `${prefix}${runMarker()}${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function testKafka(suffix = 'test'): Kafka {
  return createKafka(config.kafka, testLogger, suffix);
}

/** Topic names of their own for one test (same shape as the configured ones: one person-order partition unless asked). */
export function isolatedTopics(label: string, partitions = 3, personOrderPartitions = 1): TopicConfig {
  return prefixedTopics(uniqueName(`test-${label}`), partitions, { personOrderPartitions });
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a topic from the beginning (read_committed) until `count` messages have arrived or the
 * timeout passes; returns what it got.
 */
export async function readMessages(kafka: Kafka, topic: string | readonly string[], count: number, timeoutMs = 30000): Promise<Array<{ topic: string; key: Buffer | null; value: Buffer | null; partition: number; offset: string }>> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('test-reader'), readUncommitted: false });
  const got: Array<{ topic: string; key: Buffer | null; value: Buffer | null; partition: number; offset: string }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: typeof topic === 'string' ? [topic] : [...topic], fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ topic: from, message, partition }) => {
          got.push({ topic: from, key: message.key, value: message.value, partition, offset: message.offset });
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/**
 * Reads a topic from the beginning until every partition reached the end offset it had when the
 * call began (records appended meanwhile, e.g. ticks, are not waited for).
 */
export async function readToEnd(kafka: Kafka, topic: string, timeoutMs = 60000): Promise<Array<{ key: Buffer | null; value: Buffer | null; partition: number; offset: string }>> {
  const ends = await withAdmin(kafka, async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])));
  const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  const got: Array<{ key: Buffer | null; value: Buffer | null; partition: number; offset: string }> = [];
  if (remaining.size === 0) return got;
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('test-reader'), readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end timed out; partitions left: ${[...remaining]}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          const end = ends.get(partition) ?? 0;
          if (Number(message.offset) < end) got.push({ key: message.key, value: message.value, partition, offset: message.offset });
          if (Number(message.offset) >= end - 1 && remaining.delete(partition) && remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/**
 * Records in a topic written without transactions: the sum of the partitions' end offsets.
 * A broker busy with other tests' topics (created and deleted all the time) may answer that it is
 * not the leader for a moment; kafkajs' admin does not retry that for offsets, so this does.
 */
export async function countRecords(kafka: Kafka, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  });
}

export async function deleteTopics(kafka: Kafka, topics: TopicConfig): Promise<void> {
  const names = Object.values(topics).filter((t): t is string => typeof t === 'string');
  await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: names })).catch(() => undefined);
}
