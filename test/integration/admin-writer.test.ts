/**
 * The one writer of the workspaces log (services/admin/workspacesWriter.ts): requests decided on
 * the latest version and written in transactions; a request against an older version refused
 * (If-Match); a second writer started with the same id fences the first, whose next request
 * fails instead of forking a workspace's history; an ingest replica following the log serves
 * what the writer wrote — a created workspace's key, a revocation.
 */
import { SchemaCatalog } from '../../services/shared/avro/catalog';
import { ensureTopicsWith } from '../../services/shared/kafka/topics';
import { WorkspacesWriter, WriterFencedError } from '../../services/admin/workspacesWriter';
import type { RunningIngest } from '../../services/ingest/service';
import { basic, startTestIngest } from '../support/ingest';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../support/stack';

describe('the admin writer of the workspaces log', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('admin', 1);
  const transactionalId = uniqueName('workspaces-admin-');
  const writers: WorkspacesWriter[] = [];
  let catalog: SchemaCatalog;
  let ingest: RunningIngest | undefined;

  const startWriter = async () => {
    const writer = new WorkspacesWriter({ kafka, catalog, topic: topics.workspaces, transactionalId, logger: testLogger });
    writers.push(writer);
    await writer.start();
    return writer;
  };
  const ctx = () => ({ operator: 'ops-test', now: Date.now() });

  beforeAll(async () => {
    await ensureTopicsWith(kafka, topics, testLogger);
    catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['workspaces']);
  });
  afterAll(async () => {
    await ingest?.close();
    for (const writer of writers) await writer.stop().catch(() => undefined);
    await deleteTopics(kafka, topics);
  });

  it('R3: creates a workspace whose key an ingest replica on the log then accepts, and switches merging off on it', async () => {
    const writer = await startWriter();
    const created = await writer.write('shop', null, { kind: 'create', workspaceId: 'shop', body: { site_id: 'shop-site' } }, ctx());
    if (!created.ok || !('secret' in created) || !created.secret) throw new Error(`not created: ${JSON.stringify(created)}`);
    expect(writer.latest('shop')?.version).toBe(1);
    ingest = await startTestIngest(topics, { workspaces: 'log' });
    const put = (key: string) => fetch(`${ingest?.url}/api/v1/customers/p1`, { method: 'PUT', headers: { authorization: basic('shop-site', key), 'content-type': 'application/json' }, body: '{}' });
    expect((await put(created.secret.value)).status).toBe(200);
    expect((await put('a-guessed-key-0123456789')).status).toBe(401);
    const off = await writer.write('shop', 1, { kind: 'update', body: { settings: { merge_enabled: false } } }, ctx());
    expect(off).toMatchObject({ ok: true, change: { version: 2, definition: { settings: { merge_enabled: false } } } });
    expect(writer.history('shop').map((c) => [c.version, c.changed_by])).toEqual([
      [1, 'ops-test'],
      [2, 'ops-test'],
    ]);
  });

  it('refuses a change made against an older version (If-Match), naming the current one', async () => {
    const writer = writers[0] as WorkspacesWriter;
    const stale = await writer.write('shop', 1, { kind: 'disable' }, ctx());
    expect(stale).toEqual({ ok: false, status: 409, problems: ['workspace shop is at version 2, not 1: read it again'], currentVersion: 2 });
    expect(writer.latest('shop')?.version).toBe(2);
  });

  it('a second writer fences the first: the first refuses, the second writes on the history the first left', async () => {
    const first = writers[0] as WorkspacesWriter;
    const second = await startWriter();
    expect(second.latest('shop')?.version).toBe(2);
    await expect(first.write('shop', 2, { kind: 'disable' }, ctx())).rejects.toBeInstanceOf(WriterFencedError);
    const disabled = await second.write('shop', 2, { kind: 'disable' }, ctx());
    expect(disabled).toMatchObject({ ok: true, change: { version: 3, definition: { disabled: true } } });
    expect(second.history('shop').map((c) => c.version)).toEqual([1, 2, 3]);
  });
});
