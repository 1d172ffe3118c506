/**
 * Runs the example consumers of examples/consumers/ (Node, Python, Java) as a downstream team
 * would — their own process, their own group, the public topics — and collects what each printed:
 * one JSON line per record {topic, partition, offset, key, value}. Their dependencies come from
 * infra/example-consumers.sh (Debian's python3-confluent-kafka; kafka-clients and Avro from Maven
 * Central), fetched once into the stack's cache.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { readAll } from '../../bench/readTopics';
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import type { StreamName } from '../../services/shared/avro/schemaFiles';
import type { TopicConfig } from '../../services/shared/config';
import { projectRoot } from '../../services/shared/projectRoot';
import { config, testLogger, uniqueName } from './stack';
import { resultsPath } from './results';

const run = promisify(execFile);
const ROOT = projectRoot();

export type ExampleLanguage = 'node' | 'python' | 'java';

export interface PrintedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: unknown;
}

/** Debian's packages for the Python examples, fetched once: PYTHONPATH and LD_LIBRARY_PATH. */
export async function pythonEnv(): Promise<Record<string, string>> {
  const { stdout } = await run('bash', [path.join(ROOT, 'infra/example-consumers.sh'), 'python'], { timeout: 180_000 });
  return Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** Fetches an example's dependencies (once; cached), so that starting it later is quick. */
export async function prepareExample(language: ExampleLanguage): Promise<void> {
  await commandOf(language);
}

/** The command line of each example, with its dependencies fetched. */
async function commandOf(language: ExampleLanguage): Promise<{ command: string; args: string[]; env: Record<string, string> }> {
  switch (language) {
    case 'node':
      return { command: process.execPath, args: [path.join(ROOT, 'examples/consumers/node/print-outbound.js')], env: {} };
    case 'python':
      // Debian's interpreter, for which Debian's packages were built.
      return { command: '/usr/bin/python3', args: [path.join(ROOT, 'examples/consumers/python/print_outbound.py')], env: await pythonEnv() };
    case 'java': {
      const { stdout } = await run('bash', [path.join(ROOT, 'infra/example-consumers.sh'), 'java'], { timeout: 300_000 });
      return { command: 'java', args: ['-cp', stdout.trim(), path.join(ROOT, 'examples/consumers/java/PrintOutbound.java')], env: {} };
    }
  }
}

/** The topic prefix of a test's isolated topics (`<prefix>.merged-events`, …). */
export function topicPrefix(topics: TopicConfig): string {
  return topics.mergedEvents.replace(/\.merged-events$/, '');
}

/**
 * Runs one example until it has printed nothing for `idleMs`, and answers the records it printed.
 * Its stderr goes to test-results/ for reading after a failure. `signal` kills it early (a test
 * that failed before reading its output must not leave it running past its own end).
 */
export async function runExampleConsumer(
  language: ExampleLanguage,
  topics: TopicConfig,
  options: { streams?: string; idleMs?: number; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PrintedRecord[]> {
  const { command, args, env } = await commandOf(language);
  const groupId = uniqueName(`example-${language}`);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      BOOTSTRAP_SERVERS: config.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: config.registry.url,
      GROUP_ID: groupId,
      TOPIC_PREFIX: topicPrefix(topics),
      STREAMS: options.streams ?? 'merged-events,campaign-triggers,activity,anonymous-events',
      EXIT_WHEN_IDLE_MS: String(options.idleMs ?? 5000),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${language} example did not stop within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    const stop = () => {
      child.kill('SIGKILL');
      reject(new Error(`the ${language} example was stopped by its test`));
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', reject);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      resolve(exitCode);
    });
  });
  writeFileSync(resultsPath(`example-${language}-${groupId}.stderr.log`), stderr);
  if (code !== 0) throw new Error(`the ${language} example exited with ${code}; stderr: ${stderr.slice(-2000)}`);
  return stdout
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as PrintedRecord);
}

/**
 * Runs the PostgreSQL sink example (examples/consumers/python/merged_events_to_postgres.py) into
 * `pgSchema` until it has read nothing for `idleMs`.
 */
export async function runPostgresSink(topics: TopicConfig, pgSchema: string, groupId: string, idleMs = 5000): Promise<{ applied: number }> {
  const env = {
    ...process.env,
    ...(await pythonEnv()),
    BOOTSTRAP_SERVERS: config.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: config.registry.url,
    GROUP_ID: groupId,
    TOPIC_PREFIX: topicPrefix(topics),
    PG_DSN: PG_DSN,
    PG_SCHEMA: pgSchema,
    EXIT_WHEN_IDLE_MS: String(idleMs),
  };
  try {
    const { stdout } = await run('/usr/bin/python3', [path.join(ROOT, 'examples/consumers/python/merged_events_to_postgres.py')], { cwd: ROOT, env, timeout: 120_000 });
    // Its last line: how many records it applied.
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { applied: number };
  } catch (error) {
    throw new Error(`the PostgreSQL sink failed: ${(error as { stderr?: string }).stderr?.slice(-2000) ?? (error as Error).message}`);
  }
}

/** The machine's PostgreSQL (trust auth on loopback), database `test`. */
export const PG_DSN = process.env.TEST_PG_DSN ?? 'host=127.0.0.1 dbname=test user=postgres';

/** One query through psql, its single value (a JSON aggregate, say) as text. */
export async function psql(sql: string): Promise<string> {
  const { stdout } = await run('psql', [PG_DSN, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeout: 30_000 });
  return stdout.trim();
}

/** Records in one order (topic, partition, offset), for comparing two readings. */
export function inLogOrder(records: readonly PrintedRecord[]): PrintedRecord[] {
  return [...records].sort((a, b) => (a.topic === b.topic ? (a.partition === b.partition ? a.offset - b.offset : a.partition - b.partition) : a.topic < b.topic ? -1 : 1));
}

/** The streams the examples read by default. */
export const EXAMPLE_STREAMS: StreamName[] = ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents'];

/**
 * What a reading of the topics holds, decoded, as the examples print it: read_committed with
 * kafkajs and the repository's fix (the reference), or read_uncommitted (which also returns the
 * records of aborted transactions), to the end of each partition (bench/readTopics.ts).
 */
export async function readTopics(kafka: Kafka, topics: TopicConfig, options: { readUncommitted: boolean }): Promise<PrintedRecord[]> {
  const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, EXAMPLE_STREAMS);
  const read = await readAll(kafka, catalog, topics, EXAMPLE_STREAMS, { readUncommitted: options.readUncommitted });
  return inLogOrder(read.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: JSON.parse(JSON.stringify(r.value)) as unknown })));
}
