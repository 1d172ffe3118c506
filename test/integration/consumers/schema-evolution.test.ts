/**
 * Schema evolution rehearsed (docs/consuming.md): merged-event v2 adds an optional field. The
 * merger on v1 writes merged events; then v2 is rolled out — registered under the subject held to
 * FULL_TRANSITIVE, and records written with it by the same SchemaCatalog code the merger writes
 * with, opened on the v2 schemas. A consumer still on v1 keeps reading every record (the new
 * field unseen); a consumer on v2 reads the old records with the field's default and the new
 * ones with its value. make schema-check calls the change compatible.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkSchemas } from '../../../services/cli/commands/schemaCheck';
import { OutboundConsumer, type MergedEvent, type OutboundRecord } from '../../../services/consumer';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { SCHEMA_DIR } from '../../../services/shared/avro/schemaFiles';
import { anonymousEvent, deleteRedisPrefix, identify, InboundWriter, OutputReader, personEvent, startTestMerger } from '../../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../../support/stack';

type MergedEventV2 = MergedEvent & { readonly channel: string | null };

describe('schema evolution: merged-event v2 with a new optional field', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('evolution', 3);
  let v2Dir = '';
  let redisPrefix = '';

  beforeAll(() => {
    v2Dir = mkdtempSync(path.join(tmpdir(), 'schemas-v2-'));
    cpSync(SCHEMA_DIR, v2Dir, { recursive: true });
    const schema = JSON.parse(readFileSync(path.join(v2Dir, 'merged-event.avsc'), 'utf8')) as { fields: unknown[] };
    schema.fields.push({ name: 'channel', type: ['null', 'string'], default: null, doc: 'Where the event came from (v2).' });
    writeFileSync(path.join(v2Dir, 'merged-event.avsc'), JSON.stringify(schema, null, 2));
  });
  afterAll(async () => {
    rmSync(v2Dir, { recursive: true, force: true });
    await deleteRedisPrefix(redisPrefix);
    await deleteTopics(kafka, topics);
  });

  /** A consumer on the given schemas, reading merged events from the beginning as they come. */
  async function consumerOn(readerSchemaDir: string | undefined): Promise<{ got: MergedEventV2[]; until: (count: number) => Promise<MergedEventV2[]> }> {
    const consumer = await OutboundConsumer.open({ kafka, registryUrl: config.registry.url, groupId: uniqueName('evolution'), streams: ['mergedEvents'], topics: { mergedEvents: topics.mergedEvents }, readerSchemaDir });
    const got: MergedEventV2[] = [];
    await consumer.run((record: OutboundRecord) => {
      if (record.stream === 'mergedEvents' && record.value) got.push(record.value as MergedEventV2);
    });
    const until = async (count: number) => {
      const deadline = Date.now() + 60_000;
      while (got.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      // Nothing more than expected either.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await consumer.stop();
      return got;
    };
    return { got, until };
  }

  it('a v1 consumer keeps reading after v2 is rolled out, and a v2 consumer reads the v1 records', async () => {
    // v1: the merger as it is.
    const merger = await startTestMerger(topics, { mode: 'two-planes' });
    redisPrefix = merger.prefix;
    const writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
    const reader = await new OutputReader(kafka, topics).open();
    const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
    const t = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    await writer.write([anonymousEvent(ws, 'a1', t + 1), anonymousEvent(ws, 'a1', t + 2), identify(ws, 'p1', 'a1', t + 3), personEvent(ws, 'p1', t + 4)]);
    const v1Events = (await reader.until((got) => got.mergedEvents.length >= 3, 60_000)).mergedEvents;
    await merger.close();
    await writer.close();
    await reader.close();

    // A consumer on v1 is reading when v2 rolls out, and goes on reading.
    const v1Consumer = await consumerOn(undefined);
    const deadline = Date.now() + 60_000;
    while (v1Consumer.got.length < v1Events.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(v1Consumer.got).toHaveLength(v1Events.length);

    // v2 rolled out: the registry takes it under FULL_TRANSITIVE, and records are written with it.
    const v2 = await SchemaCatalog.open(config.registry, topics, testLogger, ['mergedEvents'], v2Dir);
    const v1 = await SchemaCatalog.open(config.registry, topics, testLogger, ['mergedEvents']);
    expect(v2.schemaId('mergedEvents')).not.toBe(v1.schemaId('mergedEvents'));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const v2Events: MergedEventV2[] = [1, 2].map((n) => ({ ...(v1Events[0] as MergedEvent), event_id: `v2-${n}`, name: `after-v2-${n}`, channel: 'web' }));
    await producer.send({ topic: topics.mergedEvents, acks: -1, messages: v2Events.map((event) => ({ key: `${ws}/p/id:p1`, value: v2.encode('mergedEvents', event) })) });
    await producer.disconnect();
    const total = v1Events.length + v2Events.length;

    const asV1 = await v1Consumer.until(total);
    expect(asV1.map((e) => e.event_id).sort()).toEqual([...v1Events, ...v2Events].map((e) => e.event_id).sort());
    expect(asV1.every((e) => !('channel' in e))).toBe(true);
    expect(asV1.find((e) => e.event_id === 'v2-1')?.name).toBe('after-v2-1');

    const asV2 = await (await consumerOn(v2Dir)).until(total);
    expect(asV2).toHaveLength(total);
    for (const event of asV2) expect(event.channel).toBe(event.event_id.startsWith('v2-') ? 'web' : null);

    const check = (await checkSchemas(config.registry, v2Dir)).find((row) => row.file === 'merged-event.avsc');
    expect(check?.status).toBe('compatible change, to release');
  }, 180_000);
});
