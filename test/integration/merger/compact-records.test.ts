/**
 * Compact records in the real Redis (services/merger/redis/orderedEntityStore.ts with
 * loadOrdered.lua and commitCompact.lua), against Redis alone: an anonymous id with only pending
 * events is one record in a shared bucket, read back as the state it was written as; a stale
 * write changes nothing; an id whose state stops fitting moves to its own keys, its record gone;
 * stripes split as they fill and every record stays findable; expired records read as nothing
 * and are swept out.
 */
import Redis from 'ioredis';
import { ulid } from 'ulid';
import type { PendingEvent } from '../../../services/merger/model/state';
import type { EntityRef } from '../../../services/merger/model/entities';
import { compactField } from '../../../services/merger/redis/compactRecord';
import { KeySpace } from '../../../services/merger/redis/keys';
import { OrderedEntityStore, type CompactOptions, type LoadedOrdered, type OrderedCommit } from '../../../services/merger/redis/orderedEntityStore';
import { defineMergerCommands } from '../../../services/merger/redis/scripts';
import { StateStore } from '../../../services/merger/redis/stateStore';
import { deleteRedisPrefix } from '../../support/merger';
import { config, uniqueName } from '../../support/stack';

const RETENTION = 30 * 86_400_000;
const NOW = Date.now();
const PARTITION = 1;

describe('compact records in Redis', () => {
  const redis = defineMergerCommands(new Redis(config.redis.url));
  const prefixes: string[] = [];
  const open = (options: Partial<CompactOptions> = {}) => {
    const prefix = uniqueName('compact');
    prefixes.push(prefix);
    const keys = new KeySpace(prefix);
    return { prefix, keys, store: new OrderedEntityStore(new StateStore(redis, keys), { enabled: true, bySlot: false, mostPerBucket: 64, largestValue: 512, ...options }) };
  };

  afterAll(async () => {
    for (const prefix of prefixes) await deleteRedisPrefix(prefix);
    redis.disconnect();
  });

  const anonymous = (anonymousId: string, workspace = 'ws'): EntityRef & { kind: 'anonymous' } => ({ kind: 'anonymous', workspace, anonymousId });
  const event = (receivedAt: number, offset: number, id = ulid(receivedAt)): PendingEvent => ({ id, receivedAt, name: 'https://shop.example.com/', type: 'page', timestamp: Math.floor(receivedAt / 1000), dataJson: '{}', source: { partition: PARTITION, offset } });

  /** The commit the data plane makes when `events` became pending, on what was loaded. */
  function pendingCommit(entity: EntityRef, before: LoadedOrdered, events: PendingEvent[], change: Partial<OrderedCommit> = {}): OrderedCommit {
    const last = events[events.length - 1];
    return {
      entity,
      expectedVersion: before.version,
      before,
      state: { seen: new Map(events.map((e) => [e.id, e.receivedAt])), person: null, window: null, pending: events },
      applied: { last: last ? { at: last.receivedAt, id: last.id, content: '' } : null, by: PARTITION, others: {} },
      pendingLoaded: false,
      seen: events.map((e) => ({ id: e.id, receivedAt: e.receivedAt })),
      outbox: new Map(),
      published: [],
      retentionMs: RETENTION,
      now: NOW,
      ...change,
    };
  }

  const load = async (store: OrderedEntityStore, entity: EntityRef, ids: string[] = [], now = NOW) => (await store.load([{ entity, ids, withPending: true, outbox: [] }], now))[0] as LoadedOrdered;

  it('an id with only pending events is one record, read back as it was written, with no keys of its own', async () => {
    const { store, keys } = open();
    const entity = anonymous('visitor-1');
    const events = [event(NOW - 3000, 40), event(NOW - 2000, 41), event(NOW - 1000, 45, 'client-chosen-id')];
    expect(await store.commit([pendingCommit(entity, await load(store, entity), events)])).toEqual([true]);
    const loaded = await load(store, entity, [events[0]!.id, 'never-seen']);
    expect(loaded.version).toBe(1);
    expect(loaded.compact?.record?.entries).toHaveLength(3);
    expect(loaded.storedPending).toEqual(events.map((e) => ({ kind: 'pointer', receivedAt: e.receivedAt, partition: PARTITION, offset: e.source?.offset })));
    expect([...loaded.state.seen]).toEqual([[events[0]!.id, events[0]!.receivedAt]]);
    expect(loaded.applied).toEqual({ last: { at: NOW - 1000, id: 'client-chosen-id', content: '' }, by: PARTITION, others: {} });
    const own = keys.entity(entity);
    expect(await redis.exists(own.state, own.pending, own.seen)).toBe(0);

    // A second batch appends.
    const more = [event(NOW - 500, 50)];
    expect(await store.commit([pendingCommit(entity, loaded, more)])).toEqual([true]);
    expect((await load(store, entity)).storedPending.map((p) => (p.kind === 'pointer' ? p.offset : -1))).toEqual([40, 41, 45, 50]);
  });

  it('a write on a record that moved since it was loaded changes nothing', async () => {
    const { store } = open();
    const entity = anonymous('visitor-2');
    await store.commit([pendingCommit(entity, await load(store, entity), [event(NOW - 2000, 1)])]);
    const stale = await load(store, entity);
    expect(await store.commit([pendingCommit(entity, stale, [event(NOW - 1000, 2)])])).toEqual([true]);
    expect(await store.commit([pendingCommit(entity, stale, [event(NOW - 900, 3)])])).toEqual([false]);
    // And a first write that finds a record already there.
    const fresh = await load(store, anonymous('nobody-yet'));
    await store.commit([pendingCommit(anonymous('nobody-yet'), fresh, [event(NOW, 9)])]);
    expect(await store.commit([pendingCommit(anonymous('nobody-yet'), fresh, [event(NOW, 10)])])).toEqual([false]);
    expect((await load(store, entity)).storedPending).toHaveLength(2);
  });

  it('an id whose state stops fitting (a bind) moves to its own keys with everything it counted, and its record is deleted', async () => {
    const { store, keys } = open();
    const entity = anonymous('visitor-3');
    const events = [event(NOW - 3000, 7), event(NOW - 2000, 8)];
    await store.commit([pendingCommit(entity, await load(store, entity), events)]);
    const before = await load(store, entity, [events[0]!.id]);
    // A duplicate of the first event: no output, an explicit outbox entry — not a record any more.
    const commit = pendingCommit(entity, before, [], {
      state: { seen: new Map(), person: null, window: null, pending: [] },
      applied: { last: { at: NOW - 1000, id: events[0]!.id, content: '' }, by: PARTITION, others: {} },
      seen: [],
      outbox: new Map([['1:99', Buffer.from('N')]]),
    });
    expect(await store.commit([commit])).toEqual([true]);
    const own = keys.entity(entity);
    expect(await redis.hget(own.state, 'v')).toBe('2');
    expect(await redis.llen(own.pending)).toBe(2);
    expect(await redis.zrange(own.seen, 0, -1)).toEqual(events.map((e) => e.id));
    const after = await load(store, entity, [events[1]!.id]);
    expect(after.compact).toBeNull();
    expect(after.version).toBe(2);
    expect(after.storedPending).toHaveLength(2);
    expect(after.state.seen.get(events[1]!.id)).toBe(events[1]!.receivedAt);
    // Its record is gone from every bucket.
    const buckets = await redis.keys(`${keys.compactStripe('ws', 'visitor-3', false)}|*`);
    for (const bucket of buckets) expect(await redis.hlen(bucket)).toBeLessThanOrEqual(1);
    // And a late record write (a zombie's) is refused once own keys exist.
    expect(await store.commit([pendingCommit(entity, before, [event(NOW - 500, 12)])])).toEqual([false]);
  });

  it('a move to own keys decided on a record another writer has since appended to changes nothing', async () => {
    const { store, keys } = open();
    const entity = anonymous('raced-visitor');
    await store.commit([pendingCommit(entity, await load(store, entity), [event(NOW - 3000, 1, 'first')])]);
    const both = await load(store, entity, ['first']);
    // Writer A (after partitions were added, say) appends to the record.
    expect(await store.commit([pendingCommit(entity, both, [event(NOW - 2000, 2, 'from-a')])])).toEqual([true]);
    // Writer B, on the record it read before, applies an item of another partition: own keys — refused.
    const moved = pendingCommit(entity, both, [{ ...event(NOW - 1000, 7, 'from-b'), source: { partition: 5, offset: 7 } }], {
      applied: { last: { at: NOW - 1000, id: 'from-b', content: '' }, by: 5, others: { [PARTITION]: { at: NOW - 3000, id: 'first', content: '' } } },
    });
    expect(await store.commit([moved])).toEqual([false]);
    expect(await redis.exists(keys.entity(entity).state)).toBe(0);
    // Loaded again, B decides on A's record and moves it whole.
    const again = await load(store, entity, ['first', 'from-a']);
    expect(await store.commit([{ ...moved, expectedVersion: again.version, before: again }])).toEqual([true]);
    expect(await redis.zrange(keys.entity(entity).seen, 0, -1)).toEqual(['first', 'from-a', 'from-b']);
    expect((await load(store, entity)).storedPending).toHaveLength(3);
  });

  it('a new id written by two writers at once, one as a record and one in own keys, keeps one of them', async () => {
    const { store, keys } = open();
    const entity = anonymous('twice-new');
    const fresh = await load(store, entity);
    expect(await store.commit([pendingCommit(entity, fresh, [event(NOW - 1000, 1, 'e1')])])).toEqual([true]);
    const duplicateSeen = pendingCommit(entity, fresh, [event(NOW - 900, 2, 'e2')], { outbox: new Map([['1:2', Buffer.from('N')]]) });
    expect(await store.commit([duplicateSeen])).toEqual([false]);
    expect(await redis.exists(keys.entity(entity).state)).toBe(0);
  });

  it('a stripe splits as it fills, and every record stays where a load finds it', async () => {
    const { store, keys } = open({ mostPerBucket: 4 });
    const ids = Array.from({ length: 300 }, (_, i) => `split-${i}`);
    for (let start = 0; start < ids.length; start += 50) {
      const chunk = ids.slice(start, start + 50);
      const loaded = await store.load(chunk.map((id) => ({ entity: anonymous(id), ids: [], withPending: false, outbox: [] })));
      const applied = await store.commit(chunk.map((id, i) => pendingCommit(anonymous(id), loaded[i]!, [event(NOW - 1000 + i, start + i)])));
      expect(applied.every(Boolean)).toBe(true);
    }
    const stripe = keys.compactStripe('ws', 'split-0', false);
    const buckets = Number(await redis.get(stripe));
    expect(buckets).toBeGreaterThan(30);
    const loaded = await store.load(ids.map((id) => ({ entity: anonymous(id), ids: [], withPending: true, outbox: [] })));
    expect(loaded.map((l) => l.storedPending.length)).toEqual(ids.map(() => 1));
    // Each bucket is small: at most twice the split size, plus its sweep marker.
    for (let b = 0; b < buckets; b += 1) expect(await redis.hlen(`${stripe}|${b}`)).toBeLessThanOrEqual(9);
    expect(await redis.pttl(stripe)).toBeGreaterThan(RETENTION);
    expect(await redis.object('ENCODING', `${stripe}|0`)).toBe('listpack');
  });

  it('an expired record reads as no state, and is swept out by the first write to its bucket of the day', async () => {
    const { store, keys } = open();
    const entity = anonymous('gone-visitor');
    await store.commit([pendingCommit(entity, await load(store, entity), [event(NOW - 1000, 1)])]);
    // Time passing, as far as the record can tell: its expiry hour (bytes 0–2, under the format's 3 bits) moved to an hour ago.
    const stripe = keys.compactStripe('ws', 'gone-visitor', false);
    const field = compactField('gone-visitor');
    const raw = (await redis.hgetBuffer(`${stripe}|0`, field as unknown as string)) as Buffer;
    const hourAgo = Math.floor(NOW / 3_600_000) - 1;
    raw.writeUIntBE(2 ** 21 + hourAgo, 0, 3);
    await redis.hset(`${stripe}|0`, field, raw);
    const loaded = await load(store, entity);
    expect(loaded.version).toBe(0);
    expect(loaded.storedPending).toEqual([]);
    expect(loaded.compact?.record).toBeNull();
    // A write today to the same (only) bucket sweeps it — once the day's sweep is due.
    await redis.hdel(`${stripe}|0`, '');
    await store.commit([pendingCommit(anonymous('new-visitor'), await load(store, anonymous('new-visitor')), [event(NOW, 2)])]);
    expect(await redis.hlen(`${stripe}|0`)).toBe(2); // the new record and the sweep marker
    expect(await redis.hexists(`${stripe}|0`, field as unknown as string)).toBe(0);
    // A write decided on the swept record finds it gone (moved); loaded again, the id starts afresh.
    expect(await store.commit([pendingCommit(entity, loaded, [event(NOW, 3)])])).toEqual([false]);
    expect(await store.commit([pendingCommit(entity, await load(store, entity), [event(NOW, 3)])])).toEqual([true]);
    expect((await load(store, entity)).storedPending).toHaveLength(1);
  });

  it('with records switched off a record is still read, and its id moves to its own keys at its next write', async () => {
    const { store, keys, prefix } = open();
    const entity = anonymous('switched-visitor');
    await store.commit([pendingCommit(entity, await load(store, entity), [event(NOW - 2000, 1)])]);
    const off = new OrderedEntityStore(new StateStore(redis, new KeySpace(prefix)), { enabled: false, bySlot: false, mostPerBucket: 64, largestValue: 512 });
    const loaded = await load(off, entity);
    expect(loaded.storedPending).toHaveLength(1);
    expect(await off.commit([pendingCommit(entity, loaded, [event(NOW - 1000, 2)])])).toEqual([true]);
    expect(await redis.llen(keys.entity(entity).pending)).toBe(2);
    expect((await load(store, entity)).compact).toBeNull();
  });

  it('a record that would be longer than the server keeps in a listpack stays in own keys', async () => {
    const { store, keys } = open({ largestValue: 40 });
    const entity = anonymous('busy-visitor');
    const events = Array.from({ length: 5 }, (_, i) => event(NOW - 5000 + i * 1000, 100 + i));
    await store.commit([pendingCommit(entity, await load(store, entity), events)]);
    expect(await redis.llen(keys.entity(entity).pending)).toBe(5);
    expect((await load(store, entity)).compact).toBeNull();
  });
});
