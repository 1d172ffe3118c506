/**
 * The ticker's timing (services/merger/kafka/ticker.ts), against a producer that records what it
 * is asked to send: periodic ticks on partitions that showed nothing recent, and one-off ticks
 * asked for when a held record becomes releasable.
 */
import type { Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { Ticker, type TickerOptions } from '../../../services/merger/kafka/ticker';
import { createLogger } from '../../../services/shared/logger';

const testLogger = createLogger('test', 'silent');

interface Sent {
  readonly partitions: number[];
  readonly at: number;
}

function tickerAt(intervalMs: number, options: TickerOptions = {}) {
  let now = 1_000_000;
  const sent: Sent[] = [];
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    send: async ({ messages }: { messages: Array<{ partition: number; value: Buffer }> }) => {
      sent.push({ partitions: messages.map((m) => m.partition), at: now });
    },
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  const catalog = { encode: () => Buffer.alloc(0) } as unknown as SchemaCatalog;
  const ticker = new Ticker(kafka, catalog, 'topic', intervalMs, testLogger, { now: () => now, ...options });
  return { ticker, sent, advance: (ms: number) => (now += ms), now: () => now };
}

describe('the ticker', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('ticks, every interval, the partitions that showed nothing received within it', async () => {
    const { ticker, sent, advance, now } = tickerAt(200);
    await ticker.start();
    ticker.setPartitions([0, 1]);
    advance(200);
    ticker.noteReceived(1, now() - 50);
    await jest.advanceTimersByTimeAsync(200);
    expect(sent).toEqual([{ partitions: [0], at: now() }]);
    await ticker.stop();
  });

  it('a one-off tick at the time asked for, the earliest of several asks, once', async () => {
    const { ticker, sent, advance, now } = tickerAt(10_000);
    await ticker.start();
    ticker.setPartitions([0]);
    ticker.noteReceived(0, now());
    const due = now() + 100;
    ticker.tickAt(0, due + 50);
    ticker.tickAt(0, due);
    ticker.tickAt(0, due + 20);
    advance(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([{ partitions: [0], at: due }]);
    advance(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(1);
    await ticker.stop();
  });

  it('no one-off tick when the partition showed a record received by then, or when the time is long past', async () => {
    const { ticker, sent, advance, now } = tickerAt(200);
    await ticker.start();
    ticker.setPartitions([0]);
    ticker.noteReceived(0, now());
    ticker.tickAt(0, now() + 100);
    ticker.noteReceived(0, now() + 100);
    // A consumer catching up asks for a time its log has long passed: the ticks are there already.
    ticker.tickAt(0, now() - 5_000);
    advance(150);
    await jest.advanceTimersByTimeAsync(150);
    expect(sent).toEqual([]);
    await ticker.stop();
  });

  it('no one-off tick for a partition no longer owned', async () => {
    const { ticker, sent, advance, now } = tickerAt(10_000);
    await ticker.start();
    ticker.setPartitions([0]);
    ticker.noteReceived(0, now());
    ticker.tickAt(0, now() + 100);
    ticker.setPartitions([]);
    advance(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([]);
    await ticker.stop();
  });

  it("the control clocks' ticker: an ask long past is met by a tick now, and asked-for ticks keep their spacing", async () => {
    const { ticker, sent, advance, now } = tickerAt(400, { pastAsks: 'now', minSpacingMs: 400 });
    await ticker.start(false);
    ticker.setPartitions([0, 1]);
    ticker.noteReceived(0, now() - 10_000);
    // Nothing writes to these partitions on its own: an item held since long ago needs a tick now.
    ticker.tickAt(0, now() - 5_000);
    await jest.advanceTimersByTimeAsync(0);
    const first = now();
    expect(sent).toEqual([{ partitions: [0], at: first }]);
    // Covered by the tick just written.
    ticker.tickAt(0, first - 1);
    // Asked for 100 ms on: written 400 ms after the first, not before.
    ticker.tickAt(0, first + 100);
    advance(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(1);
    advance(300);
    await jest.advanceTimersByTimeAsync(300);
    expect(sent).toEqual([{ partitions: [0], at: first }, { partitions: [0], at: first + 400 }]);
    // No periodic ticks: partition 1, never asked for, gets none.
    advance(2_000);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(sent.flatMap((s) => s.partitions)).toEqual([0, 0]);
    await ticker.stop();
  });

  it('asks due together go in one request, so one fetch reads them all', async () => {
    const { ticker, sent, advance, now } = tickerAt(10_000);
    await ticker.start(false);
    ticker.setPartitions([0, 1, 2]);
    const due = now() + 100;
    ticker.tickAt(2, due);
    ticker.tickAt(0, due);
    ticker.tickAt(1, due - 10);
    advance(90);
    await jest.advanceTimersByTimeAsync(90);
    advance(10);
    await jest.advanceTimersByTimeAsync(10);
    // Partition 1 was due first and went alone; 0 and 2, due together, in one send.
    expect(sent).toEqual([{ partitions: [1], at: due - 10 }, { partitions: [2, 0], at: due }]);
    await ticker.stop();
  });

  it('ticks partitions owned elsewhere only below the count it was given, each at most once per foreignSpacingMs', async () => {
    const { ticker, sent, advance, now } = tickerAt(10_000, { foreignSpacingMs: 25 });
    await ticker.start(false);
    ticker.setPartitions([0]);
    const first = now() + 100;
    // Partition 3 is not owned here and no count was given: not ticked.
    ticker.tickAt(3, first);
    advance(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([]);
    // The control plane (or the order stage) names every partition of the topic's 4.
    ticker.setPartitionCount(4);
    ticker.tickAt(3, first + 1);
    ticker.tickAt(0, first + 1);
    ticker.tickAt(4, first + 1);
    advance(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([{ partitions: [3, 0], at: first + 1 }]);
    // Asked again 5 ms on: the owned partition at once, the foreign one 25 ms after its last tick.
    advance(5);
    ticker.tickAt(3, now());
    ticker.tickAt(0, now());
    await jest.advanceTimersByTimeAsync(0);
    expect(sent[1]).toEqual({ partitions: [0], at: first + 6 });
    advance(20);
    await jest.advanceTimersByTimeAsync(20);
    expect(sent[2]).toEqual({ partitions: [3], at: first + 26 });
    expect(sent).toHaveLength(3);
    await ticker.stop();
  });
});
