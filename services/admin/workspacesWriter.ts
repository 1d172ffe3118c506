/**
 * The one writer of the workspaces log (docs/design-workspaces.md, "One writer"). Kafka has no
 * compare-and-set, so two writers of version N+1 would fork a workspace's history: the writer
 * uses a transactional producer of a fixed id, and starting one fences the one before (Kafka
 * refuses the older producer's next transaction). It reads the log to its end before it takes a
 * request, decides each request on the latest version (workspaceRequests.ts), refuses one made
 * against an older version (If-Match), writes the new version in a transaction, and answers once
 * its own follower has read it back, so the next request is decided on it.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { WorkspaceChange } from '../shared/generated/workspaceTypes';
import type { Logger } from '../shared/logger';
import { changeKey, latestVersion } from '../shared/workspaces/fold';
import { WorkspacesFollower } from '../shared/workspaces/follower';
import { decideRequest, type RequestContext, type RequestOutcome, type WorkspaceRequest } from './workspaceRequests';

export interface WriterOptions {
  readonly kafka: Kafka;
  readonly catalog: SchemaCatalog;
  readonly topic: string;
  /** Fixed per deployment: a writer started with it fences every earlier one. */
  readonly transactionalId: string;
  readonly logger: Logger;
}

/** A request refused because another writer took over: the caller answers 503 and this writer stops. */
export class WriterFencedError extends Error {
  override name = 'WriterFencedError';
}

const READ_BACK_TIMEOUT_MS = 10_000;
const SEND_TIMEOUT_MS = 10_000;

export type WriteOutcome = RequestOutcome | { readonly ok: false; readonly status: 409; readonly problems: readonly string[]; readonly currentVersion: number };

export class WorkspacesWriter {
  private producer: Producer | null = null;
  private follower: WorkspacesFollower | null = null;
  private admin: ReturnType<Kafka['admin']> | null = null;
  /** Requests one at a time: each is decided on the version the previous one wrote. */
  private queue: Promise<unknown> = Promise.resolve();
  private fenced = false;

  constructor(private readonly options: WriterOptions) {}

  async start(): Promise<void> {
    const { kafka, catalog, topic, logger, transactionalId } = this.options;
    // The producer first: its InitProducerId fences the previous writer before the log is read,
    // so nothing that writer still sends can land after what this one reads.
    this.producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    await this.producer.transaction().then((transaction) => transaction.abort());
    this.admin = kafka.admin();
    await this.admin.connect();
    this.follower = new WorkspacesFollower({ kafka, admin: this.admin, catalog, topic, groupPrefix: 'anonmerge-admin', logger, apply: () => undefined });
    await this.follower.start();
    await this.follower.caughtUp;
  }

  /** The latest version of a workspace, in force or not yet (a request is decided on it). */
  latest(workspaceId: string): WorkspaceChange | null {
    const versions = this.follower?.writtenSoFar.get(workspaceId);
    const version = this.follower ? latestVersion(this.follower.writtenSoFar, workspaceId) : 0;
    return versions?.get(version) ?? null;
  }

  /** Every workspace's latest version. */
  all(): WorkspaceChange[] {
    return [...(this.follower?.writtenSoFar.keys() ?? [])].map((id) => this.latest(id)).filter((change): change is WorkspaceChange => change !== null);
  }

  /** Every version of a workspace, oldest first: the audit trail. */
  history(workspaceId: string): WorkspaceChange[] {
    return [...(this.follower?.writtenSoFar.get(workspaceId)?.values() ?? [])].sort((a, b) => a.version - b.version);
  }

  /** Decides and writes one request. `ifMatch`: the version the operator saw (null: none given). */
  write(workspaceId: string, ifMatch: number | null, request: WorkspaceRequest, ctx: RequestContext): Promise<WriteOutcome> {
    const run = this.queue.then(() => this.writeNow(workspaceId, ifMatch, request, ctx));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeNow(workspaceId: string, ifMatch: number | null, request: WorkspaceRequest, ctx: RequestContext): Promise<WriteOutcome> {
    if (this.fenced || !this.producer) throw new WriterFencedError('this admin writer was replaced by another one');
    const latest = this.latest(workspaceId);
    const currentVersion = latest?.version ?? 0;
    if (ifMatch !== null && ifMatch !== currentVersion) {
      return { ok: false, status: 409, problems: [`workspace ${workspaceId} is at version ${currentVersion}, not ${ifMatch}: read it again`], currentVersion };
    }
    const outcome = decideRequest(latest, request, ctx);
    if (!outcome.ok) return outcome;
    const transaction = await this.producer.transaction();
    try {
      await transaction.send({ topic: this.options.topic, acks: -1, timeout: SEND_TIMEOUT_MS, messages: [{ key: changeKey(workspaceId, outcome.change.version), value: this.options.catalog.encode('workspaces', outcome.change) }] });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      const type = (error as { type?: string }).type ?? '';
      if (type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED' || type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED') {
        this.fenced = true;
        this.options.logger.error({ workspace: workspaceId, err: error }, 'this admin writer was fenced by a newer one; it takes no more requests');
        throw new WriterFencedError('this admin writer was replaced by another one');
      }
      throw error;
    }
    await this.readBack(workspaceId, outcome.change.version);
    return outcome;
  }

  /** Until the follower has folded the version just written (or the deadline passes: then thrown). */
  private async readBack(workspaceId: string, version: number): Promise<void> {
    const deadline = Date.now() + READ_BACK_TIMEOUT_MS;
    while (latestVersion(this.follower?.writtenSoFar ?? new Map(), workspaceId) < version) {
      if (Date.now() > deadline) throw new Error(`version ${version} of workspace ${workspaceId} was written but not read back within ${READ_BACK_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
    await this.admin?.disconnect();
    await this.producer?.disconnect();
  }
}
