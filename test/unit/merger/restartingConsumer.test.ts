/**
 * services/merger/kafka/restartingConsumer.ts against fake kafkajs consumers: a crash kafkajs
 * gives up on makes a new consumer and runs it; one kafkajs restarts by itself does not; a stop
 * ends it; a failed start is tried again.
 */
import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { createLogger } from '../../../services/shared/logger';
import { restartingConsumer } from '../../../services/shared/kafka/restartingConsumer';

const logger = createLogger('test', 'silent');

class FakeConsumer extends EventEmitter {
  readonly events = { CRASH: 'consumer.crash' };
  disconnected = false;
  crash(restart: boolean): void {
    this.emit(this.events.CRASH, { payload: { error: new Error('no coordinator'), restart } });
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
}

function fixture(failRuns = 0) {
  const made: FakeConsumer[] = [];
  const ran: FakeConsumer[] = [];
  let crashes = 0;
  let failing = failRuns;
  const consumers = restartingConsumer({
    create: () => {
      const consumer = new FakeConsumer();
      made.push(consumer);
      return consumer as unknown as Consumer;
    },
    run: async (consumer) => {
      if (failing > 0 && made.length > 1) {
        failing -= 1;
        throw new Error('Kafka still unreachable');
      }
      ran.push(consumer as unknown as FakeConsumer);
    },
    logger,
    name: 'test',
    retryMs: 100,
    onCrash: () => (crashes += 1),
  });
  return { consumers, made, ran, crashes: () => crashes };
}

describe('a consumer started again when kafkajs gives up on it', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('after a crash kafkajs does not restart, a new consumer runs in its place', async () => {
    const { consumers, made, ran, crashes } = fixture();
    await consumers.start();
    const first = made[0] as FakeConsumer;
    first.crash(false);
    expect(crashes()).toBe(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(first.disconnected).toBe(true);
    expect(made).toHaveLength(2);
    expect(ran).toEqual([first, made[1]]);
    expect(consumers.current()).toBe(made[1]);
  });

  it('a crash kafkajs restarts by itself leaves the consumer as it is', async () => {
    const { consumers, made, crashes } = fixture();
    await consumers.start();
    (made[0] as FakeConsumer).crash(true);
    await jest.advanceTimersByTimeAsync(1000);
    expect(crashes()).toBe(1);
    expect(made).toHaveLength(1);
  });

  it('no restart once stopped', async () => {
    const { consumers, made } = fixture();
    await consumers.start();
    await consumers.stop();
    (made[0] as FakeConsumer).crash(false);
    await jest.advanceTimersByTimeAsync(1000);
    expect(made).toHaveLength(1);
  });

  it('a start that fails is tried again with another new consumer, until one runs', async () => {
    const { consumers, made, ran } = fixture(2);
    await consumers.start();
    (made[0] as FakeConsumer).crash(false);
    await jest.advanceTimersByTimeAsync(100);
    await jest.advanceTimersByTimeAsync(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(made).toHaveLength(4);
    expect(ran).toEqual([made[0], made[3]]);
    expect(consumers.current()).toBe(made[3]);
  });
});
