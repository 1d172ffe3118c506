/**
 * One batch of one inbound partition, from raw Kafka messages to the outputs to publish:
 *
 *   decode + validate (dead letters for what fails) → look up the people some records are about
 *   → find due grace timers → plan operations per entity → apply each entity (atomic, CAS) →
 *   apply follow-up writes → record the partition's watermark (refused for a zombie)
 *
 * The caller then publishes the outputs and the next offset in one Kafka transaction, and after
 * the commit runs `afterCommit` (outbox clean-up, timers cleared by firing).
 */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { applyEntities, type EntityWork } from './applyEntity';
import { lookupKey, lookupsNeeded, planBatch, type PositionedRecord } from './decide/plan';
import type { Position } from './model/entities';
import { addTally, emptyTally, type FollowUp, type Tally } from './model/outputs';
import type { EncodedOutput } from './redis/codec';
import type { StateStore } from './redis/stateStore';
import { decodeBatch } from './decodeBatch';

export class ZombieError extends Error {
  override name = 'ZombieError';
}

/** Redis lost writes since this consumer's last batch (a restart with AOF everysec, a flush). */
export class StateLostError extends Error {
  override name = 'StateLostError';
}

export interface PartitionLease {
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  /** Offsets below this were published in a committed transaction; their outputs are not re-sent. */
  committedBelow: number;
  /** The watermark this consumer last wrote (or found when it claimed the partition). */
  lastWatermark: number;
}

export interface BatchOutcome {
  /** In log order; suppressed (already published) ones left out. */
  readonly outputs: EncodedOutput[];
  readonly lastOffset: number;
  readonly tally: Tally & { deadLetters: number; records: number; conflicts: number; missingOutbox: number; replayed: number };
  /** Run after the Kafka transaction committed. */
  readonly afterCommit: () => Promise<void>;
}

export interface BatchContext {
  readonly store: StateStore;
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  readonly latenessMs: number;
  readonly now: () => number;
  readonly rebuild?: boolean;
}

export async function processBatch(lease: PartitionLease, messages: readonly KafkaMessage[], ctx: BatchContext): Promise<BatchOutcome> {
  const { store, catalog, logger } = ctx;
  const { topic, partition } = lease;
  const decoded = await decodeBatch(messages, { topic, partition, stream: 'inbound' }, catalog, logger);
  const records: PositionedRecord[] = decoded.records.map(({ offset, record }) => ({ position: { partition, offset }, record }));
  const deadLetters = decoded.deadLetters.map(({ offset, output }) => ({ position: { partition, offset } as Position, output }));
  const lastOffset = Number(messages[messages.length - 1]?.offset ?? -1);

  // People whose anonymous ids some records need (deletions, merges, aliases).
  const lookups = lookupsNeeded(records);
  const anonymousIdsOf = new Map<string, string[]>(
    await Promise.all(lookups.map(async (l) => [lookupKey(l.workspace, l.person), await store.personIndex(l.workspace, l.person)] as [string, string[]])),
  );
  const newest = records.reduce((max, r) => Math.max(max, r.record.received_at), 0);
  const due = newest > 0 ? await store.dueTimers(topic, partition, newest - ctx.latenessMs, 1000) : [];
  const plan = planBatch(records, anonymousIdsOf, due, ctx.latenessMs);

  const work: EntityWork[] = [
    ...[...plan.anonymous.values()].map((e) => ({ entity: { kind: 'anonymous' as const, workspace: e.workspace, anonymousId: e.anonymousId }, ops: e.ops })),
    ...[...plan.persons.values()].map((e) => ({ entity: { kind: 'person' as const, workspace: e.workspace, person: e.person }, ops: e.ops })),
    ...[...plan.invites.values()].map((e) => ({ entity: { kind: 'invites' as const, workspace: e.workspace }, ops: e.ops })),
  ];
  const applyContext = { store, catalog, logger, committedBelow: lease.committedBelow, partition, now: ctx.now, rebuild: ctx.rebuild };
  const { outcomes, conflicts } = await applyEntities(work, applyContext);

  const before: FollowUp[] = [];
  const after: FollowUp[] = [];
  const tally = { ...emptyTally(), deadLetters: deadLetters.length, records: messages.length, conflicts, missingOutbox: 0, replayed: 0 };
  const positioned: Array<{ position: Position; order: number; output: EncodedOutput }> = [];
  let order = 0;
  for (const outcome of outcomes) {
    addTally(tally, outcome.tally);
    tally.missingOutbox += outcome.missing.length;
    tally.replayed += outcome.replayed;
    if (outcome.missing.length > 0) logger.error({ entity: outcome.entity, positions: outcome.missing }, 'replayed operations have no outbox entry; their outputs cannot be re-sent');
    for (const { position, outputs, followUps } of outcome.outcomes) {
      for (const f of followUps) (f.type === 'timer-clear' && f.afterCommit ? after : before).push(f);
      for (const output of outputs) positioned.push({ position, order: (order += 1), output });
    }
  }
  for (const d of deadLetters) positioned.push({ position: d.position, order: (order += 1), output: d.output });

  // Follow-ups before the watermark: a crash after it must not lose them (they are replayed
  // from the outbox too, and are idempotent).
  await store.applyFollowUps(topic, before);
  const written = await store.commitPartition(topic, partition, lease.epoch, lease.lastWatermark, lastOffset, newest);
  if (written === 'fenced') throw new ZombieError(`partition ${topic}[${partition}] was claimed by another consumer (epoch ${lease.epoch} is stale)`);
  if (written === 'lost') throw new StateLostError(`Redis lost writes of partition ${topic}[${partition}] since watermark ${lease.lastWatermark}`);
  lease.lastWatermark = lastOffset;

  if (conflicts > 0) logger.info({ partition, entities: conflicts }, 'entity writes refused (their version had moved: another writer, or a zombie)');
  if (tally.replayed > 0) logger.info({ partition, replayed: tally.replayed, suppressedBelow: lease.committedBelow }, 'operations applied before a restart were re-sent from the outbox');
  positioned.sort((a, b) => a.position.offset - b.position.offset || a.order - b.order);
  const outputs = positioned.filter((p) => p.position.offset >= lease.committedBelow).map((p) => p.output);
  return {
    outputs,
    lastOffset,
    tally,
    afterCommit: async () => {
      await Promise.all([store.applyFollowUps(topic, after), store.cleanOutboxes(outcomes.map((o) => ({ entity: o.entity, positions: o.outboxPositions })))]);
    },
  };
}
