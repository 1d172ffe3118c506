/**
 * The faults, each repeated at random moments while the load generator runs. Each returns what
 * it counted (kills, zombie refusals, …) for the table.
 */
import type { ChaosRun } from './harness';
import { sleep } from './harness';
import { addPartitions } from '../../services/cli/commands/partitions';

const between = (low: number, high: number) => low + Math.random() * (high - low);

export type Fault = (run: ChaosRun, times: number) => Promise<Record<string, number>>;

/** A merger SIGKILLed during batches, restarted each time. */
export const mergerKill: Fault = async (run, times) => {
  let merger = run.spawnMerger();
  for (let i = 0; i < times; i += 1) {
    await run.ready(merger);
    await sleep(between(0, 1500));
    await run.kill(merger);
    merger = run.spawnMerger();
  }
  await run.ready(merger);
  return { kills: times };
};

/**
 * A merger SIGSTOPped past the session timeout, a second one takes over, then SIGCONT: the
 * paused one wakes up holding a batch it no longer owns, and its writes must be refused.
 */
export const zombie: Fault = async (run, times) => {
  let active = run.spawnMerger();
  await run.ready(active);
  for (let i = 0; i < times; i += 1) {
    // A backlog keeps the merger busy, so the pause lands in the middle of a batch.
    await run.burst(30000);
    await sleep(between(200, 800));
    active.child.kill('SIGSTOP');
    await sleep(4000); // past the 3 s session timeout
    const successor = run.spawnMerger();
    await run.ready(successor);
    await sleep(between(1000, 3000));
    active.child.kill('SIGCONT');
    await sleep(3000);
    await run.kill(active);
    active = successor;
  }
  return { pauses: times, zombieRefusals: run.logCount('refused as a zombie'), entityWritesRefused: run.logCount('entity writes refused'), claims: run.logCount('"partition claimed"') };
};

/** Merger instances added and removed repeatedly (graceful stops and kills): rebalances. */
export const rebalances: Fault = async (run, times) => {
  await run.ready(run.spawnMerger());
  for (let i = 0; i < times; i += 1) {
    const added = run.spawnMerger();
    await run.ready(added);
    await sleep(between(500, 2500));
    const live = run.live();
    const victim = live[Math.floor(Math.random() * live.length)];
    if (victim && live.length > 1) {
      if (Math.random() < 0.5) await run.stop(victim);
      else await run.kill(victim);
    }
  }
  return { rebalances: times * 2 };
};

/** Redis SIGKILLed (AOF everysec) and restarted: state and watermark roll back together. */
export const redisKill: Fault = async (run, times) => {
  await run.ready(run.spawnMerger());
  for (let i = 0; i < times; i += 1) {
    await sleep(between(1000, 3000));
    run.stack.redis.kill();
    await sleep(between(200, 1500));
    run.stack.redis.start();
  }
  await sleep(3000);
  return { redisKills: times, rollbacks: run.logCount('redis lost writes') + run.logCount('redis is behind the committed offset') };
};

/** The Kafka broker SIGKILLed and restarted. */
export const kafkaKill: Fault = async (run, times) => {
  await run.ready(run.spawnMerger());
  for (let i = 0; i < times; i += 1) {
    await sleep(between(2000, 4000));
    run.stack.kafka.kill();
    await sleep(between(500, 2000));
    run.stack.kafka.start();
  }
  return { kafkaKills: times };
};

/**
 * Partitions added while traffic flows, the way `anonmerge partitions add` does it: the inbound
 * topic and the commands topic (co-partitioned with it) grow together, so ingest, the control
 * plane and the merger each learn the new count on their own metadata refresh.
 */
export const partitionsAdded: Fault = async (run, times) => {
  await run.ready(run.spawnMerger());
  let count = run.topics.partitions;
  for (let i = 0; i < times; i += 1) {
    await sleep(between(1500, 3000));
    count += 2;
    await addPartitions(run.stack.client(), run.topics, 'inbound', count);
  }
  // Producers and the group see the new partitions at the next metadata refresh.
  await sleep(6000);
  return { partitionsAdded: times * 2, finalPartitions: count };
};

/**
 * Kafka or Redis unreachable for 5–60 s (short runs: 5–8 s) through the proxy: connections cut
 * (closed, new ones refused) or stalled (open, nothing moves).
 */
export const unreachable =
  (longest: number): Fault =>
  async (run, times) => {
    const { kafkaProxy, redisProxy } = run.stack;
    if (!kafkaProxy || !redisProxy) throw new Error('the unreachability fault needs a proxied stack');
    await run.ready(run.spawnMerger());
    const counted: Record<string, number> = { kafkaCut: 0, kafkaStall: 0, redisCut: 0, redisStall: 0, secondsUnreachable: 0 };
    for (let i = 0; i < times; i += 1) {
      await sleep(between(1000, 3000));
      const target = i % 2 === 0 ? 'redis' : 'kafka';
      const mode = Math.random() < 0.5 ? 'cut' : 'stall';
      const proxy = target === 'kafka' ? kafkaProxy : redisProxy;
      const seconds = between(5, longest);
      await proxy.set(mode);
      await sleep(seconds * 1000);
      await proxy.set('pass');
      counted[`${target}${mode === 'cut' ? 'Cut' : 'Stall'}`] = (counted[`${target}${mode === 'cut' ? 'Cut' : 'Stall'}`] ?? 0) + 1;
      counted.secondsUnreachable = Math.round((counted.secondsUnreachable ?? 0) + seconds);
    }
    return counted;
  };
