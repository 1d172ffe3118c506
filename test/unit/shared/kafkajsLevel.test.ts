/**
 * kafkajs' log lines in our log (services/shared/kafka/client.ts): what it retries by itself does
 * not look like a failure, and a transaction retried while the coordinator finishes the last one
 * does not flood the merger's log at every start (make logs showed nothing else).
 */
import { logLevel } from 'kafkajs';
import { kafkajsLevel } from '../../../services/shared/kafka/client';

describe("kafkajs' log levels", () => {
  it('a failure stays an error', () => {
    expect(kafkajsLevel(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded', 'Connection timeout')).toBe('error');
  });

  it('a coordinator still loading is a warning (kafkajs retries it)', () => {
    expect(kafkajsLevel(logLevel.ERROR, 'Response FindCoordinator(key: 10, version: 2)', 'The coordinator is loading and hence can\'t process requests')).toBe('warn');
  });

  it('a transaction retried while the previous one completes is debug, in the message or in the error', () => {
    const concurrent = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    expect(kafkajsLevel(logLevel.WARN, 'Response AddPartitionsToTxn(key: 24, version: 1)', concurrent)).toBe('debug');
    expect(kafkajsLevel(logLevel.ERROR, `Failed to send messages: ${concurrent}`, undefined)).toBe('debug');
  });

  it("kafkajs' chatty info is debug", () => {
    expect(kafkajsLevel(logLevel.INFO, 'Consumer has joined the group', undefined)).toBe('debug');
  });
});
