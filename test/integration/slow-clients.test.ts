/**
 * Slow and silent clients are cut off by every HTTP server (issue 14, item 5): a POST declaring
 * 100 kB and sending a byte every 3 s used to stay open past a minute on ingest, and the activity
 * service had no deadline at all. Here both run with a 4 s idle timeout (longer than the 3 s
 * between bytes, so it is the whole-request deadline of 5 s that must end the trickle) and the
 * bounds below are generous: they check that the cut happens, not how fast.
 */
import type { FastifyInstance } from 'fastify';
import type { RunningIngest } from '../../services/ingest/service';
import { basic, startTestIngest } from '../support/ingest';
import { startTestActivity } from '../support/activity';
import { trickleRequest } from '../../bench/slowRequest';
import { deleteTopics, isolatedTopics, testKafka, testLogger } from '../support/stack';

const TIMEOUTS = { idleTimeoutMs: 4000, requestTimeoutMs: 5000 };
// Deadline, plus Node's check interval, plus plenty for a loaded machine.
const CUT_BOUND_MS = TIMEOUTS.requestTimeoutMs + 6000;
const IDLE_BOUND_MS = TIMEOUTS.idleTimeoutMs + 6000;
const GIVE_UP_MS = 30_000;

describe('slow clients', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('slow-clients', 1);
  let ingest: RunningIngest;
  let activity: FastifyInstance;
  let activityUrl: string;

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { timeouts: TIMEOUTS });
    ({ app: activity, url: activityUrl } = await startTestActivity({
      // Slower than the idle timeout, as explaining a long partition is.
      explain: () => new Promise((resolve) => setTimeout(() => resolve([]), TIMEOUTS.idleTimeoutMs + 1500)),
      timeouts: TIMEOUTS,
      loginFailures: { maxFailures: 10, windowMs: 60_000 },
    }));
  });
  afterAll(async () => {
    await activity?.close();
    await ingest?.close();
    await deleteTopics(kafka, topics);
  });

  it('ingest answers 408 and closes a POST declaring 100 kB and sending a byte every 3 s, at its request deadline', async () => {
    const head = `POST /api/v1/events HTTP/1.1\r\nHost: ingest\r\nAuthorization: ${basic('site-a', 'key-a')}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
    const outcome = await trickleRequest(ingest.url, head, '{"name":"slow","anonymous_id":"a","data":{"pad":"' + 'x'.repeat(1000), 3000, GIVE_UP_MS);
    expect(outcome.trickled).toBeGreaterThanOrEqual(1);
    expect(outcome.closedAfterMs).toBeLessThan(CUT_BOUND_MS);
    expect(outcome.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(outcome.answer).toContain('"meta":{"errors":["the request (headers and body) did not arrive within 5000 ms"]}');
  });

  it('ingest closes a connection that sends nothing, at its idle timeout', async () => {
    const outcome = await trickleRequest(ingest.url, '', '', 3000, GIVE_UP_MS);
    expect(outcome.closedAfterMs).toBeLessThan(IDLE_BOUND_MS);
  });

  it('the activity service answers 408 and closes a request whose headers trickle in a byte every 3 s', async () => {
    const outcome = await trickleRequest(activityUrl, 'GET /activity HTTP/1.1\r\nHost: activity\r\nX-Slow: ', 'x'.repeat(1000), 3000, GIVE_UP_MS);
    expect(outcome.trickled).toBeGreaterThanOrEqual(1);
    expect(outcome.closedAfterMs).toBeLessThan(CUT_BOUND_MS);
    expect(outcome.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(outcome.answer).toContain('{"error":"the request (headers and body) did not arrive within 5000 ms"}');
  });

  it('the activity service closes a connection that sends nothing, at its idle timeout', async () => {
    const outcome = await trickleRequest(activityUrl, '', '', 3000, GIVE_UP_MS);
    expect(outcome.closedAfterMs).toBeLessThan(IDLE_BOUND_MS);
  });

  it('the activity page answers an explain that takes longer than its idle timeout', async () => {
    const response = await fetch(`${activityUrl}/activity/api/explain?anonymous_id=a1`, { headers: { authorization: basic('site-a', 'key-a') } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ explanations: [] });
  });
});
