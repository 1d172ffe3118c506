/**
 * Graceful shutdown: closing ingest while requests are in flight lets them finish — their records
 * are in Kafka before the producer closes — and every request that got a 2xx is in the topic.
 */
import { basic, readInbound, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

describe('ingest shutdown', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('shutdown');

  afterAll(() => deleteTopics(kafka, topics));

  it('drains in-flight requests into Kafka before closing', async () => {
    const ingest = await startTestIngest(topics);
    const send = async (i: number) => {
      try {
        const response = await fetch(`${ingest.url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: basic('site-a', 'key-a'), 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ name: 'viewed', anonymous_id: `anon-${i % 13}`, id: `drain-${i}` }),
        });
        return { id: `drain-${i}`, status: response.status };
      } catch {
        return { id: `drain-${i}`, status: 0 }; // refused: the server had stopped listening
      }
    };
    // Close as soon as the first answers come back, with the rest still in flight.
    let answered = 0;
    let closing: Promise<void> | undefined;
    const inFlight = Array.from({ length: 400 }, (_, i) =>
      send(i).then((outcome) => {
        answered += 1;
        if (answered === 20) closing = ingest.close();
        return outcome;
      }),
    );
    const outcomes = await Promise.all(inFlight);
    await closing;
    const accepted = outcomes.filter((o) => o.status === 200).map((o) => o.id);
    expect(accepted.length).toBeGreaterThanOrEqual(20);
    // Nothing in between: a request is either stored and answered 200, or refused at the door.
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 0 && o.status !== 503)).toEqual([]);
    const stored = new Set((await readInbound(kafka, topics)).map((r) => r.id));
    expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
  });
});
