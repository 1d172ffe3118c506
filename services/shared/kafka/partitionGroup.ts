/**
 * A consumer group of its own on one topic, each owned partition run one batch after another with
 * its own transactional producer (kafka/sequentialPartitions.ts): the merger's control plane on
 * person-ops and order stage on person-order, ingest's request bridge on the requests topic.
 * Started again if kafkajs gives up on its consumer (kafka/restartingConsumer.ts): without it
 * nothing comes out, and the process would look alive.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../avro/catalog';
import type { Logger } from '../logger';
import type { EncodedOutput } from './encodedOutput';
import { restartingConsumer } from './restartingConsumer';
import { sequentialPartitions, type PartitionStep, type ProgressLog, type StepOutcome } from './sequentialPartitions';
import type { StepPublisher } from './stepPublisher';

/** What a stage run as a partition group (the control plane, the order stage) is given beside its own settings. */
export interface StageOptions<Tally> {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  /** The merger's group id; the stage's group and transactional ids derive from it. */
  readonly groupId: string;
  /** Partitions processed at the same time (each has its own producer; a step waits on Redis and Kafka, not on the CPU). */
  readonly partitionsConcurrently: number;
  readonly sessionTimeoutMs: number;
  readonly metadataMaxAgeMs: number;
  /** Each committed Kafka transaction (clock-only steps too): the merger's metrics count it. */
  readonly onTransaction?: () => void;
  /** After each committed batch: the merger's metrics and totals count it. */
  readonly onCommitted?: (tally: Tally, outputs: readonly EncodedOutput[], partition: number, lastOffset: number) => void;
}

/** A running stage: its totals since it started, whether the group has given it its partitions. */
export interface RunningStage<Tally> {
  readonly totals: Tally & { batches: number };
  readonly joined: () => boolean;
  close(): Promise<void>;
}

export interface PartitionGroupOptions<Lease, Outcome extends StepOutcome> {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly publisher: StepPublisher;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topic: string;
  /** Names the stage in the logs ("control plane", "order stage"). */
  readonly name: string;
  readonly sessionTimeoutMs: number;
  readonly metadataMaxAgeMs: number;
  /** How long a fetch waits for records: what the stage's outputs wait at most, beside its work. */
  readonly maxWaitTimeInMs: number;
  readonly maxBytesPerPartition?: number;
  /** Partitions processed at the same time (each has its own producer). */
  readonly partitionsConcurrently: number;
  readonly progress?: ProgressLog;
  /** After each assignment by the group. */
  readonly onAssigned?: (partitions: number[]) => void;
  readonly step: PartitionStep<Lease, Outcome>;
}

export interface PartitionGroup {
  start(): Promise<void>;
  /** Whether the group has assigned this consumer its partitions (and it has not crashed since). */
  joined(): boolean;
  stop(): Promise<void>;
}

export function partitionGroup<Lease, Outcome extends StepOutcome>(options: PartitionGroupOptions<Lease, Outcome>): PartitionGroup {
  const { kafka, logger, topic } = options;
  let generation = 0;
  let joined = false;
  const newConsumer = () => {
    const created = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(options.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: options.maxWaitTimeInMs,
      ...(options.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.maxBytesPerPartition }),
      metadataMaxAge: options.metadataMaxAgeMs,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    created.on(created.events.GROUP_JOIN, ({ payload }) => {
      generation += 1;
      joined = true;
      const assigned = [...new Set(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      partitions.keepOnly(new Set(assigned));
      options.onAssigned?.(assigned);
      logger.info({ generation, partitions: assigned }, `${options.name} joined its consumer group`);
    });
    return created;
  };
  const consumers = restartingConsumer({
    create: newConsumer,
    run: async (current) => {
      await current.connect();
      await current.subscribe({ topic, fromBeginning: true });
      await current.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: options.partitionsConcurrently, eachBatch: partitions.eachBatch });
    },
    logger,
    name: options.name,
    onCrash: () => {
      joined = false;
      // What each partition holds is claimed again from its committed position.
      generation += 1;
    },
  });
  const partitions = sequentialPartitions<Lease, Outcome>({
    consumer: () => consumers.current(),
    admin: options.admin,
    publisher: options.publisher,
    logger,
    groupId: options.groupId,
    topics: [topic],
    generation: () => generation,
    fromBeginning: true,
    progress: options.progress,
    step: options.step,
  });
  return { start: () => consumers.start(), joined: () => joined, stop: () => consumers.stop() };
}
