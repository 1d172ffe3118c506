/**
 * Foundation: the project's Redis is reachable, and a Redis started by the project's own script
 * (infra/redis.sh: AOF on, appendfsync everysec) finds its data back after a restart — a clean
 * one, and a SIGKILL more than a second after the write (the everysec promise).
 *
 * The restart test runs its own instance (same script, another port and data folder) so that it
 * never takes the shared instance away from tests running beside it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { config, uniqueName } from '../support/stack';

const script = path.resolve(__dirname, '../../infra/redis.sh');

describe('the project Redis', () => {
  it('writes and reads', async () => {
    const redis = new Redis(config.redis.url);
    const key = uniqueName('test:rw');
    await redis.set(key, 'value', 'EX', 60);
    expect(await redis.get(key)).toBe('value');
    // It is the project's own instance: AOF on, not the throwaway one on 6379.
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    expect(aof[1]).toBe('yes');
    const fsync = (await redis.config('GET', 'appendfsync')) as string[];
    expect(fsync[1]).toBe('everysec');
    await redis.del(key);
    redis.disconnect();
  });
});

describe('a Redis started by infra/redis.sh', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'anonmerge-redis-'));
  const port = String(16000 + Math.floor(Math.random() * 2000));
  const env = { ...process.env, ANONMERGE_HOME: home, REDIS_PORT: port };
  const run = (...args: string[]) => execFileSync('bash', [script, ...args], { env, stdio: 'pipe' });
  const client = () => new Redis({ host: '127.0.0.1', port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1 });

  beforeAll(() => {
    run('start');
    run('wait');
  });

  afterAll(() => {
    run('stop');
    rmSync(home, { recursive: true, force: true });
  });

  it('keeps its data across a clean restart', async () => {
    const before = client();
    await before.connect();
    await before.hset('binding', 'abc123', 'person@example.com');
    before.disconnect();
    run('stop');
    run('start');
    run('wait');
    const after = client();
    await after.connect();
    expect(await after.hget('binding', 'abc123')).toBe('person@example.com');
    after.disconnect();
  });

  it('keeps writes older than a second across a SIGKILL (AOF everysec)', async () => {
    const before = client();
    await before.connect();
    for (let i = 0; i < 100; i += 1) await before.rpush('pending', `event-${i}`);
    before.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 2000)); // past the fsync second
    const pid = Number(readFileSync(path.join(home, 'run', 'redis.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    run('start');
    run('wait');
    const after = client();
    await after.connect();
    expect(await after.llen('pending')).toBe(100);
    expect(await after.lindex('pending', 99)).toBe('event-99');
    after.disconnect();
  });
});
