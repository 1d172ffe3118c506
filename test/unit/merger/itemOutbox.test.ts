/**
 * The data plane's outbox entries (services/merger/ordered/itemOutbox.ts): an item replayed from
 * a one-letter code must send byte for byte what its first application sent; anything that
 * depends on the entity's state is stored whole.
 */
import avro from 'avsc';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import type { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { loadSchema, STREAMS } from '../../../services/shared/avro/schemaFiles';
import type { TopicConfig } from '../../../services/shared/config';
import type { Output } from '../../../services/merger/model/outputs';
import { decodeOutbox, encodeOutbox, type EncodedOutput } from '../../../services/merger/redis/codec';
import { applyItem, emptyDataState, type DataEntity, type DataEntityState, type DataItem } from '../../../services/merger/ordered/dataPlane';
import { implicitOutcome, replayedItemOutputs, storedExplicitly, storedItemOutcome } from '../../../services/merger/ordered/itemOutbox';

// Encoding as the catalog does, without a registry: schema id 7 for every stream.
const topics = Object.fromEntries(STREAMS.map((s) => [s, s])) as unknown as TopicConfig;
const types = new Map(STREAMS.map((s) => [s, loadSchema(s, topics).type as avro.Type]));
const catalog = { encode: (stream: string, value: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), (types.get(stream as never) as avro.Type).toBuffer(value)]) } as unknown as SchemaCatalog;
const encode = (outputs: readonly Output[]): EncodedOutput[] => outputs.map((o) => ({ stream: o.stream, key: o.key, value: o.value === null ? null : catalog.encode(o.stream, o.value) }));

const T0 = Date.UTC(2026, 10, 30, 9);
const settings = { merge_enabled: true, retention_seconds: 86_400, grace_seconds: 300, trigger_window_seconds: 3600 };
const P = { id_type: 'ID' as const, value: 'p1' };
const anonymous: DataEntity = { kind: 'anonymous', workspace: 'w', anonymousId: 'a1' };

function track(id: string, at: number, body: Partial<{ anonymous_id: string | null; person: typeof P | null; name: string; data_json: string }>): DataItem {
  const record: InboundRecord = {
    workspace_id: 'w',
    id,
    received_at: at,
    settings,
    command: { kind: 'track', body: { person: null, anonymous_id: null, name: 'page', type: 'page', timestamp: at / 1000, data_json: '{"path":"/\\u2028x"}', ...body } },
  };
  return { kind: 'event', record };
}

/** Applies the item, stores its entry through the codec, replays it: the stored code and both outputs. */
function roundTrip(entity: DataEntity, state: DataEntityState, item: DataItem) {
  const produced = applyItem(entity, state, item);
  const original = encode(produced);
  const stored = decodeOutbox(encodeOutbox(storedItemOutcome(entity, item, produced, original)));
  return { code: stored.code, original, replayed: replayedItemOutputs(entity, item, stored, encode) };
}

describe('data plane outbox entries', () => {
  it('a pending anonymous event is stored as P and replays to the same bytes', () => {
    const { code, original, replayed } = roundTrip(anonymous, emptyDataState(), track('e1', T0, { anonymous_id: 'a1' }));
    expect(code).toBe('P');
    expect(original).toHaveLength(1);
    expect(replayed).toEqual(original);
  });

  it('a repeated id is stored as N and replays to nothing', () => {
    const state = emptyDataState();
    applyItem(anonymous, state, track('dup', T0, { anonymous_id: 'a1' }));
    const { code, replayed } = roundTrip(anonymous, state, track('dup', T0 + 1, { anonymous_id: 'a1' }));
    expect(code).toBe('N');
    expect(replayed).toEqual([]);
  });

  it('an event inside a bound id’s window is stored whole: its person comes from the state', () => {
    const state: DataEntityState = { ...emptyDataState(), person: P, window: { openedBy: 'i1', end: T0 + 300_000, count: 0, oldest: null } };
    const { code, original, replayed } = roundTrip(anonymous, state, track('in', T0 + 1000, { anonymous_id: 'a1' }));
    expect(code).toBe('B');
    expect(original.map((o) => o.stream)).toContain('mergedEvents');
    expect(replayed).toEqual(original);
  });

  it('a pending event that also reports the window the clock ended is stored whole', () => {
    const state: DataEntityState = { ...emptyDataState(), person: P, window: { openedBy: 'i1', end: T0, count: 2, oldest: T0 / 1000 } };
    const { code, original, replayed } = roundTrip(anonymous, state, track('late', T0 + 1000, { anonymous_id: 'a1' }));
    expect(original.map((o) => o.stream)).toEqual(['activity', 'anonymousEvents']);
    expect(code).toBe('B');
    expect(replayed).toEqual(original);
  });

  it('an invite is stored as I and replays to the same trigger', () => {
    const invites: DataEntity = { kind: 'invites', workspace: 'w' };
    const { code, original, replayed } = roundTrip(invites, emptyDataState(), track('inv', T0, { name: 'invite', data_json: '{"recipient":"Friend@Example.com"}' }));
    expect(code).toBe('I');
    expect(original.map((o) => o.stream)).toEqual(['campaignTriggers']);
    expect(replayed).toEqual(original);
  });

  it("a person's event is stored whole: the person it resolves to comes from the state", () => {
    const person: DataEntity = { kind: 'person', workspace: 'w', person: P };
    const state: DataEntityState = { ...emptyDataState(), person: { id_type: 'ID', value: 'primary' } };
    const { code, original, replayed } = roundTrip(person, state, track('pe', T0, { person: P }));
    expect(code).toBe('B');
    expect(replayed).toEqual(original);
  });

  it('a code that does not fit the item is refused, not turned into other outputs', () => {
    const person: DataEntity = { kind: 'person', workspace: 'w', person: P };
    expect(() => replayedItemOutputs(person, track('pe', T0, { person: P }), { code: 'P' }, encode)).toThrow(/does not fit/);
  });

  describe('the usual outcome is not stored: a replayed item with no entry had it (R1, R7)', () => {
    /** What the data plane stores for the item: the entry, or nothing when the outcome is the implicit one. */
    function stored(entity: DataEntity, state: DataEntityState, item: DataItem) {
      const produced = applyItem(entity, state, item);
      const original = encode(produced);
      const outcome = storedItemOutcome(entity, item, produced, original);
      return { entry: storedExplicitly(entity, item, outcome) ? encodeOutbox(outcome) : null, original };
    }
    const replay = (entity: DataEntity, item: DataItem, entry: Buffer | null) => replayedItemOutputs(entity, item, entry ? decodeOutbox(entry) : (implicitOutcome(entity, item) as never), encode);

    it('a pending page view writes no entry and replays to the same bytes', () => {
      const item = track('e1', T0, { anonymous_id: 'a1' });
      const { entry, original } = stored(anonymous, emptyDataState(), item);
      expect(entry).toBeNull();
      expect(replay(anonymous, item, entry)).toEqual(original);
    });

    it('an invite writes no entry and replays to the same trigger', () => {
      const invites: DataEntity = { kind: 'invites', workspace: 'w' };
      const item = track('inv', T0, { name: 'invite', data_json: '{"recipient":"Friend@Example.com"}' });
      const { entry, original } = stored(invites, emptyDataState(), item);
      expect(entry).toBeNull();
      expect(replay(invites, item, entry)).toEqual(original);
    });

    it('a duplicate and a merged event of an anonymous id are stored: "no entry" would replay them as pending', () => {
      const state = emptyDataState();
      applyItem(anonymous, state, track('dup', T0, { anonymous_id: 'a1' }));
      const duplicate = track('dup', T0 + 1, { anonymous_id: 'a1' });
      const again = stored(anonymous, state, duplicate);
      expect(again.entry).not.toBeNull();
      expect(replay(anonymous, duplicate, again.entry)).toEqual([]);
      const bound: DataEntityState = { ...emptyDataState(), person: P, window: { openedBy: 'i1', end: T0 + 300_000, count: 0, oldest: null } };
      const inWindow = track('in', T0 + 1000, { anonymous_id: 'a1' });
      const { entry, original } = stored(anonymous, bound, inWindow);
      expect(entry).not.toBeNull();
      expect(replay(anonymous, inWindow, entry)).toEqual(original);
    });

    it("a person's event and a command have no implicit outcome: they are always stored", () => {
      expect(implicitOutcome({ kind: 'person', workspace: 'w', person: P }, track('pe', T0, { person: P }))).toBeNull();
    });
  });
});
