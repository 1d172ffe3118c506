/**
 * The control plane's reads and writes of Redis (docs/design-person-operations.md), and nothing
 * else: which entries a batch reads and what it writes back are decided in
 * ordered/controlReads.ts. Reads are plain commands in two pipelined rounds; the write is one
 * script that checks the version the batch was decided on (commitControl.lua).
 */
import type { InboundRecord } from '../../shared/model/inbound';
import type { ControlState } from '../ordered/controlPlane';
import { firstReads, partialControlState, secondReads, storedPerson, type ControlWrites } from '../ordered/controlReads';
import type { KeySpace } from './keys';
import type { MergerRedis } from './scripts';

export interface LoadedControl {
  /** Version of the workspace's control state: the commit is refused if it moved. */
  readonly version: number;
  /** Per person-ops partition, the last offset whose operation is stored. */
  readonly applied: ReadonlyMap<number, number>;
  /** The part of the state the batch's records reach (not to be mutated: decide on a clone). */
  readonly state: ControlState;
}

export class ControlStore {
  constructor(
    readonly redis: MergerRedis,
    readonly keys: KeySpace,
  ) {}

  /** Loads what deciding `records` (one workspace's) reads. */
  async load(workspace: string, records: readonly InboundRecord[]): Promise<LoadedControl> {
    const keys = this.keys.control(workspace);
    const first = firstReads(records);
    const [stateHash, bound, into] = await Promise.all([
      this.redis.hgetall(keys.state),
      first.anonymousIds.length > 0 ? this.redis.hmget(keys.bindings, ...first.anonymousIds) : Promise.resolve([]),
      first.persons.length > 0 ? this.redis.hmget(keys.mergedInto, ...first.persons) : Promise.resolve([]),
    ]);
    const firstLoad = {
      bindings: new Map(first.anonymousIds.map((id, i) => [id, storedPerson(bound[i] ?? null)] as const)),
      mergedInto: new Map(first.persons.map((key, i) => [key, storedPerson(into[i] ?? null)] as const)),
    };
    const persons = secondReads(first, firstLoad);
    const sets = await Promise.all(persons.flatMap((person) => [this.redis.smembers(keys.idsOf(person)), this.redis.smembers(keys.mergedFrom(person))]));
    const secondLoad = {
      idsOf: new Map(persons.map((person, i) => [person, new Set(sets[2 * i])] as const)),
      mergedFrom: new Map(persons.map((person, i) => [person, new Set(sets[2 * i + 1])] as const)),
    };
    const applied = new Map<number, number>();
    for (const [field, value] of Object.entries(stateHash)) if (field.startsWith('o:')) applied.set(Number(field.slice(2)), Number(value));
    return { version: Number(stateHash.v ?? 0), applied, state: partialControlState(firstLoad, secondLoad) };
  }

  /**
   * Stores a batch's changes and the offset it applied up to, if the state is still at
   * `expectedVersion`. Returns false when it moved (another writer, or a zombie): load and decide again.
   */
  async commit(workspace: string, expectedVersion: number, writes: ControlWrites, applied: { readonly partition: number; readonly offset: number }): Promise<boolean> {
    const keys = this.keys.control(workspace);
    const setKeys: string[] = [];
    const args: string[] = [String(expectedVersion), String(expectedVersion + 1), `o:${applied.partition}`, String(applied.offset)];
    args.push(String(writes.bindings.length));
    for (const [id, person] of writes.bindings) args.push(id, person ?? '');
    args.push(String(writes.mergedInto.length));
    for (const [key, into] of writes.mergedInto) args.push(key, into ?? '');
    for (const [person, ids] of writes.idsOf) {
      setKeys.push(keys.idsOf(person));
      args.push(String(ids.length));
      for (const id of ids) args.push(id);
    }
    for (const [person, from] of writes.mergedFrom) {
      setKeys.push(keys.mergedFrom(person));
      args.push(String(from.length));
      for (const key of from) args.push(key);
    }
    const allKeys = [keys.state, keys.bindings, keys.mergedInto, ...setKeys];
    return (await this.redis.commitControl(allKeys.length, ...allKeys, ...args)) === 1;
  }
}
