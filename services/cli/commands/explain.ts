/**
 * anonmerge explain --workspace W --anonymous-id A | --person P: the binding, the window, and for
 * each event of the anonymous id what became of it and by which SPEC rule — read from the inbound
 * log (the partition its key maps to) and Redis, decided again with the merger's own functions:
 * the two-plane merger's data plane (the id's events and binding changes, and the identifies that
 * named it in person-ops), or the legacy merger's.
 */
import type { Kafka } from 'kafkajs';
import type { AnyRedis } from '../../shared/redis/client';
import { keyPartition } from '../../shared/kafka/keyPartition';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import { fromWire, type InboundRecord, type InboundRecordWire } from '../../shared/model/inbound';
import { anonymousKey } from '../../shared/model/keys';
import { personFromIdentifier } from '../../shared/model/person';
import { explainAnonymous, type Explanation } from '../../merger/explain';
import { explainOrdered } from '../../merger/ordered/explainOrdered';
import type { StreamName } from '../../shared/avro/schemaFiles';
import { personKey } from '../../shared/model/person';
import { KeySpace } from '../../merger/redis/keys';

/** Reading one key's records may take this long; then explain says it could not, rather than wait for ever. */
export const READ_TIMEOUT_MS = 30_000;

async function recordsOfKey(kafka: Kafka, catalog: SchemaCatalog, stream: StreamName, key: string, timeoutMs = READ_TIMEOUT_MS): Promise<InboundRecord[]> {
  const topic = catalog.topic(stream);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const partition = keyPartition(key, offsets.length);
  const end = Number(offsets.find((o) => o.partition === partition)?.high ?? 0);
  const records: InboundRecord[] = [];
  if (end === 0) return records;
  const consumer = kafka.consumer({ groupId: `anonmerge-explain-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} partition ${partition} up to offset ${end} took longer than ${timeoutMs / 1000} s`)), timeoutMs);
      // Done once a batch ends at the last offset. Counted on the batch, not its messages: a
      // transactional topic (commands) ends with a commit marker, which no message reaches, and a
      // fetch of markers alone calls no eachBatch (kafkajs still reports it as a batch).
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === topic && payload.partition === partition && Number(payload.lastOffset) >= end - 1) {
          clearTimeout(timer);
          resolve();
        }
      });
      void consumer.run({
        eachBatch: async ({ batch }) => {
          if (batch.partition !== partition) return;
          for (const message of batch.messages) {
            if (Number(message.offset) >= end || message.key?.toString() !== key || !message.value) continue;
            try {
              records.push(fromWire(await catalog.decode<InboundRecordWire>(stream, message.value)));
            } catch {
              // a dead letter: the merger never applied it either
            }
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

export async function explain(
  kafka: Kafka,
  catalog: SchemaCatalog,
  redis: AnyRedis,
  keys: KeySpace,
  workspace: string,
  target: { anonymousId?: string; person?: string },
  twoPlanes: boolean,
): Promise<Explanation[]> {
  const person = personFromIdentifier(target.person ?? '');
  const anonymousIds = target.anonymousId ? [target.anonymousId] : await redis.smembers(twoPlanes ? keys.control(workspace).idsOf(personKey(person)) : keys.personIndex(workspace, person));
  // Two planes: the identifies are in person-ops, all of a workspace's under its key.
  const operations = twoPlanes ? await recordsOfKey(kafka, catalog, 'personOps', workspace) : [];
  const explanations: Explanation[] = [];
  for (const anonymousId of anonymousIds) {
    const events = await recordsOfKey(kafka, catalog, 'inbound', anonymousKey(workspace, anonymousId));
    // Two planes: the id's binding changes are in the commands topic, under the same key.
    const records = twoPlanes ? [...events, ...(await recordsOfKey(kafka, catalog, 'commands', anonymousKey(workspace, anonymousId)))] : events;
    if (!twoPlanes) {
      explanations.push(explainAnonymous(workspace, anonymousId, records));
      continue;
    }
    const naming = operations.filter((r) => (r.command.kind === 'identify' && r.command.body.anonymous_id === anonymousId) || (r.command.kind === 'alias' && r.command.body.previous_id === anonymousId));
    explanations.push(explainOrdered(workspace, anonymousId, records, naming));
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
