/**
 * Encodes inbound records (Avro, registry schema id) with their keys and hands them to the
 * durable producer. The one path from an accepted request to Kafka.
 */
import type { SchemaCatalog } from '../shared/avro/catalog';
import { toWire, type InboundRecord } from '../shared/model/inbound';
import { inboundKey } from '../shared/model/keys';
import type { InboundProducer } from './inboundProducer';

export class InboundPublisher {
  constructor(
    private readonly catalog: SchemaCatalog,
    private readonly producer: InboundProducer,
  ) {}

  /** Resolves once every record is durably in Kafka; rejects with KafkaUnavailableError. */
  publish(records: readonly InboundRecord[]): Promise<void> {
    const messages = records.map((record) => ({ key: inboundKey(record), value: this.catalog.encode('inbound', toWire(record)) }));
    return this.producer.send(messages);
  }
}
