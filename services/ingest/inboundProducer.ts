/**
 * Gets accepted records durably into Kafka, in batches, before their requests are answered.
 *
 * Requests hand over their records and wait; one batch is in flight at a time (records that
 * arrive meanwhile form the next batch), sent with acks=-1 by an idempotent producer. A request
 * is answered 2xx only when the batch holding its records is acknowledged (SPEC R7).
 *
 * When a send fails or passes its deadline, the producer is replaced by a new one. The failed
 * batch may still have been written; an idempotent producer that went on with the same producer
 * id would reuse its sequence numbers and the broker could take a new batch for a duplicate of
 * that one and drop it. A fresh producer id rules that out. Clients retry a 503 with the same
 * event ids, and the merger drops repeated ids.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from '../shared/logger';
import { withTimeout } from '../shared/lifecycle/shutdown';

export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
}

interface Pending {
  readonly messages: Message[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export interface InboundProducerOptions {
  readonly topic: string;
  /** How long a batch waits for more records once the previous one is done. */
  readonly lingerMs: number;
  readonly maxBatchMessages: number;
  /** Deadline of one send, retries included; past it the requests get 503. */
  readonly sendTimeoutMs: number;
  /** Partitions added to the topic are used after the next metadata refresh. */
  readonly metadataMaxAgeMs?: number;
}

export class InboundProducer {
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private queue: Pending[] = [];
  private queuedMessages = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private connected = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: InboundProducerOptions,
    private readonly logger: Logger,
  ) {}

  /** True once a producer is connected and its last send did not fail. */
  get ready(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.currentProducer();
  }

  /** Resolves when every message is acknowledged by all in-sync replicas. */
  send(messages: Message[]): Promise<void> {
    if (this.closed) return Promise.reject(new KafkaUnavailableError('ingest is shutting down'));
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      this.queuedMessages += messages.length;
      this.schedule();
    });
  }

  /** Sends what is queued, waits for it, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.inFlight) {
      if (!this.inFlight) void this.flush();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await this.producer?.disconnect();
    this.producer = null;
    this.connected = false;
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    const full = this.queuedMessages >= this.options.maxBatchMessages;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, full ? 0 : this.options.lingerMs);
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch: Pending[] = [];
    let count = 0;
    while (this.queue.length > 0 && (count === 0 || count + (this.queue[0]?.messages.length ?? 0) <= this.options.maxBatchMessages)) {
      const next = this.queue.shift() as Pending;
      batch.push(next);
      count += next.messages.length;
    }
    this.queuedMessages -= count;
    try {
      await withTimeout(this.sendBatch(batch), this.options.sendTimeoutMs, 'Kafka send');
      for (const pending of batch) pending.resolve();
    } catch (error) {
      this.logger.error({ err: error, records: count, topic: this.options.topic }, 'send to Kafka failed; answering 503 and replacing the producer');
      const failure = new KafkaUnavailableError(`Kafka did not acknowledge the records: ${(error as Error).message}`);
      for (const pending of batch) pending.reject(failure);
      await this.replaceProducer();
    } finally {
      this.inFlight = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const producer = await this.currentProducer();
    await producer.send({ topic: this.options.topic, acks: -1, messages: batch.flatMap((p) => p.messages) });
  }

  private currentProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        metadataMaxAge: this.options.metadataMaxAgeMs,
        // Bounded, so that an unreachable Kafka turns into a 503 instead of a hung request (the
        // replacement above is what keeps that safe with an idempotent producer).
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      producer.on(producer.events.DISCONNECT, () => {
        this.connected = false;
      });
      try {
        await producer.connect();
      } catch (error) {
        await producer.disconnect().catch(() => undefined);
        throw error;
      }
      this.producer = producer;
      this.connected = true;
      return producer;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    this.connected = false;
    await old?.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, 'disconnecting the failed producer'));
    this.reconnectInBackground();
  }

  // Readiness should come back on its own when Kafka does, not only when a request arrives.
  private reconnectInBackground(): void {
    const attempt = () => {
      if (this.closed || this.producer) return;
      this.currentProducer().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'Kafka still unreachable; retrying');
        setTimeout(attempt, 1000).unref();
      });
    };
    setTimeout(attempt, 250).unref();
  }
}
