/**
 * anonmerge explain --workspace W --anonymous-id A | --person P: the binding, the window, and for
 * each event of the anonymous id what became of it and by which SPEC rule — read from the inbound
 * log (the partition its key maps to) and Redis, decided again with the merger's own functions.
 */
import type { Kafka } from 'kafkajs';
import type { AnyRedis } from '../../shared/redis/client';
// kafkajs' own partitioner hash: the same partition the producers chose for the key.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string) => number;
import type { SchemaCatalog } from '../../shared/avro/catalog';
import { fromWire, type InboundRecord, type InboundRecordWire } from '../../shared/model/inbound';
import { anonymousKey } from '../../shared/model/keys';
import { personFromIdentifier } from '../../shared/model/person';
import { explainAnonymous, type Explanation } from '../../merger/explain';
import { KeySpace } from '../../merger/redis/keys';

async function recordsOfKey(kafka: Kafka, catalog: SchemaCatalog, topic: string, key: string): Promise<InboundRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const partition = (murmur2(key) & 0x7fffffff) % offsets.length;
  const end = Number(offsets.find((o) => o.partition === partition)?.high ?? 0);
  const records: InboundRecord[] = [];
  if (end === 0) return records;
  const consumer = kafka.consumer({ groupId: `anonmerge-explain-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition) return;
        for (const message of batch.messages) {
          if (message.key?.toString() === key && message.value) {
            try {
              records.push(fromWire(await catalog.decode<InboundRecordWire>('inbound', message.value)));
            } catch {
              // a dead letter: the merger never applied it either
            }
          }
          if (Number(message.offset) >= end - 1) resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return records;
}

export async function explain(kafka: Kafka, catalog: SchemaCatalog, redis: AnyRedis, keys: KeySpace, workspace: string, target: { anonymousId?: string; person?: string }): Promise<Explanation[]> {
  const anonymousIds = target.anonymousId ? [target.anonymousId] : await redis.smembers(keys.personIndex(workspace, personFromIdentifier(target.person ?? '')));
  const explanations: Explanation[] = [];
  for (const anonymousId of anonymousIds) {
    const records = await recordsOfKey(kafka, catalog, catalog.topic('inbound'), anonymousKey(workspace, anonymousId));
    explanations.push(explainAnonymous(workspace, anonymousId, records));
  }
  return explanations;
}

export function renderExplanation(e: Explanation): string {
  const lines = [`anonymous id ${e.anonymousId}`];
  lines.push(e.binding ? `  bound to ${e.binding.person} at ${new Date(e.binding.boundAt).toISOString()}; window until ${new Date(e.binding.windowEnd).toISOString()}` : '  bound to nobody');
  for (const i of e.identifies) lines.push(`  identify ${new Date(i.receivedAt).toISOString()}  ${i.rule}  ${i.detail}`);
  for (const ev of e.events) lines.push(`  ${new Date(ev.receivedAt).toISOString()}  ${ev.status.padEnd(9)} ${ev.rule.padEnd(4)} ${ev.id}  ${ev.name}  — ${ev.detail}`);
  return lines.join('\n');
}
