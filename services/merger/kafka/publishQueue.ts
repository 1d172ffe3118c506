/**
 * Publishing runs behind processing, per partition. kafkajs fetches the next round only when
 * every batch of the current one has been handled, so waiting for each batch's Kafka transaction
 * inside eachBatch leaves the process idle half the time. Instead, eachBatch ends once the
 * batch's state is in Redis and hands its transaction to this queue; the next batch is decided
 * meanwhile.
 *
 * Safe because the transactions of a partition still commit one at a time, in offset order, and
 * everything a transaction carries is already in Redis (outbox and markers): if one fails, the
 * queue drops the ones behind it and the partition rewinds to the first unpublished offset, where
 * the replay finds those operations applied and re-sends their outputs from the outbox.
 */
import type { Logger } from '../../shared/logger';

export interface PublishJob {
  readonly firstOffset: number;
  readonly nextOffset: number;
  readonly publish: () => Promise<void>;
  /** After the commit: clean-up, bookkeeping. */
  readonly committed: () => Promise<void>;
}

interface PartitionQueue {
  tail: Promise<void>;
  inFlight: number;
  /** Set when a transaction failed: the offset to rewind to, until the caller has done so. */
  failedAt: number | null;
  error: unknown;
  generation: number;
}

export class PublishQueue {
  private readonly queues = new Map<number, PartitionQueue>();

  constructor(
    private readonly maxInFlight: number,
    private readonly logger: Logger,
  ) {}

  private queue(partition: number): PartitionQueue {
    let q = this.queues.get(partition);
    if (!q) this.queues.set(partition, (q = { tail: Promise.resolve(), inFlight: 0, failedAt: null, error: null, generation: 0 }));
    return q;
  }

  /** A failure waiting to be handled: the caller rewinds the partition to this offset. */
  failure(partition: number): { offset: number; error: unknown } | null {
    const q = this.queues.get(partition);
    return q && q.failedAt !== null ? { offset: q.failedAt, error: q.error } : null;
  }

  clearFailure(partition: number): void {
    const q = this.queue(partition);
    q.failedAt = null;
    q.error = null;
  }

  /** Queues a batch's transaction; waits first while the partition has too many in flight. */
  async enqueue(partition: number, job: PublishJob): Promise<void> {
    const q = this.queue(partition);
    while (q.inFlight >= this.maxInFlight) await q.tail.catch(() => undefined);
    const generation = q.generation;
    q.inFlight += 1;
    q.tail = q.tail.then(async () => {
      try {
        // A failure earlier in this generation drops everything queued behind it, and so does a
        // revoke: a batch that was still being processed when the partition was revoked may
        // reach this queue after forget() (found by the chaos suite's rebalance run).
        if (q.failedAt !== null || generation !== q.generation || this.queues.get(partition) !== q) return;
        await job.publish();
        await job.committed();
      } catch (error) {
        if (q.failedAt === null) {
          q.failedAt = job.firstOffset;
          q.error = error;
          q.generation += 1;
          if ((error as Error).name === 'FencedError') this.logger.warn({ partition, offset: job.firstOffset }, 'refused as a zombie: its transaction was fenced by the new owner of the partition');
          else this.logger.warn({ err: error, partition, offset: job.firstOffset }, 'publishing a batch failed; the partition rewinds to it');
        }
      } finally {
        q.inFlight -= 1;
      }
    });
  }

  /** Waits until every queued transaction of the partition (or of all) has settled. */
  async drain(partition?: number): Promise<void> {
    const queues = partition === undefined ? [...this.queues.values()] : [this.queue(partition)];
    await Promise.all(queues.map((q) => q.tail.catch(() => undefined)));
  }

  /** Forgets a partition (revoked); its queued transactions are dropped. */
  forget(partition: number): void {
    const q = this.queues.get(partition);
    if (q) q.generation += 1;
    this.queues.delete(partition);
  }
}
