/**
 * The operator's commands against the real stack: rebuild (the state derived again from the log
 * equals the live one; deleted state comes back the same), explain (each event's fate and rule),
 * dlq replay (dead letters re-submitted), partitions add.
 */
import Redis from 'ioredis';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import { deleteByPrefix } from '../../services/shared/redis/deleteByPrefix';
import { KeySpace } from '../../services/merger/redis/keys';
import { compareStates, rebuildState } from '../../services/cli/commands/rebuild';
import { explain } from '../../services/cli/commands/explain';
import { replayDeadLetters } from '../../services/cli/commands/dlqReplay';
import { addPartitions } from '../../services/cli/commands/partitions';
import { waitForLeaders } from '../../services/shared/kafka/topics';
import type { DeadLetter } from '../../services/shared/model/outbound';
import { toWire } from '../../services/shared/model/inbound';
import { anonymousEvent, identify, InboundWriter, mergerConfig, OutputReader, personEvent, startTestMerger } from '../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../support/stack';

const MINUTE = 60_000;

describe('anonmerge commands', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('cli', 3);
  const redis = new Redis(config.redis.url);
  let merger: Awaited<ReturnType<typeof startTestMerger>>;
  let writer: InboundWriter;
  const T = Math.floor((Date.now() - 3 * 86_400_000) / 1000) * 1000;
  const ws = uniqueName('cli').replace(/[^A-Za-z0-9_-]/g, '');
  const prefixes: string[] = [];

  beforeAll(async () => {
    merger = await startTestMerger(topics, { mode: 'legacy' });
    prefixes.push(merger.prefix);
    writer = await new InboundWriter(kafka, topics, { personOps: false }).open();
    await writer.write([
      anonymousEvent(ws, 'A', T, 'a-before'),
      anonymousEvent(ws, 'A', T + 1000, 'a-before-2'),
      identify(ws, 'p1', 'A', T + MINUTE),
      anonymousEvent(ws, 'A', T + 2 * MINUTE, 'a-inside'),
      anonymousEvent(ws, 'A', T + 7 * MINUTE, 'a-after'),
      anonymousEvent(ws, 'A', T + 8 * MINUTE, 'a-after'),
      identify(ws, 'q1', 'A', T + 9 * MINUTE),
      anonymousEvent(ws, 'B', T, 'b-1'),
      personEvent(ws, 'p1', T + 3 * MINUTE, 'p1-event'),
    ]);
    const reader = await new OutputReader(kafka, topics).open();
    await reader.until(() => reader.of(ws).mergedEvents.length === 4, 30000, 'the merges');
    await reader.close();
  });

  afterAll(async () => {
    await writer?.close();
    await merger?.close();
    for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
    redis.disconnect();
    await deleteTopics(kafka, topics);
  });

  const cfg = () => mergerConfig(topics, merger.groupId, merger.prefix, { mode: 'legacy' });

  it('rebuild: the state derived again from the inbound log equals the live state', async () => {
    const into = uniqueName('rebuilt');
    prefixes.push(into);
    const report = await rebuildState(cfg(), testLogger, into, () => undefined);
    expect(report.records).toBeGreaterThanOrEqual(9);
    const comparison = await compareStates(redis, into, merger.prefix);
    expect(comparison.differences).toEqual([]);
    expect(comparison.anonymousIds).toBeGreaterThanOrEqual(2);
    expect(comparison.people).toBeGreaterThanOrEqual(1);
  });

  it('rebuild: deleted state comes back with the same bindings and pending events', async () => {
    const snapshot = uniqueName('snapshot');
    prefixes.push(snapshot);
    await rebuildState(cfg(), testLogger, snapshot, () => undefined);
    await merger.close();
    const keys = new KeySpace(merger.prefix);
    const deleted = await deleteByPrefix(redis, merger.prefix);
    expect(deleted).toBeGreaterThan(0);
    expect(await redis.hget(keys.entity({ kind: 'anonymous', workspace: ws, anonymousId: 'A' }).state, 'p')).toBeNull();
    await rebuildState(cfg(), testLogger, merger.prefix, () => undefined);
    expect((await compareStates(redis, merger.prefix, snapshot)).differences).toEqual([]);
    expect(await redis.hget(keys.entity({ kind: 'anonymous', workspace: ws, anonymousId: 'A' }).state, 'p')).toBe('id:p1');
  });

  it('explain: each event of an anonymous id, what became of it, and by which rule', async () => {
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    const [explanation] = await explain(kafka, catalog, redis, new KeySpace(merger.prefix), ws, { anonymousId: 'A' }, false);
    expect(explanation?.binding).toMatchObject({ person: 'id:p1', windowEnd: T + MINUTE + 300_000 });
    const fate = Object.fromEntries((explanation?.events ?? []).map((e) => [e.id.split('#')[0] + (e.status === 'duplicate' ? '#dup' : ''), `${e.status} ${e.rule}`]));
    expect(fate).toEqual({ 'a-before': 'merged R2b', 'a-before-2': 'merged R2b', 'a-inside': 'merged R2c', 'a-after': 'pending R2d', 'a-after#dup': 'duplicate R7' });
    expect(explanation?.identifies.map((i) => i.rule)).toEqual(['R2a', 'R2f']);
    const byPerson = await explain(kafka, catalog, redis, new KeySpace(merger.prefix), ws, { person: 'p1' }, false);
    expect(byPerson.map((e) => e.anonymousId)).toEqual(['A']);
  });

  it('dlq replay: dead letters go back to their topic with their original bytes', async () => {
    const dlqTopics = isolatedTopics('dlq', 1);
    const running = await startTestMerger(dlqTopics, { mode: 'legacy' });
    prefixes.push(running.prefix);
    const dlqWriter = await new InboundWriter(kafka, dlqTopics, { personOps: false }).open();
    const catalog = await SchemaCatalog.open(config.registry, dlqTopics, testLogger);
    // A valid record dead-lettered by a bug since fixed, and garbage that is still garbage.
    const good = anonymousEvent(ws, 'D', Date.now(), 'dlq-good');
    const letter = (value: Buffer): DeadLetter => ({ reason: 'a bug since fixed', source_topic: dlqTopics.inbound, source_partition: 0, source_offset: 0, key: Buffer.from(`${ws}/a/D`), value, failed_at: Date.now() });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: dlqTopics.deadLetters, messages: [{ value: catalog.encode('deadLetters', letter(catalog.encode('inbound', toWire(good)))) }, { value: catalog.encode('deadLetters', letter(Buffer.from('garbage'))) }] });
    await producer.disconnect();
    const summary = await replayDeadLetters(kafka, catalog, { fromOffset: 0, dryRun: false, groupId: uniqueName('dlq') });
    expect(summary).toMatchObject({ read: 2, replayed: 2, skipped: 0 });
    const reader = await new OutputReader(kafka, dlqTopics).open();
    await reader.until((g) => g.anonymousEvents.some((e) => e.event_id === 'dlq-good') && g.deadLetters.some((d) => d.value?.toString() === 'garbage' && d.reason.startsWith('undecodable')), 30000, 'the replayed records');
    await reader.close();
    await dlqWriter.close();
    await running.close();
    await deleteTopics(kafka, dlqTopics);
  });

  it('partitions add: more partitions, never fewer; the commands topic grows with inbound', async () => {
    const extra = isolatedTopics('partitions', 2);
    // Not kafkajs' own wait for leaders: it gives up on the broker's "does not host this
    // topic-partition" while the new topic's metadata spreads (a CI failure); ours retries it.
    await withAdmin(kafka, async (admin) => {
      await admin.createTopics({ topics: [{ topic: extra.inbound, numPartitions: 2 }, { topic: extra.commands, numPartitions: 2 }], waitForLeaders: false });
      await waitForLeaders(admin, [extra.inbound, extra.commands], 30_000);
    });
    expect(await addPartitions(kafka, extra, 'inbound', 4)).toMatch(/: 2 → 4 partitions/);
    const counts = await withAdmin(kafka, async (admin) => (await admin.fetchTopicMetadata({ topics: [extra.inbound, extra.commands] })).topics.map((t) => t.partitions.length));
    expect(counts).toEqual([4, 4]);
    await expect(addPartitions(kafka, extra, 'inbound', 3)).rejects.toThrow('has 4 partitions; the new count must be larger');
    await deleteTopics(kafka, extra);
  });
});
