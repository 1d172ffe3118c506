/**
 * Integration tests run against the real local stack. Check once that all three parts answer,
 * and say how to start them if not, instead of letting every test time out on its own. Then give
 * the run its id and its own default names (test/support/testNamespace.ts), and note which of the
 * names `make run` uses exist, so the teardown can tell whether the run created any.
 */
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { loadConfig } from '../../services/shared/config';
import { newRunId, RUN_ENV } from './testRun';
import { defaultNamesInUse, sandboxEnvironment } from './testNamespace';

export const DEFAULTS_BEFORE_ENV = 'ANONMERGE_TEST_DEFAULTS_BEFORE';

export default async function globalSetup(): Promise<void> {
  const config = loadConfig(['kafka', 'registry', 'redis']);
  const problems: string[] = [];

  const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 2 } });
  const admin = kafka.admin();
  const redis = new Redis(config.redis.url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    try {
      await admin.connect();
      await admin.listTopics();
    } catch (error) {
      problems.push(`Kafka at ${config.kafka.brokers.join(',')}: ${(error as Error).message}`);
    }

    try {
      const response = await fetch(`${config.registry.url}/subjects`, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) problems.push(`schema registry at ${config.registry.url}: HTTP ${response.status}`);
    } catch (error) {
      problems.push(`schema registry at ${config.registry.url}: ${(error as Error).message}`);
    }

    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      problems.push(`Redis at ${config.redis.url}: ${(error as Error).message}`);
    }

    if (problems.length > 0) {
      throw new Error(`the local stack is not reachable; start it with 'make infra-up' (make test does):\n  - ${problems.join('\n  - ')}`);
    }

    // The test workers are started after this and inherit the environment set here.
    const run = newRunId();
    process.env[RUN_ENV] = run;
    Object.assign(process.env, sandboxEnvironment(run));
    process.env[DEFAULTS_BEFORE_ENV] = JSON.stringify(await defaultNamesInUse(admin, config.registry, redis));
  } finally {
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}
