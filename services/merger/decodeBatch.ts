/**
 * The first step of every batch the merger consumes (inbound, and person-ops for the control
 * plane): decode each message with the registry, check the inbound contract, and turn what fails
 * into a dead letter with its reason (SPEC R8) — never a half-applied change.
 */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { fromWire, type InboundRecord, type InboundRecordWire } from '../shared/model/inbound';
import { deadLetterOf } from '../shared/kafka/deadLetter';
import type { EncodedOutput } from './redis/codec';
import { contractViolation } from './validate';

export interface DecodedBatch {
  /** In log order. */
  readonly records: Array<{ readonly offset: number; readonly record: InboundRecord }>;
  readonly deadLetters: Array<{ readonly offset: number; readonly output: EncodedOutput }>;
}

/**
 * @param stream whose schema the values are read with
 * @param extraCheck a further reason to refuse a record that decodes and keeps the contract
 */
export async function decodeBatch(
  messages: readonly KafkaMessage[],
  source: { readonly topic: string; readonly partition: number; readonly stream: 'inbound' | 'personOps' | 'commands' },
  catalog: SchemaCatalog,
  logger: Logger,
  extraCheck: (record: InboundRecord) => string | null = () => null,
): Promise<DecodedBatch> {
  const decoded: DecodedBatch = { records: [], deadLetters: [] };
  for (const message of messages) {
    const offset = Number(message.offset);
    let reason: string | null = null;
    try {
      if (!message.value) throw new Error('the record has no value');
      // Most values carry a schema id the catalog knows: decoded without a registry call.
      const known = catalog.decodeIfKnown<InboundRecordWire>(source.stream, message.value);
      const record = fromWire(known ? known.value : await catalog.decode<InboundRecordWire>(source.stream, message.value));
      reason = contractViolation(record) ?? extraCheck(record);
      if (!reason) decoded.records.push({ offset, record });
    } catch (error) {
      reason = `undecodable: ${(error as Error).message}`;
    }
    if (reason) decoded.deadLetters.push({ offset, output: deadLetterOf(message, { topic: source.topic, partition: source.partition }, reason, catalog, logger) });
  }
  return decoded;
}
