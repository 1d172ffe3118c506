/**
 * patches/kafkajs+2.2.4.patch: a record sent to an explicit partition that the producer's
 * metadata does not list yet. The merger writes ticks, control clocks, binding commands and
 * person-order records to explicit partitions; after `anonmerge partitions add`, unpatched
 * kafkajs left such a record out of the produce request and resolved send() as if it had been
 * written — until its metadata refresh (five minutes by default), every tick and command for the
 * new partitions was lost without an error (found by the chaos run that adds partitions: the new
 * partitions' frontiers never moved, and ids whose binding went there stayed pending). Patched,
 * the producer refreshes its metadata and sends the record.
 */
import { waitForLeaders } from '../../services/shared/kafka/topics';
import { deleteTopics, isolatedTopics, readToEnd, testKafka, withAdmin } from '../support/stack';

describe('kafkajs producer and partitions added since its metadata was read', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('new-partitions', 1);

  afterAll(() => deleteTopics(kafka, topics));

  it('a record sent to a partition added after the producer read its metadata is written there', async () => {
    await withAdmin(kafka, (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.inbound, numPartitions: 1 }] }));
    // Idempotent, one request in flight, no automatic metadata refresh in the test's time: as the merger's tickers.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, metadataMaxAge: 300_000 });
    await producer.connect();
    try {
      await producer.send({ topic: topics.inbound, acks: -1, messages: [{ partition: 0, key: 'k', value: 'before' }] });
      await withAdmin(kafka, async (admin) => {
        await admin.createPartitions({ topicPartitions: [{ topic: topics.inbound, count: 3 }] });
        // The broker lists the new partitions (with leaders) before the producer is asked to use one.
        await waitForLeaders(admin, [topics.inbound], 10_000, new Map([[topics.inbound, 3]]));
      });
      await producer.send({ topic: topics.inbound, acks: -1, messages: [{ partition: 2, key: 'k', value: 'after' }] });
    } finally {
      await producer.disconnect();
    }
    const written = await readToEnd(kafka, topics.inbound, 20000);
    expect(written.map((m) => [m.partition, m.value?.toString()]).sort()).toEqual([
      [0, 'before'],
      [2, 'after'],
    ]);
  }, 60000);
});
