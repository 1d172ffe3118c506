/**
 * A service with a missing or malformed setting fails fast at start, naming the setting, before
 * it touches Kafka or Redis. Runs the compiled services as `make up` does.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const start = (service: string, env: Record<string, string>) =>
  spawnSync('node', [path.join(root, 'dist/services', service, 'main.js')], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20000 });

describe('configuration at start', () => {
  it('the merger exits with a message naming a malformed setting', () => {
    const result = start('merger', { ANONMERGE_KAFKA_BROKERS: 'kafka-without-port', ANONMERGE_MERGER_PORT: 'abc' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('ANONMERGE_KAFKA_BROKERS="kafka-without-port" is malformed');
    expect(result.stderr).toContain('ANONMERGE_MERGER_PORT="abc" is malformed: expected an integer');
  });

  it('ingest exits with a message naming a missing workspaces file', () => {
    const result = start('ingest', { ANONMERGE_WORKSPACES_FILE: '/nonexistent/workspaces.json' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('ANONMERGE_WORKSPACES_FILE');
    expect(result.stderr).toContain('/nonexistent/workspaces.json');
  });

  it('ingest exits with a message naming a malformed log level', () => {
    const result = start('ingest', { ANONMERGE_LOG_LEVEL: 'loud' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('ANONMERGE_LOG_LEVEL="loud" is malformed: expected one of fatal, error, warn, info, debug, trace, silent');
  });
  it('ingest and the activity service exit with a message naming a workspaces key that is too short, not its value', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'anonmerge-weak-')), 'workspaces.json');
    writeFileSync(file, JSON.stringify({ workspaces: [{ id: 'w', site_id: 'w-site', api_key: 'hunter2' }] }));
    for (const service of ['ingest', 'activity']) {
      const result = start(service, { ANONMERGE_WORKSPACES_FILE: file });
      expect(result.status).toBe(78);
      expect(result.stderr).toContain('workspaces[0].api_key must be at least 16 characters');
      expect(result.stderr).not.toContain('hunter2');
    }
  });

  it('the activity service exits with a message naming an admin token that is too short, not its value', () => {
    const result = start('activity', { ANONMERGE_ACTIVITY_ADMIN_TOKEN: 'hunter2' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('ANONMERGE_ACTIVITY_ADMIN_TOKEN=(secret) is malformed: expected at least 16 characters');
    expect(result.stderr).not.toContain('hunter2');
  });
});
