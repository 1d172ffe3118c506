/**
 * Credentials: both services against a Kafka that requires SASL/SCRAM-SHA-256 and a Redis that
 * requires an ACL user, with the passwords read from files (as mounted secrets are). Events flow
 * and merge; a wrong password stops a service at start with a message that names the problem but
 * not the password; no log line holds a password.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../services/shared/config';
import { createLogger } from '../../services/shared/logger';
import { startIngest, type RunningIngest } from '../../services/ingest/service';
import { startMerger, type RunningMerger } from '../../services/merger/service';
import { DedicatedKafka } from '../support/dedicatedKafka';
import { DedicatedRedis } from '../support/dedicatedRedis';
import { basic, testWorkspaces } from '../support/ingest';
import { OutputReader } from '../support/merger';
import { isolatedTopics, uniqueName } from '../support/stack';

const KAFKA_PASSWORD = `kafka-${uniqueName('pw')}`;
const REDIS_PASSWORD = `redis-${uniqueName('pw')}`;

describe('a secured stack: SASL/SCRAM Kafka, ACL Redis, secrets from files', () => {
  const kafka = new DedicatedKafka(undefined, { KAFKA_SCRAM_USER: 'anonmerge', KAFKA_SCRAM_PASSWORD: KAFKA_PASSWORD });
  const redis = new DedicatedRedis({ REDIS_ACL_USER: 'merger', REDIS_ACL_PASSWORD: REDIS_PASSWORD });
  const topics = isolatedTopics('secured', 2);
  const secrets = mkdtempSync(path.join(tmpdir(), 'anonmerge-secrets-'));
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('secured', 'debug', sink);
  let ingest: RunningIngest | undefined;
  let merger: RunningMerger | undefined;

  const env = (kafkaPasswordFile: string) => ({
    ANONMERGE_KAFKA_BROKERS: kafka.brokers.join(','),
    ANONMERGE_KAFKA_SASL_MECHANISM: 'scram-sha-256',
    ANONMERGE_KAFKA_SASL_USERNAME: 'anonmerge',
    ANONMERGE_KAFKA_SASL_PASSWORD_FILE: kafkaPasswordFile,
    ANONMERGE_KAFKA_CONNECTION_TIMEOUT_MS: '2000',
    ANONMERGE_REDIS_URL: redis.url,
    ANONMERGE_REDIS_USERNAME: 'merger',
    ANONMERGE_REDIS_PASSWORD_FILE: path.join(secrets, 'redis-password'),
  });

  beforeAll(() => {
    kafka.start();
    redis.start();
    writeFileSync(path.join(secrets, 'kafka-password'), `${KAFKA_PASSWORD}\n`);
    writeFileSync(path.join(secrets, 'wrong-password'), 'not-the-password\n');
    writeFileSync(path.join(secrets, 'redis-password'), REDIS_PASSWORD);
  }, 120000);

  afterAll(async () => {
    await ingest?.close().catch(() => undefined);
    await merger?.close().catch(() => undefined);
    kafka.destroy();
    redis.destroy();
  });

  it('merges events through authenticated Kafka and Redis, and logs no password', async () => {
    const config = loadConfig(['kafka', 'registry', 'redis', 'ingest', 'merger'], { ...process.env, ...env(path.join(secrets, 'kafka-password')) });
    expect(config.kafka.saslPassword).toBe(KAFKA_PASSWORD); // read from the file, newline dropped
    ingest = await startIngest({ ...config, topics, ingest: { ...config.ingest, port: 0, metricsPort: 0 } }, logger, testWorkspaces());
    merger = await startMerger({ ...config, topics, merger: { ...config.merger, groupId: uniqueName('secured'), redisKeyPrefix: uniqueName('sec'), port: 0 } }, logger, { listen: false });

    const send = (method: string, route: string, body: object) =>
      fetch(`${ingest?.url}${route}`, { method, headers: { authorization: basic('site-a', 'key-a'), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await send('POST', '/api/v1/events', { name: 'viewed', anonymous_id: 'anon-s', id: 'secured-1' })).status).toBe(200);
    expect((await send('PUT', '/api/v1/customers/p-secure', { anonymous_id: 'anon-s' })).status).toBe(200);

    const client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-256', username: 'anonmerge', password: KAFKA_PASSWORD } });
    const reader = await new OutputReader(client, topics).open();
    await reader.until((g) => g.mergedEvents.some((e) => e.event_id === 'secured-1'), 30000, 'the merged event');
    await reader.close();

    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(KAFKA_PASSWORD);
    expect(all).not.toContain(REDIS_PASSWORD);
  });

  it('a wrong password fails the start with the reason, not the password', async () => {
    const config = loadConfig(['kafka', 'registry', 'redis', 'ingest'], { ...process.env, ...env(path.join(secrets, 'wrong-password')) });
    let failure: Error | undefined;
    try {
      const started = await startIngest({ ...config, kafka: { ...config.kafka, requestTimeoutMs: 3000 }, topics, ingest: { ...config.ingest, port: 0, metricsPort: 0 } }, logger, testWorkspaces());
      await started.close();
    } catch (error) {
      failure = error as Error;
    }
    expect(failure?.message).toMatch(/SASL SCRAM SHA256 authentication failed/);
    expect(failure?.message).not.toContain('not-the-password');
    expect(logLines.join('')).not.toContain('not-the-password');
  });

  it('a secret file that cannot be read is named at start', () => {
    expect(() => loadConfig(['kafka'], { ANONMERGE_KAFKA_SASL_PASSWORD_FILE: '/nonexistent/secret' })).toThrow('ANONMERGE_KAFKA_SASL_PASSWORD_FILE="/nonexistent/secret" cannot be read: ENOENT');
  });
});
