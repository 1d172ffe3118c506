/**
 * The merger's inbound consumer in the two-plane mode (docs/design-person-operations.md): per
 * owned partition a transactional producer (fencing the previous owner's) and the data hold;
 * per batch processOrderedBatch, then one transaction with the outputs and the commit position
 * (its metadata: the clocks a restart reads under, and what was published), then the clean-up.
 * Batches of a partition go one after another: the hold carries over.
 */
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { fetchCommittedPositions } from '../shared/kafka/committedOffsets';
import type { Logger } from '../shared/logger';
import { parseDataPosition, processOrderedBatch, type OrderedContext, type OrderedLease, type OrderedTally } from './dataPlaneBatch';
import { FencedError, type TransactionalPublisher } from './kafka/transactionalPublisher';
import { emptyDataBuffer } from './ordered/dataBuffer';

export interface DataPlaneDeps {
  readonly consumer: () => Consumer;
  readonly admin: Admin;
  readonly publisher: TransactionalPublisher;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topic: string;
  readonly personOpsTopic: string;
  readonly context: Omit<OrderedContext, 'controlPartitionOf'>;
  readonly generation: () => number;
  readonly metadataMaxAgeMs: number;
}

interface Lease extends OrderedLease {
  readonly generation: number;
  zombie: boolean;
}

const partitioner = Partitioners.DefaultPartitioner();

/** The person-ops partition of a workspace: where ingest's producer (keyed by workspace) puts it. */
export function controlPartitionFor(workspace: string, partitions: number): number {
  return partitioner({
    topic: 'person-ops',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })),
    message: { key: workspace, value: null },
  });
}

export async function dataPlaneHandler(deps: DataPlaneDeps): Promise<{ eachBatch: (payload: EachBatchPayload) => Promise<void>; keepOnly: (assigned: ReadonlySet<number>) => number[]; totals: OrderedTally & { batches: number }; close: () => void }> {
  const { admin, publisher, logger, topic } = deps;
  let controlPartitions = (await admin.fetchTopicOffsets(deps.personOpsTopic)).length;
  const refresh = setInterval(() => {
    admin
      .fetchTopicOffsets(deps.personOpsTopic)
      .then((offsets) => (controlPartitions = offsets.length))
      .catch((error: unknown) => logger.warn({ err: error }, 'reading the person-ops partition count failed'));
  }, deps.metadataMaxAgeMs);
  refresh.unref();
  const context: OrderedContext = { ...deps.context, controlPartitionOf: (workspace) => controlPartitionFor(workspace, controlPartitions) };
  const leases = new Map<number, Lease>();
  const totals = { records: 0, released: 0, late: 0, replayed: 0, resent: 0, missingOutbox: 0, deadLetters: 0, forwarded: 0, conflicts: 0, timersFired: 0, batches: 0 };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const partition = batch.partition;
    const consumer = deps.consumer();
    let lease = leases.get(partition);
    if (!lease || lease.generation !== deps.generation()) {
      await publisher.acquire(partition);
      const committed = (await fetchCommittedPositions(admin, deps.groupId, topic, { partitions: [partition], stable: true })).get(partition);
      const start = committed && committed.offset >= 0 ? committed.offset : Number(batch.firstOffset());
      const position = parseDataPosition(committed?.metadata ?? null);
      lease = { topic, partition, generation: deps.generation(), zombie: false, buffer: emptyDataBuffer(position.clocks), published: position.published };
      leases.set(partition, lease);
      logger.info({ partition, committed: start }, 'partition claimed');
      if (Number(batch.firstOffset()) !== start) {
        consumer.seek({ topic, partition, offset: String(start) });
        return;
      }
    }
    if (lease.zombie) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await heartbeat();
      return;
    }
    const outcome = await processOrderedBatch(lease, batch.messages, context);
    try {
      await publisher.publish(partition, outcome.outputs, outcome.nextOffset, outcome.metadata);
    } catch (error) {
      if (error instanceof FencedError) {
        lease.zombie = true;
        logger.warn({ partition }, 'refused as a zombie: this consumer no longer owns the partition');
        return;
      }
      leases.delete(partition);
      logger.error({ err: error, partition }, 'transaction failed; the partition is read again from its committed position');
      consumer.seek({ topic, partition, offset: String(Number(batch.firstOffset())) });
      return;
    }
    lease.buffer = outcome.buffer;
    lease.published = outcome.published;
    resolveOffset(batch.lastOffset());
    totals.batches += 1;
    for (const [key, value] of Object.entries(outcome.tally)) (totals as Record<string, number>)[key] = ((totals as Record<string, number>)[key] ?? 0) + value;
    if (outcome.tally.resent > 0) logger.info({ partition, resent: outcome.tally.resent }, 'items applied before a restart were re-sent from the outbox');
    await outcome.afterCommit().catch((error: unknown) => logger.warn({ err: error, partition }, 'clean-up after commit failed; the expiries will catch it'));
    await heartbeat();
  };
  return {
    eachBatch,
    /** Forgets the partitions no longer assigned here; returns them. */
    keepOnly: (assigned) => {
      const gone = [...leases.keys()].filter((partition) => !assigned.has(partition));
      for (const partition of gone) leases.delete(partition);
      return gone;
    },
    totals,
    close: () => clearInterval(refresh),
  };
}
