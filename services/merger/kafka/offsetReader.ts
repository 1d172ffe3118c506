/**
 * Reads given offsets of one partition back from Kafka: the bodies of pending events, which Redis
 * keeps as pointers into the inbound log (docs/design-pending-pointers.md).
 *
 * kafkajs has no way to fetch an offset outside a consumer group's flow, so this talks to the
 * partition's leader with kafkajs' own cluster and broker objects (the same brokers, TLS and SASL
 * as every other client of the service), and sends Fetch requests (v11) itself:
 *
 *   - which Fetches, and how many bytes each asks for, is kafka/fetchPlan.ts: runs of nearby
 *     offsets, several Fetches in flight at once, none overlapping another;
 *   - the answer's record set is kept as bytes and only the wanted records' values are taken out
 *     of it (kafka/recordBatches.ts): a batch without a wanted offset is stepped over whole;
 *   - READ_COMMITTED: the broker answers up to the last stable offset, and the records of aborted
 *     transactions it names are left out;
 *   - one deadline for the whole read; an offset below the log start (deleted by retention), or
 *     one the log does not hold as a committed data record, comes back in `missing`.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../shared/logger';
import { FetchPlan, firstAtLeast, type PlannedFetch } from './fetchPlan';
import { takeWantedRecords, type AbortedTransaction, type Decompress } from './recordBatches';
import { untilOrDeadline, withResolvers } from '../../shared/waiting';

const READ_COMMITTED = 1;
const FETCH_VERSION = 11;
const OFFSET_OUT_OF_RANGE = 1;

/** kafkajs' pieces this reader builds its requests from (docs/design-pending-pointers.md says why). */
const fetchRequestV11 = require('kafkajs/src/protocol/requests/fetch/v11/request') as (options: object) => { apiKey: number; apiVersion: number };
const KafkaDecoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => {
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readString(): string;
  readBytes(length: number): Buffer;
  readArray<T>(read: (decoder: InstanceType<typeof KafkaDecoder>) => T): T[];
};
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error & { type: string } };
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression') as { lookupCodecByAttributes(attributes: number): { decompress(buffer: Buffer): Promise<Buffer> } | null };

const decompress: Decompress = async (attributes, compressed) => {
  let codec: ReturnType<typeof lookupCodecByAttributes> = null;
  try {
    codec = lookupCodecByAttributes(attributes);
  } catch {
    // kafkajs throws for the codecs it names but does not carry (snappy, lz4, zstd).
  }
  if (!codec) throw new Error(`a record batch of the inbound topic is compressed with a codec kafkajs does not carry (attributes ${attributes}): register it with kafkajs' CompressionCodecs, or write the topic uncompressed or with gzip`);
  return codec.decompress(compressed);
};

/** One partition of a Fetch answer, its record set left as bytes. */
interface RawPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly abortedTransactions: AbortedTransaction[];
  readonly recordSet: Buffer;
}

/** Fetch v11's answer (the layout is in kafkajs' fetch/v11/response.js), record sets undecoded. */
function decodeFetchAnswer(raw: Buffer): { errorCode: number; topics: Array<{ topic: string; partitions: RawPartition[] }> } {
  const decoder = new KafkaDecoder(raw);
  decoder.readInt32(); // throttle time
  const errorCode = decoder.readInt16();
  decoder.readInt32(); // session id
  const topics = decoder.readArray((topicDecoder) => ({
    topic: topicDecoder.readString(),
    partitions: topicDecoder.readArray((d) => {
      const partition = d.readInt32();
      const partitionError = d.readInt16();
      d.readInt64(); // high watermark
      d.readInt64(); // last stable offset
      d.readInt64(); // log start offset (-1 in an error answer: not relied on)
      const abortedTransactions = d.readArray((a) => ({ producerId: a.readInt64().toString(), firstOffset: Number(a.readInt64().toString()) }));
      d.readInt32(); // preferred read replica
      const size = d.readInt32();
      const recordSet = size > 0 ? d.readBytes(size) : Buffer.alloc(0);
      return { partition, errorCode: partitionError, abortedTransactions, recordSet };
    }),
  }));
  return { errorCode, topics };
}

interface ConnectionPool {
  send(request: { request: object; response: { decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> }; requestTimeout?: number }): Promise<unknown>;
}
interface Broker {
  readonly connectionPool: ConnectionPool;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<Broker>;
  fetchTopicsOffset(topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

export interface OffsetReaderOptions {
  /** The most one Fetch asks for. */
  readonly maxFetchBytes?: number;
  /** Wanted offsets further apart than this much log go to separate Fetches. */
  readonly gapBytes?: number;
  /** Fetches in flight at once for one read. */
  readonly concurrency?: number;
  /** The whole read. */
  readonly timeoutMs?: number;
}

export interface OffsetRead {
  /** By offset: the record's value (null for a record without one). */
  readonly values: Map<number, Buffer | null>;
  /** Offsets asked for that the log no longer holds, or never held as a committed data record. */
  readonly missing: number[];
  /** Fetch requests sent. */
  readonly fetches: number;
  /** Bytes of record batches the Fetches brought back. */
  readonly bytes: number;
}

export class OffsetReadTimeout extends Error {
  constructor(topic: string, partition: number, wanted: number, timeoutMs: number) {
    super(`reading ${wanted} offsets of ${topic}[${partition}] took more than ${timeoutMs} ms`);
    this.name = 'OffsetReadTimeout';
  }
}

/** kafkajs keeps how it makes a cluster private; this is the one place that reaches it. */
function clusterOf(kafka: Kafka): Cluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!symbol) throw new Error('this kafkajs version does not expose its cluster factory (docs/design-pending-pointers.md)');
  const create = (kafka as unknown as Record<symbol, (options: object) => Cluster>)[symbol] as (options: object) => Cluster;
  return create({ metadataMaxAge: 60_000, allowAutoTopicCreation: false, maxInFlightRequests: null, isolationLevel: READ_COMMITTED });
}

/** Errors a leader change, an election or a reconnect cause: the Fetch is sent again, within the deadline. */
const RETRIABLE = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'OFFSET_NOT_AVAILABLE',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError',
]);
const typeOf = (error: unknown) => (error as { type?: string }).type ?? (error as { name?: string }).name ?? '';

/** What one Fetch came back with. */
type FetchAnswer = { readonly kind: 'records'; readonly partition: RawPartition } | { readonly kind: 'out-of-range' };

export class OffsetReader {
  private readonly cluster: Cluster;
  private connected: Promise<void> | null = null;
  private closed = false;
  private readonly topics = new Set<string>();
  private readonly maxFetchBytes: number;
  private readonly gapBytes: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;

  constructor(
    kafka: Kafka,
    private readonly logger: Logger,
    options: OffsetReaderOptions = {},
  ) {
    this.cluster = clusterOf(kafka);
    this.maxFetchBytes = options.maxFetchBytes ?? 1024 * 1024;
    this.gapBytes = options.gapBytes ?? 64 * 1024;
    this.concurrency = options.concurrency ?? 16;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private async ready(topic: string): Promise<void> {
    // A Fetch abandoned at a read's deadline must not connect again a reader closed since.
    if (this.closed) throw new Error('the offset reader is closed');
    this.connected ??= this.cluster.connect().catch((error: unknown) => {
      this.connected = null;
      throw error;
    });
    await this.connected;
    if (!this.topics.has(topic)) {
      await this.cluster.addTargetTopic(topic);
      this.topics.add(topic);
    }
  }

  /** Reads `offsets` (any order, repeats allowed) of `topic`[`partition`]. */
  async read(topic: string, partition: number, offsets: readonly number[]): Promise<OffsetRead> {
    const wanted = [...new Set(offsets)].sort((a, b) => a - b);
    const values = new Map<number, Buffer | null>();
    const missing: number[] = [];
    if (wanted.length === 0) return { values, missing, fetches: 0, bytes: 0 };
    const plan = new FetchPlan(wanted, { maxBytes: this.maxFetchBytes, gapBytes: this.gapBytes });
    const deadline = Date.now() + this.timeoutMs;
    let fetches = 0;
    let bytes = 0;
    const isWanted = (offset: number) => wanted[firstAtLeast(wanted, offset)] === offset;
    const wantsAnyIn = (from: number, to: number) => {
      const index = firstAtLeast(wanted, from);
      return index < wanted.length && (wanted[index] as number) <= to;
    };
    // Workers wait for a change when every offset left is in another's Fetch.
    let changed: { promise: Promise<void>; resolve: () => void } = withResolvers();
    const announce = () => {
      const previous = changed;
      changed = withResolvers();
      previous.resolve();
    };
    const settleFound = (fetch: PlannedFetch, lastOffset: number, found: Map<number, Buffer | null>, sizes?: { bytes: number; records: number; batches: number }) => {
      // An offset already settled keeps its verdict (found, or gone below the log start).
      for (const [offset, value] of found) if (!plan.isSettled(firstAtLeast(wanted, offset))) values.set(offset, value);
      // Wanted offsets the answer passed over without holding them (aborted, control) are not
      // in the log as committed data.
      for (let i = firstAtLeast(wanted, fetch.from); i < wanted.length && (wanted[i] as number) <= lastOffset; i += 1) {
        if (!plan.isSettled(i) && !values.has(wanted[i] as number)) missing.push(wanted[i] as number);
      }
      plan.answered(fetch, lastOffset, sizes);
    };
    // A Fetch that fails for good ends the read: the other workers stop at their next step.
    let failedFor: unknown = null;
    const worker = async () => {
      while (!plan.done && failedFor === null && Date.now() < deadline) {
        const fetch = plan.next();
        if (!fetch) {
          await untilOrDeadline(changed.promise, deadline);
          continue;
        }
        fetches += 1;
        try {
          const answer = await this.fetchFrom(topic, partition, fetch, deadline);
          if (answer.kind === 'out-of-range') {
            // Deleted by retention: every wanted offset below the log start is gone, found out
            // with one ListOffsets. One past the end (it cannot be: the merger read it) is gone too.
            const logStart = await beforeDeadline(this.logStartOffset(topic, partition), deadline, () => new OffsetReadTimeout(topic, partition, wanted.length, this.timeoutMs));
            settleFound(fetch, Math.max(fetch.from, logStart - 1), new Map());
          } else {
            const taken = await takeWantedRecords(answer.partition.recordSet, fetch.from, answer.partition.abortedTransactions, isWanted, wantsAnyIn, decompress);
            bytes += taken.bytes;
            if (taken.lastOffset < fetch.from) {
              // Nothing at an offset the merger has read: a new leader whose high watermark has
              // not caught up yet. Asked again shortly, until the deadline.
              this.logger.warn({ topic, partition, offset: fetch.from }, 'reading pending events back: the leader answered nothing at an offset read before; asking again');
              plan.failed(fetch);
              await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
              continue;
            }
            settleFound(fetch, taken.lastOffset, taken.values, { bytes: taken.bytes, records: taken.records, batches: taken.batches });
          }
        } catch (error) {
          failedFor = error;
          plan.failed(fetch);
          throw error;
        } finally {
          announce();
        }
      }
    };
    // Workers stop at the deadline once their Fetch in flight answers (each is bounded by the
    // time left): nothing of a read goes on after it returned.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(this.concurrency, wanted.length) }, worker));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (!plan.done) throw new OffsetReadTimeout(topic, partition, wanted.length, this.timeoutMs);
    return { values, missing: missing.sort((a, b) => a - b), fetches, bytes };
  }

  /** The partition's first offset still in the log. */
  private async logStartOffset(topic: string, partition: number): Promise<number> {
    const [answer] = await this.cluster.fetchTopicsOffset([{ topic, partitions: [{ partition }], fromBeginning: true }]);
    return Number(answer?.partitions.find((p) => p.partition === partition)?.offset ?? 0);
  }

  /**
   * One Fetch from the partition's leader (metadata refreshed and retried when it moved). Every
   * step races the read's deadline: kafkajs' own timeouts (30 s a request, retried connects) are
   * longer, and a Fetch left behind is only abandoned, its answer dropped.
   */
  private async fetchFrom(topic: string, partition: number, fetch: PlannedFetch, deadline: number): Promise<FetchAnswer> {
    const late = () => new OffsetReadTimeout(topic, partition, fetch.last - fetch.first + 1, this.timeoutMs);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await beforeDeadline(this.fetchOnce(topic, partition, fetch), deadline, late);
      } catch (error) {
        const type = typeOf(error);
        // Closed meanwhile: a metadata refresh would connect the cluster again, and nothing would close it.
        if (this.closed || !RETRIABLE.has(type) || Date.now() + 100 * attempt > deadline) throw error;
        this.logger.warn({ topic, partition, offset: fetch.from, attempt, err: error }, 'reading pending events back: retrying after a leader or connection change');
        await sleep(100 * attempt);
        await beforeDeadline(this.cluster.refreshMetadata(), deadline, late).catch(() => undefined);
      }
    }
  }

  private async fetchOnce(topic: string, partition: number, fetch: PlannedFetch): Promise<FetchAnswer> {
    await this.ready(topic);
    const leaders = this.cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) throw Object.assign(new Error(`no leader for ${topic}[${partition}]`), { type: 'LEADER_NOT_AVAILABLE' });
    const broker = await this.cluster.findBroker({ nodeId });
    const request = fetchRequestV11({
      replicaId: -1,
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: fetch.maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(fetch.from), maxBytes: fetch.maxBytes }] }],
    });
    if (request.apiVersion !== FETCH_VERSION) throw new Error(`kafkajs built a Fetch v${request.apiVersion}; the reader decodes v${FETCH_VERSION}`);
    const answer = (await broker.connectionPool.send({
      request,
      response: { decode: async (raw: Buffer) => decodeFetchAnswer(raw), parse: async (data: unknown) => data },
    })) as ReturnType<typeof decodeFetchAnswer>;
    if (answer.errorCode !== 0) throw createErrorFromCode(answer.errorCode);
    const found = answer.topics.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition);
    if (!found) return { kind: 'records', partition: { partition, errorCode: 0, abortedTransactions: [], recordSet: Buffer.alloc(0) } };
    if (found.errorCode === OFFSET_OUT_OF_RANGE) return { kind: 'out-of-range' };
    if (found.errorCode !== 0) throw createErrorFromCode(found.errorCode);
    return { kind: 'records', partition: found };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.connected) await this.cluster.disconnect().catch(() => undefined);
    this.connected = null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or the error `late()` makes once the deadline has passed, whichever comes first. */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(late()), Math.max(0, deadline - Date.now()))))]);
  } finally {
    clearTimeout(timer);
    // An abandoned step may still fail later: that is not an unhandled rejection.
    promise.catch(() => undefined);
  }
}
