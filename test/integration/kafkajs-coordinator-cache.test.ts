/**
 * patches/kafkajs+2.2.4.patch keeps a transactional producer's coordinators: kafkajs 2.2.4 asks
 * for the transaction coordinator before AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, and for
 * the group coordinator before TxnOffsetCommit — four FindCoordinator round trips per
 * transaction, which the two-plane merger (a transaction per control step) paid tens of times a
 * second. With the patch they are asked for once, and again only after a request to them failed.
 */
import { ensureTopics } from '../../services/shared/kafka/topics';
import { deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../support/stack';

describe('kafkajs transactional producer keeps its coordinators', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('coordinators', 1);
  const groupId = uniqueName('coordinators-group');

  afterAll(() => deleteTopics(kafka, topics));

  it('five transactions with offsets ask for each coordinator once, and all commit', async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const producer = kafka.producer({ transactionalId: uniqueName('coordinators-txn'), idempotent: true, maxInFlightRequests: 1 });
    const requests: string[] = [];
    let afterFirst = 0;
    producer.on(producer.events.REQUEST, ({ payload }) => requests.push(payload.apiName));
    await producer.connect();
    try {
      for (let i = 1; i <= 5; i += 1) {
        const transaction = await producer.transaction();
        await transaction.send({ topic: topics.anonymousEvents, messages: [{ value: `record ${i}` }] });
        await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: topics.inbound, partitions: [{ partition: 0, offset: String(i) }] }] });
        await transaction.commit();
        if (i === 1) afterFirst = requests.length;
      }
    } finally {
      await producer.disconnect();
    }
    const count = (api: string, from = 0) => requests.slice(from).filter((name) => name === api).length;
    expect(count('EndTxn')).toBe(5);
    expect(count('TxnOffsetCommit')).toBe(5);
    // The first transaction finds both coordinators (asking again while a new group's is still
    // loading); the next four ask for neither.
    expect(count('GroupCoordinator')).toBeGreaterThanOrEqual(2);
    expect(count('GroupCoordinator', afterFirst)).toBe(0);
    expect(count('EndTxn', afterFirst)).toBe(4);
    const offsets = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId, topics: [topics.inbound] }));
    expect(offsets[0]?.partitions[0]?.offset).toBe('5');
  }, 60000);
});
