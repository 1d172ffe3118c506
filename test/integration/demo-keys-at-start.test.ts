/**
 * Issue 14, item 7: the image used the demo workspaces file (its keys are public) by default. Now
 * ingest and the activity service refuse to start with the demo keys unless ANONMERGE_DEMO=1 —
 * before they touch Kafka — and refuse to start without a workspaces file. In-process through the
 * test support, and as processes (exit status and the line they write), as `make up` runs them.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { DemoKeysError } from '../../services/ingest/demoKeys';
import { WorkspaceRegistry } from '../../services/ingest/workspaces';
import { startActivity } from '../../services/activity/service';
import { loadConfig } from '../../services/shared/config';
import { topicEnv } from '../../services/shared/config/topicSets';
import { freePort } from '../support/freePort';
import { DEMO_WORKSPACES, startTestIngest } from '../support/ingest';
import { deleteTopics, isolatedTopics, testKafka, testLogger } from '../support/stack';

const root = path.resolve(__dirname, '../..');

describe('the demo keys at start', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('demo-keys', 1);
  const demoWorkspaces = WorkspaceRegistry.fromFile(DEMO_WORKSPACES);
  const activityConfig = (demo: boolean) => {
    const base = loadConfig(['kafka', 'registry', 'redis', 'merger', 'ingest', 'activity'], {});
    return { ...base, kafka: { ...base.kafka, brokers: loadConfig(['kafka']).kafka.brokers }, registry: loadConfig(['registry']).registry, redis: loadConfig(['redis']).redis, topics, ingest: { ...base.ingest, demo }, activity: { ...base.activity, port: 0, backfillPerPartition: 0 } };
  };
  /** The compiled service as a process, on topics of this test's own (an old build would create them). */
  const run = (service: 'ingest' | 'activity', env: Record<string, string>) =>
    spawnSync('node', [path.join(root, 'dist/services', service, 'main.js')], {
      cwd: root,
      env: { ...process.env, ...topicEnv(topics), ANONMERGE_INGEST_PORT: '0', ANONMERGE_INGEST_METRICS_PORT: '0', ANONMERGE_ACTIVITY_PORT: '0', ANONMERGE_DEMO: '', ...env },
      encoding: 'utf8',
      timeout: 20000,
    });

  afterAll(async () => {
    await deleteTopics(kafka, topics);
  });

  it('ingest refuses the demo keys without ANONMERGE_DEMO, and starts with it', async () => {
    await expect(startTestIngest(topics, { workspaces: demoWorkspaces })).rejects.toThrow(DemoKeysError);
    const demo = await startTestIngest(topics, { workspaces: demoWorkspaces, demo: true });
    await demo.close();
  });

  it('the activity service refuses the demo keys without ANONMERGE_DEMO, and starts with it', async () => {
    await expect(startActivity(activityConfig(false), testLogger, demoWorkspaces)).rejects.toThrow(DemoKeysError);
    const demo = await startActivity(activityConfig(true), testLogger, demoWorkspaces);
    await demo.close();
  });

  it.each(['ingest', 'activity'] as const)('%s as a process: exit 78 and one line naming the keys and ANONMERGE_DEMO', (service) => {
    const result = run(service, { ANONMERGE_WORKSPACES_FILE: DEMO_WORKSPACES });
    expect(result.status).toBe(78);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`${service}: the demo workspace's public keys are in use (workspaces[0].api_key, workspaces[0].write_key, workspaces[0].publishable_key, workspaces[0].identity_verification_secret)`);
    expect(result.stderr).toContain('ANONMERGE_DEMO=1');
  });

  it('ingest as a process with ANONMERGE_DEMO=1, as make run starts it: ready, with the demo page', async () => {
    const port = await freePort();
    const child = spawn('node', [path.join(root, 'dist/services/ingest/main.js')], {
      cwd: root,
      env: { ...process.env, ...topicEnv(topics), ANONMERGE_WORKSPACES_FILE: DEMO_WORKSPACES, ANONMERGE_DEMO: '1', ANONMERGE_INGEST_PORT: String(port), ANONMERGE_INGEST_METRICS_PORT: '0', ANONMERGE_LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    try {
      let ready = false;
      for (let i = 0; i < 200 && !ready; i += 1) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/demo`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it.each(['ingest', 'activity'] as const)('%s as a process without a workspaces file: exit 78, naming the file and the setting', (service) => {
    const result = run(service, { ANONMERGE_WORKSPACES_FILE: '/etc/anonmerge/nothing-here.json' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain(`${service}: no workspaces file at /etc/anonmerge/nothing-here.json (ANONMERGE_WORKSPACES_FILE)`);
  });
});
