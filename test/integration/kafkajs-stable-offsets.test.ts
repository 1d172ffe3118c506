/**
 * patches/kafkajs+2.2.4.patch adds OffsetFetch v7 with require_stable (KIP-447). A merger that
 * takes over a partition reads the group's committed offset to know which outputs the previous
 * owner published; without require_stable the broker answers with the offset from before a
 * transaction it is still completing, and the new owner re-sends outputs that were committed
 * (duplicates, found by the chaos suite's rebalance run). With it, the read waits for the
 * transaction's outcome (fetchCommittedOffsets retries the broker's UNSTABLE_OFFSET_COMMIT).
 */
import { fetchCommittedOffsets } from '../../services/shared/kafka/committedOffsets';
import { ensureTopics } from '../../services/shared/kafka/topics';
import { deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../support/stack';

describe('kafkajs OffsetFetch with require_stable (R7)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('stable', 1);
  const groupId = uniqueName('stable-group');

  afterAll(() => deleteTopics(kafka, topics));

  it('a committed offset read during a transaction that commits it waits for that transaction', async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    await withAdmin(kafka, (admin) => admin.setOffsets({ groupId, topic: topics.inbound, partitions: [{ partition: 0, offset: '5' }] }));
    const producer = kafka.producer({ transactionalId: uniqueName('stable-txn'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect((await fetchCommittedOffsets(admin, groupId, topics.inbound)).get(0)).toBe(5);

      const transaction = await producer.transaction();
      await transaction.send({ topic: topics.anonymousEvents, messages: [{ value: 'x' }] });
      await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: topics.inbound, partitions: [{ partition: 0, offset: '42' }] }] });
      // The transaction holds an offset commit of the group that is not decided yet.
      let readAt = 0;
      const reading = fetchCommittedOffsets(admin, groupId, topics.inbound, { partitions: [0], stable: true }).then((result) => {
        readAt = Date.now();
        return result.get(0);
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Without require_stable, a read answers at once with the offset from before the transaction.
      expect((await fetchCommittedOffsets(admin, groupId, topics.inbound)).get(0)).toBe(5);
      const committedAt = Date.now();
      await transaction.commit();
      expect(await reading).toBe(42);
      expect(readAt).toBeGreaterThanOrEqual(committedAt);
    } finally {
      await admin.disconnect();
      await producer.disconnect();
    }
  }, 60000);
});
