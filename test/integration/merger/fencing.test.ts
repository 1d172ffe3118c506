/**
 * The fencing the merger's exactly-once argument rests on (docs/exactly-once.md): once a new
 * owner has acquired a partition's transactional producer, the previous owner can commit
 * nothing more — not even a transaction it had not started yet — and the committed offset the
 * new owner reads is final. kafkajs fences only at a producer's first transaction, not at
 * connect; acquire() makes it happen at once.
 */
import { TransactionalPublisher, FencedError } from '../../../services/shared/kafka/transactionalPublisher';
import { fetchCommittedOffsets } from '../../../services/shared/kafka/committedOffsets';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName, withAdmin } from '../../support/stack';

describe('partition ownership in Kafka (R7)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('fencing', 1);
  const groupId = uniqueName('fencing-group');
  const publisher = () => new TransactionalPublisher(kafka, groupId, topics.inbound, () => topics.mergedEvents, testLogger);

  afterAll(() => deleteTopics(kafka, topics));

  it('a new owner acquiring the producer fences the previous owner before it commits anything more', async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger));
    const previous = publisher();
    const next = publisher();
    try {
      await previous.acquire(0);
      await previous.publish(0, [], 10);
      await next.acquire(0);
      // The previous owner's next transaction is refused, although it never saw the new owner.
      await expect(previous.publish(0, [], 20)).rejects.toBeInstanceOf(FencedError);
      const committed = await withAdmin(kafka, (admin) => fetchCommittedOffsets(admin, groupId, topics.inbound, { partitions: [0], stable: true }));
      expect(committed.get(0)).toBe(10);
      await next.publish(0, [], 30);
      expect((await withAdmin(kafka, (admin) => fetchCommittedOffsets(admin, groupId, topics.inbound, { partitions: [0], stable: true }))).get(0)).toBe(30);
    } finally {
      await previous.close();
      await next.close();
    }
  }, 60000);

  it('publishing for a partition this process has not acquired is refused, never acquired on the fly', async () => {
    const stray = publisher();
    await expect(stray.publish(0, [], 40)).rejects.toBeInstanceOf(FencedError);
    await stray.close();
  });
});
