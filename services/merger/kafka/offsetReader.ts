/**
 * Reads given offsets of one partition back from Kafka: the bodies of pending events, which Redis
 * keeps as pointers into the inbound log (docs/design-pending-pointers.md).
 *
 * kafkajs has no way to fetch an offset outside a consumer group's flow, so this talks to the
 * partition's leader with kafkajs' own cluster and broker objects (the same brokers, TLS and SASL
 * as every other client of the service), and sends Fetch requests itself:
 *
 *   - a Fetch from the first offset still wanted returns the record batches after it, up to a
 *     byte budget; every wanted offset among them is taken, the next Fetch starts at the next one
 *     still wanted (an id's events cluster in the log, so few requests read many);
 *   - offsets far apart are read by several Fetches in flight at once;
 *   - READ_COMMITTED, and only the offsets asked for are kept (copied out of the response);
 *   - one deadline for the whole read; an offset below the log start (deleted by retention), or
 *     one the log does not hold as a data record, comes back in `missing`.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../shared/logger';

const READ_COMMITTED = 1;
/** kafkajs' Fetch response: the parts read here. */
interface FetchedMessage {
  readonly offset: string;
  readonly value: Buffer | null;
  readonly isControlRecord?: boolean;
}
interface FetchedPartition {
  readonly partition: number;
  readonly lastStartOffset?: string;
  readonly abortedTransactions?: unknown[];
  readonly messages: readonly FetchedMessage[];
}
/**
 * kafkajs' own filter of aborted transactions' records (the one its consumer uses, with the fix
 * in patches/), so that a record of an aborted transaction is never taken for a pending event.
 */
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages') as (options: { messages: readonly FetchedMessage[]; isolationLevel: number; abortedTransactions: unknown[] }) => FetchedMessage[];
interface Broker {
  fetch(request: unknown): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<Broker>;
}

export interface OffsetReaderOptions {
  /** Bytes a Fetch asks for (at least one record batch comes back whatever this is). */
  readonly fetchBytes?: number;
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

const RETRIABLE = new Set(['NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'KafkaJSConnectionError', 'KafkaJSRequestTimeoutError', 'KafkaJSConnectionClosedError']);
const typeOf = (error: unknown) => (error as { type?: string }).type ?? (error as { name?: string }).name ?? '';

/** The index of the first element of sorted `values` above `value`. */
function firstAbove(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class OffsetReader {
  private readonly cluster: Cluster;
  private connected: Promise<void> | null = null;
  private readonly topics = new Set<string>();
  private readonly fetchBytes: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;

  constructor(
    kafka: Kafka,
    private readonly logger: Logger,
    options: OffsetReaderOptions = {},
  ) {
    this.cluster = clusterOf(kafka);
    this.fetchBytes = options.fetchBytes ?? 256 * 1024;
    this.concurrency = options.concurrency ?? 8;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private async ready(topic: string): Promise<void> {
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
    const gone = new Set<number>();
    if (wanted.length === 0) return { values, missing: [], fetches: 0 };
    const deadline = Date.now() + this.timeoutMs;
    let fetches = 0;
    const settledOffset = (offset: number) => values.has(offset) || gone.has(offset);
    // Each worker takes the next offset nobody reads yet; a Fetch covers every wanted offset it returns.
    let cursor = 0;
    const claimed = new Set<number>();
    const worker = async () => {
      while (Date.now() < deadline) {
        while (cursor < wanted.length && (settledOffset(wanted[cursor] as number) || claimed.has(wanted[cursor] as number))) cursor += 1;
        if (cursor >= wanted.length) return;
        const from = wanted[cursor] as number;
        claimed.add(from);
        fetches += 1;
        const answer = await this.fetchFrom(topic, partition, from, deadline);
        if (answer === 'gone') {
          gone.add(from);
          continue;
        }
        if (answer.lastOffset < from) throw new Error(`${topic}[${partition}] returned nothing at offset ${from}, which the merger read before`);
        for (const message of answer.messages) {
          if (message.isControlRecord) continue;
          const offset = Number(message.offset);
          if (wanted[firstAbove(wanted, offset - 1)] === offset && !values.has(offset)) values.set(offset, message.value ? Buffer.from(message.value) : null);
        }
        // Wanted offsets the answer passed over without holding them (aborted, control) are not
        // in the log as committed data.
        for (let i = firstAbove(wanted, from - 1); i < wanted.length && (wanted[i] as number) <= answer.lastOffset; i += 1) {
          if (!values.has(wanted[i] as number)) gone.add(wanted[i] as number);
        }
      }
    };
    // Workers stop at the deadline once their Fetch in flight answers (each is bounded by the
    // client's request timeout): nothing of a read goes on after it returned.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(this.concurrency, wanted.length) }, worker));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (!wanted.every(settledOffset)) throw new OffsetReadTimeout(topic, partition, wanted.length, this.timeoutMs);
    return { values, missing: [...gone].sort((a, b) => a - b), fetches };
  }

  /** One Fetch at `offset` from the partition's leader (metadata refreshed and retried when it moved). */
  private async fetchFrom(topic: string, partition: number, offset: number, deadline: number): Promise<{ readonly messages: readonly FetchedMessage[]; readonly lastOffset: number } | 'gone'> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.ready(topic);
        const leaders = this.cluster.findLeaderForPartitions(topic, [partition]);
        const nodeId = Object.keys(leaders)[0];
        if (nodeId === undefined) throw Object.assign(new Error(`no leader for ${topic}[${partition}]`), { type: 'LEADER_NOT_AVAILABLE' });
        const broker = await this.cluster.findBroker({ nodeId });
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: 0,
          minBytes: 1,
          maxBytes: this.fetchBytes,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: this.fetchBytes }] }],
        });
        const answer = response.responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition);
        if (!answer) return { messages: [], lastOffset: -1 };
        // The last offset the answer covered, aborted records included: what it passed over.
        const last = answer.messages[answer.messages.length - 1];
        return {
          messages: filterAbortedMessages({ messages: answer.messages, isolationLevel: READ_COMMITTED, abortedTransactions: answer.abortedTransactions ?? [] }),
          lastOffset: last ? Number(last.offset) : -1,
        };
      } catch (error) {
        const type = typeOf(error);
        if (type === 'OFFSET_OUT_OF_RANGE') return 'gone';
        if (!RETRIABLE.has(type) || Date.now() + 100 * attempt > deadline) throw error;
        this.logger.warn({ topic, partition, offset, attempt, err: error }, 'reading pending events back: retrying after a leader or connection change');
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        await this.cluster.refreshMetadata().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.cluster.disconnect().catch(() => undefined);
    this.connected = null;
  }
}
