/**
 * Tenants: a workspace's key writes only into its own workspace, and the same anonymous id in
 * two workspaces is two different keys (it never meets).
 */
import type { RunningIngest } from '../../../services/ingest/service';
import { basic, readInbound, startTestIngest } from '../../support/ingest';
import { countRecords, deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

describe('two workspaces', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('tenants');
  let ingest: RunningIngest;

  beforeAll(async () => {
    ingest = await startTestIngest(topics);
  });
  afterAll(async () => {
    await ingest.close();
    await deleteTopics(kafka, topics);
  });

  const post = (auth: string, body: object) =>
    fetch(`${ingest.url}/api/v1/events`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it("a key of one workspace cannot write into the other, and each record carries its own workspace", async () => {
    expect((await post(basic('site-b', 'key-a'), { name: 'x', anonymous_id: 'shared' })).status).toBe(401);
    expect((await post(basic('site-a', 'key-b'), { name: 'x', anonymous_id: 'shared' })).status).toBe(401);
    expect(await countRecords(kafka, topics.inbound)).toBe(0);

    expect((await post(basic('site-a', 'key-a'), { name: 'x', anonymous_id: 'shared', id: 'from-a' })).status).toBe(200);
    expect((await post(basic('site-b', 'key-b'), { name: 'x', anonymous_id: 'shared', id: 'from-b' })).status).toBe(200);
    const records = await readInbound(kafka, topics, 2);
    const a = records.find((r) => r.id === 'from-a');
    const b = records.find((r) => r.id === 'from-b');
    expect(a?.workspace_id).toBe('ws-a');
    expect(b?.workspace_id).toBe('ws-b');
    expect(a?.key).toBe('ws-a/a/shared');
    expect(b?.key).toBe('ws-b/a/shared');
    expect(b?.settings.merge_enabled).toBe(false);
  });
});
