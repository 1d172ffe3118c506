#!/usr/bin/env node
/**
 * A downstream consumer of anonmerge's outbound streams in Node, with the repository's consumer
 * helper (anonmerge/consumer, docs/consuming.md): one JSON line per record on stdout —
 * {"topic","partition","offset","key","value"} — value null for a person's tombstone.
 *
 *   BOOTSTRAP_SERVERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
 *   GROUP_ID=my-app node examples/consumers/node/print-outbound.js
 *
 * TOPIC_PREFIX (default anonmerge) and STREAMS (default merged-events,campaign-triggers,activity,
 * anonymous-events) choose what it reads; EXIT_WHEN_IDLE_MS stops it after that long without a
 * record (tests), otherwise it runs until SIGINT/SIGTERM.
 */
'use strict';
const { Kafka, logLevel } = require('kafkajs');
const { OutboundConsumer } = require('anonmerge/consumer');

const STREAM_OF = {
  'merged-events': 'mergedEvents',
  'campaign-triggers': 'campaignTriggers',
  activity: 'activity',
  'anonymous-events': 'anonymousEvents',
  'dead-letters': 'deadLetters',
};

async function main() {
  const env = process.env;
  const prefix = env.TOPIC_PREFIX || 'anonmerge';
  const names = (env.STREAMS || 'merged-events,campaign-triggers,activity,anonymous-events').split(',');
  const streams = names.map((name) => {
    if (!STREAM_OF[name]) throw new Error(`unknown stream ${name}; one of ${Object.keys(STREAM_OF).join(', ')}`);
    return STREAM_OF[name];
  });
  const topics = Object.fromEntries(names.map((name) => [STREAM_OF[name], `${prefix}.${name}`]));
  const kafka = new Kafka({ clientId: 'example-node-consumer', brokers: (env.BOOTSTRAP_SERVERS || '127.0.0.1:9092').split(','), logLevel: logLevel.WARN });
  const consumer = await OutboundConsumer.open({
    kafka,
    registryUrl: env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:8081/apis/ccompat/v7',
    groupId: env.GROUP_ID || 'example-node-consumer',
    streams,
    topics,
  });

  let lastRecordAt = Date.now();
  await consumer.run(async (record) => {
    lastRecordAt = Date.now();
    // record.key is parsed (record.key.kind: person | anonymous | invite | other); the raw string is kept.
    process.stdout.write(`${JSON.stringify({ topic: record.topic, partition: record.partition, offset: Number(record.offset), key: record.key.raw, value: record.value })}\n`);
  });

  const stop = async () => {
    await consumer.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const idleMs = Number(env.EXIT_WHEN_IDLE_MS || 0);
  if (idleMs > 0) {
    setInterval(() => {
      if (Date.now() - lastRecordAt > idleMs) void stop();
    }, 200);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
