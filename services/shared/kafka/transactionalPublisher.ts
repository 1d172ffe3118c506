/**
 * Publishes a batch's outputs and the consumer group's next offset in one Kafka transaction,
 * with one transactional producer per inbound partition. The transactionalId is derived from the
 * group, topic and partition, so whoever owns a partition now fences the producer of whoever
 * owned it before (its epoch is bumped when the new owner acquires the partition's producer): a
 * paused consumer that wakes up after losing its partitions cannot commit anything.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { StreamName } from '../avro/schemaFiles';
import type { Logger } from '../logger';
import type { EncodedOutput } from './encodedOutput';

export class FencedError extends Error {
  override name = 'FencedError';
}

const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_PRODUCER_ID_MAPPING']);

export function isFencing(error: unknown): boolean {
  const type = (error as { type?: string })?.type;
  return typeof type === 'string' && FENCED.has(type);
}

const CONCURRENT_ATTEMPTS = 6;

/** The coordinator is still completing an earlier transaction of this producer: try again. */
class ConcurrentTransactionError extends Error {
  constructor(override readonly cause: unknown) {
    super('concurrent transaction');
  }
}

function isConcurrentTransactions(error: unknown): boolean {
  const seen = new Set<unknown>();
  // kafkajs wraps the broker's answer (e.g. "Failed to send messages") around the original.
  for (let e: unknown = error; e && !seen.has(e); e = (e as { originalError?: unknown }).originalError) {
    seen.add(e);
    if ((e as { type?: string }).type === 'CONCURRENT_TRANSACTIONS') return true;
  }
  return false;
}

/** A committed position in another topic than the publisher's own, same partition number. */
export interface AlongsidePosition {
  readonly topic: string;
  readonly offset: number;
  readonly metadata?: string;
}

export class TransactionalPublisher {
  private readonly producers = new Map<number, Promise<Producer>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly inboundTopic: string,
    private readonly topicOf: (stream: StreamName) => string,
    private readonly logger: Logger,
    /** Told of each committed transaction (the merger's metrics count them). */
    private readonly onCommitted: () => void = () => undefined,
  ) {}

  transactionalId(partition: number): string {
    return `${this.groupId}.${this.inboundTopic}.${partition}`;
  }

  /** A new producer for the partition, which fences any earlier owner's. */
  async acquire(partition: number): Promise<void> {
    await this.release(partition);
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId(partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60000,
      allowAutoTopicCreation: false,
    });
    // kafkajs' connect() asks for a producer id *without* the transactional id, which fences
    // nobody; the transactional InitProducerId is sent by the first transaction(). Starting and
    // aborting an empty one sends it now: the previous owner's producer is fenced, and its
    // transaction in progress is aborted or completed by the coordinator before this returns —
    // so the committed offset read after acquire() is final. (Found by the chaos suite: the
    // previous owner could still commit after the new owner had read the committed offset, and
    // both published the same operations' outputs.)
    const connecting = producer.connect().then(async () => {
      const fencing = await producer.transaction();
      await fencing.abort();
      return producer;
    });
    this.producers.set(partition, connecting);
    connecting.catch(() => this.producers.delete(partition));
    await connecting;
  }

  async release(partition: number): Promise<void> {
    const existing = this.producers.get(partition);
    this.producers.delete(partition);
    if (existing) await existing.then((p) => p.disconnect()).catch(() => undefined);
  }

  /**
   * `nextOffset` null publishes the outputs with no position (a step whose position may wait).
   * `metadata` is committed with the offset (the two-plane consumers keep their restart position
   * there); `alongside`: positions in other topics' partition of the same number, committed in
   * the same transaction (the data plane reads inbound and commands together).
   */
  async publish(partition: number, outputs: readonly EncodedOutput[], nextOffset: number | null, metadata?: string, alongside: readonly AlongsidePosition[] = []): Promise<void> {
    // The coordinator may still be finishing this producer's previous transaction (its markers,
    // or the abort that fenced the previous owner): it answers CONCURRENT_TRANSACTIONS, and the
    // transaction is tried again shortly, as the Java client does. Nothing of it was committed.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.publishOnce(partition, outputs, nextOffset, metadata, alongside);
        return;
      } catch (error) {
        if (!(error instanceof ConcurrentTransactionError) || attempt >= CONCURRENT_ATTEMPTS) throw error instanceof ConcurrentTransactionError ? error.cause : error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
    }
  }

  private async publishOnce(partition: number, outputs: readonly EncodedOutput[], nextOffset: number | null, metadata: string | undefined, alongside: readonly AlongsidePosition[]): Promise<void> {
    // Only a claim acquires a producer. Acquiring one here, for a partition that was revoked
    // meanwhile, would fence the new owner's producer and commit this stale transaction beside
    // the new owner's replay of the same operations: duplicates.
    const producing = this.producers.get(partition);
    if (!producing) throw new FencedError(`no producer for partition ${partition}: it is not (or no longer) owned here`);
    const producer = await producing;
    const transaction = await producer.transaction();
    try {
      // In slices of at most SEND_SLICE_BYTES, one after another: a broker refuses a record batch
      // above its message.max.bytes (1 MiB by default), and a control step that decides a backlog
      // can make far more than that for one partition. Sent in order, so a partition keeps the
      // outputs' order (commands before the clock that covers them).
      for (const slice of bySize(outputs, SEND_SLICE_BYTES)) {
        const byTopic = new Map<string, Message[]>();
        for (const output of slice) {
          const topic = this.topicOf(output.stream);
          let list = byTopic.get(topic);
          if (!list) byTopic.set(topic, (list = []));
          list.push(output.partition === undefined ? { key: output.key, value: output.value } : { key: output.key, value: output.value, partition: output.partition });
        }
        await transaction.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      }
      // kafkajs passes each partition's metadata through to TxnOffsetCommit; its typings omit it.
      const committed = (offset: number, meta: string | undefined) => (meta === undefined ? { partition, offset: String(offset) } : ({ partition, offset: String(offset), metadata: meta } as { partition: number; offset: string }));
      if (nextOffset !== null) {
        const topics = [{ topic: this.inboundTopic, partitions: [committed(nextOffset, metadata)] }, ...alongside.map((position) => ({ topic: position.topic, partitions: [committed(position.offset, position.metadata)] }))];
        await transaction.sendOffsets({ consumerGroupId: this.groupId, topics });
      }
      await transaction.commit();
      this.onCommitted();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      if (isFencing(error)) {
        await this.release(partition);
        throw new FencedError(`the producer of partition ${partition} was fenced: another consumer owns it now`);
      }
      if (isConcurrentTransactions(error)) throw new ConcurrentTransactionError(error);
      // The producer's state is unknown after a failed transaction; start afresh next time.
      await this.release(partition);
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((p) => this.release(p)));
  }
}

/** Bytes of keys and values per send within a transaction (below the broker's 1 MiB default). */
export const SEND_SLICE_BYTES = 512 * 1024;

/** Splits outputs, in order, into runs of at most `limit` bytes of key and value (at least one each). */
export function bySize(outputs: readonly EncodedOutput[], limit: number): EncodedOutput[][] {
  const slices: EncodedOutput[][] = [];
  let current: EncodedOutput[] = [];
  let bytes = 0;
  for (const output of outputs) {
    const size = Buffer.byteLength(output.key) + (output.value?.length ?? 0) + 64;
    if (current.length > 0 && bytes + size > limit) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(output);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
