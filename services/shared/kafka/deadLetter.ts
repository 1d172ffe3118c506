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

/** The dead letter of a message, logged with its reason. */
export function deadLetterOf(message: KafkaMessage, source: { readonly topic: string; readonly partition: number }, reason: string, catalog: SchemaCatalog, logger: Logger): EncodedOutput {
  const offset = Number(message.offset);
  const letter: DeadLetter = { reason, source_topic: source.topic, source_partition: source.partition, source_offset: offset, key: message.key, value: message.value, failed_at: Number(message.timestamp) };
  logger.warn({ topic: source.topic, partition: source.partition, offset, reason }, 'dead-lettering a record');
  return { stream: 'deadLetters', key: message.key?.toString() ?? '', value: catalog.encode('deadLetters', letter) };
}
