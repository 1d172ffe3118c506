/**
 * Follows the workspaces log (docs/design-workspaces.md): reads the whole topic from its start,
 * then every change as it is committed, folds it (fold.ts) and hands what is in force to
 * `apply` — at once, and again whenever a change scheduled ahead comes into force or a key's
 * revocation time passes.
 *
 * Every replica reads everything: a consumer group of its own (a unique id, never committed), so
 * that replicas do not share the one partition out. `caughtUp` resolves once the records below
 * the high watermark seen at start have been folded: until then a service is not ready, rather
 * than answering with no workspaces.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SchemaResolutionError, type SchemaCatalog } from '../avro/catalog';
import { settledTopicOffsets } from '../kafka/topicOffsets';
import type { WorkspaceChange } from '../generated/workspaceTypes';
import type { Logger } from '../logger';
import { emptyHistory, foldEntries, inForce, nextChangeAfter, type WorkspaceHistory, type WorkspaceLogEntry } from './fold';

export interface FollowerOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly catalog: SchemaCatalog;
  readonly topic: string;
  readonly groupPrefix: string;
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** Called with each workspace's change in force, whenever that may have changed. */
  readonly apply: (inForce: ReadonlyMap<string, WorkspaceChange>) => void;
  readonly now?: () => number;
  /** Bytes fetched per request (kafkajs' default, 1 MiB, unless a test makes each fetch one record batch). */
  readonly maxBytesPerPartition?: number;
}

// A timer further out than this is set again when it fires: setTimeout's limit is ~24.8 days.
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;
const RESTART_DELAY_MS = 1000;

export class WorkspacesFollower {
  private history: WorkspaceHistory = emptyHistory();
  private consumer: Consumer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ready = false;
  private stopped = false;
  private readonly now: () => number;
  private readonly versionGauge?: Gauge;
  private readonly offsetGauge?: Gauge;
  private readonly skipped?: Counter;
  private resolveCaughtUp: () => void = () => undefined;
  /** Resolves once the log as it was at start has been folded and applied. */
  readonly caughtUp: Promise<void>;

  constructor(private readonly options: FollowerOptions) {
    this.now = options.now ?? Date.now;
    this.caughtUp = new Promise((resolve) => {
      this.resolveCaughtUp = resolve;
    });
    if (options.metrics) {
      this.versionGauge = new Gauge({ name: 'anonmerge_workspaces_version', help: 'The version of each workspace in force on this replica', labelNames: ['workspace'], registers: [options.metrics] });
      this.offsetGauge = new Gauge({ name: 'anonmerge_workspaces_log_offset', help: 'The next offset of the workspaces log this replica will read', registers: [options.metrics] });
      this.skipped = new Counter({ name: 'anonmerge_workspaces_records_skipped_total', help: 'Workspaces log records skipped because their bytes do not decode', registers: [options.metrics] });
    }
  }

  /** Every version read so far, in force or not (the seed and the admin writer number new ones from it). */
  get writtenSoFar(): WorkspaceHistory {
    return this.history;
  }

  get isCaughtUp(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    // Read once its leader answers: the admin API or a service may start right after the topic was
    // created, when ListOffsets can still answer "not the leader" for a moment.
    const [end] = await settledTopicOffsets(this.options.admin, this.options.topic);
    const highWater = Number(end?.high ?? 0);
    if (highWater === 0) this.markCaughtUp();
    await this.consume(highWater);
  }

  /**
   * A consumer reading the topic from its start. Unique and never committed: an empty group with
   * no offsets is dropped by the broker. Folding a record again is harmless (the same version
   * under the same key), so a consumer started again after a crash simply re-reads.
   */
  private async consume(highWater: number): Promise<void> {
    const { kafka, topic, logger } = this.options;
    const groupId = `${this.options.groupPrefix}.workspaces.${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false, ...(this.options.maxBytesPerPartition ? { maxBytesPerPartition: this.options.maxBytesPerPartition, maxBytes: this.options.maxBytesPerPartition } : {}) });
    this.consumer = consumer;
    // Caught up once the position passes the high watermark seen at start. Told by kafkajs' batch
    // events rather than by the records handed over: a transaction's commit or abort marker can be
    // the log's last offset, and kafkajs reports a batch of markers only through these events.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic && Number(payload.lastOffset) + 1 >= highWater) this.markCaughtUp();
    });
    // A follower that stopped would leave revocations and disables unapplied while the service
    // went on: a consumer kafkajs gives up on is replaced (from the start, as above).
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ topic, group: groupId, err: payload.error, restart: payload.restart }, 'the workspaces log follower crashed');
      if (payload.restart || this.stopped) return;
      const again = setTimeout(() => {
        void consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => (this.stopped ? undefined : this.consume(highWater)))
          .catch((error: unknown) => logger.error({ topic, err: error }, 'the workspaces log follower could not start again; trying later'));
      }, RESTART_DELAY_MS);
      again.unref();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const entries: WorkspaceLogEntry[] = [];
        for (const message of batch.messages) {
          const key = message.key?.toString('utf8') ?? '';
          const decoded = await this.decode(message.value);
          if (decoded === 'undecodable') {
            // Bytes that will never decode: skipped, so that one bad record does not keep every
            // later change from the replicas. Counted, and logged with where it is.
            this.skipped?.inc();
            logger.error({ topic, offset: message.offset, key: JSON.stringify(key) }, 'a workspaces log record does not decode; skipped');
            continue;
          }
          entries.push({ key, change: decoded });
        }
        const folded = foldEntries(this.history, entries);
        for (const problem of folded.refused) logger.error({ topic, problem }, 'a workspaces log record was refused');
        this.history = folded.history;
        this.offsetGauge?.set(Number(batch.lastOffset()) + 1);
        this.applyNow();
        await heartbeat();
      },
    });
  }

  /**
   * A record's change, null for a tombstone, or 'undecodable' for bytes that are not a record.
   * A writer schema the registry cannot give now (unreachable, mid-upgrade) is thrown instead:
   * kafkajs retries the batch, rather than a revocation being skipped for good.
   */
  private async decode(value: Buffer | null): Promise<WorkspaceChange | null | 'undecodable'> {
    if (value === null) return null;
    try {
      return await this.options.catalog.decode<WorkspaceChange>('workspaces', value);
    } catch (error) {
      if (error instanceof SchemaResolutionError) throw error;
      return 'undecodable';
    }
  }

  private markCaughtUp(): void {
    if (this.ready) return;
    this.ready = true;
    this.options.logger.info({ workspaces: this.history.size }, 'workspaces log read to its end');
    this.resolveCaughtUp();
  }

  /** Hands over what is in force now, and sets the timer for the next change due by itself. */
  private applyNow(): void {
    const now = this.now();
    const current = inForce(this.history, now);
    this.options.apply(current);
    this.versionGauge?.reset();
    for (const [workspace, change] of current) this.versionGauge?.set({ workspace }, change.version);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const due = nextChangeAfter(this.history, now);
    if (due !== null) {
      this.timer = setTimeout(() => this.applyNow(), Math.min(Math.max(due - now, 0) + 1, MAX_TIMER_MS));
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.consumer?.disconnect();
  }
}
