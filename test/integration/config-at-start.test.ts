/**
 * A service with a missing or malformed setting fails fast at start, naming the setting, before
 * it touches Kafka or Redis. Runs the compiled services as `make up` does.
 */
import { spawnSync } from 'node:child_process';
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
});
