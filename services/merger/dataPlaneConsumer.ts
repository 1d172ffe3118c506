/**
 * The merger's data consumer in the two-plane mode (docs/design-person-operations.md): it reads
 * the inbound and commands topics, partition p of both owned together
 * (kafka/coPartitionedAssigner.ts); each partition number runs processOrderedBatch one batch after
 * another (kafka/sequentialPartitions.ts), the data hold carried over between batches and rebuilt
 * at a claim from both logs' committed positions (what a restart reads under, and what was
 * published).
 *
 * Bounded memory: while a partition holds more than `maxHeldInbound` inbound items and some wait
 * for the control clock only (the control plane is behind: after an outage, a backlog waits for
 * its commands), its inbound reads pause (ordered/dataBuffer.ts `pausesInbound`); the commands
 * log goes on, and reads resume once the clock has released them.
 */
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '../shared/logger';
import { parseCommandsPosition, parseInboundPosition, processOrderedBatch, type OrderedContext, type OrderedLease, type OrderedOutcome, type OrderedTally } from './dataPlaneBatch';
import { sequentialPartitions, type ProgressLog } from '../shared/kafka/sequentialPartitions';
import { keyPartition } from '../shared/kafka/keyPartition';
import { followPartitionCount } from '../shared/kafka/partitionCount';
import type { StepPublisher } from '../shared/kafka/stepPublisher';
import { controlClocksAwaited, emptyDataBuffer, frontierWaitsUntil, heldCount, heldInbound, pausesInbound } from './ordered/dataBuffer';
import type { Ticker } from './kafka/ticker';
import { noDecisions } from './ordered/decisionCounts';
import type { EncodedOutput } from './redis/codec';
import { addBatchToTotals } from './totals';

export interface DataPlaneDeps {
  readonly consumer: () => Consumer;
  readonly admin: Admin;
  readonly publisher: StepPublisher;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topic: string;
  readonly commandsTopic: string;
  readonly personOpsTopic: string;
  /** The order stage's topic: merged events and this plane's clocks go to it. */
  readonly personOrderTopic: string;
  readonly context: Omit<OrderedContext, 'controlPartitionOf' | 'personOrderPartitions' | 'inboundPartitionOf'>;
  /** Where Redis says each partition stood (redis/partitionProgress.ts): a claim recovers from writes Redis lost. */
  readonly progress?: ProgressLog;
  /** Inbound items a partition may hold before its inbound reads pause. */
  readonly maxHeldInbound: number;
  readonly fromBeginning: boolean;
  readonly generation: () => number;
  readonly metadataMaxAgeMs: number;
  /** The inbound ticker: told what each partition showed, asked for a tick when a held item waits for the frontier. */
  readonly ticker?: Pick<Ticker, 'noteReceived' | 'tickAt'>;
  /**
   * The person-ops ticker: asked for a tick when a held item or an open window waits for a
   * control clock — the only way a quiet workspace's clock moves (the control plane does not tick).
   */
  readonly clockTicker?: Pick<Ticker, 'noteReceived' | 'tickAt' | 'setPartitions'>;
  /** After each batch: how many inbound items and commands the partition holds (a metric). */
  readonly onHeld?: (partition: number, inbound: number, commands: number) => void;
  /** After each committed batch: the merger's metrics and totals count it. */
  readonly onCommitted?: (tally: OrderedTally, outputs: readonly EncodedOutput[], partition: number, lastOffset: number, topic: string) => void;
}

export interface DataPlane {
  readonly eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /** Forgets the partitions no longer assigned here and releases their producers. */
  keepOnly(assigned: ReadonlySet<number>): void;
  readonly totals: OrderedTally & { batches: number };
  close(): void;
}

/** Per partition count, the workspaces seen so far: asked for every record, and the hash is not free. */
const controlPartitions = new Map<number, Map<string, number>>();

/** The person-ops partition of a workspace: where ingest's producer (keyed by workspace) puts it. */
export function controlPartitionFor(workspace: string, partitions: number): number {
  let known = controlPartitions.get(partitions);
  if (!known) controlPartitions.set(partitions, (known = new Map()));
  const cached = known.get(workspace);
  if (cached !== undefined) return cached;
  const partition = keyPartition(workspace, partitions);
  // Workspaces are few (tenants); a bound keeps a flood of made-up ones from growing it forever.
  if (known.size >= 100_000) known.clear();
  known.set(workspace, partition);
  return partition;
}

export async function startDataPlane(deps: DataPlaneDeps): Promise<DataPlane> {
  const { admin, logger, topic } = deps;
  const controlPartitions = await followPartitionCount(admin, deps.personOpsTopic, deps.metadataMaxAgeMs, logger);
  const orderPartitions = await followPartitionCount(admin, deps.personOrderTopic, deps.metadataMaxAgeMs, logger);
  const inboundPartitions = await followPartitionCount(admin, topic, deps.metadataMaxAgeMs, logger);
  const context: OrderedContext = {
    ...deps.context,
    controlPartitionOf: (workspace) => controlPartitionFor(workspace, controlPartitions.current()),
    personOrderPartitions: orderPartitions.current,
    // The metadata's count, as every process reads it: a guess from the partitions assigned here
    // could be neither the old count nor the new one, and send a timer back and forth.
    inboundPartitionOf: (key) => keyPartition(key, inboundPartitions.current()),
  };
  const totals = { records: 0, released: 0, late: 0, replayed: 0, recovered: 0, resent: 0, missingOutbox: 0, deadLetters: 0, forwarded: 0, conflicts: 0, timersFired: 0, movedLate: 0, timersHandedOver: 0, pendingRead: 0, pendingMissing: 0, pendingReadMs: 0, ...noDecisions(), batches: 0 };

  const topics = { inbound: topic, commands: deps.commandsTopic };
  const paused = new Set<number>();
  let clockTickerPartitions = 0;
  const partitions = sequentialPartitions<OrderedLease, OrderedOutcome>({
    consumer: deps.consumer,
    admin,
    publisher: deps.publisher,
    logger,
    groupId: deps.groupId,
    topics: [topic, deps.commandsTopic],
    generation: deps.generation,
    fromBeginning: deps.fromBeginning,
    progress: deps.progress,
    step: {
      claim: (partition, { readFrom, committed, recovering }) => {
        const inbound = readFrom.get(topic);
        const commands = readFrom.get(deps.commandsTopic);
        const { highest } = parseInboundPosition(inbound?.metadata ?? null);
        const { clocks } = parseCommandsPosition(commands?.metadata ?? null);
        // What was published is what Kafka committed, whichever positions are read from.
        const { published } = parseInboundPosition(committed.get(topic)?.metadata ?? null);
        const heldBack = recovering ? { upTo: published, below: { inbound: committed.get(topic)?.offset ?? 0, commands: committed.get(deps.commandsTopic)?.offset ?? 0 } } : null;
        paused.delete(partition);
        return { topics, partition, buffer: emptyDataBuffer(clocks, highest), published, heldBack, next: { inbound: inbound?.offset ?? 0, commands: commands?.offset ?? 0 }, clockSent: null, clockSentAt: 0, windowEnds: new Map() };
      },
      process: (lease, batchTopic, messages) => processOrderedBatch(lease, batchTopic, messages, context),
      committed: (lease, outcome, partition) => {
        lease.buffer = outcome.buffer;
        lease.published = outcome.published;
        lease.next = outcome.next;
        lease.clockSent = outcome.clockSent;
        lease.clockSentAt = outcome.clockSentAt;
        lease.windowEnds = outcome.windowEnds;
        addBatchToTotals(totals, outcome.tally);
        deps.onCommitted?.(outcome.tally, outcome.outputs, partition, outcome.lastOffset, outcome.topic);
        if (outcome.tally.resent > 0) logger.info({ partition, resent: outcome.tally.resent }, 'items applied before a restart were re-sent from the outbox');
      },
      after: (lease, partition, consumer) => {
        // An item above the inbound frontier is released once inbound shows a record received L
        // after it: a tick then, rather than at the next periodic one.
        const reorderMs = deps.context.reorderMs;
        if (deps.ticker && Number.isFinite(lease.buffer.highest)) {
          deps.ticker.noteReceived(partition, lease.buffer.highest);
          const until = frontierWaitsUntil(lease.buffer, reorderMs);
          if (until !== null) deps.ticker.tickAt(partition, until);
          // A window ends once the frontier is past its end too.
          const firstEnd = Math.min(...lease.windowEnds.values());
          if (Number.isFinite(firstEnd)) deps.ticker.tickAt(partition, firstEnd + 1 + reorderMs);
        }
        if (deps.clockTicker) {
          const count = controlPartitions.current();
          if (count !== clockTickerPartitions) deps.clockTicker.setPartitions(Array.from({ length: (clockTickerPartitions = count) }, (_, p) => p));
          for (const [control, clock] of lease.buffer.clocks) deps.clockTicker.noteReceived(control, clock + reorderMs);
          for (const [control, at] of controlClocksAwaited(lease.buffer, lease.windowEnds, context.controlPartitionOf, reorderMs)) deps.clockTicker.tickAt(control, at);
        }
        const inboundHeld = heldInbound(lease.buffer);
        deps.onHeld?.(partition, inboundHeld, heldCount(lease.buffer) - inboundHeld);
        const pause = pausesInbound(lease.buffer, deps.context.reorderMs, deps.maxHeldInbound);
        if (pause && !paused.has(partition)) {
          paused.add(partition);
          consumer.pause([{ topic, partitions: [partition] }]);
          logger.info({ partition, held: inboundHeld }, 'inbound reads paused: what is held waits for the control clock');
        } else if (!pause && paused.has(partition)) {
          paused.delete(partition);
          consumer.resume([{ topic, partitions: [partition] }]);
          logger.info({ partition, held: inboundHeld }, 'inbound reads resumed');
        }
      },
    },
  });
  return {
    eachBatch: partitions.eachBatch,
    keepOnly: partitions.keepOnly,
    totals,
    close: () => {
      controlPartitions.stop();
      orderPartitions.stop();
      inboundPartitions.stop();
    },
  };
}
