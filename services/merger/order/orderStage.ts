/**
 * The merger's order stage as a Kafka consumer (docs/design-person-operations.md, "One order per
 * person"): a consumer group of its own on the person-order topic; per owned partition a
 * transactional producer (which fences the previous owner's) and the hold of order/orderBuffer.ts;
 * per batch processOrderBatch, then one transaction with the merged events it released and the
 * position.
 *
 * It keeps nothing in Redis: what it holds is rebuilt from the topic at a claim.
 */
import { followPartitionCount } from '../../shared/kafka/partitionCount';
import { partitionGroup, type RunningStage, type StageOptions } from '../../shared/kafka/partitionGroup';
import { TransactionalPublisher } from '../../shared/kafka/transactionalPublisher';
import type { Ticker } from '../kafka/ticker';
import { addBatchToTotals } from '../totals';
import { clocksAwaited, emptyOrderBuffer } from './orderBuffer';
import { parseOrderPosition, processOrderBatch, type OrderLease, type OrderOutcome, type OrderTally } from './orderBatch';

export interface OrderStageOptions extends StageOptions<OrderTally> {
  readonly personOrderTopic: string;
  /** Its partition count is the number of data partitions whose clocks release an output. */
  readonly inboundTopic: string;
  /** L: a data partition's clock passes t once its inbound log shows a record received at t + L. */
  readonly reorderMs: number;
  /**
   * The merger's inbound ticker (kafka/ticker.ts; started and stopped by the merger): asked for a
   * tick of any inbound partition, as the control plane asks it for a held person operation.
   */
  readonly ticker: Pick<Ticker, 'tickAt' | 'setPartitionCount'>;
  /** Outputs a partition holds at most; past it they wait in the log (order/orderBuffer.ts). */
  readonly maxHeld: number;
}

export type RunningOrderStage = RunningStage<OrderTally>;

export async function startOrderStage(options: OrderStageOptions): Promise<RunningOrderStage> {
  const { kafka, admin, catalog, logger, personOrderTopic: topic } = options;
  const groupId = `${options.groupId}.order`;
  const publisher = new TransactionalPublisher(kafka, groupId, topic, (stream) => catalog.topic(stream), logger, options.onTransaction);
  const sources = await followPartitionCount(admin, options.inboundTopic, options.metadataMaxAgeMs, logger);
  // A quiet data partition's clock moves with its inbound frontier, which its periodic tick moves
  // every tick interval: the stage asks for a tick where it waits instead (identify → merged
  // events p99 went from ~190 to ~720 ms without it). Any process may tick any inbound partition.
  const { ticker } = options;
  const totals = { records: 0, released: 0, skipped: 0, late: 0, deadLetters: 0, held: 0, dropped: 0, batches: 0 };
  /** Per partition, the outputs it holds (totals.held is their sum). */
  const heldBy = new Map<number, number>();
  /** Partitions that hold at their bound (logged once each time it begins). */
  const atBound = new Set<number>();
  const context = { catalog, logger, sources: sources.current, maxHeld: options.maxHeld };
  const group = partitionGroup<OrderLease, OrderOutcome>({
    kafka,
    admin,
    publisher,
    logger,
    groupId,
    topic,
    name: 'order stage',
    sessionTimeoutMs: options.sessionTimeoutMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs,
    // A merged event waits here for the slowest data partition's clock: fetch as soon as it comes.
    maxWaitTimeInMs: 20,
    partitionsConcurrently: options.partitionsConcurrently,
    step: {
      claim: (partition, { readFrom }) => {
        const { published, readUpTo } = parseOrderPosition(readFrom.get(topic)?.metadata ?? null);
        return { partition, buffer: emptyOrderBuffer(), published, readBefore: readUpTo, readAgainFrom: null };
      },
      process: (lease, _topic, messages) => processOrderBatch(lease, topic, messages, context),
      committed: (lease, outcome, partition) => {
        lease.buffer = outcome.buffer;
        lease.published = outcome.published;
        lease.readBefore = Math.max(lease.readBefore, outcome.lastOffset + 1);
        lease.readAgainFrom = outcome.readAgainFrom;
        const t = outcome.tally;
        addBatchToTotals(totals, t);
        heldBy.set(partition, t.held);
        totals.held = [...heldBy.values()].reduce((sum, held) => sum + held, 0);
        if (t.dropped > 0 && !atBound.has(partition)) {
          atBound.add(partition);
          const awaited = Object.fromEntries(clocksAwaited(outcome.buffer, sources.current()));
          logger.warn({ partition, held: t.held, maxHeld: options.maxHeld, awaitedClocks: awaited }, 'merged events wait for a data partition whose clock is behind: the hold is at its bound, the rest waits in the log and is read again');
        } else if (outcome.buffer.dropped === null) atBound.delete(partition);
        if (outcome.readAgainFrom !== null) logger.info({ partition, readAgainFrom: outcome.readAgainFrom, held: t.held }, 'the order hold has room again: reading again what it dropped');
        const count = sources.current();
        ticker.setPartitionCount(count);
        for (const [source, at] of clocksAwaited(outcome.buffer, count)) ticker.tickAt(source, at + options.reorderMs);
        options.onCommitted?.(t, outcome.outputs, partition, outcome.lastOffset);
      },
      // What the hold dropped at its bound is read again from the log.
      after: (lease, partition, consumer) => {
        if (lease.readAgainFrom === null) return;
        consumer.seek({ topic, partition, offset: String(lease.readAgainFrom) });
        lease.readAgainFrom = null;
      },
    },
  });

  await group.start();
  logger.info({ group: groupId, topic }, 'order stage consuming');
  return {
    totals,
    joined: group.joined,
    close: async () => {
      sources.stop();
      await group.stop();
      await publisher.close();
    },
  };
}
