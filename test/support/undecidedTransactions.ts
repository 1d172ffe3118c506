/**
 * Sees when a topic holds records of a transaction not yet decided (neither committed nor
 * aborted): a read_uncommitted reader has read a record at or past a partition's last stable
 * offset. kafkajs' admin lists offsets read_committed, so its "latest" offset is that last stable
 * offset; the reader, following the topics from their start, knows how far the log really goes.
 *
 * With the producer frozen (SIGSTOP), such a record means its transaction is open and stays open:
 * killing the producer then leaves records of an aborted transaction in the log, for sure rather
 * than by the luck of a kill's timing.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { uniqueName } from './stack';

export class UndecidedTransactionWatch {
  private readonly furthest = new Map<string, number>();

  private constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly topics: readonly string[],
  ) {}

  static async start(kafka: Kafka, topics: readonly string[]): Promise<UndecidedTransactionWatch> {
    const admin = kafka.admin();
    await admin.connect();
    const consumer = kafka.consumer({ groupId: uniqueName('undecided-watch'), readUncommitted: true, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    const watch = new UndecidedTransactionWatch(consumer, admin, topics);
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const last = Number(batch.lastOffset());
        const key = `${batch.topic}/${batch.partition}`;
        if (last > (watch.furthest.get(key) ?? -1)) watch.furthest.set(key, last);
      },
    });
    return watch;
  }

  /** Whether some partition holds a record at or past its last stable offset, as read so far. */
  async holdsUndecidedRecords(): Promise<boolean> {
    for (const topic of this.topics) {
      for (const { partition, offset } of await this.admin.fetchTopicOffsets(topic)) {
        if ((this.furthest.get(`${topic}/${partition}`) ?? -1) >= Number(offset)) return true;
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }
}
