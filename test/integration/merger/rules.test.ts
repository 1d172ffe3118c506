/**
 * Every rule of SPEC.md against the real stack, on the merger that decides person operations in
 * received_at order (two planes, docs/design-person-operations.md). Records are written as ingest
 * writes them — person operations to person-ops, the rest to inbound — stamped a moment ahead
 * of now, so that both planes hold them until their clocks pass and then apply them in
 * (received_at, id) order whatever order they were written in. Windows and retention are
 * shortened through the workspace settings stamped on each record, so an edge is a second
 * away rather than five minutes or thirty days. Each test has its own workspace.
 */
import Redis from 'ioredis';
import { KeySpace } from '../../../services/merger/redis/keys';
import type { RunningMerger } from '../../../services/merger/service';
import type { InboundRecord, WorkspaceSettings } from '../../../services/shared/model/inbound';
import { anonymousEvent, DEFAULT_SETTINGS, deleteRedisPrefix, identify, InboundWriter, OutputReader, personEvent, startTestMerger } from '../../support/merger';
import { anonymousState, PendingLists } from '../../support/pendingList';
import { expectPoisonDeadLettered } from '../../support/poisonRecords';
import { config, deleteTopics, isolatedTopics, testKafka, uniqueName } from '../../support/stack';

const HOUR = 3_600_000;
/** A 2 s window (R2c) and a 3 s retention (R1): edges within a test's few seconds. */
const SHORT: WorkspaceSettings = { ...DEFAULT_SETTINGS, grace_seconds: 2, retention_seconds: 3 };

/**
 * A whole second at least 2 s ahead: every record of a test is appended before either plane's
 * clock reaches it, even on a loaded machine, so none is late (docs: records later than `L`).
 */
const ahead = () => Math.ceil((Date.now() + 2000) / 1000) * 1000;

const deleteOf = (ws: string, person: string, at: number): InboundRecord => ({ ...identify(ws, person, null, at), command: { kind: 'delete', body: { person: { id_type: 'ID', value: person } } } });
const mergeOf = (ws: string, primary: string, secondary: string, at: number): InboundRecord => ({
  ...identify(ws, primary, null, at),
  command: { kind: 'merge', body: { primary: { id_type: 'ID', value: primary }, secondary: { id_type: 'ID', value: secondary } } },
});
const aliasOf = (ws: string, user: string, previous: string, at: number): InboundRecord => ({ ...identify(ws, user, null, at), command: { kind: 'alias', body: { user: { id_type: 'ID', value: user }, previous_id: previous } } });

describe('SPEC rules against the real stack', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('rules', 3);
  let merger: RunningMerger & { prefix: string };
  let writer: InboundWriter;
  let reader: OutputReader;
  let redis: Redis;
  const workspace = () => uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');

  beforeAll(async () => {
    merger = await startTestMerger(topics, { mode: 'two-planes', pendingPointers: true });
    writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
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
    const T = ahead();
    await writer.write([anonymousEvent(ws, 'A', T, 'r1-e1')]);
    await reader.until(() => reader.of(ws).anonymousEvents.length === 1);
    // An id nobody identified is one compact record (docs/design-pending-pointers.md), not keys of its own.
    const state = await anonymousState(redis, merger.prefix, ws, 'A');
    expect(state.storedPending).toHaveLength(1);
    expect(await redis.exists(new KeySpace(merger.prefix).entity({ kind: 'anonymous', workspace: ws, anonymousId: 'A' }).state)).toBe(0);
    // Dropped for good after the retention (and a day).
    expect(state.compact?.record?.expireAt).toBeGreaterThan(T + 30 * 86_400_000);
    const mine = reader.of(ws);
    expect(mine.anonymousEvents[0]).toMatchObject({ anonymous_id: 'A', event_id: 'r1-e1', received_at: T });
    expect(mine.mergedEvents).toEqual([]);
    expect(mine.campaignTriggers).toEqual([]);
  });

  it('R2a/R2b/R6: an identify binds the id and merges its pending events in received_at order, with one activity', async () => {
    const ws = workspace();
    const T = ahead();
    // Written in another order than received, the identify first: decided in received_at order.
    await writer.write([identify(ws, 'p1', 'A', T + 1000), anonymousEvent(ws, 'A', T + 200, 'b', { timestamp: 1_700_000_002 }), anonymousEvent(ws, 'A', T + 100, 'a', { timestamp: 1_700_000_001 })]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2 && reader.of(ws).activity.length === 1);
    const mine = reader.of(ws);
    expect(mine.mergedEvents.map((e) => e.event_id)).toEqual(['a', 'b']);
    expect(mine.mergedEvents[0]).toMatchObject({ person: { id_type: 'ID', value: 'p1' }, previously_anonymous: true, anonymous_id: 'A', associated_at: T + 1000 });
    expect(mine.activity[0]).toMatchObject({ kind: 'ANONYMOUS_DATA_MERGED', merged_count: 2, oldest_event_timestamp: 1_700_000_001, anonymous_id: 'A' });
  });

  it('R2b: an identify merges a backlog whose merged events are several times what Kafka takes in one record (1 MiB), all of it in order', async () => {
    const ws = workspace();
    const T = ahead();
    // 600 events of ~4 KB: ~2.4 MB of merged events for one person at one place in the order —
    // consecutive among the identify's outputs, with no trigger between them (R4: a week old).
    const payload = JSON.stringify({ note: 'x'.repeat(4000) });
    const weekAgo = Math.floor((T - 7 * 24 * HOUR) / 1000);
    const backlog = Array.from({ length: 600 }, (_, i) => {
      const event = anonymousEvent(ws, 'A', T + i, `big-${String(i).padStart(3, '0')}`, { timestamp: weekAgo });
      return { ...event, command: { kind: 'track' as const, body: { ...(event.command.body as Extract<InboundRecord['command'], { kind: 'track' }>['body']), data_json: payload } } };
    });
    // In sends of 100 (~400 KB): a record batch above 1 MiB is refused on the way in too.
    for (let i = 0; i < backlog.length; i += 100) await writer.write(backlog.slice(i, i + 100));
    await writer.write([identify(ws, 'p1', 'A', T + 1000)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 600 && reader.of(ws).activity.length === 1, 60_000);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(backlog.map((e) => e.id));
    expect(reader.of(ws).campaignTriggers).toEqual([]);
  });

  it('R2c/R2d: received exactly at the window end merges and 1 ms after stays pending — written after the identify', async () => {
    const ws = workspace();
    const T = ahead();
    const end = T + 2000;
    await writer.write([identify(ws, 'p1', 'A', T, SHORT)]);
    await writer.write([anonymousEvent(ws, 'A', end, 'at-end', { settings: SHORT }), anonymousEvent(ws, 'A', end + 1, 'after-end', { settings: SHORT })]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1 && reader.of(ws).anonymousEvents.length === 1, 30000);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'at-end', associated_at: end });
    expect(reader.of(ws).anonymousEvents[0]?.event_id).toBe('after-end');
  });

  it('R2c/R2d: the same two events written before the identify give the same outcome', async () => {
    const ws = workspace();
    const T = ahead();
    const end = T + 2000;
    await writer.write([anonymousEvent(ws, 'A', end, 'at-end', { settings: SHORT }), anonymousEvent(ws, 'A', end + 1, 'after-end', { settings: SHORT })]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await writer.write([identify(ws, 'p1', 'A', T, SHORT)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1 && reader.of(ws).anonymousEvents.length === 1, 30000);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'at-end', associated_at: end });
    // Kept as a pointer into the inbound log, which names the event (docs/design-pending-pointers.md).
    const lists = await PendingLists.open(kafka, topics);
    try {
      expect((await lists.stored(merger.prefix, ws, 'A')).map((entry) => entry.kind)).toEqual(['pointer']);
      expect(await lists.ids(merger.prefix, ws, 'A')).toEqual(['after-end']);
    } finally {
      await lists.close();
    }
  });

  it('R2e: a later identify of the same person merges what is pending by then and opens a new window', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([
      identify(ws, 'p1', 'A', T, SHORT),
      anonymousEvent(ws, 'A', T + 3000, 'late', { settings: SHORT }),
      identify(ws, 'p1', 'A', T + 4000, SHORT),
      anonymousEvent(ws, 'A', T + 5000, 'new-window', { settings: SHORT }),
    ]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2 && reader.of(ws).anonymousEvents.length >= 1, 30000);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['late', 'new-window']);
    expect(reader.of(ws).anonymousEvents.map((e) => e.event_id)).toEqual(['late']);
  });

  it('R2f: identifying another person with a bound id is refused and recorded, and no event moves', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([identify(ws, 'p1', 'A', T, SHORT), anonymousEvent(ws, 'A', T + 3000, 'pending', { settings: SHORT }), identify(ws, 'q1', 'A', T + 4000, SHORT)]);
    await reader.until(() => reader.of(ws).activity.some((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED'), 30000);
    const refusal = reader.of(ws).activity.find((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED');
    expect(refusal).toMatchObject({ person: { value: 'q1' }, other_person: { value: 'p1' }, anonymous_id: 'A' });
    await writer.write([personEvent(ws, 'q1', ahead(), 'marker')]);
    await reader.until(() => reader.of(ws).mergedEvents.some((e) => e.event_id === 'marker'));
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['marker']);
  });

  it('R2g: a person collects several anonymous ids, one identify each', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([anonymousEvent(ws, 'A1', T, 'from-a1'), anonymousEvent(ws, 'A2', T + 1, 'from-a2'), identify(ws, 'p1', 'A1', T + 1000), identify(ws, 'p1', 'A2', T + 1500)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    expect(reader.of(ws).mergedEvents.map((e) => `${e.event_id}:${e.anonymous_id}:${e.person.value}`).sort()).toEqual(['from-a1:A1:p1', 'from-a2:A2:p1']);
    // Both stay bound to p1: a later event of either merges into p1.
    const later = ahead();
    await writer.write([anonymousEvent(ws, 'A1', later, 'later-a1'), anonymousEvent(ws, 'A2', later, 'later-a2')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 4);
    expect(reader.of(ws).mergedEvents.every((e) => e.person.value === 'p1')).toBe(true);
  });

  it('R3: with merging off an identify binds nothing; switched on, identifying again merges the retained events', async () => {
    const ws = workspace();
    const T = ahead();
    const off = { ...DEFAULT_SETTINGS, merge_enabled: false };
    await writer.write([anonymousEvent(ws, 'A', T, 'kept', { settings: off }), identify(ws, 'p1', 'A', T + 500, off), anonymousEvent(ws, 'A', T + 1000, 'still-anonymous', { settings: off }), identify(ws, 'p1', 'A', T + 1500)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2 && reader.of(ws).anonymousEvents.length >= 2);
    expect(reader.of(ws).anonymousEvents.map((e) => e.event_id)).toEqual(['kept', 'still-anonymous']);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['kept', 'still-anonymous']);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ associated_at: T + 1500 });
  });

  it("R1 retention edge: an event received exactly the workspace's retention before the identify merges, 1 ms older is dropped", async () => {
    const ws = workspace();
    const T = ahead();
    const retention = SHORT.retention_seconds * 1000;
    await writer.write([anonymousEvent(ws, 'A', T, 'too-old', { settings: SHORT }), anonymousEvent(ws, 'A', T + 1, 'edge', { settings: SHORT }), identify(ws, 'p1', 'A', T + 1 + retention, SHORT)]);
    // The activity and the merged event are on two topics, read apart: wait for both.
    await reader.until(() => reader.of(ws).activity.length === 1 && reader.of(ws).mergedEvents.length >= 1, 30000);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['edge']);
    expect(reader.of(ws).activity[0]?.merged_count).toBe(1);
  });

  it('R4: a merged event triggers when at most 72 hours old at association; one second older it is delivered but does not', async () => {
    const ws = workspace();
    const T = ahead();
    const edge = (T + 1000 - 72 * HOUR) / 1000;
    await writer.write([anonymousEvent(ws, 'A', T, 'edge', { timestamp: edge }), anonymousEvent(ws, 'A', T + 1, 'older', { timestamp: edge - 1 }), identify(ws, 'p1', 'A', T + 1000)]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    await reader.until(() => reader.of(ws).campaignTriggers.length >= 1);
    // A later trigger on the same stream: once it is read, an 'older' trigger would have been too.
    await writer.write([personEvent(ws, 'marker-person', ahead(), 'marker')]);
    await reader.until(() => reader.of(ws).campaignTriggers.some((x) => x.event_id === 'marker'));
    expect(reader.of(ws).campaignTriggers.map((x) => x.event_id).sort()).toEqual(['edge', 'marker']);
  });

  it('R4: an invite event is a trigger addressed to its recipient and is never pending', async () => {
    const ws = workspace();
    const T = ahead();
    const invite = { ...anonymousEvent(ws, 'x', T, 'inv-1'), command: { kind: 'track' as const, body: { person: null, anonymous_id: null, name: 'invite', type: 'event' as const, timestamp: T / 1000, data_json: '{"recipient":"friend@example.com"}' } } };
    await writer.write([invite]);
    await reader.until(() => reader.of(ws).campaignTriggers.length === 1);
    expect(reader.of(ws).campaignTriggers[0]).toMatchObject({ person: null, recipient: 'friend@example.com', event_id: 'inv-1' });
    expect(reader.of(ws).anonymousEvents).toEqual([]);
  });

  it('R5: an identified event goes downstream at once and triggers', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([personEvent(ws, 'p9', T, 'bought')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1 && reader.of(ws).campaignTriggers.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'bought', previously_anonymous: false, anonymous_id: null, associated_at: T });
  });

  it('R7: a repeated id is one event downstream, wherever the repeat arrives', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([
      anonymousEvent(ws, 'A', T, 'dup'),
      anonymousEvent(ws, 'A', T + 5, 'dup'),
      personEvent(ws, 'p1', T, 'pdup'),
      personEvent(ws, 'p1', T + 5, 'pdup'),
      identify(ws, 'p1', 'A', T + 1000),
      anonymousEvent(ws, 'A', T + 1500, 'dup'), // a retry after the merge
      personEvent(ws, 'p1', T + 2000, 'marker'),
    ]);
    await reader.until(() => reader.of(ws).mergedEvents.some((e) => e.event_id === 'marker'));
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id).sort()).toEqual(['dup', 'marker', 'pdup']);
  });

  it("R9: after merge_customers the secondary's anonymous ids and open windows are the primary's, even sent back to back", async () => {
    const ws = workspace();
    const T = ahead();
    // The identify and the merge 1 ms apart, on different partitions and topics: decided in
    // received_at order all the same (issue 13).
    await writer.write([identify(ws, 'secondary', 'A', T), mergeOf(ws, 'primary', 'secondary', T + 1), anonymousEvent(ws, 'A', T + 500, 'after-merge')]);
    await reader.until(() => reader.of(ws).activity.some((a) => a.kind === 'PEOPLE_MERGED') && reader.of(ws).mergedEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'after-merge', person: { value: 'primary' }, anonymous_id: 'A' });
    // An identify of the secondary with its moved id goes to the primary (not a rebind).
    await writer.write([identify(ws, 'secondary', 'A', ahead()), personEvent(ws, 'primary', ahead() + 500, 'marker')]);
    await reader.until(() => reader.of(ws).mergedEvents.some((e) => e.event_id === 'marker'));
    expect(reader.of(ws).activity.filter((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED')).toEqual([]);
  });

  it('R9: a Segment alias of two known people merges the previous one into the user', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([identify(ws, 'old-id', 'A', T), aliasOf(ws, 'new-id', 'old-id', T + 1), anonymousEvent(ws, 'A', T + 500, 'after-alias')]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 1);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'after-alias', person: { value: 'new-id' } });
  });

  it('R10: deleting a person sends a tombstone and frees its anonymous ids, even sent back to back; their later events pend again', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([identify(ws, 'p1', 'A', T), deleteOf(ws, 'p1', T + 1), anonymousEvent(ws, 'A', T + 500, 'after-delete'), identify(ws, 'q1', 'A', T + 1000)]);
    await reader.until(() => reader.of(ws).tombstones.length === 1 && reader.of(ws).mergedEvents.length === 1 && reader.of(ws).anonymousEvents.length >= 1);
    expect(reader.of(ws).tombstones).toEqual([`${ws}/p/id:p1`]);
    expect(reader.of(ws).anonymousEvents.map((e) => e.event_id)).toEqual(['after-delete']);
    expect(reader.of(ws).mergedEvents[0]).toMatchObject({ event_id: 'after-delete', person: { value: 'q1' } });
    expect(reader.of(ws).activity.filter((a) => a.kind === 'ANONYMOUS_ID_REBIND_REFUSED')).toEqual([]);
  });

  it('two workspaces with the same anonymous id never meet', async () => {
    const one = workspace();
    const two = workspace();
    const T = ahead();
    await writer.write([anonymousEvent(one, 'shared', T, 'in-one'), anonymousEvent(two, 'shared', T, 'in-two'), identify(one, 'p1', 'shared', T + 1000)]);
    await reader.until(() => reader.of(one).mergedEvents.length === 1 && reader.of(two).anonymousEvents.length === 1);
    expect(reader.of(one).mergedEvents.map((e) => e.event_id)).toEqual(['in-one']);
    expect(reader.of(two).mergedEvents).toEqual([]);
  });

  it('R6: events merged one by one inside a window are summed into one activity when the window ends', async () => {
    const ws = workspace();
    const T = ahead();
    await writer.write([
      identify(ws, 'p1', 'A', T, SHORT),
      anonymousEvent(ws, 'A', T + 500, 'w1', { timestamp: 1_764_000_010, settings: SHORT }),
      anonymousEvent(ws, 'A', T + 1000, 'w2', { timestamp: 1_764_000_005, settings: SHORT }),
    ]);
    await reader.until(() => reader.of(ws).mergedEvents.length === 2);
    expect(reader.of(ws).activity).toEqual([]);
    const [summed] = (await reader.until(() => reader.of(ws).activity.length === 1, 20000, 'the summed activity')).activity.filter((a) => a.workspace_id === ws);
    expect(summed).toMatchObject({ kind: 'ANONYMOUS_DATA_MERGED', merged_count: 2, oldest_event_timestamp: 1_764_000_005, at: T + 2000, anonymous_id: 'A' });
  });

  it('R8: poison records go to the dead-letter topic with the reason and coordinates, and the partition goes on', async () => {
    await expectPoisonDeadLettered(writer, reader, topics, workspace(), ahead());
  });
});
