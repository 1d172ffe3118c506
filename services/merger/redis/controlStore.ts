/**
 * The control plane's reads and writes of Redis (docs/design-person-operations.md), and nothing
 * else: which entries a batch reads and what it writes back are decided in
 * ordered/controlReads.ts. Reads are plain commands in two pipelined rounds; the write is one
 * script that checks the version the batch was decided on (commitControl.lua).
 *
 * A workspace's operations are applied in (received_at, id) order, so "applied" is one stamp:
 * an operation at or before it was applied before (a replay), and its outputs are in the outbox
 * until the Kafka transaction that publishes them has committed.
 */
import type { InboundRecord } from '../../shared/model/inbound';
import { compareStamps, recordContentKey, stampOf } from '../../shared/model/recordOrder';
import type { ControlState } from '../ordered/controlPlane';
import { firstReads, partialControlState, secondReads, storedPerson, type ControlWrites } from '../ordered/controlReads';
import type { KeySpace } from './keys';
import type { MergerRedis } from './scripts';
import { callPerSlot } from './slotRouting';

/** The last operation applied, as stored: enough to place any record before or after it. */
export interface StoredStamp {
  readonly at: number;
  readonly id: string;
  /** recordContentKey, for two records sharing received_at and id. */
  readonly content: string;
}

export function storedStamp(record: InboundRecord): StoredStamp {
  return { at: record.received_at, id: record.id, content: recordContentKey(record) };
}

/** The outbox field of an operation: its stamp and content key (a digest). */
export function outboxField(record: InboundRecord): string {
  return `${record.received_at}|${record.id}|${recordContentKey(record)}`;
}

/** True when `record` is at or before `applied` in the criterion's order: applied before. */
export function appliedAlready(record: InboundRecord, applied: StoredStamp | null): boolean {
  return applied !== null && compareStamps(stampOf(record), { at: applied.at, id: applied.id, content: () => applied.content }) <= 0;
}

export interface LoadedControl {
  /** Version of the workspace's control state: the commit is refused if it moved. */
  readonly version: number;
  /** The last operation applied (null: none yet). */
  readonly applied: StoredStamp | null;
  /** The part of the state the batch's fresh records reach (not to be mutated: decide on a clone). */
  readonly state: ControlState;
  /** Outbox entries of the batch's replayed records, by outbox field (absent: published and cleaned). */
  readonly outbox: ReadonlyMap<string, Buffer>;
}

/** Outbox entries expire this long after their last write (they are deleted once published). */
const OUTBOX_EXPIRY_MS = 7 * 24 * 3600 * 1000;

export class ControlStore {
  constructor(
    readonly redis: MergerRedis,
    readonly keys: KeySpace,
  ) {}

  /** Loads what deciding `records` (one workspace's, in decision order) reads. */
  async load(workspace: string, records: readonly InboundRecord[]): Promise<LoadedControl> {
    const keys = this.keys.control(workspace);
    const [stateHash, first] = await Promise.all([this.redis.hgetall(keys.state), Promise.resolve(firstReads(records))]);
    const applied = stateHash.a ? (JSON.parse(stateHash.a) as StoredStamp) : null;
    const replayed = records.filter((record) => appliedAlready(record, applied)).map(outboxField);
    const [bound, into, outbox] = await Promise.all([
      first.anonymousIds.length > 0 ? this.redis.hmget(keys.bindings, ...first.anonymousIds) : Promise.resolve([]),
      first.persons.length > 0 ? this.redis.hmget(keys.mergedInto, ...first.persons) : Promise.resolve([]),
      replayed.length > 0 ? this.redis.hmgetBuffer(keys.outbox, ...replayed) : Promise.resolve([]),
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
    const found = new Map<string, Buffer>();
    replayed.forEach((field, i) => {
      const entry = outbox[i];
      if (entry) found.set(field, entry);
    });
    return { version: Number(stateHash.v ?? 0), applied, state: partialControlState(firstLoad, secondLoad), outbox: found };
  }

  /**
   * Stores a batch's changes, its outputs by operation and the last operation it applied, if the
   * state is still at `expectedVersion`. Returns false when it moved (another writer, or a
   * zombie): load and decide again.
   */
  async commit(workspace: string, expectedVersion: number, writes: ControlWrites, applied: StoredStamp, outbox: ReadonlyMap<string, Buffer>): Promise<boolean> {
    const keys = this.keys.control(workspace);
    const setKeys: string[] = [];
    const args: Array<string | Buffer> = [String(expectedVersion), String(expectedVersion + 1), JSON.stringify(applied), String(OUTBOX_EXPIRY_MS)];
    args.push(String(writes.bindings.length));
    for (const [id, person] of writes.bindings) args.push(id, person ?? '');
    args.push(String(writes.mergedInto.length));
    for (const [key, into] of writes.mergedInto) args.push(key, into ?? '');
    args.push(String(outbox.size));
    for (const [field, entry] of outbox) args.push(field, entry);
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
    const allKeys = [keys.state, keys.bindings, keys.mergedInto, keys.outbox, ...setKeys];
    // Through a pipeline addressed by its keys (slotRouting.ts), not the client: ioredis'
    // auto-pipelining on a Redis Cluster groups a script by its first argument — here the number of
    // keys — and a pipeline that mixes nodes fails whole ("same slots allocation group"), taking
    // the commands auto-pipelined beside it along.
    const [group] = await callPerSlot<number>(this.redis, [keys.state], (target) => target.commitControl(allKeys.length, ...allKeys, ...args));
    return group?.reply === 1;
  }

  /** Deletes outbox entries whose outputs a committed transaction published. */
  async cleanOutbox(workspace: string, fields: readonly string[]): Promise<void> {
    if (fields.length > 0) await this.redis.hdel(this.keys.control(workspace).outbox, ...fields);
  }
}
