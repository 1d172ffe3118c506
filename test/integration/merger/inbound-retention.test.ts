/**
 * The two-plane merger reads pending events back from the inbound topic
 * (docs/design-pending-pointers.md): it refuses to start on a topic that keeps records less than
 * the longest workspace retention — of the file's workspaces (a setting) and of the workspaces
 * log's — plus the margin.
 */
import { randomBytes } from 'node:crypto';
import { seedWorkspaces } from '../../../services/cli/commands/workspacesSeed';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { ensureTopics } from '../../../services/shared/kafka/topics';
import { startTestMerger } from '../../support/merger';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, withAdmin } from '../../support/stack';

const DAY = 86_400_000;

describe('R1: the inbound topic must keep every pending event for its workspace retention', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('inbound-retention', 1);

  beforeAll(() => withAdmin(kafka, (admin) => ensureTopics(admin, topics, testLogger)));
  afterAll(() => deleteTopics(kafka, topics));

  const setRetention = (ms: number) => withAdmin(kafka, (admin) => admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topics.inbound, configEntries: [{ name: 'retention.ms', value: String(ms) }] }] }));

  it('R1: a topic keeping 10 days, under the file workspaces retention of 30 days, stops the merger at start', async () => {
    await setRetention(10 * DAY);
    await expect(startTestMerger(topics, { mode: 'two-planes', pendingPointers: true })).rejects.toThrow(/keeps records 10\.00 days.*longest workspace retention \(30\.00 days\)/);
  });

  it('R1: a workspace on the log with 40 days of retention stops it on the default 35 days; 42 days + 1 ms lets it start, and copies need no check', async () => {
    await setRetention(35 * DAY);
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger);
    const registry = new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ id: 'long-memory', site_id: 'long-memory-site', api_key: randomBytes(16).toString('hex'), settings: { retention_days: 40 } }] }, 'test'));
    await seedWorkspaces(kafka, catalog, topics.workspaces, 'test', registry, '', testLogger);
    await expect(startTestMerger(topics, { mode: 'two-planes', pendingPointers: true })).rejects.toThrow(/longest workspace retention \(40\.00 days\)/);
    await setRetention(42 * DAY + 1);
    const merger = await startTestMerger(topics, { mode: 'two-planes', pendingPointers: true });
    await merger.close();
    // With copies (the default), the topic's retention does not hold pending events: no check.
    await setRetention(DAY);
    await (await startTestMerger(topics, { mode: 'two-planes', pendingPointers: false })).close();
  });
});
