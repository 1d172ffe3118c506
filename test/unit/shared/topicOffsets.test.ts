/**
 * Which failures of kafkajs' fetchTopicOffsets are a moment, asked again by settledTopicOffsets
 * (shared/kafka/topicOffsets.ts): a leader moving, and kafkajs' metadata race (tulios/kafkajs#461),
 * which it reports as a TypeError wrapped in a non-retriable error.
 */
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { isTransientOffsetsError } from '../../../services/shared/kafka/topicOffsets';

/** The error kafkajs' admin throws when the second ListOffsets found no leader: its own destructuring of an empty answer. */
function metadataRace(): Error {
  const low: Array<{ partitions: unknown }> = [];
  try {
    const { partitions } = low.pop() as { partitions: unknown };
    return new Error(String(partitions));
  } catch (error) {
    // As kafkajs' retrier does (src/retry/index.js); its typings omit the second argument.
    const Wrapped = KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error;
    return new Wrapped(error as Error, { cause: error as Error });
  }
}

describe('isTransientOffsetsError', () => {
  it("kafkajs' metadata race (kafkajs#461), wrapped as kafkajs wraps it or bare, is asked again", () => {
    const race = metadataRace();
    expect(race.message).toMatch(/partitions/);
    expect(isTransientOffsetsError(race)).toBe(true);
    expect(isTransientOffsetsError((race as { cause?: unknown }).cause)).toBe(true);
  });

  it('a leader moving is asked again; anything else is not', () => {
    expect(isTransientOffsetsError(new KafkaJSProtocolError({ message: 'not the leader', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true } as never))).toBe(true);
    expect(isTransientOffsetsError(new KafkaJSProtocolError({ message: 'denied', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false } as never))).toBe(false);
    expect(isTransientOffsetsError(new TypeError('x is not a function'))).toBe(false);
    expect(isTransientOffsetsError(new Error('Cannot destructure property partitions'))).toBe(false);
    expect(isTransientOffsetsError(null)).toBe(false);
  });
});
