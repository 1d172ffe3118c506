/**
 * The one place a kafkajs client is made: brokers and timeouts from configuration, and kafkajs'
 * own log lines routed into our structured logger (kafkajs logs ERROR for every retried
 * coordinator-loading response, so those are demoted to warn with the request named).
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config';
import type { Logger } from '../logger';

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// Responses kafkajs logs as errors but retries by itself; they are expected while a broker or a
// coordinator starts, so they must not look like failures in the logs.
const RETRIABLE_NOISE = /coordinator is loading|coordinator is not available|not the correct coordinator|leadership election|There is no leader/i;
const CONCURRENT_TRANSACTIONS = /another concurrent operation on the same transaction/i;

/** The level one of kafkajs' log lines is written at in our log. */
export function kafkajsLevel(level: number, message: string, error: unknown): 'error' | 'warn' | 'info' | 'debug' {
  const said = typeof error === 'string' ? error : '';
  // A transaction begun while the coordinator still completes the previous one (a new producer's
  // fencing abort, the markers of the last commit): kafkajs retries it, then the merger's
  // publisher does, and logs if that fails. Each retry is not worth a line.
  if (CONCURRENT_TRANSACTIONS.test(`${message} ${said}`)) return 'debug';
  // Our idempotent producers bound their retries on purpose: ingest answers 503 and replaces
  // the producer, the merger aborts the transaction and replays the batch from Redis.
  if (message.startsWith('Limiting retries for the idempotent producer')) return 'debug';
  const name = LEVEL_NAMES[level] ?? 'info';
  if (name === 'error' && RETRIABLE_NOISE.test(said)) return 'warn';
  // kafkajs INFO is chatty (every join, every fetch session); keep it at debug.
  return name === 'info' ? 'debug' : name;
}

export function createKafka(config: KafkaConfig, logger: Logger, clientSuffix: string): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  // kafkajs warns about its v2 partitioner change on every producer; our keys decide partitions.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const given = (value: string) => value || undefined;
  const sasl: SASLOptions | undefined =
    config.saslMechanism === 'none' ? undefined : ({ mechanism: config.saslMechanism, username: given(config.saslUsername) ?? '', password: given(config.saslPassword) ?? '' } as SASLOptions);
  const caFile = given(config.tlsCaFile);
  const ssl = config.tls ? (caFile ? { ca: [readFileSync(caFile, 'utf8')] } : true) : false;
  return new Kafka({
    clientId: `${config.clientId}-${clientSuffix}`,
    brokers: config.brokers,
    ssl,
    sasl,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
        kafkaLogger[kafkajsLevel(level, message, extra.error)](extra, message);
      },
  });
}
