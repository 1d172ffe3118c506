/**
 * The merger's reads and writes of Redis, and nothing else: no decisions here. Commands issued
 * together go out together (ioredis auto-pipelining; per node in a cluster, see slotRouting.ts),
 * so a batch costs a few round trips, not one per record.
 */
import type { FollowUp } from '../model/outputs';
import type { EntityRef } from '../model/entities';
import type { AnonymousState, SimpleState } from '../model/state';
import type { PendingWrite } from '../decide/anonymous';
import type { DueTimer } from '../decide/plan';
import { decodeOutbox, decodePending, encodePendingEntry, outboxField, parseAnonymousState, parseSimpleState, type StoredOutcome } from './codec';
import { KeySpace, type EntityKeys } from './keys';
import { packArgs } from './packArgs';
import { callPerSlot } from './slotRouting';
import type { MergerRedis } from './scripts';

export interface EntityLoad {
  readonly entity: EntityRef;
  readonly withPending: boolean;
  /** Event ids to check for repeats (SPEC R7). */
  readonly ids: readonly string[];
  /** Positions ("<partition>:<offset>") of the operations, for their outbox entries if replayed. */
  readonly positions: readonly string[];
}

export interface LoadedEntity {
  readonly state: AnonymousState | SimpleState;
  readonly known: Set<string>;
  readonly outbox: Map<string, StoredOutcome>;
  /** Positions of every outbox entry the entity holds (replayed or not; cleaned once published). */
  readonly outboxPositions: string[];
}

// A batch's load, commit and clean-up go to Redis as one MessagePack argument that the script unpacks
// (cmsgpack): tens of thousands of small arguments cost the client far more than one buffer.

export interface EntityCommit {
  readonly expectedVersion: number;
  readonly newVersion: number;
  /** ms since epoch; -1 keeps the state forever; 0 leaves its expiry as it is. */
  readonly stateExpireAt: number;
  readonly set: string[];
  readonly unset: string[];
  readonly pending: PendingWrite;
  readonly pendingTrimCutoff: number;
  readonly pendingExpireAt: number;
  readonly seen: ReadonlyArray<{ readonly id: string; readonly receivedAt: number }>;
  readonly seenCutoff: number;
  readonly seenExpireAt: number;
  /** Outbox entries of the operations applied now, by position. */
  readonly outbox: ReadonlyMap<string, Buffer>;
  /** Positions of outbox entries whose outputs were published: deleted with this write. */
  readonly published: readonly string[];
  /**
   * An anonymous id's first write of its own keys: applied only if its compact record is still
   * `expected` (empty: none), which it replaces (redis/orderedEntityStore.ts). Absent: no check.
   */
  readonly record?: { readonly stripe: string; readonly field: Buffer; readonly expected: Buffer };
}

/** push(...items) without the argument-count limit of a spread call (a merge can move thousands). */
export function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

/**
 * The keys and the arguments of the given entities, in that order, for one script call: three
 * keys each, or four when `fourth` is given (the compact record's stripe, or the state key again
 * in its place: same slot, never read). Each entity's arguments are written straight into the
 * call's array (no array per entity: this runs for every entity of every batch).
 */
export function flatten<A>(indexes: readonly number[], keys: readonly EntityKeys[], writeArgs: (i: number, into: A[]) => void, fourth?: (i: number) => string | undefined): [string[], A[]] {
  const flatKeys: string[] = [];
  const flatArgs: A[] = [];
  for (const i of indexes) {
    const k = keys[i] as EntityKeys;
    flatKeys.push(k.state, k.pending, k.seen);
    if (fourth) flatKeys.push(fourth(i) ?? k.state);
    writeArgs(i, flatArgs);
  }
  return [flatKeys, flatArgs];
}

export class StateStore {
  constructor(
    readonly redis: MergerRedis,
    readonly keys: KeySpace,
  ) {}

  entityKeys(entity: EntityRef): EntityKeys {
    return this.keys.entity(entity);
  }

  /**
   * Loads a batch's entities in one script call (one per slot in a cluster): state, pending events (when
   * asked), which of the given ids are known, and the outbox entries of positions already applied.
   */
  async loadEntities(requests: readonly EntityLoad[]): Promise<LoadedEntity[]> {
    if (requests.length === 0) return [];
    const keys = requests.map((request) => this.keys.entity(request.entity));
    const writeArgs = (i: number, into: string[]) => {
      const request = requests[i] as EntityLoad;
      into.push(request.withPending ? '1' : '0', String(request.ids.length));
      pushAll(into, request.ids);
      into.push(String(request.positions.length));
      pushAll(into, request.positions);
    };
    const loaded = new Array<LoadedEntity>(requests.length);
    const groups = await callPerSlot<Array<[Buffer[], Buffer[], number[], Buffer[], Buffer[]] | 0>>(this.redis, keys.map((k) => k.state), (target, indexes) => {
      const [flatKeys, flatArgs] = flatten(indexes, keys, writeArgs);
      return target.loadEntitiesBuffer(flatKeys.length, flatKeys, [packArgs(flatArgs)]);
    });
    for (const { indexes, reply } of groups) {
      reply.forEach((answer, j) => {
        const i = indexes[j] as number;
        const request = requests[i] as EntityLoad;
        if (answer === 0) {
          // No state yet: nothing seen, nothing pending, nothing applied.
          const empty = request.entity.kind === 'anonymous' ? parseAnonymousState({}, request.withPending ? [] : null) : parseSimpleState({});
          loaded[i] = { state: empty, known: new Set(), outbox: new Map(), outboxPositions: [] };
          return;
        }
        const [stateFlat, pendingEntries, flags, outboxFlat, outboxPositions] = answer;
        const hash: Record<string, string> = {};
        for (let f = 0; f < stateFlat.length; f += 2) hash[(stateFlat[f] as Buffer).toString()] = (stateFlat[f + 1] as Buffer).toString();
        const known = new Set<string>();
        request.ids.forEach((id, f) => flags[f] === 1 && known.add(id));
        const outbox = new Map<string, StoredOutcome>();
        for (let f = 0; f < outboxFlat.length; f += 2) outbox.set((outboxFlat[f] as Buffer).toString(), decodeOutbox(outboxFlat[f + 1] as Buffer));
        const pending = request.withPending ? pendingEntries.map(decodePending) : null;
        const state: AnonymousState | SimpleState = request.entity.kind === 'anonymous' ? parseAnonymousState(hash, pending) : parseSimpleState(hash);
        loaded[i] = { state, known, outbox, outboxPositions: outboxPositions.map((p) => p.toString()) };
      });
    }
    return loaded;
  }

  /** Applies a batch's entity commits (one script call, or one per slot in a cluster); returns which ones applied. */
  async commitEntities(commits: ReadonlyArray<{ readonly entity: EntityRef; readonly commit: EntityCommit }>): Promise<boolean[]> {
    if (commits.length === 0) return [];
    const keys = commits.map(({ entity }) => this.keys.entity(entity));
    // Numbers travel as text: Lua would print large ones in scientific notation.
    const writeArgs = (i: number, own: Array<string | Buffer>) => {
      const { commit } = commits[i] as (typeof commits)[number];
      own.push(String(commit.expectedVersion), String(commit.newVersion), String(commit.stateExpireAt));
      own.push(String(commit.set.length / 2 + commit.outbox.size));
      pushAll(own, commit.set);
      for (const [position, value] of commit.outbox) own.push(outboxField(position), value);
      own.push(String(commit.unset.length + commit.published.length));
      pushAll(own, commit.unset);
      for (const position of commit.published) own.push(outboxField(position));
      own.push(commit.pending.kind);
      if (commit.pending.kind === 'none') own.push('0');
      else {
        own.push(String(commit.pending.events.length));
        for (const event of commit.pending.events) own.push(encodePendingEntry(event));
      }
      own.push(String(commit.pendingTrimCutoff), String(commit.pendingExpireAt), String(commit.seen.length));
      for (const { id, receivedAt } of commit.seen) own.push(String(receivedAt), id);
      own.push(String(commit.seenCutoff), String(commit.seenExpireAt));
      if (commit.record) own.push(commit.record.field, commit.record.expected);
      else own.push('', '');
    };
    const applied = new Array<boolean>(commits.length);
    const groups = await callPerSlot<number[]>(this.redis, keys.map((k) => k.state), (target, indexes) => {
      const [flatKeys, flatArgs] = flatten(indexes, keys, writeArgs, (i) => commits[i]?.commit.record?.stripe);
      return target.commitEntities(flatKeys.length, flatKeys, [packArgs(flatArgs)]);
    });
    for (const { indexes, reply } of groups) reply.forEach((flag, j) => (applied[indexes[j] as number] = flag === 1));
    return applied;
  }

  /** Deletes outbox entries (by position) whose outputs were committed to Kafka (one script call, or one per slot). */
  async cleanOutboxes(cleanups: ReadonlyArray<{ readonly entity: EntityRef; readonly positions: readonly string[] }>): Promise<void> {
    const nonEmpty = cleanups.filter((c) => c.positions.length > 0);
    if (nonEmpty.length === 0) return;
    const keys = nonEmpty.map((c) => this.keys.entity(c.entity).state);
    await callPerSlot<number>(this.redis, keys, (target, indexes) => {
      const ownKeys: string[] = [];
      const ownArgs: string[] = [];
      for (const i of indexes) {
        const { positions } = nonEmpty[i] as (typeof nonEmpty)[number];
        ownKeys.push(keys[i] as string);
        ownArgs.push(String(positions.length));
        for (const position of positions) ownArgs.push(outboxField(position));
      }
      return target.cleanOutboxes(ownKeys.length, ownKeys, [packArgs(ownArgs)]);
    });
  }

  async personIndex(workspace: string, person: import('../../shared/model/person').PersonRef): Promise<string[]> {
    return this.redis.smembers(this.keys.personIndex(workspace, person));
  }

  /** Follow-up writes are idempotent; they are re-applied as they are when a batch is replayed. */
  async applyFollowUps(topic: string, followUps: readonly FollowUp[]): Promise<void> {
    await Promise.all(
      followUps.map((f) => {
        switch (f.type) {
          case 'index-add':
            return this.redis.sadd(this.keys.personIndex(f.workspace, f.person), f.anonymousId);
          case 'index-remove':
            return this.redis.srem(this.keys.personIndex(f.workspace, f.person), f.anonymousId);
          case 'index-delete':
            return this.redis.del(this.keys.personIndex(f.workspace, f.person));
          case 'timer-set':
            return this.redis.zadd(this.keys.partition(topic, f.partition).timers, f.windowEnd, KeySpace.timerMember(f.workspace, f.anonymousId));
          case 'timer-clear':
            return this.redis.zrem(this.keys.partition(topic, f.partition).timers, KeySpace.timerMember(f.workspace, f.anonymousId));
        }
      }),
    );
  }

  async claimPartition(topic: string, partition: number): Promise<{ epoch: number; watermark: number; eventTime: number }> {
    const [epoch, watermark, eventTime] = await this.redis.claimPartition(this.keys.partition(topic, partition).state);
    return { epoch: Number(epoch), watermark: Number(watermark), eventTime: Number(eventTime) };
  }

  /** 'ok', 'fenced' (another consumer claimed it), or 'lost' (Redis lost writes: claim again). */
  async commitPartition(topic: string, partition: number, epoch: number, lastWatermark: number, watermark: number, eventTime: number): Promise<'ok' | 'fenced' | 'lost'> {
    const result = await this.redis.commitPartition(this.keys.partition(topic, partition).state, epoch, lastWatermark, watermark, eventTime);
    return result === 1 ? 'ok' : result === 0 ? 'fenced' : 'lost';
  }

  async dueTimers(topic: string, partition: number, upTo: number, limit: number): Promise<DueTimer[]> {
    const flat = await this.redis.zrangebyscore(this.keys.partition(topic, partition).timers, '-inf', upTo, 'WITHSCORES', 'LIMIT', 0, limit);
    const timers: DueTimer[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      timers.push({ ...KeySpace.parseTimerMember(flat[i] as string), windowEnd: Number(flat[i + 1]) });
    }
    return timers;
  }
}
