/**
 * make bench-state: Redis bytes per pending anonymous event, measured on state the real merger
 * wrote. Pre-loads anonymous events (3 per anonymous id, like page views before a sign-up),
 * runs a merger over them, then reads MEMORY USAGE of every key it wrote and INFO memory
 * before and after, beside the Avro-encoded size of the same events. With compact records on
 * (the default), those ids are records in shared buckets ("compact" below), not keys of their own.
 */
import Redis from 'ioredis';
import { ulid } from 'ulid';
import { SchemaCatalog } from '../services/shared/avro/catalog';
import { loadConfig } from '../services/shared/config';
import { createKafka } from '../services/shared/kafka/client';
import { ensureTopics } from '../services/shared/kafka/topics';
import { createLogger } from '../services/shared/logger';
import { toWire, type InboundRecord } from '../services/shared/model/inbound';
import { inboundKey } from '../services/shared/model/keys';
import type { AnonymousEvent } from '../services/shared/model/outbound';
import { startMerger } from '../services/merger/service';
import { benchTopics, machine, round, saveResult, table } from './support';

const ANONYMOUS_IDS = Number(process.env.BENCH_STATE_ANONYMOUS_IDS ?? 100000);
const EVENTS_EACH = Number(process.env.BENCH_STATE_EVENTS_EACH ?? 3);

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function measureStateCost(): Promise<Record<string, number>> {
  const config = loadConfig(['kafka', 'registry', 'redis', 'merger']);
  const logger = createLogger('bench', 'warn');
  const topics = benchTopics('state', 6);
  const prefix = `bench-state-${Date.now().toString(36)}`;
  const kafka = createKafka(config.kafka, logger, 'bench-state');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, logger);
  const catalog = await SchemaCatalog.open(config.registry, topics, logger);
  const redis = new Redis(config.redis.url);
  const settings = { merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 };
  const pages = ['/', '/pricing', '/features/segments', '/blog/anonymous-events', '/docs/quickstart'];
  let avroBytes = 0;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const now = Date.now();
  let batch: InboundRecord[] = [];
  const flush = async () => {
    await producer.send({ topic: topics.inbound, acks: -1, messages: batch.map((r) => ({ key: inboundKey(r), value: catalog.encode('inbound', toWire(r)) })) });
    batch = [];
  };
  for (let a = 0; a < ANONYMOUS_IDS; a += 1) {
    const anonymousId = `anon-${a.toString(36).padStart(8, '0')}`;
    for (let e = 0; e < EVENTS_EACH; e += 1) {
      const receivedAt = now - 60_000 + a + e;
      const page = pages[(a + e) % pages.length] as string;
      const record: InboundRecord = { workspace_id: 'demo', id: ulid(receivedAt), received_at: receivedAt, settings, command: { kind: 'track', body: { person: null, anonymous_id: anonymousId, name: `https://shop.example.com${page}`, type: 'page', timestamp: Math.floor(receivedAt / 1000), data_json: JSON.stringify({ path: page }) } } };
      // The size of the same event as a downstream consumer sees it (AnonymousEvent, Avro, no framing).
      const asAnonymous: AnonymousEvent = { workspace_id: 'demo', anonymous_id: anonymousId, event_id: record.id, name: `https://shop.example.com${page}`, type: 'page', timestamp: Math.floor(receivedAt / 1000), data_json: JSON.stringify({ path: page }), received_at: receivedAt };
      avroBytes += catalog.type('anonymousEvents').toBuffer(asAnonymous).length;
      batch.push(record);
      if (batch.length >= 1000) await flush();
    }
  }
  if (batch.length > 0) await flush();
  await producer.disconnect();

  const before = await usedMemory(redis);
  const merger = await startMerger({ ...config, topics, merger: { ...config.merger, groupId: `${prefix}-group`, redisKeyPrefix: prefix, port: 0 } }, logger, { listen: false });
  const total = ANONYMOUS_IDS * EVENTS_EACH;
  process.stderr.write(`state cost: ${total} pending events over ${ANONYMOUS_IDS} anonymous ids\n`);
  while (merger.totals.pending < total) {
    process.stderr.write(`  merged into state: ${merger.totals.pending}/${total}\r`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await merger.close();
  // Outbox entries are cleared after each commit; give the last clean-up a moment.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await usedMemory(redis);

  let keyBytes = 0;
  let keys = 0;
  const byKind: Record<string, number> = {};
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const bytes = Number(await redis.memory('USAGE', key, 'SAMPLES', '0'));
      keyBytes += bytes;
      keys += 1;
      // Compact records' buckets and stripes ("…}:n:<ws>|<i>", "…}:n:<ws>"), else by suffix (s, q, d).
      const kind = key.includes('}:n:') ? 'compact' : key.slice(key.lastIndexOf(':') + 1);
      byKind[kind] = (byKind[kind] ?? 0) + bytes;
      await redis.del(key);
    }
  } while (cursor !== '0');
  redis.disconnect();
  await admin.deleteTopics({ topics: Object.values(topics).filter((t): t is string => typeof t === 'string') }).catch(() => undefined);
  await admin.disconnect();
  return {
    pendingEvents: total,
    anonymousIds: ANONYMOUS_IDS,
    keys,
    avroBytesPerEvent: round(avroBytes / total, 1),
    memoryUsageBytesPerEvent: round(keyBytes / total, 1),
    pendingListBytesPerEvent: round((byKind.q ?? 0) / total, 1),
    stateHashBytesPerEvent: round((byKind.s ?? 0) / total, 1),
    compactRecordBytesPerEvent: round((byKind.compact ?? 0) / total, 1),
    otherBytesPerEvent: round((keyBytes - (byKind.q ?? 0) - (byKind.s ?? 0) - (byKind.compact ?? 0)) / total, 1),
    usedMemoryDeltaBytesPerEvent: round((after - before) / total, 1),
    targetBytesPerEvent: round(1.5 * (avroBytes / total) + 64, 1),
  };
}

if (require.main === module) {
  measureStateCost()
    .then((figures) => {
      const rendered = table(['figure', 'value'], Object.entries(figures).map(([k, v]) => [k, v]));
      process.stdout.write(`\n${rendered}\n`);
      saveResult('state-cost', { at: new Date().toISOString(), machine: machine(), figures, table: rendered });
    })
    .catch((error: unknown) => {
      process.stderr.write(`bench-state failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
