/**
 * Time passing, written into the log. Grace timers fire at the first record received after the
 * window end plus the lateness; on a quiet partition no such record would come, so the merger
 * writes a Tick to each partition it owns that has seen nothing for a while. Because ticks are
 * records, a replay fires timers at exactly the same places.
 */
import type { Kafka, Producer } from 'kafkajs';
import { ulid } from 'ulid';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { Logger } from '../../shared/logger';
import { toWire } from '../../shared/model/inbound';

export class Ticker {
  private producer: Producer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private partitions: number[] = [];
  private readonly lastSeen = new Map<number, number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly catalog: SchemaCatalog,
    private readonly topic: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** The stream whose schema the ticks are written with (inbound, or person-ops). */
    private readonly stream: 'inbound' | 'personOps' = 'inbound',
  ) {}

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  setPartitions(partitions: number[]): void {
    this.partitions = partitions;
  }

  /** A partition that just delivered records needs no tick. */
  noteActivity(partition: number): void {
    this.lastSeen.set(partition, this.now());
  }

  private async tick(): Promise<void> {
    if (!this.producer) return;
    const now = this.now();
    const quiet = this.partitions.filter((p) => now - (this.lastSeen.get(p) ?? 0) >= this.intervalMs);
    if (quiet.length === 0) return;
    const value = (receivedAt: number) =>
      this.catalog.encode(this.stream, toWire({ workspace_id: '', id: `tick-${ulid()}`, received_at: receivedAt, settings: { merge_enabled: false, retention_seconds: 0, grace_seconds: 0, trigger_window_seconds: 0 }, command: { kind: 'tick', body: {} } }));
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: quiet.map((partition) => ({ partition, key: 'tick', value: value(now) })) });
      for (const p of quiet) this.lastSeen.set(p, now);
    } catch (error) {
      this.logger.warn({ err: error, partitions: quiet }, 'writing ticks failed; timers on quiet partitions wait for the next');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.producer?.disconnect();
    this.producer = null;
  }
}
