/**
 * Issue 14's attack corpus (bench/securityCorpus.ts, what `make security` prints against the
 * running stack), replayed against an ingest and an activity page of this test's own: every
 * attack must be answered as the corpus expects. The ingest's request deadline is 2 s here, so
 * the slow-body attack takes seconds, not the default 30. The stored-XSS payload is opened in
 * Chromium by browser/activity-xss.test.ts.
 */
import type { FastifyInstance } from 'fastify';
import { runCorpus } from '../../bench/securityCorpus';
import type { RunningIngest } from '../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../services/ingest/workspaces';
import { loadConfig } from '../../services/shared/config';
import { startTestActivity } from '../support/activity';
import { startTestIngest } from '../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../support/stack';

const ORIGIN = 'https://shop.example.test';

describe('the attack corpus of make security', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('security-corpus', 1);
  const workspaces = new WorkspaceRegistry(
    parseWorkspaces(
      {
        workspaces: [
          {
            id: 'sec',
            site_id: 'sec-site',
            api_key: 'sec-api-key-0123456789',
            write_key: 'sec-write-key-0123456789',
            publishable_key: 'pk_sec',
            allowed_origins: [ORIGIN],
            identity_verification_secret: 'sec-identity-secret-0123456789',
          },
        ],
      },
      'test',
    ),
  );
  const defaults = loadConfig(['ingest', 'activity']);
  let ingest: RunningIngest;
  let activity: FastifyInstance;
  let activityUrl: string;

  beforeAll(async () => {
    ingest = await startTestIngest(topics, { workspaces, timeouts: { idleTimeoutMs: 2000, requestTimeoutMs: 2000 } });
    ({ app: activity, url: activityUrl } = await startTestActivity({ workspaces, timeouts: defaults.activity, loginFailures: { maxFailures: 0, windowMs: 60000 } }));
  });
  afterAll(async () => {
    await ingest?.close();
    await activity?.close();
    await deleteTopics(kafka, topics);
  });

  it('every attack is answered as the corpus expects', async () => {
    const results = await runCorpus(
      {
        ingestUrl: ingest.url,
        activityUrl,
        siteId: 'sec-site',
        apiKey: 'sec-api-key-0123456789',
        writeKey: 'sec-write-key-0123456789',
        publishableKey: 'pk_sec',
        allowedOrigin: ORIGIN,
        requestTimeoutMs: 2000,
        authFailureLimit: defaults.ingest.authFailureLimit,
      },
      { slow: true },
    );
    process.stdout.write(`${results.map((r) => `${r.held ? 'held' : 'GOT THROUGH'}  ${r.attack}: ${r.got}`).join('\n')}\n`);
    expect(results.filter((r) => !r.held)).toEqual([]);
    expect(results.length).toBe(15);
  }, 120_000);
});
