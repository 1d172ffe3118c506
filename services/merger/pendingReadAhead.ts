/**
 * Reads a bind's pending events while its identify waits in the control plane's hold, so that the
 * data step which merges them finds their bodies already here (docs/design-pending-pointers.md,
 * "Read ahead").
 *
 * An identify is read by the control plane about L (the reorder bound) before its bind command
 * reaches the data partition; reading the pending events back from the inbound log then is the
 * largest and most variable part of the merge's own step. So when the control plane first holds
 * an identify with an anonymous id, and the id's data partition is owned by this process, the
 * id's pointers are loaded from Redis (read only) and their records fetched into a bounded cache
 * (kafka/readAheadCache.ts). The data step reads through `read`: what was read ahead, waiting
 * for a read ahead still under way that holds some of its offsets, then the rest from the log.
 *
 * Nothing decided depends on it: a committed record's body at an offset never changes, and the
 * step asks for exactly the offsets its own load of the state names. A read ahead that fails, is
 * skipped (too many pointers, too many under way, partition owned elsewhere) or comes late only
 * leaves the step to read what it needs itself.
 */
import { keyPartition } from '../shared/kafka/keyPartition';
import type { Logger } from '../shared/logger';
import type { InboundRecord } from '../shared/model/inbound';
import { anonymousKey } from '../shared/model/keys';
import { untilOrDeadline, withResolvers } from '../shared/waiting';
import type { OrderedLoadRequest, LoadedOrdered } from './redis/orderedEntityStore';
import type { ReadOffsets } from './pendingBodies';
import type { ReadAheadCache } from './kafka/readAheadCache';

/** An identify the control plane holds: the bind it will likely become. */
export interface HeldBind {
  /** The identify record's id: one read ahead per identify, however many batches it is held over. */
  readonly id: string;
  readonly workspace: string;
  readonly anonymousId: string;
  /** The data partition its command goes to. */
  readonly partition: number;
  /** Pointers received before this are dropped by the bind (its retention), not read. */
  readonly cutoff: number;
}

/**
 * The bind a held person operation will likely become: an identify with an anonymous id, in a
 * workspace that merges. Its command goes to the partition its anonymous id is keyed to.
 */
export function heldBindOf(record: InboundRecord, inboundPartitions: number): HeldBind | null {
  if (record.command.kind !== 'identify' || record.command.body.anonymous_id === null || !record.settings.merge_enabled) return null;
  const anonymousId = record.command.body.anonymous_id;
  return {
    id: record.id,
    workspace: record.workspace_id,
    anonymousId,
    partition: keyPartition(anonymousKey(record.workspace_id, anonymousId), inboundPartitions),
    cutoff: record.received_at - record.settings.retention_seconds * 1000,
  };
}

export interface PendingReadAheadOptions {
  readonly load: (requests: readonly OrderedLoadRequest[]) => Promise<LoadedOrdered[]>;
  readonly readOffsets: ReadOffsets;
  readonly cache: ReadAheadCache;
  /** Whether this process owns the data partition (a read ahead elsewhere would be wasted). */
  readonly owns: (partition: number) => boolean;
  /** An id with more pointers than this is left to its step (which reads it in bounded runs). */
  readonly maxPointers: number;
  /** Reads ahead under way at once; more are skipped. */
  readonly maxConcurrent: number;
  readonly logger: Logger;
  /** Offsets a step was handed from the cache (for the merger's totals and metrics). */
  readonly onServed?: (offsets: number) => void;
  /**
   * The longest a step waits for a read ahead still under way before it reads for itself: a read
   * ahead stuck on a slow broker must not add its own deadline to the step's.
   */
  readonly maxWaitMs: number;
  readonly now?: () => number;
}

/** Identify ids remembered as read ahead, so a held identify is read ahead once. */
const REMEMBERED_IDS = 10_000;

/**
 * A read ahead under way, as a step sees it: while the id's pointers are being loaded, which
 * offsets it will read is not known yet (`offsets` null), so a step of its partition waits for the
 * load (a Redis round trip); then it waits only if it wants some of the offsets being read.
 */
interface UnderWay {
  readonly partition: number;
  offsets: ReadonlySet<number> | null;
  /** The pointers are loaded (or the read ahead gave up): `offsets` is what it reads, or null for nothing. */
  readonly loaded: Promise<void>;
  readonly done: Promise<void>;
}

const RESOLVED = Promise.resolve();

export class PendingReadAhead {
  private readonly asked = new Set<string>();
  private readonly underWay = new Set<UnderWay>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: PendingReadAheadOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts reading `bind`'s pending events ahead, if it is worth it here; never throws. */
  ahead(bind: HeldBind): void {
    if (this.closed || this.asked.has(bind.id)) return;
    this.remember(bind.id);
    if (!this.options.owns(bind.partition) || this.running.size >= this.options.maxConcurrent) return;
    // Registered before the first await: a step of this partition that starts meanwhile waits.
    const loaded = withResolvers();
    const done = withResolvers();
    const loading: UnderWay = { partition: bind.partition, offsets: null, loaded: loaded.promise, done: done.promise };
    this.underWay.add(loading);
    const running: Promise<void> = this.readAhead(bind, loading, loaded.resolve, done.resolve)
      .catch((error: unknown) => this.options.logger.warn({ err: error, workspace: bind.workspace, partition: bind.partition }, "reading a bind's pending events ahead failed: its step reads them itself"))
      .finally(() => {
        this.underWay.delete(loading);
        loaded.resolve();
        done.resolve();
        this.running.delete(running);
      });
    this.running.add(running);
  }

  /**
   * The data step's ReadOffsets: bodies read ahead (waiting, at most `maxWaitMs`, for a read
   * ahead under way that may hold some of `offsets`), then the rest from the log.
   */
  readonly read: ReadOffsets = async (partition, offsets) => {
    // Those under way now (one look: a step does not wait for reads ahead that start after it).
    const relevant = [...this.underWay].filter((read) => read.partition === partition);
    if (relevant.length > 0) {
      const waited = Promise.all(
        relevant.map(async (read) => {
          if (read.offsets === null) await read.loaded;
          const wanted = read.offsets;
          if (wanted !== null && offsets.some((offset) => wanted.has(offset))) await read.done;
        }),
      );
      await untilOrDeadline(waited, Date.now() + this.options.maxWaitMs);
    }
    const cached = this.options.cache.take(partition, offsets, this.now());
    if (cached.size > 0) this.options.onServed?.(cached.size);
    const rest = cached.size === 0 ? offsets : offsets.filter((offset) => !cached.has(offset));
    if (rest.length === 0) return { values: new Map<number, Buffer | null>(cached), missing: [] };
    const fetched = await this.options.readOffsets(partition, rest);
    for (const [offset, value] of cached) fetched.values.set(offset, value);
    return fetched;
  };

  /** Starts no more reads ahead and waits for those under way (each bounded by the reader's deadline). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running]);
  }

  /**
   * Loads the id's pointers, then reads them per partition into the cache. `loading` stands for
   * the read of the bind's own partition: `markLoaded` once its offsets are known, `markRead`
   * once they are read (a step of that partition does not wait for the others).
   */
  private async readAhead(bind: HeldBind, loading: UnderWay, markLoaded: () => void, markRead: () => void): Promise<void> {
    const [loaded] = await this.options.load([{ entity: { kind: 'anonymous', workspace: bind.workspace, anonymousId: bind.anonymousId }, ids: [], withPending: true, outbox: [] }]);
    const byPartition = new Map<number, number[]>();
    let pointers = 0;
    for (const entry of loaded?.storedPending ?? []) {
      if (entry.kind !== 'pointer' || entry.receivedAt < bind.cutoff) continue;
      pointers += 1;
      let offsets = byPartition.get(entry.partition);
      if (!offsets) byPartition.set(entry.partition, (offsets = []));
      offsets.push(entry.offset);
    }
    if (this.closed || pointers === 0 || pointers > this.options.maxPointers) return;
    loading.offsets = new Set(byPartition.get(bind.partition) ?? []);
    markLoaded();
    // Settled, not failed fast: the read ahead counts as running until every read of it is done.
    const reads = await Promise.allSettled(
      [...byPartition].map(async ([partition, offsets]) => {
        const finished = withResolvers();
        const home = partition === bind.partition;
        const read: UnderWay | null = home ? null : { partition, offsets: new Set(offsets), loaded: RESOLVED, done: finished.promise };
        if (read) this.underWay.add(read);
        try {
          const { values } = await this.options.readOffsets(partition, offsets);
          const now = this.now();
          for (const [offset, value] of values) if (value) this.options.cache.put(partition, offset, value, now);
        } finally {
          if (read) this.underWay.delete(read);
          if (home) markRead();
          else finished.resolve();
        }
      }),
    );
    const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private remember(id: string): void {
    this.asked.add(id);
    if (this.asked.size > REMEMBERED_IDS) {
      const oldest = this.asked.values().next().value;
      if (oldest !== undefined) this.asked.delete(oldest);
    }
  }
}
