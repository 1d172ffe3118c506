/**
 * The merger's control plane as a Kafka consumer (docs/design-person-operations.md): a consumer
 * group of its own on the person-ops topic; per owned partition a transactional producer (which
 * fences the previous owner's) and the reorder buffer; per batch processControlBatch, then one
 * transaction with the outputs and the commit position, then the outbox clean-up. Its ticker
 * writes a tick when a held operation becomes releasable, and it asks the inbound ticker for the
 * same on every data partition; the clock of a quiet partition moves when the data plane asks for
 * it (docs/design-person-operations.md, "Ticks when due").
 *
 * Batches of a partition are processed one after another (the buffer carries over); person
 * operations are a small share of the traffic, so there is no pipelining here.
 */
import { Ticker } from '../kafka/ticker';
import { partitionGroup, type RunningStage, type StageOptions } from '../../shared/kafka/partitionGroup';
import { TransactionalPublisher } from '../../shared/kafka/transactionalPublisher';
import { publishingNothing, type StepPublisher } from '../../shared/kafka/stepPublisher';
import type { ProgressLog } from '../../shared/kafka/sequentialPartitions';
import { followPartitionCount } from '../../shared/kafka/partitionCount';
import type { ControlStore } from '../redis/controlStore';
import { emptyReorderBuffer } from '../ordered/reorderBuffer';
import { parsePosition, processControlBatch, type ControlLease, type ControlOutcome, type ControlTally } from './controlBatch';
import { noDecisions } from '../ordered/decisionCounts';
import { addBatchToTotals } from '../totals';
import { heldBindOf, type PendingReadAhead } from '../pendingReadAhead';

export interface ControlConsumerOptions extends StageOptions<ControlTally> {
  readonly store: ControlStore;
  readonly personOpsTopic: string;
  readonly commandsTopic: string;
  readonly reorderMs: number;
  readonly tickIntervalMs: number;
  /**
   * The inbound topic (its partitions are the data partitions) and the merger's inbound ticker
   * (kafka/ticker.ts), asked for a tick of every inbound partition at
   * a held operation's received_at + L: the data partition its command goes to applies it once
   * its log shows that, and the order stage writes the merged events once every data partition's
   * clock has passed it — on quiet partitions, only a tick moves them. Asked when the operation
   * is read, they are in the logs by the time its command is; asked by the data plane, or by the
   * order stage on seeing the merged events, they came one and two hops later.
   */
  readonly inbound?: {
    readonly topic: string;
    readonly ticker: Pick<Ticker, 'tickAt' | 'setPartitionCount'>;
    /** Told of every identify held, to read its pending events ahead of its bind (pendingReadAhead.ts). */
    readonly readAhead?: Pick<PendingReadAhead, 'ahead'>;
  };
  /** anonmerge rebuild: decide and store, publish nothing, write no ticks. */
  readonly rebuild?: boolean;
  /** Where Redis says each partition stood (redis/partitionProgress.ts): a claim recovers from writes Redis lost. */
  readonly progress?: ProgressLog;
}

export type RunningControlConsumer = RunningStage<ControlTally>;

export async function startControlConsumer(options: ControlConsumerOptions): Promise<RunningControlConsumer> {
  const { kafka, admin, catalog, store, logger, personOpsTopic: topic } = options;
  const groupId = `${options.groupId}.control`;
  const publisher: StepPublisher = options.rebuild ? publishingNothing : new TransactionalPublisher(kafka, groupId, topic, (stream) => catalog.topic(stream), logger, options.onTransaction);
  // No periodic ticks: every partition's clock would then cost a transaction per interval, most of
  // them for workspaces nobody is waiting on.
  const ticker = new Ticker(kafka, catalog, topic, options.tickIntervalMs, logger, { stream: 'personOps', pastAsks: 'now' });
  if (!options.rebuild) await ticker.start(false);

  // The clock goes to every commands partition, including ones added later.
  const commandsPartitions = await followPartitionCount(admin, options.commandsTopic, options.metadataMaxAgeMs, logger);
  const inboundPartitions = options.inbound ? await followPartitionCount(admin, options.inbound.topic, options.metadataMaxAgeMs, logger) : null;

  const totals = { records: 0, released: 0, late: 0, commands: 0, replayed: 0, tombstones: 0, recovered: 0, resent: 0, missingOutbox: 0, deadLetters: 0, conflicts: 0, ...noDecisions(), batches: 0 };
  const context = { store, catalog, logger, reorderMs: options.reorderMs, commandsPartitions: commandsPartitions.current };
  /** Per partition, the last offset whose held identifies were told to the read ahead. */
  const readAheadUpTo = new Map<number, number>();

  // Without the control plane no clock moves and the data plane waits for ever (found by the
  // two-plane chaos matrix: kafkajs gave up on its consumer after a Kafka outage).
  const group = partitionGroup<ControlLease, ControlOutcome>({
    kafka,
    admin,
    publisher,
    logger,
    groupId,
    topic,
    name: 'control plane',
    sessionTimeoutMs: options.sessionTimeoutMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs,
    maxWaitTimeInMs: 50,
    // Small batches while catching up: each step sends a clock, and the data plane waits for it.
    maxBytesPerPartition: 128 * 1024,
    partitionsConcurrently: options.partitionsConcurrently,
    progress: options.progress,
    onAssigned: (assigned) => ticker.setPartitions(assigned),
    step: {
      claim: (partition, { readFrom, committed, recovering }) => {
        // The reorder buffer is rebuilt by reading from the position, under its high water.
        const position = parsePosition(readFrom.get(topic)?.metadata ?? null);
        // What was published is what Kafka committed, whichever position is read from.
        const { published } = parsePosition(committed.get(topic)?.metadata ?? null);
        const heldBack = recovering ? { upTo: published, below: committed.get(topic)?.offset ?? 0 } : null;
        return { partition, buffer: emptyReorderBuffer(position.highWater), published, clock: published, heldBack };
      },
      process: (lease, _topic, messages) => processControlBatch(lease, topic, messages, context),
      committed: (lease, outcome, partition) => {
        lease.buffer = outcome.buffer;
        lease.published = outcome.published;
        lease.clock = outcome.clock;
        addBatchToTotals(totals, outcome.tally);
        options.onCommitted?.(outcome.tally, outcome.outputs, partition, outcome.lastOffset);
        if (outcome.tally.resent > 0) logger.info({ partition, resent: outcome.tally.resent }, 'person operations decided before a restart were re-sent from the outbox');
        // What is held is released once the partition shows a record received L after it: a
        // tick then, rather than at the next periodic one (up to a tick interval later).
        ticker.noteReceived(partition, outcome.buffer.highWater);
        const oldest = outcome.buffer.held.reduce((min, entry) => Math.min(min, entry.record.received_at), Number.POSITIVE_INFINITY);
        if (Number.isFinite(oldest)) ticker.tickAt(partition, oldest + options.reorderMs);
        if (Number.isFinite(oldest) && options.inbound && inboundPartitions) {
          const count = inboundPartitions.current();
          options.inbound.ticker.setPartitionCount(count);
          for (let inbound = 0; inbound < count; inbound += 1) options.inbound.ticker.tickAt(inbound, oldest + options.reorderMs);
        }
        if (options.inbound?.readAhead && inboundPartitions) {
          // Only what this batch read: an operation held over many batches is told once.
          const after = readAheadUpTo.get(partition) ?? -1;
          const count = inboundPartitions.current();
          for (const { offset, record } of outcome.buffer.held) {
            if (offset <= after) continue;
            const bind = heldBindOf(record, count);
            if (bind) options.inbound.readAhead.ahead(bind);
          }
          readAheadUpTo.set(partition, Math.max(after, outcome.lastOffset));
        }
      },
    },
  });

  await group.start();
  logger.info({ group: groupId, topic }, 'control plane consuming');

  return {
    totals,
    joined: group.joined,
    close: async () => {
      commandsPartitions.stop();
      inboundPartitions?.stop();
      await group.stop();
      await ticker.stop();
      await publisher.close();
    },
  };
}
