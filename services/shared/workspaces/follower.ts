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
import { Gauge, type Registry } from 'prom-client';
import type { SchemaCatalog } from '../avro/catalog';
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
}

// A timer further out than this is set again when it fires: setTimeout's limit is ~24.8 days.
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

export class WorkspacesFollower {
  private history: WorkspaceHistory = emptyHistory();
  private consumer: Consumer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ready = false;
  private readonly now: () => number;
  private readonly versionGauge?: Gauge;
  private readonly offsetGauge?: Gauge;
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
    const { kafka, admin, topic, logger } = this.options;
    const [end] = await admin.fetchTopicOffsets(topic);
    const highWater = Number(end?.high ?? 0);
    if (highWater === 0) this.markCaughtUp();
    // Unique and never committed: an empty group with no offsets is dropped by the broker.
    const consumer = kafka.consumer({ groupId: `${this.options.groupPrefix}.workspaces.${randomUUID()}`, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const entries: WorkspaceLogEntry[] = [];
        for (const message of batch.messages) {
          const key = message.key?.toString('utf8') ?? '';
          try {
            entries.push({ key, change: message.value === null ? null : await this.options.catalog.decode<WorkspaceChange>('workspaces', message.value) });
          } catch (error) {
            // Skipped, not fatal: one bad record must not keep every workspace from its replicas.
            logger.error({ offset: message.offset, key: JSON.stringify(key), err: error }, 'a workspaces log record does not decode; skipped');
          }
        }
        const folded = foldEntries(this.history, entries);
        for (const problem of folded.refused) logger.error({ problem }, 'a workspaces log record was refused');
        this.history = folded.history;
        const next = Number(batch.lastOffset()) + 1;
        this.offsetGauge?.set(next);
        this.applyNow();
        if (!this.ready && next >= highWater) this.markCaughtUp();
        await heartbeat();
      },
    });
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
    if (this.timer) clearTimeout(this.timer);
    await this.consumer?.disconnect();
  }
}
