/**
 * A record ready for a Kafka transaction: the stream it goes to (its topic is the deployment's
 * name for that stream), its key and its encoded value. What the merger's stages and ingest's
 * request bridge hand to the transactional publisher.
 */
import type { StreamName } from '../avro/schemaFiles';

export interface EncodedOutput {
  readonly stream: StreamName;
  readonly key: string;
  /** The Kafka value as it will be sent (Confluent-framed Avro), or null for a tombstone. */
  readonly value: Buffer | null;
  /** An explicit partition (the control plane's clock goes to each); else the key decides. */
  readonly partition?: number;
}
