/**
 * How the two-plane consumers (control plane on person-ops, data plane on inbound) run a
 * partition: one batch after another, each published with its commit position in one Kafka
 * transaction (docs/design-person-operations.md).
 *
 *   claim     a partition new to this consumer (or to this group generation): a new transactional
 *             producer fences the previous owner's and settles its last transaction, so the
 *             committed position read after it — offset and metadata — is final; the consumer
 *             reads from there, the step rebuilds what it holds from the metadata
 *   process   the step decides the batch (its Redis writes are version-checked)
 *   publish   outputs + position; a fenced producer makes this consumer a zombie for the
 *             partition until the group reassigns it; any other failure claims it again
 *   commit    the step keeps what it holds now, then cleans up
 */
import type { Admin, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { fetchCommittedPositions } from '../../shared/kafka/committedOffsets';
import type { Logger } from '../../shared/logger';
import type { EncodedOutput } from '../redis/codec';
import { FencedError } from './transactionalPublisher';
import type { StepPublisher } from './stepPublisher';

export interface StepOutcome {
  readonly outputs: EncodedOutput[];
  readonly nextOffset: number;
  readonly metadata: string;
  readonly afterCommit: () => Promise<void>;
}

export interface PartitionStep<Lease, Outcome extends StepOutcome> {
  /** What the step holds for a partition it starts on at `offset`, from the committed metadata. */
  claim(partition: number, metadata: string | null): Lease;
  process(lease: Lease, messages: readonly KafkaMessage[]): Promise<Outcome>;
  /** After the transaction committed: the lease takes the outcome's state. */
  committed(lease: Lease, outcome: Outcome, partition: number): void;
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
}

export function sequentialPartitions<Lease, Outcome extends StepOutcome>(deps: {
  readonly consumer: () => Consumer;
  readonly admin: Admin;
  readonly publisher: StepPublisher;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topic: string;
  readonly generation: () => number;
  readonly step: PartitionStep<Lease, Outcome>;
}): SequentialPartitions {
  const { admin, publisher, logger, topic, step } = deps;
  const held = new Map<number, Held<Lease>>();
  let zombieRefusals = 0;

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const { partition } = batch;
    const consumer = deps.consumer();
    let own = held.get(partition);
    if (!own || own.generation !== deps.generation()) {
      await publisher.acquire(partition);
      const committed = (await fetchCommittedPositions(admin, deps.groupId, topic, { partitions: [partition], stable: true })).get(partition);
      const start = committed && committed.offset >= 0 ? committed.offset : Number(batch.firstOffset());
      own = { lease: step.claim(partition, committed?.metadata ?? null), generation: deps.generation(), zombie: false };
      held.set(partition, own);
      logger.info({ topic, partition, committed: start }, 'partition claimed');
      if (Number(batch.firstOffset()) !== start) {
        // What the step holds is rebuilt from the committed position: read from there.
        consumer.seek({ topic, partition, offset: String(start) });
        return;
      }
    }
    if (own.zombie) {
      // Another consumer owns this partition now; wait for the group to tell us.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await heartbeat();
      return;
    }
    const outcome = await step.process(own.lease, batch.messages);
    try {
      await publisher.publish(partition, outcome.outputs, outcome.nextOffset, outcome.metadata);
    } catch (error) {
      if (error instanceof FencedError) {
        own.zombie = true;
        zombieRefusals += 1;
        logger.warn({ topic, partition }, 'refused as a zombie: this consumer no longer owns the partition');
        return;
      }
      held.delete(partition);
      logger.error({ err: error, topic, partition }, 'transaction failed; the partition is read again from its committed position');
      consumer.seek({ topic, partition, offset: String(Number(batch.firstOffset())) });
      return;
    }
    step.committed(own.lease, outcome, partition);
    resolveOffset(batch.lastOffset());
    await outcome.afterCommit().catch((error: unknown) => logger.warn({ err: error, topic, partition }, 'clean-up after commit failed; the expiries will catch it'));
    await heartbeat();
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
