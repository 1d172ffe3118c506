/**
 * The merger's control plane as a Kafka consumer (docs/design-person-operations.md): a consumer
 * group of its own on the person-ops topic; per owned partition a transactional producer (which
 * fences the previous owner's) and the reorder buffer; per batch processControlBatch, then one
 * transaction with the outputs and the commit position, then the outbox clean-up. The ticker
 * keeps the clocks of quiet partitions moving.
 *
 * Batches of a partition are processed one after another (the buffer carries over); person
 * operations are a small share of the traffic, so there is no pipelining here.
 */
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import { fetchCommittedPositions } from '../../shared/kafka/committedOffsets';
import type { Logger } from '../../shared/logger';
import { Ticker } from '../kafka/ticker';
import { FencedError, TransactionalPublisher } from '../kafka/transactionalPublisher';
import type { ControlStore } from '../redis/controlStore';
import { emptyReorderBuffer } from '../ordered/reorderBuffer';
import { parsePosition, processControlBatch, type ControlLease, type ControlTally } from './controlBatch';

export interface ControlConsumerOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly catalog: SchemaCatalog;
  readonly store: ControlStore;
  readonly logger: Logger;
  /** The merger's group id; the control plane's group and transactional ids derive from it. */
  readonly groupId: string;
  readonly personOpsTopic: string;
  readonly inboundTopic: string;
  readonly reorderMs: number;
  readonly tickIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly metadataMaxAgeMs: number;
}

export interface RunningControlConsumer {
  readonly totals: ControlTally & { batches: number; zombieRefusals: number };
  /** Resolves once the group has assigned this consumer its partitions. */
  readonly joined: () => boolean;
  close(): Promise<void>;
}

interface Lease extends ControlLease {
  readonly generation: number;
  zombie: boolean;
}

export async function startControlConsumer(options: ControlConsumerOptions): Promise<RunningControlConsumer> {
  const { kafka, admin, catalog, store, logger, personOpsTopic: topic } = options;
  const groupId = `${options.groupId}.control`;
  const publisher = new TransactionalPublisher(kafka, groupId, topic, (stream) => catalog.topic(stream), logger);
  const ticker = new Ticker(kafka, catalog, topic, options.tickIntervalMs, logger, Date.now, 'personOps');
  await ticker.start();

  let inboundPartitions = (await admin.fetchTopicOffsets(options.inboundTopic)).length;
  const partitionsRefresh = setInterval(() => {
    admin
      .fetchTopicOffsets(options.inboundTopic)
      .then((offsets) => (inboundPartitions = offsets.length))
      .catch((error: unknown) => logger.warn({ err: error }, 'reading the inbound partition count failed; the clock goes to the partitions known'));
  }, options.metadataMaxAgeMs);
  partitionsRefresh.unref();

  const totals = { records: 0, released: 0, late: 0, commands: 0, replayed: 0, resent: 0, missingOutbox: 0, deadLetters: 0, conflicts: 0, batches: 0, zombieRefusals: 0 };
  const leases = new Map<number, Lease>();
  let generation = 0;
  let joined = false;
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.min(3000, Math.floor(options.sessionTimeoutMs / 3)),
    maxWaitTimeInMs: 50,
    metadataMaxAge: options.metadataMaxAgeMs,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    generation += 1;
    joined = true;
    const assigned = new Set(payload.memberAssignment[topic] ?? []);
    for (const partition of [...leases.keys()]) {
      if (!assigned.has(partition)) {
        leases.delete(partition);
        void publisher.release(partition);
      }
    }
    ticker.setPartitions([...assigned]);
    logger.info({ generation, partitions: [...assigned].sort((a, b) => a - b) }, 'control plane joined its consumer group');
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    logger.error({ err: payload.error, restart: payload.restart }, 'control consumer crashed');
  });

  const context = { store, catalog, logger, reorderMs: options.reorderMs, inboundPartitions: () => inboundPartitions };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const partition = batch.partition;
    let lease = leases.get(partition);
    if (!lease || lease.generation !== generation) {
      // New to this consumer: a new transactional producer fences the previous owner's and
      // settles its last transaction, so the committed position read after it is final.
      await publisher.acquire(partition);
      const committed = (await fetchCommittedPositions(admin, groupId, topic, { partitions: [partition], stable: true })).get(partition);
      const start = committed && committed.offset >= 0 ? committed.offset : Number(batch.firstOffset());
      const position = parsePosition(committed?.metadata ?? null);
      lease = { partition, generation, zombie: false, buffer: emptyReorderBuffer(position.highWater), published: position.published, clock: position.published };
      leases.set(partition, lease);
      logger.info({ partition, committed: start, published: position.published }, 'control partition claimed');
      if (Number(batch.firstOffset()) !== start) {
        // The reorder buffer is rebuilt from the committed offset: read from there.
        consumer.seek({ topic, partition, offset: String(start) });
        return;
      }
    }
    if (lease.zombie) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await heartbeat();
      return;
    }
    const outcome = await processControlBatch(lease, topic, batch.messages, context);
    try {
      await publisher.publish(partition, outcome.outputs, outcome.nextOffset, outcome.metadata);
    } catch (error) {
      if (error instanceof FencedError) {
        lease.zombie = true;
        totals.zombieRefusals += 1;
        logger.warn({ partition }, 'control plane refused as a zombie: this consumer no longer owns the partition');
        return;
      }
      // Start the partition afresh: claim it again, read from the committed position.
      leases.delete(partition);
      logger.error({ err: error, partition }, 'control transaction failed; the partition is read again from its committed position');
      consumer.seek({ topic, partition, offset: String(Number(batch.firstOffset())) });
      return;
    }
    lease.buffer = outcome.buffer;
    lease.published = outcome.published;
    lease.clock = outcome.clock;
    resolveOffset(batch.lastOffset());
    totals.batches += 1;
    for (const [key, value] of Object.entries(outcome.tally)) (totals as Record<string, number>)[key] = ((totals as Record<string, number>)[key] ?? 0) + value;
    if (outcome.tally.resent > 0) logger.info({ partition, resent: outcome.tally.resent }, 'person operations decided before a restart were re-sent from the outbox');
    await outcome.afterCommit().catch((error: unknown) => logger.warn({ err: error, partition }, 'control outbox clean-up failed; its entries expire'));
    ticker.noteActivity(partition);
    await heartbeat();
  };

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
  logger.info({ group: groupId, topic }, 'control plane consuming');

  return {
    totals,
    joined: () => joined,
    close: async () => {
      clearInterval(partitionsRefresh);
      await consumer.disconnect();
      await ticker.stop();
      await publisher.close();
    },
  };
}
