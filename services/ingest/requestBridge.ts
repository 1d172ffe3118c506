/**
 * The request bridge (ANONMERGE_INGEST_BRIDGE=true): producers that live on Kafka write commands
 * to the request topic (schemas/request.avsc), and the bridge makes inbound records of them as the
 * HTTP routes would — same checks (requestTranslation.ts), received_at and the workspace's
 * settings stamped when the batch is read — and writes them to inbound (events) or person-ops
 * (person operations), keyed as ingest keys them.
 *
 * Exactly once: a consumer group whose partitions each run batch after batch, the batch's records
 * and its next read position committed in one transaction by a producer fenced per partition
 * (shared/kafka/partitionGroup.ts, as the merger's stages run). A batch that fails is read again
 * from the committed position and stamped anew; the aborted attempt's records are never read by
 * the merger (read_committed). A record that cannot be taken goes to the dead-letter topic with
 * its reason, in the same transaction, and the rest of the batch goes on.
 *
 * Authentication is the topic's ACL (docs/producing.md): Kafka has authenticated the producer and
 * authorised its write to this topic; no key travels in a record.
 */
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { SchemaResolutionError, type SchemaCatalog } from '../shared/avro/catalog';
import { deadLetterOf } from '../shared/kafka/deadLetter';
import type { EncodedOutput } from '../shared/kafka/encodedOutput';
import { partitionGroup } from '../shared/kafka/partitionGroup';
import type { StepOutcome } from '../shared/kafka/sequentialPartitions';
import { TransactionalPublisher } from '../shared/kafka/transactionalPublisher';
import type { Logger } from '../shared/logger';
import { isPersonOperation, toWire, type InboundRecord } from '../shared/model/inbound';
import { inboundKey } from '../shared/model/keys';
import type { Request } from '../shared/generated/requestTypes';
import { LIMITS } from './limits';
import { decideRequest } from './requestTranslation';
import type { WorkspaceRegistry } from './workspaces';

export interface RequestBridgeOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly catalog: SchemaCatalog;
  readonly workspaces: WorkspaceRegistry;
  readonly requestsTopic: string;
  readonly groupId: string;
  /** ANONMERGE_INGEST_BRIDGE_WORKSPACE: the one workspace taken, or null for any. */
  readonly onlyWorkspace: string | null;
  /** Person operations to person-ops (the two-plane merger), as ingest's HTTP routes send them. */
  readonly personOps: boolean;
  readonly sessionTimeoutMs: number;
  /** Bytes read per partition per round: what one transaction passes on at most. */
  readonly fetchMaxBytes: number;
  readonly metadataMaxAgeMs: number;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** received_at's clock (tests may pin it). */
  readonly clock?: () => number;
}

export interface RunningBridge {
  /** Whether the group has given the bridge its partitions (readiness). */
  joined(): boolean;
  stop(): Promise<void>;
}

/** A request record larger than this is refused before it is decoded: the Track API's body limit. */
export const MAX_REQUEST_BYTES = LIMITS.trackBodyBytes;

interface BridgeOutcome extends StepOutcome {
  readonly accepted: number;
  readonly refused: number;
}

export async function startRequestBridge(options: RequestBridgeOptions): Promise<RunningBridge> {
  const { kafka, admin, catalog, logger, requestsTopic: topic } = options;
  const clock = options.clock ?? Date.now;
  const records = new Counter({ name: 'anonmerge_bridge_records_total', help: 'Request records read by the bridge, by outcome (accepted: written on; dead_letter: refused with a reason)', labelNames: ['outcome'], registers: [options.metrics] });
  const publisher = new TransactionalPublisher(kafka, options.groupId, topic, (stream) => catalog.topic(stream), logger);

  const encode = (record: InboundRecord): EncodedOutput =>
    options.personOps && isPersonOperation(record)
      ? { stream: 'personOps', key: record.workspace_id, value: catalog.encode('personOps', toWire(record)) }
      : { stream: 'inbound', key: inboundKey(record), value: catalog.encode('inbound', toWire(record)) };

  /** One record's outputs: its inbound records, or its dead letter. */
  const take = async (message: KafkaMessage, partition: number, receivedAt: number): Promise<{ outputs: EncodedOutput[]; accepted: boolean }> => {
    // A record over the limit keeps none of its bytes in its dead letter: the letter must stay
    // well below what the broker takes, or its transaction would fail on every attempt.
    const refuse = (reason: string) => ({ outputs: [deadLetterOf(message, { topic, partition }, reason, catalog, logger, { maxKeptBytes: MAX_REQUEST_BYTES })], accepted: false });
    if (!message.value) return refuse('the record has no value');
    const size = message.value.length + (message.key?.length ?? 0);
    if (size > MAX_REQUEST_BYTES) return refuse(`the record's key and value are ${size} bytes; at most ${MAX_REQUEST_BYTES}`);
    let request: Request;
    try {
      const known = catalog.decodeIfKnown<Request>('requests', message.value);
      request = known ? known.value : await catalog.decode<Request>('requests', message.value);
    } catch (error) {
      // The registry not answering is no fault of the record: the batch fails and is read again.
      if (error instanceof SchemaResolutionError && error.kind === 'unavailable') throw error;
      const why = error instanceof SchemaResolutionError ? error.message : `not a request record (schemas/request.avsc, Confluent wire format): ${(error as Error).message}`;
      return refuse(`undecodable: ${why}`);
    }
    const place = { topic, partition, offset: message.offset, timestampMs: Number(message.timestamp) };
    const decision = decideRequest(request, place, (id) => options.workspaces.byId(id), options.onlyWorkspace, receivedAt);
    if (!decision.ok) return refuse(decision.reason);
    try {
      return { outputs: decision.records.map(encode), accepted: true };
    } catch (error) {
      // A value the inbound schema cannot hold: this record's fault, not the batch's.
      return refuse(`not encodable as an inbound record: ${(error as Error).message}`);
    }
  };

  const group = partitionGroup<number, BridgeOutcome>({
    kafka,
    admin,
    publisher,
    logger,
    groupId: options.groupId,
    topic,
    name: 'request bridge',
    sessionTimeoutMs: options.sessionTimeoutMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs,
    maxBytesPerPartition: options.fetchMaxBytes,
    // A producer's command reaches the merger a fetch wait after it is written, at most.
    maxWaitTimeInMs: 100,
    partitionsConcurrently: 6,
    step: {
      claim: (partition) => partition,
      process: async (partition, _topic, messages) => {
        // Stamped once per batch, when it is read: its transaction commits within the send
        // deadline, as an HTTP request's records are appended within it.
        const receivedAt = clock();
        const outputs: EncodedOutput[] = [];
        let accepted = 0;
        for (const message of messages) {
          const taken = await take(message, partition, receivedAt);
          outputs.push(...taken.outputs);
          if (taken.accepted) accepted += 1;
        }
        const last = messages[messages.length - 1] as KafkaMessage;
        return { outputs, nextOffset: Number(last.offset) + 1, metadata: '', accepted, refused: messages.length - accepted, afterCommit: async () => undefined };
      },
      committed: (_partition, outcome) => {
        records.inc({ outcome: 'accepted' }, outcome.accepted);
        records.inc({ outcome: 'dead_letter' }, outcome.refused);
      },
    },
  });
  await group.start();
  logger.info({ topic, groupId: options.groupId, onlyWorkspace: options.onlyWorkspace }, 'request bridge started');
  return {
    joined: () => group.joined(),
    stop: async () => {
      await group.stop();
      await publisher.close();
    },
  };
}
