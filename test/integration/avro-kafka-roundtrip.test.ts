/**
 * Foundation: a schema from schemas/ is registered in the real registry, a record encoded with it
 * goes through the real Kafka, and comes back decoded through the registry — by our catalog and
 * by the registry client's own decoder (what a downstream consumer would use).
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import { ensureTopics } from '../../services/shared/kafka/topics';
import { fromWire, toWire, type InboundRecord, type InboundRecordWire } from '../../services/shared/model/inbound';
import { config, isolatedTopics, readMessages, testKafka, testLogger, withAdmin } from '../support/stack';

describe('Avro through the registry and Kafka', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('roundtrip');

  it('registers the schemas, produces an Avro record and decodes what it consumes', async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);

    // The subject exists in the registry under <topic>-value with the id the catalog holds.
    const subjects = (await (await fetch(`${config.registry.url}/subjects`)).json()) as string[];
    expect(subjects).toContain(`${topics.inbound}-value`);
    const latest = (await (await fetch(`${config.registry.url}/subjects/${topics.inbound}-value/versions/latest`)).json()) as { id: number };
    expect(latest.id).toBe(catalog.schemaId('inbound'));

    const record: InboundRecord = {
      workspace_id: 'ws1',
      id: '01JCTESTROUNDTRIP0000000001',
      received_at: 1_764_000_000_123,
      settings: { merge_enabled: true, retention_seconds: 30 * 86400, grace_seconds: 300, trigger_window_seconds: 72 * 3600 },
      command: { kind: 'track', body: { person: null, anonymous_id: 'abc123', name: 'https://example.com/pricing', type: 'page', timestamp: 1_764_000_000, data_json: '{"plan":"pro"}' } },
    };
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic: topics.inbound, acks: -1, messages: [{ key: 'ws1/a/abc123', value: catalog.encode('inbound', toWire(record)) }] });
    await producer.disconnect();

    const [message] = await readMessages(kafka, topics.inbound, 1);
    expect(message?.key?.toString()).toBe('ws1/a/abc123');
    const value = message?.value as Buffer;
    expect(value.readUInt8(0)).toBe(0);
    expect(value.readUInt32BE(1)).toBe(catalog.schemaId('inbound'));

    const decoded = fromWire(await catalog.decode<InboundRecordWire>('inbound', value));
    expect(decoded).toEqual(record);

    // A consumer that knows nothing of our code decodes it with the registry client alone.
    const independent = new SchemaRegistry({ host: config.registry.url });
    const viaLibrary = (await independent.decode(value)) as { command: Record<string, { anonymous_id: string }> };
    expect(viaLibrary.command['dev.anonmerge.inbound.TrackEvent']?.anonymous_id).toBe('abc123');
  });

  afterAll(async () => {
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: Object.values(topics).filter((t): t is string => typeof t === 'string') }));
  });
});
