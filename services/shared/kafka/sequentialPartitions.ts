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
import { fetchCommittedPositions } from './committedOffsets';
import { settledTopicOffsets } from './topicOffsets';
import type { Logger } from '../logger';
import type { EncodedOutput } from './encodedOutput';
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

/** A partition's progress record in Redis (redis/partitionProgress.ts). */
export interface RecordedProgress {
  /** How many times it was written (0: never). */
  readonly writes: number;
  readonly positions: ReadonlyMap<string, ClaimedPosition>;
}

/** Where Redis says each partition stood: read at a claim, written before each transaction that commits positions. */
export interface ProgressLog {
  read(partition: number): Promise<RecordedProgress>;
  /** The record's count of writes now. */
  writes(partition: number): Promise<number>;
  /** The new count, or null when Redis holds another count than `writes` (it lost writes, or another consumer wrote). */
  record(partition: number, writes: number, positions: ReadonlyMap<string, ClaimedPosition>): Promise<number | null>;
}

/** How a partition is claimed. */
export interface ClaimPositions {
  /** Where each topic is read from, with what was read before it (its metadata). */
  readonly readFrom: ReadonlyMap<string, ClaimedPosition>;
  /** Kafka's committed positions: whatever their metadata says was published stays published. */
  readonly committed: ReadonlyMap<string, ClaimedPosition>;
  /**
   * Redis lost writes: readFrom is its older record, behind `committed`. The batches between were
   * published; they are applied again with their outputs held back (the step's part).
   */
  readonly recovering: boolean;
}

/**
 * Where a claim reads from: Kafka's committed positions, unless Redis's progress record is behind
 * them in some topic — Redis lost writes that Kafka committed — and then from that record. A
 * partition the group has committed positions for and Redis has no record of (Redis emptied) is
 * read again from each log's start (`logStart`). `fromGroup`: the topics whose committed position
 * the group did commit (the others were set from the group's starting policy).
 */
export function claimPositions(
  committed: ReadonlyMap<string, ClaimedPosition>,
  fromGroup: ReadonlySet<string>,
  recorded: RecordedProgress | null,
  logStart: ReadonlyMap<string, number>,
): ClaimPositions {
  const normal = { readFrom: committed, committed, recovering: false };
  if (!recorded) return normal;
  const readFrom = new Map<string, ClaimedPosition>();
  let behind = false;
  for (const [topic, position] of committed) {
    const own = recorded.positions.get(topic) ?? (fromGroup.has(topic) ? { offset: logStart.get(topic) ?? 0, metadata: null } : position);
    if (own.offset < position.offset) behind = true;
    readFrom.set(topic, own);
  }
  return behind ? { readFrom, committed, recovering: true } : normal;
}

export interface PartitionStep<Lease, Outcome extends StepOutcome> {
  /** What the step holds for a partition it starts on, from where each topic is read (see ClaimPositions). */
  claim(partition: number, positions: ClaimPositions): Lease;
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
  /** The progress record's count as this consumer last read or wrote it. */
  writes: number;
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
  /** Where Redis says each partition stood (two planes); none: Kafka's committed positions are trusted alone. */
  readonly progress?: ProgressLog;
}): SequentialPartitions {
  const { admin, publisher, logger, step } = deps;
  const held = new Map<number, Held<Lease>>();
  /** Per partition, the batch in progress: the other topic's batch waits for it. */
  const turns = new Map<number, Promise<void>>();
  let zombieRefusals = 0;

  const startingOffset = async (topic: string, partition: number): Promise<number> => {
    const offsets = (await settledTopicOffsets(admin, topic)).find((p) => p.partition === partition);
    return Number((deps.fromBeginning ? offsets?.low : offsets?.high) ?? 0);
  };

  /** Reads each topic's committed position and rebuilds the lease; true if the batch is to be read. */
  const claim = async (batch: Batch, consumer: Consumer): Promise<boolean> => {
    const { partition, topic } = batch;
    await publisher.acquire(partition);
    const committed = new Map<string, ClaimedPosition>();
    const fromGroup = new Set<string>();
    for (const each of deps.topics) {
      const position = (await fetchCommittedPositions(admin, deps.groupId, each, { partitions: [partition], stable: true })).get(partition);
      if (position && position.offset >= 0) fromGroup.add(each);
      // Nothing committed yet: from the start or the end, as the group is configured — known,
      // so that every commit of the partition can name a position in each topic.
      const offset = position && position.offset >= 0 ? position.offset : await startingOffset(each, partition);
      committed.set(each, { offset, metadata: position?.metadata ?? null });
    }
    const recorded = deps.progress ? await deps.progress.read(partition) : null;
    const logStart = new Map<string, number>();
    if (recorded && fromGroup.size > recorded.positions.size) {
      for (const each of fromGroup) logStart.set(each, Number((await settledTopicOffsets(admin, each)).find((p) => p.partition === partition)?.low ?? 0));
    }
    const positions = claimPositions(committed, fromGroup, recorded, logStart);
    // A partition paused here before (the step's bound) and claimed again starts unpaused.
    consumer.resume(deps.topics.map((each) => ({ topic: each, partitions: [partition] })));
    held.set(partition, { lease: step.claim(partition, positions), generation: deps.generation(), zombie: false, committedAt: Date.now(), writes: recorded?.writes ?? 0 });
    const offsets = (map: ReadonlyMap<string, ClaimedPosition>) => Object.fromEntries([...map].map(([t, p]) => [t, p.offset]));
    logger.info({ topics: deps.topics, partition, committed: offsets(committed) }, 'partition claimed');
    if (positions.recovering) {
      logger.warn({ topics: deps.topics, partition, committed: offsets(committed), recorded: offsets(positions.readFrom) }, 'redis is behind the committed offset; re-applying from the positions it recorded, published outputs held back');
    }
    // What the step holds is rebuilt from where it reads: every topic is read from there.
    let readThis = true;
    for (const [each, position] of positions.readFrom) {
      if (each === topic && fetchedFrom(batch) === position.offset) continue;
      consumer.seek({ topic: each, partition, offset: String(position.offset) });
      if (each === topic) readThis = false;
    }
    return readThis;
  };

  /** The partition is claimed again at its next batch: the claim compares Redis's record with Kafka's positions. */
  const lostWrites = (partition: number, topic: string, consumer: Consumer, batch: Batch) => {
    held.delete(partition);
    logger.warn({ topic, partition }, 'redis lost writes: the progress record is not the one this consumer last wrote; the partition is claimed again');
    consumer.seek({ topic, partition, offset: String(fetchedFrom(batch)) });
  };

  const runBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale()) return;
    const { partition, topic } = batch;
    const consumer = deps.consumer();
    const current = held.get(partition);
    if (!current || current.generation !== deps.generation()) {
      let readThis: boolean;
      try {
        readThis = await claim(batch, consumer);
      } catch (error) {
        // kafkajs retries a failed batch without a word (it logs only errors of other libraries):
        // said here, or a claim that keeps failing looks like a consumer with nothing to read.
        logger.warn({ err: error, topic, partition }, 'claiming the partition failed; kafkajs reads the batch again');
        throw error;
      }
      if (!readThis) return;
    }
    const own = held.get(partition) as Held<Lease>;
    if (batch.messages.length === 0) return;
    if (own.zombie) {
      // Another consumer owns this partition now; wait for the group to tell us.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await heartbeat();
      return;
    }
    // Redis lost writes since this consumer's last record (a restart, a failover to a replica
    // that lagged): deciding on its state would build on what it lost. Checked before the batch
    // reads any state, and again when its positions are recorded.
    if (deps.progress && (await deps.progress.writes(partition)) !== own.writes) {
      lostWrites(partition, topic, consumer, batch);
      return;
    }
    const outcome = await step.process(own.lease, topic, batch.messages);
    // A batch that wrote nothing waits for the next transaction (up to IDLE_COMMIT_MS).
    const mode = publishMode(outcome, Date.now() - own.committedAt);
    const deferred = mode === 'nothing';
    const positionDeferred = mode === 'outputs';
    if (mode === 'all' && deps.progress) {
      // Recorded after the batch's state writes, before its transaction (see redis/partitionProgress.ts).
      const positions = new Map<string, ClaimedPosition>([[deps.topics[0] as string, { offset: outcome.nextOffset, metadata: outcome.metadata }]]);
      for (const other of outcome.alongside ?? []) positions.set(other.topic, { offset: other.offset, metadata: other.metadata ?? null });
      const writes = await deps.progress.record(partition, own.writes, positions);
      if (writes === null) {
        // Decided on a state that may be missing writes: not published; the claim finds where Redis stands.
        lostWrites(partition, topic, consumer, batch);
        return;
      }
      own.writes = writes;
    }
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
