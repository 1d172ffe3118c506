/**
 * The control plane's state in the real Redis (services/merger/redis/controlStore.ts): batches of
 * person operations decided on what the store loads and stored with commitControl.lua give the
 * same commands and outputs, and leave the same state, as deciding every record on the whole
 * state in memory (R2a–f, R3, R9, R10); a commit on a version that moved changes nothing.
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import { personKey, type PersonRef } from '../../../services/shared/model/person';
import { compareRecords } from '../../../services/shared/model/recordOrder';
import { decidePersonOperation, emptyControlState, isPersonOperation, type ControlState } from '../../../services/merger/ordered/controlPlane';
import { cloneControlState, controlWrites } from '../../../services/merger/ordered/controlReads';
import { appliedAlready, ControlStore, outboxField, storedStamp } from '../../../services/merger/redis/controlStore';
import { KeySpace } from '../../../services/merger/redis/keys';
import { defineMergerCommands } from '../../../services/merger/redis/scripts';
import { deleteRedisPrefix } from '../../support/merger';
import { config, uniqueName } from '../../support/stack';
import { toRecords, workload } from '../../support/personOpsWorkload';

const RUNS = 40;

describe('the control state in Redis', () => {
  const redis = defineMergerCommands(new Redis(config.redis.url, { lazyConnect: false }));
  const prefixes: string[] = [];
  const newStore = () => {
    const prefix = uniqueName('control');
    prefixes.push(prefix);
    return new ControlStore(redis, new KeySpace(prefix));
  };

  afterAll(async () => {
    for (const prefix of prefixes) await deleteRedisPrefix(prefix);
    await redis.quit();
  });

  /** What a workspace's keys hold, in the shape of the core's state. */
  async function storedState(store: ControlStore, workspace: string): Promise<Record<string, unknown>> {
    const keys = store.keys.control(workspace);
    // The keys share the state's name up to its ":s"; the sets are "<tag>:i:<person>", "<tag>:f:<person>".
    const tag = keys.state.slice(0, -':s'.length);
    const setKeys = await redis.keys(`${tag.replace(/[*?[\]\\]/g, '\\$&')}:[if]:*`);
    const sets: Record<string, string[]> = {};
    for (const key of setKeys) sets[key.slice(tag.length + 1)] = (await redis.smembers(key)).sort();
    return { bindings: await redis.hgetall(keys.bindings), mergedInto: await redis.hgetall(keys.mergedInto), sets };
  }

  function expectedStored(state: ControlState): Record<string, unknown> {
    const sets: Record<string, string[]> = {};
    for (const [key, ids] of state.idsOf) if (ids.size > 0) sets[`i:${key}`] = [...ids].sort();
    for (const [key, from] of state.mergedFrom) if (from.size > 0) sets[`f:${key}`] = [...from].sort();
    return {
      bindings: Object.fromEntries([...state.bindings].map(([id, person]) => [id, personKey(person)])),
      mergedInto: Object.fromEntries([...state.mergedInto].map(([key, into]) => [key, personKey(into)])),
      sets,
    };
  }

  it('R2a-f R3 R9 R10: batches stored in Redis decide as the whole state does', async () => {
    await fc.assert(
      fc.asyncProperty(workload, fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }), async (steps, batchSizes) => {
        const store = newStore();
        const operations = toRecords(steps).filter(isPersonOperation).sort(compareRecords);
        const whole = new Map<string, ControlState>();
        const expected = operations.map((record) => {
          let state = whole.get(record.workspace_id);
          if (!state) whole.set(record.workspace_id, (state = emptyControlState()));
          return decidePersonOperation(state, record);
        });

        const got: typeof expected = [];
        for (let i = 0, b = 0; i < operations.length; b += 1) {
          const batch = operations.slice(i, i + (batchSizes[b % batchSizes.length] as number));
          i += batch.length;
          const decisions = new Map<InboundRecord, (typeof expected)[number]>();
          for (const workspace of new Set(batch.map((r) => r.workspace_id))) {
            const own = batch.filter((r) => r.workspace_id === workspace);
            const loaded = await store.load(workspace, own);
            const state = cloneControlState(loaded.state);
            own.forEach((record) => decisions.set(record, decidePersonOperation(state, record)));
            expect(await store.commit(workspace, loaded.version, controlWrites(loaded.state, state), storedStamp(own[own.length - 1] as InboundRecord), new Map())).toBe(true);
          }
          for (const record of batch) got.push(decisions.get(record) as (typeof expected)[number]);
        }
        expect(got).toEqual(expected);
        for (const [workspace, state] of whole) expect(await storedState(store, workspace)).toEqual(expectedStored(state));
      }),
      { numRuns: RUNS },
    );
  });

  it('R2f: a commit decided on a version that has moved changes nothing', async () => {
    const store = newStore();
    const person = (value: string): PersonRef => ({ id_type: 'ID', value });
    const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
    const identify = (id: string, who: string): InboundRecord => ({ workspace_id: 'w', id, received_at: 1, settings, command: { kind: 'identify', body: { person: person(who), anonymous_id: 'a1', attributes_json: '{}' } } });
    const decide = async (record: InboundRecord) => {
      const loaded = await store.load('w', [record]);
      const state = cloneControlState(loaded.state);
      decidePersonOperation(state, record);
      return { loaded, writes: controlWrites(loaded.state, state) };
    };
    // Two writers decide on the same version: the first binds a1 to p, the second to q.
    const first = await decide(identify('r1', 'p'));
    const second = await decide(identify('r2', 'q'));
    expect(await store.commit('w', first.loaded.version, first.writes, storedStamp(identify('r1', 'p')), new Map())).toBe(true);
    expect(await store.commit('w', second.loaded.version, second.writes, storedStamp(identify('r2', 'q')), new Map())).toBe(false);
    const after = await store.load('w', [identify('r3', 'q')]);
    expect(after.state.bindings.get('a1')).toEqual(person('p'));
    expect(after.version).toBe(1);
    expect(after.applied).toEqual(storedStamp(identify('r1', 'p')));
  });

  it('R2a: operations at or before the applied one are replays, answered from the outbox until it is cleaned', async () => {
    const store = newStore();
    const settings = { merge_enabled: true, retention_seconds: 60, grace_seconds: 5, trigger_window_seconds: 60 };
    const identify = (id: string, at: number, anonymousId: string): InboundRecord => ({ workspace_id: 'w', id, received_at: at, settings, command: { kind: 'identify', body: { person: { id_type: 'ID', value: 'p' }, anonymous_id: anonymousId, attributes_json: '{}' } } });
    const batch = [identify('r1', 10, 'a1'), identify('r2', 20, 'a2')];
    const loaded = await store.load('w', batch);
    expect(loaded.applied).toBeNull();
    const state = cloneControlState(loaded.state);
    for (const record of batch) decidePersonOperation(state, record);
    const outbox = new Map(batch.map((record) => [outboxField(record), Buffer.from(`outputs of ${record.id}`)]));
    expect(await store.commit('w', loaded.version, controlWrites(loaded.state, state), storedStamp(batch[1] as InboundRecord), outbox)).toBe(true);

    // Read again after a crash, with one operation more: the first two are replays.
    const again = [...batch, identify('r3', 30, 'a3')];
    const reloaded = await store.load('w', again);
    expect(again.map((record) => appliedAlready(record, reloaded.applied))).toEqual([true, true, false]);
    expect([...reloaded.outbox.values()].map(String)).toEqual(['outputs of r1', 'outputs of r2']);
    // Published: cleaned, and a replay then finds nothing to send again.
    await store.cleanOutbox('w', [...outbox.keys()]);
    expect((await store.load('w', again)).outbox.size).toBe(0);
    // Same received_at and id, other content: placed by content, consistently.
    for (const twin of [identify('r2', 20, 'a0'), identify('r2', 20, 'a9')]) expect(appliedAlready(twin, reloaded.applied)).toBe(compareRecords(twin, batch[1] as InboundRecord) < 0);
  });
});
