/**
 * The offset reader a bind reads pending events back with (docs/design-pending-pointers.md),
 * against a real broker: offsets clustered and scattered, in few Fetches; only committed records;
 * records deleted by retention reported missing; a deadline.
 */
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { OffsetReader, OffsetReadTimeout } from '../../../services/merger/kafka/offsetReader';
import { testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

describe('pending events read back from the inbound log by offset', () => {
  const kafka: Kafka = testKafka();
  const topic = uniqueName('test-offsets');
  let producer: Producer;
  let reader: OffsetReader;
  const RECORDS = 3000;

  beforeAll(async () => {
    await withAdmin(kafka, (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] }));
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
    // 3,000 records in batches of 100: values name their own offset.
    for (let start = 0; start < RECORDS; start += 100) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ key: 'k', value: `record-${start + i}` })) });
    }
    reader = new OffsetReader(kafka, testLogger, { maxFetchBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await reader?.close();
    await producer?.disconnect();
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => undefined);
  });

  it('reads clustered offsets in few Fetches and scattered ones each, every value the one at its offset', async () => {
    const clustered = Array.from({ length: 200 }, (_, i) => 1000 + i);
    const read = await reader.read(topic, 0, clustered);
    expect(read.missing).toEqual([]);
    expect([...read.values.keys()].sort((a, b) => a - b)).toEqual(clustered);
    for (const [offset, value] of read.values) expect(value?.toString()).toBe(`record-${offset}`);
    expect(read.fetches).toBeLessThan(20);

    const scattered = [2999, 5, 1500, 5, 777, 2200, 0];
    const again = await reader.read(topic, 0, scattered);
    expect(again.missing).toEqual([]);
    expect(new Map([...again.values].map(([o, v]) => [o, v?.toString()]))).toEqual(new Map([0, 5, 777, 1500, 2200, 2999].map((o) => [o, `record-${o}`])));
  });

  it('leaves no connection open once closed, after reads that started together on a fresh reader', async () => {
    // kafkajs opened a socket per concurrent connect of one connection and closed only the last
    // (patches/kafkajs+2.2.4.patch makes them share one): the others kept the process alive.
    const sockets = () => new Set((process as unknown as { _getActiveHandles(): Array<{ constructor: { name: string }; remotePort?: number }> })._getActiveHandles().filter((h) => h.constructor.name === 'Socket' && h.remotePort !== undefined));
    const before = sockets();
    const fresh = new OffsetReader(kafka, testLogger, { maxFetchBytes: 4 * 1024 });
    const reads = await Promise.all([[10, 20], [1500, 1600, 2500], [2999], [400, 900]].map((offsets) => fresh.read(topic, 0, offsets)));
    expect(reads.map((read) => [...read.values.keys()].sort((a, b) => a - b))).toEqual([[10, 20], [1500, 1600, 2500], [2999], [400, 900]]);
    await fresh.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // No socket is open that was not before (others of the test process may have closed).
    expect([...sockets()].filter((socket) => !before.has(socket)).length).toBe(0);
  });

  it('reports offsets the log no longer holds, and those it never held as committed data', async () => {
    // The records below 1,000 deleted, as retention does.
    await withAdmin(kafka, async (admin) => {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1000' }] });
    });
    const transactional = kafka.producer({ transactionalId: uniqueName('aborter'), idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const transaction = await transactional.transaction();
    await transaction.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
    await transaction.abort();
    await transactional.disconnect();
    const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'after the abort' }] });
    const after = Number(sent?.baseOffset);
    // 3000 is the aborted record; the abort marker and the next record are 3001 and 3002, in
    // either order (the marker is written by the coordinator, after the abort returned).
    expect([3001, 3002]).toContain(after);
    const marker = after === 3001 ? 3002 : 3001;
    const read = await reader.read(topic, 0, [10, 999, 1000, 3000, 3001, 3002]);
    expect(read.missing).toEqual([10, 999, 3000, marker]);
    expect(read.values.get(1000)?.toString()).toBe('record-1000');
    expect(read.values.get(after)?.toString()).toBe('after the abort');
  });

  it('leaves out an aborted transaction between committed ones in one answer, and reads compressed batches', async () => {
    // Two transactional producers interleaved: one commits, one aborts, their batches side by
    // side in the log, then a gzip batch: one Fetch brings them all, and only committed data
    // records come back.
    const committer = kafka.producer({ transactionalId: uniqueName('committer'), idempotent: true, maxInFlightRequests: 1 });
    const aborter = kafka.producer({ transactionalId: uniqueName('aborter-2'), idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([committer.connect(), aborter.connect()]);
    const kept = await committer.transaction();
    const dropped = await aborter.transaction();
    const offsetsOf = async (sending: Promise<Array<{ baseOffset?: string }>>) => Number((await sending)[0]?.baseOffset);
    const keptFirst = await offsetsOf(kept.send({ topic, messages: [{ key: 'k', value: 'kept-1' }] }));
    const droppedFirst = await offsetsOf(dropped.send({ topic, messages: [{ key: 'k', value: 'dropped-1' }, { key: 'k', value: 'dropped-2' }] }));
    const keptSecond = await offsetsOf(kept.send({ topic, messages: [{ key: 'k', value: 'kept-2' }] }));
    await dropped.abort();
    await kept.commit();
    await Promise.all([committer.disconnect(), aborter.disconnect()]);
    const gzipFirst = await offsetsOf(producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: `gzip-${i}` })) }));
    const wanted = [keptFirst, droppedFirst, droppedFirst + 1, keptSecond, gzipFirst, gzipFirst + 49];
    const own = new OffsetReader(kafka, testLogger);
    const read = await own.read(topic, 0, wanted).finally(() => own.close());
    expect(new Map([...read.values].map(([o, v]) => [o, v?.toString()]))).toEqual(
      new Map([
        [keptFirst, 'kept-1'],
        [keptSecond, 'kept-2'],
        [gzipFirst, 'gzip-0'],
        [gzipFirst + 49, 'gzip-49'],
      ]),
    );
    expect(read.missing).toEqual([droppedFirst, droppedFirst + 1]);
  });

  it('gives up at its deadline with an error naming the read', async () => {
    const slow = new OffsetReader(kafka, testLogger, { timeoutMs: 1, maxFetchBytes: 1024, concurrency: 1 });
    try {
      await expect(slow.read(topic, 0, Array.from({ length: 500 }, (_, i) => 1000 + i * 3))).rejects.toBeInstanceOf(OffsetReadTimeout);
    } finally {
      // The Fetch abandoned at the deadline answers soon after: let it, before disconnecting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await slow.close();
    }
  });

  it('keeps an offset below the log start gone when the log starts inside its batch', async () => {
    // Offsets 1,000 … 1,099 are one batch (one send of 100). The log now starts at 1,050: a Fetch
    // from 1,060 brings the whole batch, 1,040 included, yet 1,040 is gone.
    await withAdmin(kafka, async (admin) => {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1050' }] });
    });
    for (const order of [
      [1040, 1060],
      [1060, 1040, 1045],
    ]) {
      const read = await reader.read(topic, 0, order);
      expect(read.missing).toEqual(order.filter((o) => o < 1050).sort((a, b) => a - b));
      expect(new Map([...read.values].map(([o, v]) => [o, v?.toString()]))).toEqual(new Map([[1060, 'record-1060']]));
    }
  });
});
