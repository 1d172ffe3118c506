/**
 * A kafkajs consumer started again when kafkajs gives up on it for good. kafkajs restarts a
 * consumer by itself after retriable errors, but some crashes come with `restart: false` — no
 * group coordinator found within its retries while Kafka was unreachable — and leave it stopped:
 * the process stays up, looks alive, and consumes nothing. The two-plane chaos matrix found it on
 * the control plane; the merger's main consumer had the same gap.
 *
 * A new consumer is made (a stopped kafkajs consumer cannot be run again), after `retryMs`, and
 * made again until one starts. Those who read or seek call `current()` each time.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger';

export interface RestartingConsumer {
  /** The consumer in use now. */
  current(): Consumer;
  /** Connects, subscribes and runs the first consumer. */
  start(): Promise<void>;
  /** Disconnects the consumer in use; no restart after this. */
  stop(): Promise<void>;
}

export function restartingConsumer(deps: {
  /** A new consumer, with the caller's own listeners on it. */
  readonly create: () => Consumer;
  /** Connect, subscribe, run. */
  readonly run: (consumer: Consumer) => Promise<void>;
  readonly logger: Logger;
  /** Names the consumer in the logs. */
  readonly name: string;
  readonly retryMs?: number;
  /** After any crash (the caller marks itself not ready). */
  readonly onCrash?: () => void;
}): RestartingConsumer {
  const retryMs = deps.retryMs ?? 2000;
  let stopping = false;
  let consumer: Consumer;

  const make = (): Consumer => {
    const created = deps.create();
    created.on(created.events.CRASH, ({ payload }) => {
      deps.onCrash?.();
      deps.logger.error({ err: payload.error, restart: payload.restart, consumer: deps.name }, 'consumer crashed');
      if (!payload.restart && !stopping) setTimeout(() => void restart(created), retryMs).unref();
    });
    return created;
  };

  const restart = async (crashed: Consumer): Promise<void> => {
    if (stopping || crashed !== consumer) return;
    await crashed.disconnect().catch(() => undefined);
    consumer = make();
    try {
      await deps.run(consumer);
      deps.logger.info({ consumer: deps.name }, 'consuming again after a crash');
    } catch (error) {
      deps.logger.error({ err: error, consumer: deps.name }, 'restarting the consumer failed; trying again');
      setTimeout(() => void restart(consumer), retryMs).unref();
    }
  };

  consumer = make();
  return {
    current: () => consumer,
    start: () => deps.run(consumer),
    stop: async () => {
      stopping = true;
      await consumer.disconnect();
    },
  };
}
