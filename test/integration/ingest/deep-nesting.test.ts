/**
 * Bad input (SPEC R8): Segment messages whose properties nest 5,000 deep (10 KB of text) are
 * refused with a 400 naming the depth, and log no error. They used to reach JSON.stringify before
 * the depth check, overflow the stack, and answer 500 with a stack trace in the log (issue 14).
 */
import type { RunningIngest } from '../../../services/ingest/service';
import { capturingLogger } from '../../support/capturingLogger';
import { basic, startTestIngest } from '../../support/ingest';
import { countRecords, deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const WRITE = basic('write-a', '');
// Built as text: building it as an object and serialising it would overflow the test's own stack.
const DEEP = `${'{"d":'.repeat(5000)}1${'}'.repeat(5000)}`;

describe('deeply nested Segment messages (R8)', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('deep-nesting', 1);
  const { logger, lines } = capturingLogger();
  let ingest: RunningIngest;

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { logger });
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  const post = (path: string, body: string) => fetch(`${ingest.url}${path}`, { method: 'POST', headers: { authorization: WRITE, 'content-type': 'application/json' }, body });

  it.each([
    ['/v1/track', `{"type":"track","userId":"u","event":"deep","properties":${DEEP}}`],
    ['/v1/batch', `{"batch":[{"type":"track","userId":"u","event":"deep","properties":${DEEP}}]}`],
  ])('R8: %s with properties nested 5,000 deep gets a 400 naming the depth, and logs no error', async (path, body) => {
    const before = lines.length;
    const response = await post(path, body);
    const answer = (await response.json()) as { meta: { errors: string[] } };
    expect(response.status).toBe(400);
    expect(answer.meta.errors.join(' | ')).toMatch(/nested deeper than \d+ levels/);
    const logged = lines.slice(before);
    expect(logged.filter((line) => line.level === 'error' || line.level === 'fatal' || line.err?.stack !== undefined)).toEqual([]);
    expect(await countRecords(kafka, topics.inbound)).toBe(0);
  });
});
