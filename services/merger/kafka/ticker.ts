/**
 * Time passing, written into the log. Grace timers fire at the first record received after the
 * window end plus the lateness; on a quiet partition no such record would come, so the merger
 * writes a Tick to each partition it owns that has seen nothing for a while. Because ticks are
 * records, a replay fires timers at exactly the same places.
 *
 * The two-plane consumers also ask for a tick at a given time (`tickAt`): a record received at t
 * is decided once its partition shows one received at t + L, so a tick written then releases it
 * without waiting for the next periodic one. The control plane (for a person operation it holds)
 * and the order stage ask it of partitions this process may not own (`setPartitionCount`): a
 * merge waits for every data partition's clock. "Quiet" is measured on what the partition showed
 * (`noteReceived`: the highest received_at read), or on when it last delivered records
 * (`noteActivity`, the legacy merger).
 *
 * The person-ops partitions (the control clocks) are ticked only when asked: a control clock
 * matters only to a data partition holding something of a workspace on that partition — an item,
 * or a window to end — and the data plane asks for it then (docs/design-person-operations.md,
 * "Ticks when due"). Nothing else writes there, so an ask for a time already past is met by a
 * tick now (`pastAsks: 'now'`), where an inbound ask that old is covered by ticks already in the
 * log of a consumer catching up.
 */
import type { Kafka, Producer } from 'kafkajs';
import { ulid } from 'ulid';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { Logger } from '../../shared/logger';
import { toWire } from '../../shared/model/inbound';

export interface TickerOptions {
  readonly now?: () => number;
  /** The stream whose schema the ticks are written with (inbound, or person-ops). */
  readonly stream?: 'inbound' | 'personOps';
  /** An ask for a time more than an interval past: 'covered' (the log has ticks after it already), or 'now' (a tick now). */
  readonly pastAsks?: 'covered' | 'now';
  /** Asked-for ticks of one partition at least this far apart (the data plane asks after every batch). */
  readonly minSpacingMs?: number;
  /**
   * The same for a partition this ticker does not own (`setPartitionCount`): nothing tells it
   * whether that one is quiet, so every ask is written — this bounds how often.
   */
  readonly foreignSpacingMs?: number;
}

export class Ticker {
  private producer: Producer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private partitions: number[] = [];
  private readonly lastSeen = new Map<number, number>();
  /** Per partition, when this ticker last wrote a tick there (wall time). */
  private readonly lastWritten = new Map<number, number>();
  private readonly now: () => number;
  private readonly stream: 'inbound' | 'personOps';
  private readonly pastAsks: 'covered' | 'now';
  private readonly minSpacingMs: number;
  private readonly foreignSpacingMs: number;
  /** Asks may name any partition below this, owned here or not (0: only the owned ones). */
  private partitionCount = 0;
  /** Per partition, the one-off tick asked for, when it is due, and its timer. */
  private readonly wanted = new Map<number, { at: number; due: number; timer: NodeJS.Timeout }>();
  /** Tick ids: unique per process by a counter (a ULID per tick cost more than the tick itself). */
  private readonly idPrefix = `tick-${ulid()}-`;
  private ticks = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly catalog: SchemaCatalog,
    private readonly topic: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    options: TickerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.stream = options.stream ?? 'inbound';
    this.pastAsks = options.pastAsks ?? 'covered';
    this.minSpacingMs = options.minSpacingMs ?? 0;
    this.foreignSpacingMs = options.foreignSpacingMs ?? this.minSpacingMs;
  }

  /** `periodic` false: only the ticks asked for with tickAt. */
  async start(periodic = true): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    if (!periodic) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** The partitions owned here: ticked when quiet (`start(true)`), and asked for. */
  setPartitions(partitions: number[]): void {
    this.partitions = partitions;
  }

  /**
   * Asks may name any partition of the topic's `count`, owned here or not: a merge waits for every
   * data partition's clock (any process may tick any partition).
   */
  setPartitionCount(count: number): void {
    this.partitionCount = count;
  }

  /** A partition that just delivered records needs no tick. */
  noteActivity(partition: number): void {
    this.lastSeen.set(partition, this.now());
  }

  /** The partition showed a record received at `receivedAt`: no tick is needed before it is `intervalMs` old. */
  noteReceived(partition: number, receivedAt: number): void {
    if (receivedAt > (this.lastSeen.get(partition) ?? Number.NEGATIVE_INFINITY)) this.lastSeen.set(partition, receivedAt);
  }

  /**
   * One tick on `partition` received at `at` or later, unless it has shown a record received by
   * then; written at `at`, or as soon as `minSpacingMs` after the last one allows. One ask is
   * outstanding per partition (the earliest wins): the consumers ask again after each batch.
   * Asks due together are written in one request, so that one fetch of the consumer reads them
   * all and its partitions go on side by side.
   */
  tickAt(partition: number, at: number): void {
    if (!this.producer || (this.lastSeen.get(partition) ?? Number.NEGATIVE_INFINITY) >= at) return;
    // Long past: the periodic ticks (or other records) already in the log cover it, and the
    // consumer has simply not read that far yet (it is catching up).
    if (this.pastAsks === 'covered' && at < this.now() - this.intervalMs) return;
    const current = this.wanted.get(partition);
    if (current && current.at <= at) return;
    if (current) clearTimeout(current.timer);
    const spacing = this.partitions.includes(partition) ? this.minSpacingMs : this.foreignSpacingMs;
    const due = Math.max(at, (this.lastWritten.get(partition) ?? Number.NEGATIVE_INFINITY) + spacing);
    const timer = setTimeout(() => this.writeDue(due), Math.max(0, due - this.now()));
    timer.unref();
    this.wanted.set(partition, { at, due, timer });
  }

  /** Writes every ask due by `due` (or by now), in one request. */
  private writeDue(due: number): void {
    const horizon = Math.max(due, this.now());
    const partitions: number[] = [];
    let notBefore = Number.NEGATIVE_INFINITY;
    for (const [partition, ask] of this.wanted) {
      if (ask.due > horizon) continue;
      clearTimeout(ask.timer);
      this.wanted.delete(partition);
      if ((this.lastSeen.get(partition) ?? Number.NEGATIVE_INFINITY) >= ask.at || !this.mayTick(partition)) continue;
      partitions.push(partition);
      notBefore = Math.max(notBefore, ask.at);
    }
    if (partitions.length > 0) void this.write(partitions, notBefore);
  }

  private mayTick(partition: number): boolean {
    return partition < this.partitionCount || this.partitions.includes(partition);
  }

  private async tick(): Promise<void> {
    const now = this.now();
    const quiet = this.partitions.filter((p) => now - (this.lastSeen.get(p) ?? 0) >= this.intervalMs);
    if (quiet.length > 0) await this.write(quiet);
  }

  /** Ticks stamped now (never before `notBefore`: a timer may fire a little early). */
  private async write(quiet: number[], notBefore = Number.NEGATIVE_INFINITY): Promise<void> {
    if (!this.producer) return;
    const now = Math.max(this.now(), notBefore);
    const value = (receivedAt: number) =>
      this.catalog.encode(this.stream, toWire({ workspace_id: '', id: `${this.idPrefix}${(this.ticks += 1)}`, received_at: receivedAt, settings: { merge_enabled: false, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 }, command: { kind: 'tick', body: {} } }));
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: quiet.map((partition) => ({ partition, key: 'tick', value: value(now) })) });
      for (const p of quiet) {
        this.lastSeen.set(p, now);
        this.lastWritten.set(p, now);
      }
    } catch (error) {
      this.logger.warn({ err: error, partitions: quiet }, 'writing ticks failed; timers on quiet partitions wait for the next');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const { timer } of this.wanted.values()) clearTimeout(timer);
    this.wanted.clear();
    this.timer = null;
    await this.producer?.disconnect();
    this.producer = null;
  }
}
