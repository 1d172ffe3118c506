/**
 * One batch of one person-order partition in the order stage (docs/design-person-operations.md,
 * "One order per person"): decode (dead letters for what fails) → the hold (order/orderBuffer.ts)
 * releases what every data partition's clock has passed, in the model's order → those merged
 * events, as the planes encoded them, to the merged-events topic.
 *
 * The caller publishes them with the position in one Kafka transaction. The position is the first
 * output still held or clock record in force (order/orderBuffer.ts); its metadata names up to where
 * outputs were released and the offset read up to: a restart skips the outputs it re-reads below
 * both, and does not dead-letter a record twice.
 */
import type { KafkaMessage } from 'kafkajs';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { Logger } from '../../shared/logger';
import { deadLetterOf } from '../../shared/kafka/deadLetter';
import type { Clocks } from '../ordered/dataBuffer';
import type { EncodedOutput } from '../redis/codec';
import type { OrderBuffer } from './orderBuffer';
import { decodeOrderEntries } from './orderRecords';
import { offsetOfPosition, releaseOrderedRecords, type OrderRecord } from './recordPositions';

export interface OrderLease {
  readonly partition: number;
  buffer: OrderBuffer;
  /** Per control partition: outputs at or before it were sent in a committed transaction. */
  published: Clocks;
  /** Records before this offset were read (and dead-lettered, if they had to be) before: before a restart, or before the hold read again what it dropped. */
  readBefore: number;
  /** The hold has room again for what it dropped: the stage seeks back here after the batch. */
  readAgainFrom: number | null;
}

export interface OrderContext {
  readonly catalog: SchemaCatalog;
  readonly logger: Logger;
  /** The data partitions whose clocks release an output: the inbound topic's partition count now. */
  readonly sources: () => number;
  /** Outputs a partition holds at most; past it they are dropped and read again (order/orderBuffer.ts). */
  readonly maxHeld: number;
}

export interface OrderTally {
  records: number;
  released: number;
  /** Read again after a restart, released before it. */
  skipped: number;
  /** Read for the first time after their place was released: sent out of order. */
  late: number;
  deadLetters: number;
  /** Outputs held once the batch is done. */
  held: number;
  /** Outputs dropped at the bound in this batch (read again later). */
  dropped: number;
}

export interface OrderOutcome {
  readonly outputs: EncodedOutput[];
  readonly nothingToCommit: boolean;
  readonly nextOffset: number;
  readonly metadata: string;
  readonly buffer: OrderBuffer;
  readonly published: Clocks;
  readonly tally: OrderTally;
  readonly lastOffset: number;
  readonly readAgainFrom: number | null;
  readonly afterCommit: () => Promise<void>;
}

/** Committed with the position: up to where outputs were released, and the offset read up to. */
export function formatOrderPosition(published: Clocks, readUpTo: number): string {
  return JSON.stringify({ p: Object.fromEntries([...published].filter(([, point]) => Number.isFinite(point))), r: readUpTo });
}

export function parseOrderPosition(metadata: string | null): { published: Clocks; readUpTo: number } {
  try {
    const parsed = metadata ? (JSON.parse(metadata) as { p?: Record<string, unknown>; r?: unknown }) : {};
    const published = new Map(Object.entries(parsed.p ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number').map(([control, point]) => [Number(control), point]));
    return { published, readUpTo: typeof parsed.r === 'number' ? parsed.r : 0 };
  } catch {
    return { published: new Map(), readUpTo: 0 };
  }
}

export async function processOrderBatch(lease: OrderLease, topic: string, messages: readonly KafkaMessage[], ctx: OrderContext): Promise<OrderOutcome> {
  const { catalog, logger } = ctx;
  const read: OrderRecord[] = [];
  const deadLetters: EncodedOutput[] = [];
  for (const message of messages) {
    const offset = Number(message.offset);
    try {
      read.push({ offset, entries: await decodeOrderEntries(catalog, message.key, message.value) });
    } catch (error) {
      if (offset >= lease.readBefore) deadLetters.push(deadLetterOf(message, { topic, partition: lease.partition }, `undecodable: ${(error as Error).message}`, catalog, logger));
    }
  }
  const lastOffset = Number(messages[messages.length - 1]?.offset ?? -1);
  const released = releaseOrderedRecords(lease.buffer, read, ctx.sources(), lease.published, lease.readBefore, lastOffset + 1, ctx.maxHeld);
  for (const { offset: position, output } of released.late) {
    logger.error({ partition: lease.partition, offset: offsetOfPosition(position), at: output.at, source: output.source, controlPartition: output.controlPartition }, 'a merged event came after its place was released (from a data partition not counted yet?): sent now, out of order');
  }
  const outputs: EncodedOutput[] = released.ready.flatMap(({ output }) => output.values.map((value): EncodedOutput => ({ stream: 'mergedEvents', key: output.key, value })));
  outputs.push(...deadLetters);
  const tally: OrderTally = {
    records: messages.length,
    released: released.ready.length,
    skipped: released.skipped,
    late: released.late.length,
    deadLetters: deadLetters.length,
    held: released.buffer.held.length,
    dropped: released.dropped,
  };
  return {
    outputs,
    nothingToCommit: outputs.length === 0,
    nextOffset: released.commitOffset,
    metadata: formatOrderPosition(released.published, Math.max(lease.readBefore, lastOffset + 1)),
    buffer: released.buffer,
    published: released.published,
    tally,
    lastOffset,
    readAgainFrom: released.readAgainFrom,
    afterCommit: async () => undefined,
  };
}
