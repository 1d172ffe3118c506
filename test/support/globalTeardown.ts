/**
 * After the run: remove the topics, subjects, consumer groups and Redis keys it made (and those
 * of runs long over), then fail the run if it created any of the names `make run` uses.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { loadConfig } from '../../services/shared/config';
import { DEFAULTS_BEFORE_ENV } from './globalSetup';
import { currentRun } from './testRun';
import { defaultNamesInUse, defaultsCreated, removeTestNames, type DefaultNames } from './testNamespace';

/** Whether a service that `make up` / `make run` started (pid file under .local/run) is alive. */
function makeRunIsUp(): boolean {
  const runDir = path.join(process.env.ANONMERGE_HOME ?? path.resolve(__dirname, '../../.local'), 'run');
  return ['merger', 'ingest', 'activity'].some((name) => {
    try {
      process.kill(Number(readFileSync(path.join(runDir, `${name}.pid`), 'utf8')), 0);
      return true;
    } catch {
      return false;
    }
  });
}

export default async function globalTeardown(): Promise<void> {
  const config = loadConfig(['kafka', 'registry', 'redis']);
  const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 2 } });
  const admin = kafka.admin();
  const redis = new Redis(config.redis.url, { connectTimeout: 3000, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    const before = JSON.parse(process.env[DEFAULTS_BEFORE_ENV] ?? 'null') as DefaultNames | null;
    const after = await defaultNamesInUse(admin, config.registry, redis);
    const removed = await removeTestNames(admin, config.registry, redis, currentRun());
    process.stdout.write(`\ntest teardown (run ${currentRun()}): removed ${removed.topics} topics, ${removed.subjects} subjects, ${removed.groups} consumer groups, ${removed.redisKeys} Redis keys\n`);
    for (const failure of removed.failures.slice(0, 10)) process.stdout.write(`  not removed: ${failure}\n`);
    const created = before ? defaultsCreated(before, after) : [];
    if (created.length > 0 && makeRunIsUp()) {
      // A person's `make run` beside the tests creates the defaults too: say so, do not fail.
      process.stdout.write(`  the services of 'make run' are up, so these may be theirs: ${created.join(', ')}\n`);
    } else if (created.length > 0) {
      throw new Error(`the test run created names that 'make run' uses (a test started something without its own names):\n  - ${created.join('\n  - ')}`);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}
