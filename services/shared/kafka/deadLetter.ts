/**
 * A record that cannot be taken, as a dead letter (schemas/dead-letter.avsc) with its reason and
 * where it came from, its bytes kept so it can be replayed after a fix (SPEC R8). `failed_at` is
 * the record's own timestamp, so that reading the same record again makes the same dead letter
 * (a replay after a crash publishes what the first attempt would have). Shared by the merger and
 * ingest's request bridge.
 */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaCatalog } from '../avro/catalog';
import type { Logger } from '../logger';
import type { DeadLetter } from '../model/outbound';
import type { EncodedOutput } from './encodedOutput';

/** The dead letter's own Kafka key: the record's, cut to this many bytes. */
const MAX_LETTER_KEY_BYTES = 1024;

/**
 * The dead letter of a message, logged with its reason. `maxKeptBytes`: a record whose key and
 * value together are larger keeps neither in its letter (its place in the source log still
 * finds it), so that a letter never grows past what the broker takes.
 */
export function deadLetterOf(message: KafkaMessage, source: { readonly topic: string; readonly partition: number }, reason: string, catalog: SchemaCatalog, logger: Logger, options: { maxKeptBytes?: number } = {}): EncodedOutput {
  const offset = Number(message.offset);
  const size = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  const keep = options.maxKeptBytes === undefined || size <= options.maxKeptBytes;
  const letter: DeadLetter = {
    reason: keep ? reason : `${reason} (its ${size} bytes are not kept here: read them at their offset)`,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: offset,
    key: keep ? message.key : null,
    value: keep ? message.value : null,
    failed_at: Number(message.timestamp),
  };
  logger.warn({ topic: source.topic, partition: source.partition, offset, reason }, 'dead-lettering a record');
  return { stream: 'deadLetters', key: (message.key ?? Buffer.alloc(0)).subarray(0, MAX_LETTER_KEY_BYTES).toString(), value: catalog.encode('deadLetters', letter) };
}
