/**
 * `make run`'s sample traffic (services/demo) against the shipped demo workspace: every call of
 * many visitors' journeys is accepted as sent — the signed-in ones with the user hash the shop's
 * server computes, the sign-ups with only the demo workspace's browser_attributes. Guards the
 * demo against the browser key's restrictions (identity verification, attribute allow-list).
 */
import type { RunningIngest } from '../../../services/ingest/service';
import { WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { demoRequest } from '../../../services/demo/request';
import { visitorJourney } from '../../../services/demo/visitors';
import { DEMO_WORKSPACES, startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

describe("make run's demo traffic", () => {
  const kafka = testKafka();
  const topics = isolatedTopics('demo-traffic', 1);
  let ingest: RunningIngest;

  beforeAll(async () => {
    // The shipped demo workspace, whose keys ingest accepts only in a demo (ANONMERGE_DEMO=1).
    ingest = await startTestIngest(topics, { workspaces: WorkspaceRegistry.fromFile(DEMO_WORKSPACES), demo: true });
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  it('is accepted whole by the demo workspace: anonymous views, verified sign-ups and person events, invites', async () => {
    const demo = { ingestUrl: ingest.url, siteId: 'demo-site', apiKey: 'demo-key-not-secret', publishableKey: 'pk_demo', identitySecret: 'demo-identity-secret-not-secret', siteOrigin: 'https://shop.example.com' };
    const calls = Array.from({ length: 40 }, () => visitorJourney(demo.siteOrigin)).flat();
    // Enough journeys that sign-ups and person events are among them (60 % of visitors sign up).
    expect(calls.filter((call) => call.person !== undefined).length).toBeGreaterThan(10);
    const answers = await Promise.all(
      calls.map(async (call) => {
        const { url, init } = demoRequest(call, demo);
        const response = await fetch(url, init);
        return `${call.describe}: ${response.status} ${response.status === 200 ? '' : await response.text()}`.trim();
      }),
    );
    expect(answers.filter((answer) => !answer.endsWith(': 200'))).toEqual([]);
  });
});
