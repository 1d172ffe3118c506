/**
 * A request ingest could not store (Kafka unavailable: 503 with Retry-After) gives its rate-limit
 * charge back, so the sender's retries of one request are not refused as a flood once Kafka is
 * back. The HTTP app is given a publish step that fails as the producer does when the brokers
 * are gone (kafka-outage.test.ts runs the real outage end to end).
 */
import { buildIngestApp } from '../../../services/ingest/app';
import { KafkaUnavailableError } from '../../../services/ingest/inboundProducer';
import { RateLimiter } from '../../../services/ingest/rateLimit';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { createLogger } from '../../../services/shared/logger';

describe('rate limit and an unavailable Kafka', () => {
  it('a 503 costs the sender nothing: ten retries within a burst of two are all answered 503, none 429', async () => {
    let kafkaUp = false;
    const app = buildIngestApp({
      logger: createLogger('test', 'silent'),
      workspaces: new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ id: 'w', site_id: 'w-site', api_key: 'w-key', rate_limit: { records_per_second: 1, burst: 2 } }] }, 'test')),
      publish: async () => {
        if (!kafkaUp) throw new KafkaUnavailableError('no broker answered');
      },
      // A clock that stands still: no token comes back by itself during the test.
      rateLimiter: new RateLimiter(() => 0),
      ready: () => true,
      timeouts: { idleTimeoutMs: 30000, requestTimeoutMs: 30000 },
      authFailures: { maxFailures: 20, windowMs: 60000 },
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const send = async () => {
      const response = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('w-site:w-key').toString('base64')}`, 'content-type': 'application/json' }, body: '{"name":"viewed","anonymous_id":"a"}' });
      await response.arrayBuffer();
      return response.status;
    };
    try {
      const during = [];
      for (let i = 0; i < 10; i += 1) during.push(await send());
      expect(during).toEqual(Array(10).fill(503));
      kafkaUp = true;
      // The whole burst is still there once Kafka is back; then the limit applies as ever.
      expect([await send(), await send(), await send()]).toEqual([200, 200, 429]);
    } finally {
      await app.close();
    }
  });
});
