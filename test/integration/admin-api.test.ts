/**
 * The admin API of workspaces against the real stack (docs/design-workspaces.md): operators
 * authenticate with their own tokens (wrong ones braked), a workspace is created with its first
 * key shown once, changed with If-Match, its keys rotated, and every change is in its audit trail
 * under the operator's name; bad input answers 4xx with every problem named, before any work.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../../services/shared/config';
import { parseOperators } from '../../services/admin/operators';
import { startAdmin, type RunningAdmin } from '../../services/admin/service';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../support/stack';
import { runWorkspacesCommand } from '../../services/cli/commands/workspacesAdmin';

/** The built CLI (make test builds before the tests run). */
const CLI = path.resolve(__dirname, '../../dist/services/cli/main.js');

const TOKEN = randomBytes(24).toString('hex');

describe('the admin API', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('adminapi', 1);
  let admin: RunningAdmin;
  const call = (method: string, path: string, options: { body?: unknown; token?: string | null; headers?: Record<string, string>; raw?: string } = {}) =>
    fetch(`${admin.url}${path}`, {
      method,
      headers: { ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? TOKEN}` }), ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });

  beforeAll(async () => {
    const base = loadConfig(['kafka', 'registry', 'admin'], { ...process.env, ANONMERGE_ADMIN_PORT: '1' });
    const operators = parseOperators({ operators: [{ name: 'ops-alice', token_sha256: createHash('sha256').update(TOKEN).digest('hex') }] }, 'test');
    admin = await startAdmin(
      { kafka: { ...base.kafka, brokers: config.kafka.brokers }, registry: base.registry, topics, admin: { ...base.admin, port: 0, transactionalId: uniqueName('admin-api-'), authFailureLimit: 5 } },
      testLogger,
      operators,
    );
  });
  afterAll(async () => {
    await admin?.close();
    await deleteTopics(kafka, topics);
  });

  it('R3: creates a workspace, its first key shown once and never again; changes it with If-Match; the audit trail names the operator', async () => {
    const created = await call('POST', '/v1/workspaces', { body: { id: 'shop', site_id: 'shop-site', settings: { grace_seconds: 60 } } });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const body = (await created.json()) as { workspace: { keys: unknown[] }; key: { secret: string; key_id: string; shown_once: boolean } };
    expect(body.key).toMatchObject({ key_id: 'api-1', shown_once: true });
    const secret = body.key.secret;
    expect(secret.length).toBeGreaterThanOrEqual(43);
    const read = await call('GET', '/v1/workspaces/shop');
    const text = await read.text();
    expect(read.headers.get('etag')).toBe('"1"');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.parse(text)).toMatchObject({ workspace: { id: 'shop', version: 1, settings: { merge_enabled: true, grace_seconds: 60 }, keys: [{ key_id: 'api-1', kind: 'API', created_by: 'ops-alice', revoked_at: null }] } });

    expect((await call('PATCH', '/v1/workspaces/shop', { body: { settings: { merge_enabled: false } } })).status).toBe(428);
    const off = await call('PATCH', '/v1/workspaces/shop', { body: { settings: { merge_enabled: false } }, headers: { 'if-match': '"1"' } });
    expect(off.status).toBe(200);
    expect(off.headers.get('etag')).toBe('"2"');
    const stale = await call('PATCH', '/v1/workspaces/shop', { body: { name: 'Shop' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(409);
    expect(stale.headers.get('etag')).toBe('"2"');
    expect(await stale.json()).toEqual({ errors: ['workspace shop is at version 2, not 1: read it again'] });

    const trail = (await (await call('GET', '/v1/workspaces/shop/changes')).json()) as { changes: Array<{ version: number; changed_by: string; change: unknown }> };
    expect(trail.changes.map((c) => [c.version, c.changed_by, c.change])).toEqual([
      [1, 'ops-alice', { create: { site_id: 'shop-site', settings: { grace_seconds: 60 } } }],
      [2, 'ops-alice', { update: { settings: { merge_enabled: false } } }],
    ]);
  });

  it('rotates a key: a second one created (shown once), the first revoked; the last API key cannot be', async () => {
    const added = await call('POST', '/v1/workspaces/shop/keys', { body: { kind: 'API' } });
    expect(added.status).toBe(201);
    expect(((await added.json()) as { key: { key_id: string } }).key.key_id).toBe('api-2');
    expect((await call('DELETE', '/v1/workspaces/shop/keys/api-1')).status).toBe(200);
    const last = await call('DELETE', '/v1/workspaces/shop/keys/api-2');
    expect(last.status).toBe(409);
    expect(await last.json()).toEqual({ errors: ['the last live API key cannot be revoked: create its successor first'] });
  });

  it('R3: `anonmerge workspaces` drives it: the merge switch set, a key created, a wrong command refused', async () => {
    const env = { ...process.env, ANONMERGE_ADMIN_URL: admin.url, ANONMERGE_ADMIN_TOKEN: TOKEN };
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, 'workspaces', ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
      });
    const merge = await cli('merge', 'shop', 'on');
    expect(merge.stderr).toBe('');
    expect((JSON.parse(merge.stdout) as { workspace: { settings: { merge_enabled: boolean } } }).workspace.settings.merge_enabled).toBe(true);
    const key = await cli('keys', 'create', 'shop', '--kind', 'WRITE');
    expect((JSON.parse(key.stdout) as { key: { kind: string; shown_once: boolean } }).key).toMatchObject({ kind: 'WRITE', shown_once: true });
    const refused = await cli('merge', 'nobody', 'off');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('anonmerge: the admin API answered 404: no such workspace\n');
    const trail = await runWorkspacesCommand({ url: admin.url, token: TOKEN }, { verb: 'changes', workspace: 'shop' });
    expect((trail.body as { changes: Array<{ change: unknown }> }).changes.slice(-2).map((c) => c.change)).toEqual([{ update: { settings: { merge_enabled: true } } }, { createKey: { key_id: 'write-1', kind: 'WRITE' } }]);
  });

  it('answers bad input with 4xx naming every problem, and writes nothing', async () => {
    const before = ((await (await call('GET', '/v1/workspaces/shop')).json()) as { workspace: { version: number } }).workspace.version;
    const bad = await call('PATCH', '/v1/workspaces/shop', { body: { api_key: 'x', settings: { grace_seconds: 'soon' } }, headers: { 'if-match': `"${before}"` } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ errors: ['api_key: not a field that can be set here (name, settings, rate_limit, allowed_origins, browser_attributes)', 'settings.grace_seconds must be a non-negative integer'] });
    const big = await call('PATCH', '/v1/workspaces/shop', { raw: JSON.stringify({ name: 'x'.repeat(20_000) }), headers: { 'if-match': `"${before}"` } });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errors: string[] }).errors).toHaveLength(1);
    expect((await call('PATCH', '/v1/workspaces/shop', { raw: '{not json', headers: { 'if-match': `"${before}"` } })).status).toBe(400);
    expect((await call('PATCH', '/v1/workspaces/shop', { body: {}, headers: { 'if-match': 'yesterday' } })).status).toBe(400);
    expect((await call('GET', '/v1/workspaces/nobody')).status).toBe(404);
    expect((await call('POST', '/v1/workspaces/shop/keys', { body: { kind: 'ROOT' } })).status).toBe(400);
    expect(((await (await call('GET', '/v1/workspaces/shop')).json()) as { workspace: { version: number } }).workspace.version).toBe(before);
  });

  it('refuses a call without an operator token, or with a wrong one, with 401 and a JSON body; past the brake, 429', async () => {
    const none = await call('GET', '/v1/workspaces', { token: null });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ errors: ["unauthorized: an operator's bearer token is needed"] });
    // 5 wrong tokens are allowed a minute from one address; the next is braked, even a right one.
    for (let i = 0; i < 5; i += 1) expect((await call('GET', '/v1/workspaces', { token: `wrong-${i}` })).status).toBe(401);
    const braked = await call('GET', '/v1/workspaces');
    expect(braked.status).toBe(429);
    expect(Number(braked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
