/**
 * A pending event whose record the inbound log no longer holds (the topic kept less than the
 * workspace retention: docs/design-pending-pointers.md): the bind merges the others, counts the
 * missing ones and goes on, rather than stopping its partition.
 */
import type { RunningMerger } from '../../../services/merger/service';
import { anonymousEvent, deleteRedisPrefix, identify, InboundWriter, OutputReader, startTestMerger } from '../../support/merger';
import { PendingLists } from '../../support/pendingList';
import { deleteTopics, isolatedTopics, testKafka, uniqueName, withAdmin } from '../../support/stack';

describe('R1: pending events gone from the inbound log', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('pending-gone', 1);
  let merger: RunningMerger & { prefix: string };
  let writer: InboundWriter;
  let reader: OutputReader;

  beforeAll(async () => {
    merger = await startTestMerger(topics, { mode: 'two-planes', pendingPointers: true });
    writer = await new InboundWriter(kafka, topics, { personOps: true }).open();
    reader = await new OutputReader(kafka, topics).open();
  });
  afterAll(async () => {
    await writer?.close();
    await reader?.close();
    await merger?.close();
    await deleteRedisPrefix(merger.prefix);
    await deleteTopics(kafka, topics);
  });

  it('R1/R2b: a bind merges the pending events the log still holds and counts the ones it does not', async () => {
    const ws = uniqueName('ws').replace(/[^A-Za-z0-9_-]/g, '');
    const T = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    await writer.write([anonymousEvent(ws, 'A', T, 'first'), anonymousEvent(ws, 'A', T + 1, 'second')]);
    await writer.write([anonymousEvent(ws, 'A', T + 2, 'third')]);
    await reader.until(() => reader.of(ws).anonymousEvents.length === 3, 30000);
    const lists = await PendingLists.open(kafka, topics);
    const pointers = await lists.stored(merger.prefix, ws, 'A').finally(() => lists.close());
    expect(pointers.map((p) => p.kind)).toEqual(['pointer', 'pointer', 'pointer']);
    const third = pointers[2] as { partition: number; offset: number };
    // As retention would: the log starts at the third event now.
    await withAdmin(kafka, async (admin) => {
      await admin.fetchTopicMetadata({ topics: [topics.inbound] });
      await admin.deleteTopicRecords({ topic: topics.inbound, partitions: [{ partition: third.partition, offset: String(third.offset) }] });
    });
    await writer.write([identify(ws, 'p1', 'A', T + 3)]);
    await reader.until(() => reader.of(ws).mergedEvents.length >= 1 && reader.of(ws).activity.length >= 1, 30000);
    expect(reader.of(ws).mergedEvents.map((e) => e.event_id)).toEqual(['third']);
    expect(merger.totals.pendingMissing).toBe(2);
    expect(merger.totals.pendingRead).toBe(1);
  });
});
