/**
 * A replay from a one-letter outbox code must send byte for byte what the first pass sent.
 */
import avro from 'avsc';
import { decideAnonymous } from '../../../services/merger/decide/anonymous';
import { decideInvites, decidePerson } from '../../../services/merger/decide/person';
import type { EntityRef } from '../../../services/merger/model/entities';
import type { AnyOp } from '../../../services/merger/outcomeCodes';
import { replayedOutcome, storedOutcome } from '../../../services/merger/outcomeCodes';
import type { OpResult } from '../../../services/merger/model/outputs';
import type { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { loadSchema, STREAMS } from '../../../services/shared/avro/schemaFiles';
import type { TopicConfig } from '../../../services/shared/config';
import { event, fresh, identify, P, settings, T0 } from './fixtures';

// Encoding as the catalog does, without a registry: schema id 7 for every stream.
const topics = Object.fromEntries(STREAMS.map((s) => [s, s])) as unknown as TopicConfig;
const types = new Map(STREAMS.map((s) => [s, loadSchema(s, topics).type as avro.Type]));
const catalog = { encode: (stream: string, value: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), (types.get(stream as never) as avro.Type).toBuffer(value)]) } as unknown as SchemaCatalog;
const encoded = (r: OpResult) => ({ position: { partition: 0, offset: 0 }, outputs: r.outputs.map((o) => ({ stream: o.stream, key: o.key, value: o.value === null ? null : catalog.encode(o.stream, o.value) })), followUps: r.followUps });

function roundTrip(entity: EntityRef, op: AnyOp, result: OpResult) {
  const outcome = { ...encoded(result), position: op.position };
  const stored = storedOutcome(entity, [op], outcome);
  return { stored, replayed: replayedOutcome(entity, [op], op.position, stored, catalog), original: outcome };
}

describe('outbox codes', () => {
  const anonymous: EntityRef = { kind: 'anonymous', workspace: 'ws', anonymousId: 'A' };

  it('a pending anonymous event is stored as P and replays to the same bytes', () => {
    const op = event('e1', T0);
    const d = decideAnonymous(fresh(), [op], { workspace: 'ws', anonymousId: 'A', knownIds: new Set() });
    const { stored, replayed, original } = roundTrip(anonymous, op, d.results[0] as OpResult);
    expect(stored.code).toBe('P');
    expect(replayed).toEqual(original);
  });

  it('a duplicate is stored as N and replays to nothing', () => {
    const op = event('dup', T0);
    const d = decideAnonymous(fresh(), [op], { workspace: 'ws', anonymousId: 'A', knownIds: new Set(['dup']) });
    expect(roundTrip(anonymous, op, d.results[0] as OpResult).stored.code).toBe('N');
  });

  it('an event merged into an open window is stored whole (it depends on the binding)', () => {
    const bound = decideAnonymous(fresh(), [identify(P, T0)], { workspace: 'ws', anonymousId: 'A', knownIds: new Set() }).state;
    const op = event('in', T0 + 1000);
    const d = decideAnonymous(bound, [op], { workspace: 'ws', anonymousId: 'A', knownIds: new Set() });
    const { stored, replayed, original } = roundTrip(anonymous, op, d.results[0] as OpResult);
    expect(stored.code).toBe('B');
    expect(replayed).toEqual(original);
  });

  it("a person's event is stored as E and replays to the same merged event and trigger", () => {
    const entity: EntityRef = { kind: 'person', workspace: 'ws', person: P };
    const op = { type: 'event' as const, position: { partition: 2, offset: 9 }, id: 'pe', receivedAt: T0, settings, event: { name: 'purchase', type: 'event' as const, timestamp: T0 / 1000, dataJson: '{"a":1}' } };
    const d = decidePerson({ version: 0, applied: {} }, [op], { workspace: 'ws', person: P, knownIds: new Set() });
    const { stored, replayed, original } = roundTrip(entity, op, d.results[0] as OpResult);
    expect(stored.code).toBe('E');
    expect(replayed.outputs).toHaveLength(2);
    expect(replayed).toEqual(original);
  });

  it('an invite is stored as I and replays to the same trigger', () => {
    const entity: EntityRef = { kind: 'invites', workspace: 'ws' };
    const op = { type: 'invite' as const, position: { partition: 1, offset: 3 }, id: 'inv', receivedAt: T0, recipient: 'Friend@Example.com', event: { name: 'invite', type: 'event' as const, timestamp: T0 / 1000, dataJson: '{"recipient":"Friend@Example.com"}' } };
    const d = decideInvites({ version: 0, applied: {} }, [op], { workspace: 'ws', knownIds: new Set() });
    const { stored, replayed, original } = roundTrip(entity, op, d.results[0] as OpResult);
    expect(stored.code).toBe('I');
    expect(replayed).toEqual(original);
  });
});
