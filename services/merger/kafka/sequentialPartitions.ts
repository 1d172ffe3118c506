/**
 * How the two-plane consumers (control plane on person-ops, data plane on inbound + commands) run
 * a partition: one batch after another, each published with its commit positions in one Kafka
 * transaction (docs/design-person-operations.md). A consumer may read several co-partitioned
 * topics (kafka/coPartitionedAssigner.ts gives one member the same partition number of each):
 * their batches of one partition number take turns, and share one lease and one producer.
 *
 *   claim     a partition new to this consumer (or to this group generation): a new transactional
 *             producer fences the previous owner's and settles its last transaction, so the
 *             committed positions read after it — offset and metadata per topic — are final; the
 *             consumer reads each topic from there, the step rebuilds what it holds from them
 *   process   the step decides the batch (its Redis writes are version-checked)
 *   publish   outputs + positions; a fenced producer makes this consumer a zombie for the
 *             partition until the group reassigns it; any other failure claims it again
 *   commit    the step keeps what it holds now, then cleans up
 *
 * At a claim every topic is read again from its committed position (a seek); a batch of the
 * partition fetched before a seek took effect is stale (kafkajs' `isStale`) and is skipped.
 */
import type { Admin, Batch, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { fetchCommittedPositions } from '../../shared/kafka/committedOffsets';
import type { Logger } from '../../shared/logger';
import type { EncodedOutput } from '../redis/codec';
import { FencedError, type AlongsidePosition } from './transactionalPublisher';
import type { StepPublisher } from './stepPublisher';

export interface StepOutcome {
  readonly outputs: EncodedOutput[];
  /** The position to commit in the first (owned) topic, whichever topic the batch came from. */
  readonly nextOffset: number;
  readonly metadata: string;
  /** Positions in the other topics of the same partition number, committed in the same transaction. */
  readonly alongside?: readonly AlongsidePosition[];
  /**
   * The batch wrote nothing (no output, no state): its positions can wait for the next
   * transaction, up to IDLE_COMMIT_MS. A restart then reads it again, which decides nothing
   * either — the data plane's clock-only and tick-only batches, several a second per partition,
   * cost no transaction; a quiet partition still commits its position every IDLE_COMMIT_MS, so
   * its lag does not grow.
   */
  readonly nothingToCommit?: boolean;
  /**
   * The outputs must go out but nothing was stored: the position can wait for a later
   * transaction, up to IDLE_COMMIT_MS, as for nothingToCommit. The control plane's clock-only
   * steps (a tick moved the clock): a restart reads the ticks again and sends clocks no higher
   * than those sent, which the data plane keeps only when they move forward.
   */
  readonly positionMayWait?: boolean;
  readonly afterCommit: () => Promise<void>;
}

/** Committed position of one topic's partition when it was claimed. */
export interface ClaimedPosition {
  readonly offset: number;
  readonly metadata: string | null;
}

export interface PartitionStep<Lease, Outcome extends StepOutcome> {
  /** What the step holds for a partition it starts on, from each topic's committed position. */
  claim(partition: number, committed: ReadonlyMap<string, ClaimedPosition>): Lease;
  process(lease: Lease, topic: string, messages: readonly KafkaMessage[]): Promise<Outcome>;
  /** After the transaction committed: the lease takes the outcome's state. */
  committed(lease: Lease, outcome: Outcome, partition: number): void;
  /** After each batch of a partition, committed or not: a step may pause or resume a topic. */
  after?(lease: Lease, partition: number, consumer: Consumer): void;
}

export interface SequentialPartitions {
  readonly eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /** Forgets the partitions no longer assigned here and releases their producers. */
  keepOnly(assigned: ReadonlySet<number>): void;
  readonly zombieRefusals: () => number;
}

interface Held<Lease> {
  readonly lease: Lease;
  readonly generation: number;
  zombie: boolean;
  /** When this partition last committed a transaction (or was claimed). */
  committedAt: number;
}

/** How long a partition's position may go uncommitted while its batches write nothing. */
export const IDLE_COMMIT_MS = 1000;

/**
 * What a step's transaction carries: nothing at all (the batch wrote nothing), its outputs alone
 * (nothing was stored: the position may wait), or outputs and positions — always the last once
 * the partition has gone IDLE_COMMIT_MS without committing its position, so its lag shows.
 */
export function publishMode(outcome: Pick<StepOutcome, 'nothingToCommit' | 'positionMayWait'>, sinceCommitMs: number): 'nothing' | 'outputs' | 'all' {
  if (sinceCommitMs >= IDLE_COMMIT_MS) return 'all';
  if (outcome.nothingToCommit === true) return 'nothing';
  if (outcome.positionMayWait === true) return 'outputs';
  return 'all';
}

/** The offset kafkajs fetched this batch from (in its Batch, not in its typings). */
const fetchedFrom = (batch: Batch) => Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);

export function sequentialPartitions<Lease, Outcome extends StepOutcome>(deps: {
  readonly consumer: () => Consumer;
  readonly admin: Admin;
  readonly publisher: StepPublisher;
  readonly logger: Logger;
  readonly groupId: string;
  /** The first one's partition numbers are the ones owned; the others are read beside it. */
  readonly topics: readonly string[];
  readonly generation: () => number;
  /** Where a topic with no committed position is read from. */
  readonly fromBeginning: boolean;
  readonly step: PartitionStep<Lease, Outcome>;
}): SequentialPartitions {
  const { admin, publisher, logger, step } = deps;
  const held = new Map<number, Held<Lease>>();
  /** Per partition, the batch in progress: the other topic's batch waits for it. */
  const turns = new Map<number, Promise<void>>();
  let zombieRefusals = 0;

  const startingOffset = async (topic: string, partition: number): Promise<number> => {
    const offsets = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition);
    return Number((deps.fromBeginning ? offsets?.low : offsets?.high) ?? 0);
  };

  /** Reads each topic's committed position and rebuilds the lease; true if the batch is to be read. */
  const claim = async (batch: Batch, consumer: Consumer): Promise<boolean> => {
    const { partition, topic } = batch;
    await publisher.acquire(partition);
    const committed = new Map<string, ClaimedPosition>();
    for (const each of deps.topics) {
      const position = (await fetchCommittedPositions(admin, deps.groupId, each, { partitions: [partition], stable: true })).get(partition);
      // Nothing committed yet: from the start or the end, as the group is configured — known,
      // so that every commit of the partition can name a position in each topic.
      const offset = position && position.offset >= 0 ? position.offset : await startingOffset(each, partition);
      committed.set(each, { offset, metadata: position?.metadata ?? null });
    }
    // A partition paused here before (the step's bound) and claimed again starts unpaused.
    consumer.resume(deps.topics.map((each) => ({ topic: each, partitions: [partition] })));
    held.set(partition, { lease: step.claim(partition, committed), generation: deps.generation(), zombie: false, committedAt: Date.now() });
    logger.info({ topics: deps.topics, partition, committed: Object.fromEntries([...committed].map(([t, p]) => [t, p.offset])) }, 'partition claimed');
    // What the step holds is rebuilt from the committed positions: every topic is read from there.
    let readThis = true;
    for (const [each, position] of committed) {
      if (each === topic && fetchedFrom(batch) === position.offset) continue;
      consumer.seek({ topic: each, partition, offset: String(position.offset) });
      if (each === topic) readThis = false;
    }
    return readThis;
  };

  const runBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale()) return;
    const { partition, topic } = batch;
    const consumer = deps.consumer();
    const current = held.get(partition);
    if ((!current || current.generation !== deps.generation()) && !(await claim(batch, consumer))) return;
    const own = held.get(partition) as Held<Lease>;
    if (batch.messages.length === 0) return;
    if (own.zombie) {
      // Another consumer owns this partition now; wait for the group to tell us.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await heartbeat();
      return;
    }
    const outcome = await step.process(own.lease, topic, batch.messages);
    // A batch that wrote nothing waits for the next transaction (up to IDLE_COMMIT_MS).
    const mode = publishMode(outcome, Date.now() - own.committedAt);
    const deferred = mode === 'nothing';
    const positionDeferred = mode === 'outputs';
    if (!deferred) {
      try {
        await publisher.publish(partition, outcome.outputs, positionDeferred ? null : outcome.nextOffset, outcome.metadata, outcome.alongside ?? []);
      } catch (error) {
        if (error instanceof FencedError) {
          own.zombie = true;
          zombieRefusals += 1;
          logger.warn({ topic, partition }, 'refused as a zombie: this consumer no longer owns the partition');
          return;
        }
        held.delete(partition);
        logger.error({ err: error, topic, partition }, 'transaction failed; the partition is read again from its committed positions');
        consumer.seek({ topic, partition, offset: String(fetchedFrom(batch)) });
        return;
      }
      if (!positionDeferred) own.committedAt = Date.now();
    }
    step.committed(own.lease, outcome, partition);
    resolveOffset(batch.lastOffset());
    if (!deferred) await outcome.afterCommit().catch((error: unknown) => logger.warn({ err: error, topic, partition }, 'clean-up after commit failed; the expiries will catch it'));
    step.after?.(own.lease, partition, consumer);
    await heartbeat();
  };

  // The batches of one partition number (one per topic) take turns.
  const eachBatch = async (payload: EachBatchPayload) => {
    const { partition } = payload.batch;
    const before = turns.get(partition) ?? Promise.resolve();
    const mine = before.then(() => runBatch(payload));
    const settled = mine.catch(() => undefined);
    turns.set(partition, settled);
    try {
      await mine;
    } finally {
      if (turns.get(partition) === settled) turns.delete(partition);
    }
  };

  return {
    eachBatch,
    keepOnly: (assigned) => {
      for (const partition of [...held.keys()]) {
        if (assigned.has(partition)) continue;
        held.delete(partition);
        void publisher.release(partition);
      }
    },
    zombieRefusals: () => zombieRefusals,
  };
}
