/**
 * Issue 13, defect 3: a fired grace timer leaves the partition's timer index only if the index
 * still holds the window end that fired (scripts/clearFiredTimers-1.lua). A re-identify in the same
 * or a later in-flight batch re-arms the id's timer at another end; clearing it by member alone
 * lost that window's activity.
 */
import Redis from 'ioredis';
import { defineMergerCommands } from '../../../services/merger/redis/scripts';
import { deleteRedisPrefix } from '../../support/merger';
import { config, uniqueName } from '../../support/stack';

describe('clearing fired timers (R6, issue 13 defect 3)', () => {
  const redis = defineMergerCommands(new Redis(config.redis.url, { lazyConnect: false }));
  const prefix = uniqueName('timers');
  const key = `${prefix}:timers`;

  afterAll(async () => {
    await deleteRedisPrefix(prefix);
    await redis.quit();
  });

  it('R6: removes a timer still at the end that fired, keeps one armed again at another end', async () => {
    const fired = 1_764_489_600_123;
    await redis.zadd(key, fired, 'w\u0000fired', fired + 300_000, 'w\u0000rearmed', fired, 'w\u0000untouched');
    // "rearmed" fired at `fired`, then a re-identify armed it again; "fired" fired at two ends
    // (a replay after a restart), the second one its current score.
    const removed = await redis.clearFiredTimers(key, 'w\u0000fired', String(fired - 5), 'w\u0000fired', String(fired), 'w\u0000rearmed', String(fired), 'w\u0000gone', String(fired));
    expect(removed).toBe(1);
    expect(await redis.zrange(key, 0, -1, 'WITHSCORES')).toEqual(['w\u0000untouched', String(fired), 'w\u0000rearmed', String(fired + 300_000)]);
  });
});
