/**
 * The legacy merger (ANONMERGE_MERGER_CONTROL_PLANE=false, kept for a rollback; rules.test.ts
 * covers the default, two-plane one). Every rule of SPEC.md against the real stack: records are written straight to the inbound
 * topic with the received_at each case needs (so nothing sleeps for five minutes), a real merger
 * consumes them, and the outbound topics are read back read_committed through the registry.
 * Each test has its own workspace, so they share one merger without meeting.
 */
import Redis from 'ioredis';
import { KeySpace } from '../../../services/merger/redis/keys';
import type { RunningMerger } from '../../../services/merger/service';
import { anonymousEvent, DEFAULT_SETTINGS, deleteRedisPrefix, identify, InboundWriter, OutputReader, personEvent, startTestMerger } from '../../support/merger';
import { expectPoisonDeadLettered } from '../../support/poisonRecords';
import { config, deleteTopics, isolatedTopics, testKafka, uniqueName } from '../../support/stack';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('SPEC rules against the real stack, legacy merger', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('rules', 3);
  let merger: RunningMerger & { prefix: string };
  let writer: InboundWriter;
  let reader: OutputReader;
  let redis: Redis;
  // A whole second, well in the past: the merger's ticks ("now") are far after every window.
  const T = Math.floor((Date.now() - 10 * DAY) / 1000) * 1000;
  const workspace = () => uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');

  beforeAll(async () => {
    merger = await startTestMerger(topics, { mode: 'legacy' });
    writer = await new InboundWriter(kafka, topics, { personOps: false }).open();
    reader = await new OutputReader(kafka, topics).open();
    redis = new Redis(config.redis.url);
  });
  afterAll(async () => {
    await writer?.close();
    await reader?.close();
    await merger?.close();
    redis?.disconnect();
    await deleteRedisPrefix(merger.prefix);
    await deleteTopics(kafka, topics);
  });

  it('R1: an anonymous event is pending under its id, on the anonymous stream, and triggers nothing', async () => {
    const ws = workspace();
    await writer.write([anonymousEvent(ws, 'A', T, 'r1-e1')]);
    await reader.until((g) => reader.of(ws).anonymousEvents.length === 1);
    const keys = new KeySpace(merger.prefix).entity({ kind: 'anonymous', workspace: ws, anonymousId: 'A' });
    expect(await redis.llen(keys.pending)).toBe(1);
    expect(await redis.pttl(keys.pending)).toBeGreaterThan(0); // dropped for good after the retention
    expect(await redis.pttl(keys.state)).toBeGreaterThan(0); // an id never bound leaves nothing behind
    const mine = reader.of(ws);
    expect(mine.anonymousEvents[0]).toMatchObject({ anonymous_id: 'A', event_id: 'r1-e1', received_at: T });
    expect(mine.mergedEvents).toEqual([]);
    expect(mine.campaignTriggers).toEqual([]);
  });

  it('R2a/R2b/R6: an identify binds the id and merges its pending events in received_at order, with one activity', async () => {
    const ws = workspace();
    await writer.write([anonymousEvent(ws, 'A', T + 2000, 'b', { timestamp: 1_700_000_002 }), anonymousEvent(ws, 'A', T + 1000, 'a', { timestamp: 1_700_000_001 }), identify(ws, 'p1', 'A', T + MINUTE)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2 && reader.of(ws).activity.length === 1);
    const mine = reader.of(ws);
    expect(mine.mergedEvents.map((e) => e.event_id)).toEqual(['a', 'b']);
    expect(mine.mergedEvents[0]).toMatchObject({ person: { id_type: 'ID', value: 'p1' }, previously_anonymous: true, anonymous_id: 'A', associated_at: T + MINUTE });
    expect(mine.activity[0]).toMatchObject({ kind: 'ANONYMOUS_DATA_MERGED', merged_count: 2, oldest_event_timestamp: 1_700_000_001, anonymous_id: 'A' });
  });

  it('R2c/R2d: received exactly at the window end merges and 1 ms after stays pending — consumed after the identify', async () => {
    const ws = workspace();
    const end = T + 5 * MINUTE;
    await writer.write([identify(ws, 'p1', 'A', T)]);
    await writer.write([anonymousEvent(ws, 'A', end, 'at-end'), anonymousEvent(ws, 'A', end + 1, 'after-end')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1 && reader.of(ws).anonymousEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'at-end', associated_at: end });
    expect(reader.of(ws).anonymousEvents[0]?.event_id).toBe('after-end');
    // The binding is kept for good, through the later writes of the id.
    expect(await redis.pttl(new KeySpace(merger.prefix).entity({ kind: 'anonymous', workspace: ws, anonymousId: 'A' }).state)).toBe(-1);
  });

  it('R2c/R2d: the same two events consumed before the identify give the same outcome', async () => {
    const ws = workspace();
    const end = T + 5 * MINUTE;
    await writer.write([anonymousEvent(ws, 'A', end, 'at-end'), anonymousEvent(ws, 'A', end + 1, 'after-end')]);
    await reader.until(() => reader.of(ws).anonymousEvents.length === 2);
    await writer.write([identify(ws, 'p1', 'A', T)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'at-end', associated_at: end });
    const pending = await redis.lrange(new KeySpace(merger.prefix).entity({ kind: 'anonymous', workspace: ws, anonymousId: 'A' }).pending, 0, -1);
    expect(pending.map((e) => e.slice(13, e.indexOf('\u0000')))).toEqual(['after-end']);
  });

  it('R2e: a later identify of the same person merges what is pending by then and opens a new window', async () => {
    const ws = workspace();
    await writer.write([identify(ws, 'p1', 'A', T), anonymousEvent(ws, 'A', T + 10 * MINUTE, 'late')]);
    await reader.until(() => reader.of(ws).anonymousEvents.length === 1);
    await writer.write([identify(ws, 'p1', 'A', T + 20 * MINUTE), anonymousEvent(ws, 'A', T + 24 * MINUTE, 'new-window')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['late', 'new-window']);
  });

  it('R2f: identifying another person with a bound id is refused and recorded, and no event moves', async () => {
    const ws = workspace();
    await writer.write([identify(ws, 'p1', 'A', T), anonymousEvent(ws, 'A', T + HOUR, 'pending'), identify(ws, 'q1', 'A', T + 2 * HOUR)]);
    await reader.until(() => reader.of(ws).activity.some((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED'));
    const refusal = reader.of(ws).activity.find((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED');
    expect(refusal).toMatchObject({ person: { value: 'q1' }, other_person: { value: 'p1' }, anonymous_id: 'A' });
    expect(reader.of(ws).mergedEvents).toEqual([]);
    expect(merger.totals.refusedRebinds).toBeGreaterThanOrEqual(1);
  });

  it('R2g: a person collects several anonymous ids, one identify each', async () => {
    const ws = workspace();
    await writer.write([anonymousEvent(ws, 'A1', T, 'from-a1'), anonymousEvent(ws, 'A2', T + 1, 'from-a2'), identify(ws, 'p1', 'A1', T + MINUTE), identify(ws, 'p1', 'A2', T + 2 * MINUTE)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    expect(reader.of(ws).mergedEvents.map((e) => `${e.event_id}:${e.anonymous_id}:${e.person.value}`).sort()).toEqual(['from-a1:A1:p1', 'from-a2:A2:p1']);
    const index = await redis.smembers(new KeySpace(merger.prefix).personIndex(ws, { id_type: 'ID', value: 'p1' }));
    expect(index.sort()).toEqual(['A1', 'A2']);
  });

  it('R3: with merging off an identify binds nothing; switched on, identifying again merges the retained events', async () => {
    const ws = workspace();
    const off = { ...DEFAULT_SETTINGS, merge_enabled: false };
    await writer.write([anonymousEvent(ws, 'A', T, 'kept', { settings: off }), identify(ws, 'p1', 'A', T + MINUTE, off)]);
    await reader.until(() => reader.of(ws).anonymousEvents.length === 1);
    await writer.write([identify(ws, 'p1', 'A', T + 2 * DAY)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'kept', associated_at: T + 2 * DAY });
  });

  it('R1 retention edge: an event received exactly 30 days before the identify merges, 1 ms older is dropped', async () => {
    const ws = workspace();
    const t = T + 31 * DAY;
    await writer.write([anonymousEvent(ws, 'A', t - 30 * DAY - 1, 'too-old'), anonymousEvent(ws, 'A', t - 30 * DAY, 'edge'), identify(ws, 'p1', 'A', t)]);
    // The activity and the merged event are on two topics, read apart: wait for both.
    await reader.until(() => reader.of(ws).activity.length === 1 && reader.of(ws).mergedEvents.length >= 1);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['edge']);
    expect(reader.of(ws).activity[0]?.merged_count).toBe(1);
  });

  it('R4: a merged event triggers when at most 72 hours old at association; one second older it is delivered but does not', async () => {
    const ws = workspace();
    const t = T;
    const edge = (t - 72 * HOUR) / 1000;
    await writer.write([anonymousEvent(ws, 'A', t - 1000, 'edge', { timestamp: edge }), anonymousEvent(ws, 'A', t - 999, 'older', { timestamp: edge - 1 }), identify(ws, 'p1', 'A', t)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    await reader.until(() => reader.of(ws).campaignTriggers.length >= 1);
    expect(reader.of(ws).campaignTriggers.map((x) => x.event_id)).toEqual(['edge']);
  });

  it('R4: an invite event is a trigger addressed to its recipient and is never pending', async () => {
    const ws = workspace();
    const invite = { ...anonymousEvent(ws, 'x', T, 'inv-1'), command: { kind: 'track' as const, body: { person: null, anonymous_id: null, name: 'invite', type: 'event' as const, timestamp: T / 1000, data_json: '{"recipient":"friend@example.com"}' } } };
    await writer.write([invite]);
    await reader.until(() => reader.of(ws).campaignTriggers.length === 1);
    expect(reader.of(ws).campaignTriggers[0]).toMatchObject({ person: null, recipient: 'friend@example.com', event_id: 'inv-1' });
    expect(reader.of(ws).anonymousEvents).toEqual([]);
  });

  it('R5: an identified event goes downstream at once and triggers', async () => {
    const ws = workspace();
    await writer.write([personEvent(ws, 'p9', T, 'bought')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1 && reader.of(ws).campaignTriggers.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'bought', previously_anonymous: false, anonymous_id: null, associated_at: T });
  });

  it('R7: a repeated id is one event downstream, wherever the repeat arrives', async () => {
    const ws = workspace();
    await writer.write([anonymousEvent(ws, 'A', T, 'dup'), anonymousEvent(ws, 'A', T + 5, 'dup'), personEvent(ws, 'p1', T, 'pdup'), personEvent(ws, 'p1', T + 5, 'pdup')]);
    await writer.write([identify(ws, 'p1', 'A', T + MINUTE)]);
    await writer.write([anonymousEvent(ws, 'A', T + 2 * MINUTE, 'dup')]); // a retry after the merge
    await reader.until(() => reader.of(ws).mergedEvents.length >= 2);
    await writer.write([personEvent(ws, 'p1', T + 3 * MINUTE, 'marker')]);
    await reader.until(() => reader.of(ws).mergedEvents.some((e) => e.event_id === 'marker'));
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id).sort()).toEqual(['dup', 'marker', 'pdup']);
  });

  it('R9: after merge_customers the secondary\'s anonymous ids and open windows are the primary\'s', async () => {
    const ws = workspace();
    const now = Date.now();
    await writer.write([identify(ws, 'secondary', 'A', now)]);
    // The identify and the merge sit on different partitions; today's merger decides them in the
    // order it consumes them (issue 13, which will make back-to-back sequences decide by
    // received_at). Here the merge is sent once the binding is in place.
    const keys = new KeySpace(merger.prefix);
    for (let i = 0; i < 200 && !(await redis.smembers(keys.personIndex(ws, { id_type: 'ID', value: 'secondary' }))).includes('A'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await writer.write([{ ...identify(ws, 'x', null, now + 1000), command: { kind: 'merge', body: { primary: { id_type: 'ID', value: 'primary' }, secondary: { id_type: 'ID', value: 'secondary' } } } }]);
    await reader.until(() => reader.of(ws).activity.some((a) => a.kind === 'PEOPLE_MERGED'));
    await writer.write([anonymousEvent(ws, 'A', now + 2000, 'after-merge')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'after-merge', person: { value: 'primary' }, anonymous_id: 'A' });
    expect(await redis.smembers(keys.personIndex(ws, { id_type: 'ID', value: 'primary' }))).toEqual(['A']);
    expect(await redis.exists(keys.personIndex(ws, { id_type: 'ID', value: 'secondary' }))).toBe(0);
  });

  it('R10: deleting a person sends a tombstone and frees its anonymous ids; their later events pend again', async () => {
    const ws = workspace();
    await writer.write([identify(ws, 'p1', 'A', T)]);
    // As in R9's test: today's merger reads a person's ids once per batch, so a deletion consumed
    // before the identify's binding is in place misses it (issue 13: the two-plane merger
    // decides it in received_at order). Here the delete is sent once the binding is in place.
    const keys = new KeySpace(merger.prefix);
    for (let i = 0; i < 200 && !(await redis.smembers(keys.personIndex(ws, { id_type: 'ID', value: 'p1' }))).includes('A'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await writer.write([{ ...identify(ws, 'p1', null, T + 1000), command: { kind: 'delete', body: { person: { id_type: 'ID', value: 'p1' } } } }]);
    await reader.until(() => reader.of(ws).tombstones.length === 1);
    expect(reader.of(ws).tombstones).toEqual([`${ws}/p/id:p1`]);
    await writer.write([anonymousEvent(ws, 'A', T + 2000, 'after-delete')]);
    await reader.until(() => reader.of(ws).anonymousEvents.length === 1);
    await writer.write([identify(ws, 'q1', 'A', T + 3000)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'after-delete', person: { value: 'q1' } });
  });

  it('two workspaces with the same anonymous id never meet', async () => {
    const one = workspace();
    const two = workspace();
    await writer.write([anonymousEvent(one, 'shared', T, 'in-one'), anonymousEvent(two, 'shared', T, 'in-two'), identify(one, 'p1', 'shared', T + MINUTE)]);
    await reader.until(() => reader.of(one).mergedEvents.length === 1 && reader.of(two).anonymousEvents.length === 1);
    expect(reader.of(one).mergedEvents.map((e) => e.event_id)).toEqual(['in-one']);
    expect(reader.of(two).mergedEvents).toEqual([]);
  });

  it('R6: events merged one by one inside a window are summed into one activity when the grace timer fires', async () => {
    const ws = workspace();
    const short = { ...DEFAULT_SETTINGS, grace_seconds: 2 };
    const now = Date.now();
    await writer.write([identify(ws, 'p1', 'A', now, short)]);
    await writer.write([anonymousEvent(ws, 'A', now + 500, 'w1', { timestamp: 1_764_000_010 }), anonymousEvent(ws, 'A', now + 1000, 'w2', { timestamp: 1_764_000_005 })]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    expect(reader.of(ws).activity).toEqual([]);
    // The window ends 2 s after the identify; a tick 1 s after that fires the timer.
    const [summed] = (await reader.until(() => reader.of(ws).activity.length === 1, 20000, 'the summed activity')).activity.filter((a) => a.workspace_id === ws);
    expect(summed).toMatchObject({ kind: 'ANONYMOUS_DATA_MERGED', merged_count: 2, oldest_event_timestamp: 1_764_000_005, at: now + 2000, anonymous_id: 'A' });
    expect(await redis.zscore(new KeySpace(merger.prefix).partition(topics.inbound, 0).timers, `${ws}/A`)).toBeNull();
  });

  it('R8: poison records go to the dead-letter topic with the reason and coordinates, and the partition goes on', async () => {
    await expectPoisonDeadLettered(writer, reader, topics, workspace(), T);
  });
});
