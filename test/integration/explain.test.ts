/**
 * `anonmerge explain` (and the activity page's search) on the two-plane merger: each event of an
 * anonymous id, what became of it and by which rule, decided again with the data plane's own
 * `applyItem` over the id's events and the binding changes in its inbound partition, and the
 * identifies that named it in person-ops. The same story as the legacy merger's explain test
 * (cli.test.ts), told on records written as ingest writes them.
 */
import Redis from 'ioredis';
import { explain, renderExplanation } from '../../services/cli/commands/explain';
import { KeySpace } from '../../services/merger/redis/keys';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { WorkspaceSettings } from '../../services/shared/model/inbound';
import { anonymousEvent, DEFAULT_SETTINGS, deleteRedisPrefix, identify, InboundWriter, OutputReader, personEvent, startTestMerger } from '../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../support/stack';

/** A 2 s window: the story fits in a few seconds. */
const SHORT: WorkspaceSettings = { ...DEFAULT_SETTINGS, grace_seconds: 2 };

describe('explain on the two-plane merger', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('explain', 3);
  let merger: Awaited<ReturnType<typeof startTestMerger>>;
  let redis: Redis;
  let stopped = false;
  const ws = uniqueName('explain').replace(/[^A-Za-z0-9_-]/g, '');
  // Ahead of now, so that nothing is late for either plane's clock.
  const T = Math.ceil((Date.now() + 3000) / 1000) * 1000;

  beforeAll(async () => {
    merger = await startTestMerger(topics, { mode: 'two-planes' });
    redis = new Redis(config.redis.url);
    const writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
    await writer.write([
      anonymousEvent(ws, 'A', T, 'a-before', { settings: SHORT }),
      anonymousEvent(ws, 'A', T + 100, 'a-before-2', { settings: SHORT }),
      identify(ws, 'p1', 'A', T + 1000, SHORT),
      anonymousEvent(ws, 'A', T + 2000, 'a-inside', { settings: SHORT }),
      anonymousEvent(ws, 'A', T + 4000, 'a-after', { settings: SHORT }),
      anonymousEvent(ws, 'A', T + 4500, 'a-after', { settings: SHORT }),
      identify(ws, 'q1', 'A', T + 5000, SHORT),
      anonymousEvent(ws, 'B', T, 'b-1', { settings: SHORT }),
      personEvent(ws, 'p1', T + 3000, 'p1-event'),
    ]);
    await writer.close();
    const reader = await new OutputReader(kafka, topics).open();
    await reader.until(() => reader.of(ws).mergedEvents.length === 4 && reader.of(ws).activity.some((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED'), 30000, 'the merges and the refusal');
    await reader.close();
  });
  afterAll(async () => {
    if (!stopped) await merger?.close();
    redis?.disconnect();
    await deleteRedisPrefix(merger.prefix);
    await deleteTopics(kafka, topics);
  });

  it('R1 R2a-f R7: each event of an anonymous id, what became of it, and by which rule', async () => {
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    const [explanation] = await explain(kafka, catalog, redis, new KeySpace(merger.prefix), ws, { anonymousId: 'A' }, true);
    expect(explanation?.binding).toMatchObject({ person: 'id:p1', boundAt: T + 1000, windowEnd: T + 3000 });
    const fate = Object.fromEntries((explanation?.events ?? []).map((e) => [e.id.split('#')[0] + (e.status === 'duplicate' ? '#dup' : ''), `${e.status} ${e.rule}`]));
    expect(fate).toEqual({ 'a-before': 'merged R2b', 'a-before-2': 'merged R2b', 'a-inside': 'merged R2c', 'a-after': 'pending R2d', 'a-after#dup': 'duplicate R7' });
    expect(explanation?.identifies.map((i) => i.rule)).toEqual(['R2a', 'R2f']);
    expect(renderExplanation(explanation as NonNullable<typeof explanation>)).toContain('bound to id:p1');

    const byPerson = await explain(kafka, catalog, redis, new KeySpace(merger.prefix), ws, { person: 'p1' }, true);
    expect(byPerson.map((e) => e.anonymousId)).toEqual(['A']);
  });

  it('R1 R2a-f: answers with the merger stopped: the commands partition ends with a transaction marker, which no message reaches', async () => {
    // Running, the merger's control ticks keep writing past the end explain reads to; stopped,
    // the last offset of the id's commands partition is its last transaction's commit marker.
    await merger.close();
    stopped = true;
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    const [explanation] = await explain(kafka, catalog, redis, new KeySpace(merger.prefix), ws, { anonymousId: 'A' }, true);
    expect(explanation?.binding).toMatchObject({ person: 'id:p1', boundAt: T + 1000 });
    expect(explanation?.events.filter((e) => e.status === 'merged')).toHaveLength(3);
  }, 25_000);
});
