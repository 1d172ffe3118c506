/**
 * Durability (SPEC R7): with Kafka stopped mid-test, requests get 503 with Retry-After and none
 * gets a 2xx without its record; once Kafka is back, requests succeed again. Runs against a Kafka
 * of its own (started by infra/kafka.sh) so that stopping it disturbs no other test.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { RunningIngest } from '../../../services/ingest/service';
import { DedicatedKafka } from '../../support/dedicatedKafka';
import { basic, readInbound, startTestIngest } from '../../support/ingest';
import { isolatedTopics } from '../../support/stack';

describe('ingest while Kafka goes away and comes back', () => {
  const broker = new DedicatedKafka();
  const topics = isolatedTopics('outage', 2);
  let ingest: RunningIngest;
  let kafka: Kafka;

  beforeAll(async () => {
    broker.start();
    kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    ingest = await startTestIngest(topics, { brokers: broker.brokers, sendTimeoutMs: 3000 });
  });
  afterAll(async () => {
    await ingest?.close().catch(() => undefined);
    broker.destroy();
  });

  let sequence = 0;
  const send = async () => {
    const id = `outage-${(sequence += 1)}`;
    const response = await fetch(`${ingest.url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: basic('site-a', 'key-a'), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'viewed', anonymous_id: `anon-${sequence % 7}`, id }),
      signal: AbortSignal.timeout(30000),
    });
    return { id, status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
  };

  it('answers 503 while Kafka is down, 200 after, and every 2xx is in Kafka', async () => {
    const answered: Array<{ id: string; status: number }> = [];
    for (let i = 0; i < 10; i += 1) answered.push(await send());
    expect(answered.every((a) => a.status === 200)).toBe(true);

    broker.stop();
    const during = await Promise.all(Array.from({ length: 5 }, () => send()));
    answered.push(...during);
    for (const outcome of during) {
      expect(outcome.status).toBe(503);
      expect(outcome.retryAfter).toBe('5');
      expect(outcome.body).toEqual({ meta: { errors: ['temporarily unable to store the request; retry later'] }, errors: [{ field: '', message: 'temporarily unable to store the request; retry later' }] });
    }
    expect((await fetch(`${ingest.url}/readyz`)).status).toBe(503);

    broker.start();
    // The producer is replaced and reconnects on its own; requests succeed again within a bound.
    const deadline = Date.now() + 60000;
    let recovered = false;
    while (Date.now() < deadline && !recovered) {
      const outcome = await send();
      answered.push(outcome);
      recovered = outcome.status === 200;
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(recovered).toBe(true);
    for (let i = 0; i < 10; i += 1) answered.push(await send());
    expect(answered.slice(-10).every((a) => a.status === 200)).toBe(true);

    const okIds = answered.filter((a) => a.status === 200).map((a) => a.id);
    // Everything the topic holds: a 503'd request may have been written too (it is retried with
    // its id, and the merger drops repeats), so there can be more records than 2xx answers.
    const records = await readInbound(kafka, topics, undefined, 30000);
    expect(records.length).toBeGreaterThanOrEqual(okIds.length);
    const stored = new Set(records.map((r) => r.id));
    expect(okIds.filter((id) => !stored.has(id))).toEqual([]);
  });
});
