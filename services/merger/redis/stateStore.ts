/**
 * The merger's reads and writes of Redis, and nothing else: no decisions here. Commands issued
 * together go out together (ioredis auto-pipelining, per node in a cluster), so a batch costs a
 * few round trips, not one per record.
 */
import type { FollowUp } from '../model/outputs';
import type { EntityRef } from '../model/entities';
import type { AnonymousState, PendingEvent, SimpleState } from '../model/state';
import type { PendingWrite } from '../decide/anonymous';
import type { DueTimer } from '../decide/plan';
import { decodeOutbox, decodePending, encodePending, parseAnonymousState, parseSimpleState, type OutboxEntry } from './codec';
import { KeySpace, type EntityKeys } from './keys';
import type { MergerRedis } from './scripts';

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
  readonly outbox: ReadonlyMap<string, Buffer>;
  /** Outbox entries of this partition below this offset were published and can go. */
  readonly clean: { readonly partition: number; readonly below: number } | null;
}

export class StateStore {
  constructor(
    readonly redis: MergerRedis,
    readonly keys: KeySpace,
  ) {}

  entityKeys(entity: EntityRef): EntityKeys {
    return this.keys.entity(entity);
  }

  async loadAnonymous(entity: EntityRef, withPending: boolean): Promise<AnonymousState> {
    const keys = this.keys.entity(entity);
    const [hash, entries] = await Promise.all([this.redis.hgetall(keys.state), withPending ? this.redis.lrangeBuffer(keys.pending, 0, -1) : Promise.resolve(null)]);
    return parseAnonymousState(hash, entries ? entries.map(decodePending) : null);
  }

  async loadSimple(entity: EntityRef): Promise<SimpleState> {
    return parseSimpleState(await this.redis.hgetall(this.keys.entity(entity).state));
  }

  /** Which ids the entity has seen (remembered or pending); pending ones are checked in Lua. */
  async knownIds(entity: EntityRef, ids: readonly string[], pending: readonly PendingEvent[] | null): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const keys = this.keys.entity(entity);
    const known = new Set<string>();
    if (pending) {
      // Already loaded: only the remembered ids need Redis.
      for (const event of pending) known.add(event.id);
      const scores = await this.redis.zmscore(keys.seen, ...ids);
      ids.forEach((id, i) => scores[i] !== null && known.add(id));
      return known;
    }
    const flags = await this.redis.knownIds(keys.seen, keys.pending, ...ids);
    ids.forEach((id, i) => flags[i] === 1 && known.add(id));
    return known;
  }

  async outboxEntries(entity: EntityRef, fields: readonly string[]): Promise<Map<string, OutboxEntry>> {
    const found = new Map<string, OutboxEntry>();
    if (fields.length === 0) return found;
    const values = await this.redis.hmgetBuffer(this.keys.entity(entity).outbox, ...fields);
    fields.forEach((field, i) => {
      const value = values[i];
      if (value) found.set(field, decodeOutbox(value));
    });
    return found;
  }

  /** Returns false when the entity's version moved on since it was loaded. */
  async commitEntity(entity: EntityRef, commit: EntityCommit): Promise<boolean> {
    const keys = this.keys.entity(entity);
    const args: (string | Buffer | number)[] = [commit.expectedVersion, commit.newVersion, commit.stateExpireAt, commit.set.length / 2, ...commit.set, commit.unset.length, ...commit.unset];
    const entries = commit.pending.kind === 'none' ? [] : commit.pending.events.map(encodePending);
    args.push(commit.pending.kind, entries.length, ...entries, commit.pendingTrimCutoff, commit.pendingExpireAt);
    args.push(commit.seen.length);
    for (const { id, receivedAt } of commit.seen) args.push(receivedAt, id);
    args.push(commit.seenCutoff, commit.seenExpireAt, commit.outbox.size);
    for (const [field, value] of commit.outbox) args.push(field, value);
    if (commit.clean) args.push(commit.clean.partition, commit.clean.below);
    else args.push('-');
    return (await this.redis.commitEntity(keys.state, keys.pending, keys.seen, keys.outbox, ...args)) === 1;
  }

  async deleteOutboxFields(entity: EntityRef, fields: readonly string[]): Promise<void> {
    if (fields.length > 0) await this.redis.hdel(this.keys.entity(entity).outbox, ...fields);
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

  async commitPartition(topic: string, partition: number, epoch: number, watermark: number, eventTime: number): Promise<boolean> {
    return (await this.redis.commitPartition(this.keys.partition(topic, partition).state, epoch, watermark, eventTime)) === 1;
  }

  async resetWatermark(topic: string, partition: number, epoch: number, watermark: number): Promise<boolean> {
    return (await this.redis.resetWatermark(this.keys.partition(topic, partition).state, epoch, watermark)) === 1;
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
