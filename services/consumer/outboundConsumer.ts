/**
 * A kafkajs consumer of the merger's outbound streams that does what docs/consuming.md asks of
 * every consumer: reads committed records only (and refuses a kafkajs that lets aborted ones
 * through), decodes values with the registry into this build's schemas, parses keys, and hands
 * typed records one partition at a time, in log order, committing a record's offset once its
 * handler has resolved (at-least-once: de-duplicate by event_id / activity_id, see the docs).
 */
import { Kafka as KafkaOfThisHelper, type Consumer, type Kafka, type KafkaMessage } from 'kafkajs';
import { createSchemaRegistry } from '../shared/avro/registry';
import { kafkajsFiltersAbortedTransactions } from './committedReads';
import { parseOutboundKey, type OutboundKey } from './outboundKeys';
import { defaultTopics, OUTBOUND_STREAMS, type OutboundStream, type OutboundValues } from './outboundStreams';
import { RegistryDecoder, UndecodableRecordError } from './registryDecoder';

export interface OutboundRecordOf<S extends OutboundStream> {
  readonly stream: S;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: OutboundKey;
  readonly value: OutboundValues[S];
  /** The Kafka record's timestamp (when the merger wrote it), ms. */
  readonly timestamp: number;
}

/** Any outbound record; `switch (record.stream)` narrows `value` to that stream's type. */
export type OutboundRecord = { [S in OutboundStream]: OutboundRecordOf<S> }[OutboundStream];

/** A record whose value could not be decoded: its place and raw bytes. */
export interface UndecodableRecord {
  readonly stream: OutboundStream;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface OutboundConsumerOptions {
  /** Your kafkajs client (brokers, TLS, SASL as your cluster needs). */
  readonly kafka: Kafka;
  /** Confluent-compatible registry base URL (Apicurio: …/apis/ccompat/v7). */
  readonly registryUrl: string;
  readonly registryTimeoutMs?: number;
  readonly groupId: string;
  readonly streams: readonly OutboundStream[];
  /** Topic names, where they differ from the merger's defaults (`anonmerge.merged-events`, …). */
  readonly topics?: Partial<Record<OutboundStream, string>>;
  /**
   * The schemas your code was written against (a directory holding merged-event.avsc, …), if not
   * those of this build: records written with any compatible version are read into their shape.
   */
  readonly readerSchemaDir?: string;
  /** Where a new group starts: the beginning of the retention (default) or the end. */
  readonly fromBeginning?: boolean;
  /**
   * What to do with a value that does not decode (not the wire format, or a schema that cannot be
   * read as yours). Default: throw, which stops the consumer at that record — nothing after it is
   * read, its offset is not committed, and `stopped` rejects with the error. Resolve to skip it,
   * e.g. after storing it. A registry that cannot be reached is not such a record: the consumer
   * retries (kafkajs restarts it) and never skips.
   */
  readonly onUndecodable?: (record: UndecodableRecord, error: UndecodableRecordError) => Promise<void> | void;
}

/** The error under kafkajs' wrappers (its retrier reports "number of retries exceeded" with the cause inside). */
function rootCause(error: Error): Error {
  let current = error;
  for (let depth = 0; depth < 10; depth += 1) {
    const inner = (current as { cause?: unknown; originalError?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
    if (!(inner instanceof Error)) return current;
    current = inner;
  }
  return current;
}

export class KafkajsWithoutAbortFilterError extends Error {
  override name = 'KafkajsWithoutAbortFilterError';
}

export class OutboundConsumer {
  /**
   * Settles when the consumer has stopped: resolves after stop(), rejects with the error that
   * stopped it otherwise (an undecodable record by default, or a handler's error kafkajs gave up
   * retrying).
   */
  readonly stopped: Promise<void>;
  private settle: { resolve: () => void; reject: (error: Error) => void } = { resolve: () => undefined, reject: () => undefined };

  private constructor(
    private readonly consumer: Consumer,
    private readonly streamOf: ReadonlyMap<string, OutboundStream>,
    private readonly decoder: RegistryDecoder,
    private readonly onUndecodable: NonNullable<OutboundConsumerOptions['onUndecodable']>,
  ) {
    this.stopped = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // Handled or not, an unobserved rejection must not end the process.
    this.stopped.catch(() => undefined);
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) this.settle.reject(rootCause(event.payload.error));
    });
  }

  static async open(options: OutboundConsumerOptions): Promise<OutboundConsumer> {
    if (!kafkajsFiltersAbortedTransactions()) {
      throw new KafkajsWithoutAbortFilterError(
        'this kafkajs passes records of aborted transactions to read_committed consumers when several transactional producers write one partition, as the merger does; install it with patches/kafkajs+2.2.4.patch (see docs/consuming.md)',
      );
    }
    // The check above is of the kafkajs this helper loads; a client built from another copy of
    // kafkajs would read with that copy's filter.
    if (!(options.kafka instanceof KafkaOfThisHelper)) {
      throw new KafkajsWithoutAbortFilterError("the kafka client was made with another copy of kafkajs than this helper's (checked one); create it with require('kafkajs') as resolved from anonmerge/consumer");
    }
    if (options.streams.length === 0) throw new Error(`no stream to consume: give at least one of ${OUTBOUND_STREAMS.join(', ')}`);
    const unknown = options.streams.filter((stream) => !OUTBOUND_STREAMS.includes(stream));
    if (unknown.length > 0) throw new Error(`not an outbound stream: ${unknown.map((s) => JSON.stringify(s)).join(', ')}; one of ${OUTBOUND_STREAMS.join(', ')}`);
    const topics = { ...defaultTopics(), ...options.topics };
    const streamOf = new Map(options.streams.map((stream) => [topics[stream], stream] as const));
    const decoder = new RegistryDecoder(createSchemaRegistry({ url: options.registryUrl, timeoutMs: options.registryTimeoutMs ?? 5000 }), options.readerSchemaDir);
    // read_committed is kafkajs' default; said here because everything below depends on it. A
    // record that does not decode stops the consumer for good (restarting would only meet it
    // again); anything else (the registry or Kafka away, a handler's error) restarts it.
    const consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      retry: { restartOnFailure: async (error: Error) => !(rootCause(error) instanceof UndecodableRecordError) },
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [...streamOf.keys()], fromBeginning: options.fromBeginning ?? true });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    const onUndecodable =
      options.onUndecodable ??
      ((record: UndecodableRecord, error: UndecodableRecordError) => {
        throw new UndecodableRecordError(`${record.topic}[${record.partition}]@${record.offset}: ${error.message}`);
      });
    return new OutboundConsumer(consumer, streamOf, decoder, onUndecodable);
  }

  /** Starts handing records to `handler`; resolves once consuming has started. */
  async run(handler: (record: OutboundRecord) => Promise<void> | void): Promise<void> {
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const stream = this.streamOf.get(topic);
        if (!stream) return;
        const record = await this.decode(stream, topic, partition, message);
        if (record) await handler(record);
      },
    });
  }

  /** Finishes the record in hand, commits, leaves the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
    this.settle.resolve();
  }

  private async decode(stream: OutboundStream, topic: string, partition: number, message: KafkaMessage): Promise<OutboundRecord | null> {
    const key = parseOutboundKey(message.key?.toString('utf8') ?? '');
    const common = { topic, partition, offset: message.offset, key, timestamp: Number(message.timestamp) };
    if (message.value === null) {
      // Only a person's tombstone on merged-events carries no value.
      if (stream === 'mergedEvents') return { ...common, stream, value: null };
      await this.onUndecodable({ stream, topic, partition, offset: message.offset, key: message.key, value: null }, new UndecodableRecordError(`a record without a value on ${stream}`));
      return null;
    }
    try {
      const value = await this.decoder.decode(stream, message.value);
      return { ...common, stream, value } as OutboundRecord;
    } catch (error) {
      if (!(error instanceof UndecodableRecordError)) throw error;
      await this.onUndecodable({ stream, topic, partition, offset: message.offset, key: message.key, value: message.value }, error);
      return null;
    }
  }
}
