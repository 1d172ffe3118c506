/**
 * A consumer group of its own on one topic, each owned partition run one batch after another with
 * its own transactional producer (kafka/sequentialPartitions.ts): the control plane on person-ops,
 * the order stage on person-order. Started again if kafkajs gives up on its consumer
 * (kafka/restartingConsumer.ts): without either stage nothing comes out, and the process would
 * look alive.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../../shared/logger';
import { restartingConsumer } from './restartingConsumer';
import { sequentialPartitions, type PartitionStep, type ProgressLog, type StepOutcome } from './sequentialPartitions';
import type { StepPublisher } from './stepPublisher';

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
