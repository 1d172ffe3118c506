/**
 * Encodes inbound records (Avro, registry schema id) with their keys and hands them to the
 * durable producer. The one path from an accepted request to Kafka.
 */
import type { SchemaCatalog } from '../shared/avro/catalog';
import { isPersonOperation, toWire, type InboundRecord } from '../shared/model/inbound';
import { inboundKey } from '../shared/model/keys';
import type { InboundProducer } from './inboundProducer';

export class InboundPublisher {
  /**
   * @param personOps when given, person operations go there, keyed by workspace, for the
   *   two-plane merger's control plane (docs/design-person-operations.md); else to inbound.
   */
  constructor(
    private readonly catalog: SchemaCatalog,
    private readonly producer: InboundProducer,
    private readonly personOps: InboundProducer | null = null,
  ) {}

  /** Resolves once every record is durably in Kafka; rejects with KafkaUnavailableError. */
  async publish(records: readonly InboundRecord[]): Promise<void> {
    const operations = this.personOps ? records.filter(isPersonOperation) : [];
    const events = operations.length > 0 ? records.filter((record) => !isPersonOperation(record)) : records;
    const sends: Array<Promise<void>> = [];
    if (events.length > 0) sends.push(this.producer.send(events.map((record) => ({ key: inboundKey(record), value: this.catalog.encode('inbound', toWire(record)) }))));
    if (this.personOps && operations.length > 0) sends.push(this.personOps.send(operations.map((record) => ({ key: record.workspace_id, value: this.catalog.encode('personOps', toWire(record)) }))));
    await Promise.all(sends);
  }
}

