/**
 * Wires the merger together: the consumer group on the inbound topic, a partition lease and a
 * transactional producer per owned partition, the Redis state, the ticker and the health server.
 * main.ts runs it as a process; integration tests run it in-process or as a child process.
 *
 * Per batch: processBatch (Redis: decisions, outbox, watermark) → one Kafka transaction (outputs
 * + next offset) → afterCommit (clean-up). docs/exactly-once.md argues why nothing is lost or
 * emitted twice when a process dies between any two of these steps.
 */
import type { EncodedOutput } from './redis/codec';
import { fetchCommittedOffsets } from '../shared/kafka/committedOffsets';
import { partitionCountOf } from '../shared/kafka/partitionCount';
import { EventEmitter } from 'node:events';
import type { EachBatchPayload } from 'kafkajs';
import { SchemaCatalog } from '../shared/avro/catalog';
import type { Config } from '../shared/config';
import { buildHealthServer } from '../shared/http/healthServer';
import { createKafka } from '../shared/kafka/client';
import { ensureTopics } from '../shared/kafka/topics';
import type { CloseStep } from '../shared/lifecycle/shutdown';
import type { Logger } from '../shared/logger';
import { createRedis } from '../shared/redis/client';
import { processBatch, StateLostError, ZombieError, type PartitionLease } from './batchProcessor';
import { emptyTally } from './model/outputs';
import { FencedError, TransactionalPublisher } from '../shared/kafka/transactionalPublisher';
import { publishingNothing } from '../shared/kafka/stepPublisher';
import { OffsetReader } from './kafka/offsetReader';
import { ReadAheadCache } from './kafka/readAheadCache';
import { PendingReadAhead } from './pendingReadAhead';
import { inboundRetentionProblem, longestWorkspaceRetention, topicRetention } from './inboundRetention';
import { Ticker } from './kafka/ticker';
import { restartingConsumer } from '../shared/kafka/restartingConsumer';
import { coPartitionedAssigner } from './kafka/coPartitionedAssigner';
import { PublishQueue } from './kafka/publishQueue';
import { KeySpace } from './redis/keys';
import { defineMergerCommands } from './redis/scripts';
import { createRegistry, serveMetrics } from '../shared/metrics/registry';
import { mergerMetrics } from './metrics';
import { StateStore } from './redis/stateStore';
import { ControlStore } from './redis/controlStore';
import { startControlConsumer } from './control/controlConsumer';
import { startDataPlane } from './dataPlaneConsumer';
import { PartitionProgress } from './redis/partitionProgress';
import { startOrderStage } from './order/orderStage';
import { compactOptions } from './redis/listpackLimits';
import { OrderedEntityStore } from './redis/orderedEntityStore';

export type MergerConfig = Config<'kafka' | 'topics' | 'registry' | 'redis' | 'merger'>;

export interface RunningMerger {
  readonly closeSteps: CloseStep[];
  close(): Promise<void>;
  /** Totals since start, for logs and tests. */
  readonly totals: ReturnType<typeof emptyTotals>;
  /** Base URL of the health server. */
  readonly url: string;
  /** 'batch' → BatchEvent after each committed batch (benchmarks, tests). */
  readonly events: EventEmitter;
}

export interface BatchEvent {
  /** The topic read (inbound; or, for the two-plane data plane, the commands topic too). */
  readonly topic?: string;
  readonly partition: number;
  readonly lastOffset: number;
  readonly records: number;
  readonly outputs: number;
  /** When the batch was handed to the merger (consumed) and when its transaction committed. */
  readonly startedAt: number;
  readonly committedAt: number;
  readonly largestMerge: number;
}

/**
 * Reading a held bind's pending events ahead (pendingReadAhead.ts): a body unused this long was
 * for a step that did not come here; an id with more pointers is left to its step, which reads
 * in bounded runs; at most this many read at once, beside the steps' own reads.
 */
const READ_AHEAD_TTL_MS = 30_000;
const READ_AHEAD_MAX_POINTERS = 10_000;
const READ_AHEAD_CONCURRENCY = 4;
/** A step waits this long at most for a read ahead under way, then reads for itself. */
const READ_AHEAD_MAX_WAIT_MS = 1000;

const emptyTotals = () => ({ ...emptyTally(), batches: 0, records: 0, deadLetters: 0, conflicts: 0, zombieRefusals: 0, missingOutbox: 0, rollbacks: 0, replayed: 0, movedLate: 0, timersHandedOver: 0, pendingRead: 0, pendingMissing: 0, pendingReadMs: 0, pendingReadAhead: 0 });

interface Lease extends PartitionLease {
  readonly generation: number;
  zombie: boolean;
}

export interface MergerOptions {
  /** Serve /healthz, /readyz and /metrics (default true). */
  readonly listen?: boolean;
  /**
   * Rebuild: derive the state from the inbound log into (presumably empty) Redis keys, without
   * publishing anything, writing ticks or keeping an outbox (anonmerge rebuild).
   */
  readonly rebuild?: boolean;
}

export async function startMerger(config: MergerConfig, logger: Logger, options: MergerOptions = {}): Promise<RunningMerger> {
  const topic = config.topics.inbound;
  const kafka = createKafka(config.kafka, logger, 'merger');
  // Kept open: a claim reads the group's committed offset through it.
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.topics, logger);
  const catalog = await SchemaCatalog.open(config.registry, config.topics, logger);
  const redis = defineMergerCommands(createRedis(config.redis, logger, 'merger'));
  await redis.connect();
  const store = new StateStore(redis, new KeySpace(config.merger.redisKeyPrefix));
  const registry = createRegistry('merger');
  const metrics = mergerMetrics(registry);
  const publisher = new TransactionalPublisher(kafka, config.merger.groupId, topic, (stream) => catalog.topic(stream), logger, () => metrics.transactions.inc({ consumer: 'main' }));
  // Ticks move a quiet inbound partition's time: the legacy merger's timers, and in two planes
  // (docs/design-person-operations.md) the inbound frontier the data plane releases under.
  const ordered = config.merger.controlPlane;
  if (ordered && !options.rebuild) {
    // The two planes on a legacy deployment's Redis, not migrated: they would start without its
    // bindings. Refused, with what to do, rather than discovered as wrong merges.
    const unmigrated = await new PartitionProgress(redis, store.keys, topic, [topic, config.topics.commands]).unmigratedLegacy(await partitionCountOf(admin, topic));
    if (unmigrated.length > 0) {
      await admin.disconnect();
      redis.disconnect();
      throw new Error(
        `Redis prefix ${config.merger.redisKeyPrefix} holds the legacy merger's state (inbound partitions ${unmigrated.join(', ')}) and the two-plane merger is on ` +
          '(ANONMERGE_MERGER_CONTROL_PLANE, the default): stop the legacy mergers with SIGTERM and run `anonmerge migrate two-planes` first, ' +
          'or set ANONMERGE_MERGER_CONTROL_PLANE=false and ANONMERGE_INGEST_PERSON_OPS=false to stay on the legacy merger (docs/deployment.md)',
      );
    }
  }
  if (ordered && config.merger.pendingPointers) {
    // Pending events are pointers into inbound: it must keep them for every workspace's retention.
    const longest = await longestWorkspaceRetention({ kafka, admin, catalog, topic: config.topics.workspaces, logger, floorMs: config.merger.fileWorkspacesRetentionDays * 86_400_000, timeoutMs: 60_000 });
    const problem = inboundRetentionProblem(topic, await topicRetention(admin, topic), longest, config.merger.inboundRetentionMarginHours * 3_600_000);
    if (problem) {
      await admin.disconnect();
      redis.disconnect();
      throw new Error(problem);
    }
  }
  const compact = await compactOptions(redis, ordered && config.merger.pendingPointers && config.merger.compactRecords, logger);
  const pendingReader = new OffsetReader(kafka, logger, { timeoutMs: config.merger.pendingReadTimeoutMs });
  // Periodic ticks of the partitions this process owns; two planes: also the ticks the control
  // plane and the order stage ask of any inbound partition (a merge waits for every data
  // partition's clock), those of partitions owned elsewhere at most one per L/4 each — a tick
  // moves a quiet clock by the time since the last one, so more often buys little.
  const ticker = new Ticker(kafka, catalog, topic, ordered ? config.merger.controlTickIntervalMs : config.merger.tickIntervalMs, logger, { foreignSpacingMs: Math.floor(config.merger.reorderMs / 4) });
  if (!options.rebuild) await ticker.start();
  // Two planes: the control clocks move when the data plane asks (kafka/ticker.ts), at most once
  // per tick interval per person-ops partition.
  const clockTicker = ordered ? new Ticker(kafka, catalog, config.topics.personOps, config.merger.controlTickIntervalMs, logger, { stream: 'personOps', pastAsks: 'now', minSpacingMs: config.merger.controlTickIntervalMs }) : null;
  if (clockTicker && !options.rebuild) await clockTicker.start(false);

  const totals = emptyTotals();
  const entities = new OrderedEntityStore(store, compact);
  // The data partitions this process owns: only their binds are read ahead here.
  const ownedInbound = new Set<number>();
  const readAhead =
    ordered && config.merger.pendingPointers && config.merger.pendingReadAheadBytes > 0
      ? new PendingReadAhead({
          load: (requests) => entities.load(requests),
          readOffsets: (partition, offsets) => pendingReader.read(topic, partition, offsets),
          cache: new ReadAheadCache({ maxBytes: config.merger.pendingReadAheadBytes, ttlMs: READ_AHEAD_TTL_MS }),
          owns: (partition) => ownedInbound.has(partition),
          maxPointers: READ_AHEAD_MAX_POINTERS,
          maxConcurrent: READ_AHEAD_CONCURRENCY,
          maxWaitMs: READ_AHEAD_MAX_WAIT_MS,
          logger,
          onServed: (offsets) => {
            totals.pendingReadAhead += offsets;
            metrics.pendingReadAhead.inc(offsets);
          },
        })
      : null;
  /** Records published per outbound stream, for /metrics (one increment per stream, not per record). */
  const countOutputs = (outputs: readonly EncodedOutput[]) => {
    const perStream = new Map<string, number>();
    for (const output of outputs) perStream.set(output.stream, (perStream.get(output.stream) ?? 0) + 1);
    for (const [stream, count] of perStream) metrics.outputs.inc({ stream }, count);
  };
  const events = new EventEmitter();
  redis.on('error', () => metrics.redisErrors.inc());
  // At most two transactions of a partition behind its processing (see kafka/publishQueue.ts).
  const queue = new PublishQueue(2, logger);
  const leases = new Map<number, Lease>();
  let generation = 0;
  let dataPlane: Awaited<ReturnType<typeof startDataPlane>> | null = null;
  let joined = false;
  const newConsumer = () => {
    const created = kafka.consumer({
      groupId: config.merger.groupId,
      sessionTimeout: config.merger.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(config.merger.sessionTimeoutMs / 3)),
      // Two planes: a command waits for the next fetch of its partition; wait less for data.
      maxWaitTimeInMs: ordered ? 50 : 200,
      metadataMaxAge: config.kafka.metadataMaxAgeMs,
      maxBytesPerPartition: config.merger.fetchMaxBytes,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
      // Two planes: inbound partition p and commands partition p go to the same member.
      ...(ordered ? { partitionAssigners: [coPartitionedAssigner] } : {}),
    });
    created.on(created.events.GROUP_JOIN, ({ payload }) => {
      generation += 1;
      joined = true;
      const assigned = new Set(payload.memberAssignment[topic] ?? []);
      for (const partition of [...leases.keys()]) {
        if (!assigned.has(partition)) {
          leases.delete(partition);
          queue.forget(partition);
          void publisher.release(partition);
        }
      }
      dataPlane?.keepOnly(assigned);
      ticker.setPartitions([...assigned]);
      ownedInbound.clear();
      for (const partition of assigned) ownedInbound.add(partition);
      logger.info({ generation, partitions: [...assigned].sort((a, b) => a - b) }, 'joined the consumer group');
    });
    created.on(created.events.STOP, () => {
      joined = false;
    });
    return created;
  };
  // Started again if kafkajs gives up on it for good (kafka/restartingConsumer.ts).
  const consumers = restartingConsumer({
    create: newConsumer,
    run: async (current) => {
      await current.connect();
      // Two planes: the commands topic is read beside inbound, partition p of both by one member.
      await current.subscribe({ topics: ordered ? [topic, config.topics.commands] : [topic], fromBeginning: config.merger.fromBeginning });
      await current.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: config.merger.partitionsConcurrently, eachBatch: dataPlane ? dataPlane.eachBatch : eachBatch });
    },
    logger,
    name: 'inbound',
    onCrash: () => {
      joined = false;
    },
  });
  const consumer = () => consumers.current();

  const batchContext = { store, catalog, logger, latenessMs: config.merger.timerLatenessMs, now: Date.now, rebuild: options.rebuild };

  const committedOffset = async (partition: number): Promise<number> => {
    // require_stable: a transaction of the previous owner that commits offsets may be settled by
    // the transaction coordinator and not yet applied by the group coordinator.
    return (await fetchCommittedOffsets(admin, config.merger.groupId, topic, { partitions: [partition], stable: true })).get(partition) ?? -1;
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const partition = batch.partition;
    let lease = leases.get(partition);
    if (!lease || lease.generation !== generation) {
      // A partition new to this consumer: claim it in Redis (fencing the previous owner's writes)
      // and in Kafka (a new transactional producer fences the previous owner's transactions).
      // Transactions still queued from before finish first (if this consumer kept the partition
      // they are valid; if not, the new owner's producer fences them).
      await queue.drain(partition);
      queue.forget(partition);
      const claim = await store.claimPartition(topic, partition);
      // Connecting the new transactional producer fences the previous owner's and lets the broker
      // finish its last transaction (commit or abort). Only then is the committed offset final:
      // the position this consumer got when it joined may predate that commit (kafkajs fetches
      // offsets without KIP-447's require_stable), and outputs below it must not be sent again.
      if (!options.rebuild) await publisher.acquire(partition);
      const committed = options.rebuild ? -1 : await committedOffset(partition);
      const first = Number(batch.firstOffset());
      lease = { topic, partition, epoch: claim.epoch, committedBelow: Math.max(first, committed), lastWatermark: claim.watermark, generation, zombie: false };
      leases.set(partition, lease);
      logger.info({ partition, epoch: claim.epoch, watermark: claim.watermark, committed: lease.committedBelow, fetchedFrom: first }, 'partition claimed');
      if (claim.watermark + 1 < lease.committedBelow) {
        // Redis is behind what Kafka committed (it lost its last writes, or was emptied): apply
        // those records again; their outputs were published already and are not sent again.
        totals.rollbacks += 1;
        metrics.rollbacks.inc();
        logger.warn({ partition, watermark: claim.watermark, committed: lease.committedBelow }, 'redis is behind the committed offset; re-applying from its watermark');
        consumer().seek({ topic, partition, offset: String(claim.watermark + 1) });
        return;
      }
      if (first < lease.committedBelow) {
        // The batch starts before what the previous owner committed in the end: skip to it.
        consumer().seek({ topic, partition, offset: String(lease.committedBelow) });
        return;
      }
    }
    if (lease.zombie) {
      // Another consumer owns this partition now; wait for the group to tell us.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await heartbeat();
      return;
    }
    const failure = queue.failure(partition);
    if (failure) {
      // A transaction failed: rewind to it. Its operations, and those behind it, are applied in
      // Redis already; the replay re-sends their outputs from the outbox.
      await queue.drain(partition);
      queue.clearFailure(partition);
      if (failure.error instanceof FencedError) {
        lease.zombie = true;
        totals.zombieRefusals += 1;
        metrics.zombieRefusals.inc();
        logger.warn({ partition }, 'refused as a zombie: this consumer no longer owns the partition');
        return;
      }
      // The failed transaction's producer is gone; a new one settles that transaction (a commit
      // whose answer was lost may have gone through), and the committed offset read after it
      // says where the replay's re-sent outputs must start.
      if (!options.rebuild) {
        await publisher.acquire(partition);
        lease.committedBelow = Math.max(lease.committedBelow, await committedOffset(partition));
      }
      consumer().seek({ topic, partition, offset: String(Math.max(failure.offset, lease.committedBelow)) });
      return;
    }
    const started = Date.now();
    let outcome: Awaited<ReturnType<typeof processBatch>>;
    try {
      outcome = await processBatch(lease, batch.messages, batchContext);
    } catch (error) {
      if (error instanceof ZombieError) {
        lease.zombie = true;
        totals.zombieRefusals += 1;
        metrics.zombieRefusals.inc();
        logger.warn({ partition, err: error }, 'refused as a zombie: this consumer no longer owns the partition');
        return;
      }
      if (error instanceof StateLostError) {
        // Redis came back without its last writes: claim the partition again, which finds the
        // watermark behind the committed offset and re-applies from there (see the claim above).
        totals.rollbacks += 1;
        metrics.rollbacks.inc();
        logger.warn({ partition, err: error }, 'redis lost writes; claiming the partition again');
        await queue.drain(partition);
        leases.delete(partition);
        consumer().seek({ topic, partition, offset: String(lease.committedBelow) });
        return;
      }
      metrics.kafkaErrors.inc();
      logger.error({ err: error, partition, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset() }, 'batch failed; it will be retried');
      throw error;
    }
    resolveOffset(batch.lastOffset());
    const currentLease = lease;
    const done = outcome;
    await queue.enqueue(partition, {
      firstOffset: Number(batch.firstOffset()),
      nextOffset: done.lastOffset + 1,
      // A rebuild publishes nothing: the outputs were published when the records were first applied.
      publish: () => (options.rebuild ? Promise.resolve() : publisher.publish(partition, done.outputs, done.lastOffset + 1)),
      committed: async () => {
        const committedAt = Date.now();
        currentLease.committedBelow = Math.max(currentLease.committedBelow, done.lastOffset + 1);
        totals.batches += 1;
        const t = done.tally;
        metrics.batchRecords.observe(t.records);
        metrics.batchDuration.observe((committedAt - started) / 1000);
        metrics.records.inc(t.records);
        countOutputs(done.outputs);
        metrics.merged.inc(t.merged);
        metrics.pending.inc(t.pending);
        metrics.triggers.inc(t.triggers);
        metrics.duplicates.inc(t.duplicates);
        metrics.refusedRebinds.inc(t.refusedRebinds);
        metrics.expired.inc(t.expired);
        metrics.timersFired.inc(t.timersFired);
        metrics.deadLetters.inc(t.deadLetters);
        metrics.conflicts.inc(t.conflicts);
        metrics.replayed.inc(t.replayed);
        for (const [key, value] of Object.entries(done.tally)) {
          const t = totals as Record<string, number>;
          t[key] = key === 'largestMerge' ? Math.max(t[key] ?? 0, value) : (t[key] ?? 0) + value;
        }
        if (events.listenerCount('batch') > 0) {
          const event: BatchEvent = { partition, lastOffset: done.lastOffset, records: done.tally.records, outputs: done.outputs.length, startedAt: started, committedAt, largestMerge: done.tally.largestMerge };
          events.emit('batch', event);
        }
        logger.debug({ partition, records: done.tally.records, outputs: done.outputs.length, ms: committedAt - started }, 'batch committed');
        await done.afterCommit().catch((error: unknown) => logger.warn({ err: error, partition }, 'clean-up after commit failed; the expiries will catch it'));
      },
    });
    ticker.noteActivity(partition);
    await heartbeat();
  };

  // Listen before joining the group, so a taken port fails the start before any partition is taken.
  const health = buildHealthServer({ logger, ready: () => joined && redis.status === 'ready', extend: (app) => serveMetrics(app, registry) });
  let url = '';
  if (options.listen !== false) url = (await health.listen({ host: config.merger.host, port: config.merger.port })).replace('[::1]', '127.0.0.1');

  // Both planes count what they committed into the merger's metrics and totals, as the legacy
  // merger does for its batches.
  const countCommitted = (tally: Partial<Record<keyof ReturnType<typeof emptyTotals>, number>> & { records: number }, outputs: readonly EncodedOutput[]) => {
    metrics.batchRecords.observe(tally.records);
    metrics.records.inc(tally.records);
    countOutputs(outputs);
    metrics.merged.inc(tally.merged ?? 0);
    metrics.pending.inc(tally.pending ?? 0);
    metrics.triggers.inc(tally.triggers ?? 0);
    metrics.duplicates.inc(tally.duplicates ?? 0);
    metrics.refusedRebinds.inc(tally.refusedRebinds ?? 0);
    metrics.timersFired.inc(tally.timersFired ?? 0);
    metrics.deadLetters.inc(tally.deadLetters ?? 0);
    metrics.conflicts.inc(tally.conflicts ?? 0);
    metrics.replayed.inc(tally.replayed ?? 0);
    metrics.movedLate.inc(tally.movedLate ?? 0);
    metrics.timersHandedOver.inc(tally.timersHandedOver ?? 0);
    metrics.pendingRead.inc(tally.pendingRead ?? 0);
    metrics.pendingMissing.inc(tally.pendingMissing ?? 0);
    if (tally.pendingReadMs) metrics.pendingReadSeconds.observe(tally.pendingReadMs / 1000);
    const t = totals as Record<string, number>;
    t.batches = (t.batches ?? 0) + 1;
    for (const key of ['records', 'merged', 'pending', 'triggers', 'duplicates', 'refusedRebinds', 'timersFired', 'deadLetters', 'conflicts', 'replayed', 'missingOutbox', 'movedLate', 'timersHandedOver', 'pendingRead', 'pendingMissing', 'pendingReadMs'] as const) t[key] = (t[key] ?? 0) + (tally[key] ?? 0);
  };

  dataPlane = ordered
    ? await startDataPlane({
        consumer,
        admin,
        publisher: options.rebuild ? publishingNothing : publisher,
        logger,
        groupId: config.merger.groupId,
        topic,
        commandsTopic: config.topics.commands,
        personOpsTopic: config.topics.personOps,
        personOrderTopic: config.topics.personOrder,
        context: { store, entities, catalog, logger, reorderMs: config.merger.reorderMs, now: Date.now, readPending: readAhead ? readAhead.read : (partition, offsets) => pendingReader.read(topic, partition, offsets), pendingPointers: config.merger.pendingPointers },
        maxHeldInbound: config.merger.maxHeldInbound,
        progress: new PartitionProgress(redis, store.keys, topic, [topic, config.topics.commands]),
        ticker,
        clockTicker: clockTicker ?? undefined,
        fromBeginning: config.merger.fromBeginning,
        generation: () => generation,
        metadataMaxAgeMs: config.kafka.metadataMaxAgeMs,
        onHeld: (partition, inbound, commands) => {
          metrics.held.set({ partition: String(partition), log: 'inbound' }, inbound);
          metrics.held.set({ partition: String(partition), log: 'commands' }, commands);
        },
        onCommitted: (tally, outputs, partition, lastOffset, batchTopic) => {
          countCommitted(tally, outputs);
          if (events.listenerCount('batch') > 0) {
            const now = Date.now();
            const event: BatchEvent = { topic: batchTopic, partition, lastOffset, records: tally.records, outputs: outputs.length, startedAt: now, committedAt: now, largestMerge: 0 };
            events.emit('batch', event);
          }
        },
      })
    : null;

  // The person-operations control plane (docs/design-person-operations.md).
  const control =
    ordered
      ? await startControlConsumer({
          kafka,
          admin,
          catalog,
          store: new ControlStore(redis, new KeySpace(config.merger.redisKeyPrefix)),
          logger: logger.child({ plane: 'control' }),
          groupId: config.merger.groupId,
          personOpsTopic: config.topics.personOps,
          commandsTopic: config.topics.commands,
          inbound: { topic, ticker, readAhead: readAhead ?? undefined },
          reorderMs: config.merger.reorderMs,
          tickIntervalMs: config.merger.controlTickIntervalMs,
          partitionsConcurrently: config.merger.partitionsConcurrently,
          sessionTimeoutMs: config.merger.sessionTimeoutMs,
          metadataMaxAgeMs: config.kafka.metadataMaxAgeMs,
          rebuild: options.rebuild,
          progress: new PartitionProgress(redis, store.keys, config.topics.personOps, [config.topics.personOps]),
          onTransaction: () => metrics.transactions.inc({ consumer: 'control' }),
          onCommitted: (tally, outputs, partition, lastOffset) => {
            countCommitted(tally, outputs);
            events.emit('control-batch', { partition, lastOffset });
          },
        })
      : null;

  // A person's merged events, from several partitions, written in the model's order.
  const orderStage =
    ordered && !options.rebuild
      ? await startOrderStage({
          kafka,
          admin,
          catalog,
          logger: logger.child({ stage: 'order' }),
          groupId: config.merger.groupId,
          personOrderTopic: config.topics.personOrder,
          inboundTopic: topic,
          reorderMs: config.merger.reorderMs,
          ticker,
          maxHeld: config.merger.orderMaxHeld,
          partitionsConcurrently: config.merger.partitionsConcurrently,
          sessionTimeoutMs: config.merger.sessionTimeoutMs,
          metadataMaxAgeMs: config.kafka.metadataMaxAgeMs,
          onTransaction: () => metrics.transactions.inc({ consumer: 'order' }),
          onCommitted: (_tally, outputs, partition, lastOffset) => {
            countOutputs(outputs);
            events.emit('order-batch', { partition, lastOffset });
          },
        })
      : null;

  await consumers.start();

  const summary = setInterval(() => logger.info({ totals }, 'merger totals'), 30000);
  summary.unref();
  // Lag and pending timers of the partitions this process owns, sampled for /metrics.
  const sampler = setInterval(() => {
    void (async () => {
      const owned = [...leases.keys()];
      if (owned.length === 0) return;
      const [ends, at] = await Promise.all([admin.fetchTopicOffsets(topic), fetchCommittedOffsets(admin, config.merger.groupId, topic)]);
      metrics.lag.reset();
      metrics.timersPending.reset();
      for (const partition of owned) {
        const end = Number(ends.find((e) => e.partition === partition)?.high ?? 0);
        metrics.lag.set({ partition: String(partition) }, Math.max(0, end - Math.max(0, at.get(partition) ?? 0)));
        metrics.timersPending.set({ partition: String(partition) }, await redis.zcard(new KeySpace(config.merger.redisKeyPrefix).partition(topic, partition).timers));
      }
    })().catch((error: unknown) => logger.debug({ err: error }, 'sampling lag failed'));
  }, 10000);
  sampler.unref();

  logger.info({ group: config.merger.groupId, topic, url }, 'merger consuming');

  const closeSteps: CloseStep[] = [
    // Stops fetching and waits for the batches in progress, then for their transactions.
    { name: 'consumer', close: () => consumers.stop() },
    { name: 'control plane', close: async () => control?.close() },
    { name: 'data plane', close: async () => dataPlane?.close() },
    // After both planes: their last transactions' merged events are read and sent if released.
    { name: 'order stage', close: async () => orderStage?.close() },
    { name: 'queued transactions', close: () => queue.drain() },
    { name: 'ticker', close: () => ticker.stop() },
    { name: 'control clock ticker', close: async () => clockTicker?.stop() },
    { name: 'transactional producers', close: () => publisher.close() },
    // Before the reader and Redis it uses: no read ahead is left running against them.
    { name: 'read ahead', close: async () => readAhead?.close() },
    { name: 'pending reader', close: () => pendingReader.close() },
    { name: 'redis', close: () => redis.quit() },
    { name: 'admin', close: () => admin.disconnect() },
    { name: 'health server', close: () => health.close() },
    { name: 'summary', close: async () => clearInterval(summary) },
    { name: 'sampler', close: async () => clearInterval(sampler) },
  ];
  return {
    closeSteps,
    totals,
    url,
    events,
    close: (() => {
      let closing: Promise<void> | null = null;
      // Idempotent: a second close waits for the first.
      return () =>
        (closing ??= (async () => {
          for (const step of closeSteps) await step.close();
        })());
    })(),
  };
}
