/**
 * The Node helper (anonmerge/consumer) on the failure paths docs/consuming.md promises: a value
 * that does not decode stops the consumer at that record (or is handed to onUndecodable), a
 * registry that cannot be reached is waited out — never a reason to skip — and a stream that is
 * not an outbound one is refused before anything is read.
 */
import { OutboundConsumer, UndecodableRecordError, type OutboundRecord, type UndecodableRecord } from '../../../services/consumer';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import type { MergedEvent } from '../../../services/shared/model/outbound';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

const event = (id: string): MergedEvent => ({
  workspace_id: 'ws',
  person: { id_type: 'ID', value: 'p' },
  event_id: id,
  name: 'signed_up',
  type: 'event',
  timestamp: 1_700_000_000,
  data_json: '{}',
  received_at: 1_700_000_000_000,
  previously_anonymous: false,
  anonymous_id: null,
  associated_at: 1_700_000_000_000,
});

describe('anonmerge/consumer on bad records and a missing registry', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('helper', 1);

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['mergedEvents']);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: topics.mergedEvents,
      acks: -1,
      messages: [
        { key: 'ws/p/id:p', value: catalog.encode('mergedEvents', event('e1')) },
        { key: 'ws/p/id:p', value: Buffer.from('not the wire format') },
        { key: 'ws/p/id:p', value: catalog.encode('mergedEvents', event('e2')) },
      ],
    });
    await producer.disconnect();
  });
  afterAll(() => deleteTopics(kafka, topics));

  const open = (extra: Partial<Parameters<typeof OutboundConsumer.open>[0]> = {}) =>
    OutboundConsumer.open({ kafka, registryUrl: config.registry.url, groupId: uniqueName('helper'), streams: ['mergedEvents'], topics: { mergedEvents: topics.mergedEvents }, ...extra });
  const ids = (records: OutboundRecord[]) => records.map((r) => (r.value as MergedEvent | null)?.event_id);

  it('stops at a record that does not decode: nothing after it is handed over, and `stopped` says why', async () => {
    const consumer = await open();
    const got: OutboundRecord[] = [];
    await consumer.run((record) => void got.push(record));
    await expect(consumer.stopped).rejects.toThrow(UndecodableRecordError);
    expect(ids(got)).toEqual(['e1']);
    await consumer.stop().catch(() => undefined);
  }, 90_000);

  it('hands an undecodable record to onUndecodable and goes on, when asked to', async () => {
    const undecodable: UndecodableRecord[] = [];
    const consumer = await open({ onUndecodable: (record) => void undecodable.push(record) });
    const got: OutboundRecord[] = [];
    await consumer.run((record) => void got.push(record));
    const deadline = Date.now() + 30_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await consumer.stop();
    expect(ids(got)).toEqual(['e1', 'e2']);
    expect(undecodable.map((r) => [r.offset, r.value?.toString()])).toEqual([['1', 'not the wire format']]);
    expect(got[0]?.key).toEqual({ kind: 'person', workspaceId: 'ws', person: { id_type: 'ID', value: 'p' }, raw: 'ws/p/id:p' });
  }, 60_000);

  it('waits for a registry it cannot reach instead of skipping records', async () => {
    const undecodable: UndecodableRecord[] = [];
    const consumer = await open({ registryUrl: 'http://127.0.0.1:9/apis/ccompat/v7', registryTimeoutMs: 500, onUndecodable: (record) => void undecodable.push(record) });
    const got: OutboundRecord[] = [];
    let stoppedEarly = false;
    void consumer.stopped.catch(() => (stoppedEarly = true));
    await consumer.run((record) => void got.push(record));
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await consumer.stop();
    expect({ got: got.length, undecodable: undecodable.length, stoppedEarly }).toEqual({ got: 0, undecodable: 0, stoppedEarly: false });
  }, 60_000);

  it('refuses a stream that is not an outbound one before reading anything', async () => {
    await expect(open({ streams: ['inbound' as never] })).rejects.toThrow(/not an outbound stream: "inbound"/);
  });
});
