/**
 * The activity page's settings panel (issue 16), against the real admin API and workspaces log:
 * an operator logged in to a workspace's page switches merging off (R3) and rotates its key, in
 * Chromium; every change goes through the admin API under the operator's own token and is in its
 * audit trail; the page's follower of the log sees each change; a caller without the workspace's
 * login, without a token or with a wrong one changes nothing, and wrong tokens are braked.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { parseOperators } from '../../../services/admin/operators';
import { startAdmin, type RunningAdmin } from '../../../services/admin/service';
import { OPERATOR_TOKEN_HEADER } from '../../../services/activity/settingsRoutes';
import { SchemaCatalog } from '../../../services/shared/avro/catalog';
import { loadConfig } from '../../../services/shared/config';
import { ensureTopicsWith } from '../../../services/shared/kafka/topics';
import { authenticateTrack } from '../../../services/ingest/auth';
import { followWorkspacesLog, type FollowedWorkspaces } from '../../../services/ingest/workspacesLog';
import { startTestActivity } from '../../support/activity';
import { basic } from '../../support/ingest';
import { config, deleteTopics, isolatedTopics, testKafka, testLogger, uniqueName } from '../../support/stack';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = randomBytes(24).toString('hex');
const defaults = loadConfig(['activity'], {});
// A name a sender of the admin API controls, shown on the page: it must stay text.
const HOSTILE_NAME = '<img src=x onerror="window.pwned=1">Shop';

describe('the activity page settings panel', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('settings', 1);
  let admin: RunningAdmin;
  let followed: FollowedWorkspaces;
  let activity: FastifyInstance;
  let url: string;
  let browser: Browser;
  let firstKey: string;

  const adminCall = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${admin.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const panel = (method: string, path: string, options: { login?: string | null; token?: string | null; body?: unknown; base?: string } = {}) =>
    fetch(`${options.base ?? url}/activity/api/settings${path}${path.includes('?') ? '&' : '?'}workspace=shop`, {
      method,
      headers: {
        ...(options.login === null ? {} : { authorization: options.login ?? basic('shop-site', firstKey) }),
        ...(options.token === null ? {} : { [OPERATOR_TOKEN_HEADER]: options.token ?? TOKEN }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  /** Until the page's follower of the log shows a change: `holds` checks it. */
  const eventually = async (what: string, holds: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await holds())) {
      if (Date.now() > deadline) throw new Error(`the page never saw ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const opens = async (key: string) => (await fetch(`${url}/activity/api/workspaces`, { headers: { authorization: basic('shop-site', key) } })).status === 200;
  /** Whether the page's registry takes a key now: polled without a request, which would count as a failed login. */
  const takes = (key: string) => authenticateTrack(basic('shop-site', key), followed.registry).ok;

  beforeAll(async () => {
    const base = loadConfig(['kafka', 'registry', 'admin'], { ...process.env, ANONMERGE_ADMIN_PORT: '1' });
    const operators = parseOperators({ operators: [{ name: 'ops-carol', token_sha256: createHash('sha256').update(TOKEN).digest('hex') }] }, 'test');
    admin = await startAdmin({ kafka: { ...base.kafka, brokers: config.kafka.brokers }, registry: base.registry, topics, admin: { ...base.admin, port: 0, transactionalId: uniqueName('settings-admin-') } }, testLogger, operators);
    const created = await adminCall('POST', '/v1/workspaces', { id: 'shop', site_id: 'shop-site', name: HOSTILE_NAME });
    expect(created.status).toBe(201);
    firstKey = created.body.key.secret as string;
    await ensureTopicsWith(kafka, topics, testLogger);
    const catalog = await SchemaCatalog.open(config.registry, topics, testLogger, ['workspaces']);
    followed = await followWorkspacesLog({ kafka, catalog, topic: topics.workspaces, groupPrefix: uniqueName('settings-page-'), secretKey: '', logger: testLogger });
    ({ app: activity, url } = await startTestActivity({
      workspaces: followed.registry,
      adminApiUrl: admin.url,
      timeouts: defaults.activity,
      loginFailures: { maxFailures: 5, windowMs: 60_000 },
    }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await activity?.close();
    await followed?.stop();
    await admin?.close();
    await deleteTopics(kafka, topics);
  });

  it('R3: an operator switches merging off and rotates the key from the page, in Chromium; the audit trail names the operator', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'shop-site', password: firstKey } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${url}/activity`);
    await page.locator('#settings-toggle').click();
    await page.locator('#operator-token').fill(TOKEN);
    await page.locator('#settings-open').click();
    await page.locator('#settings-body').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('#merge-enabled').isChecked()).toBe(true);
    // The name an admin API sender chose is shown as text, and ran nothing.
    expect(await page.locator('#settings-version').innerText()).toBe(`version 1 — ${HOSTILE_NAME}`);
    expect(await page.locator('#settings img').count()).toBe(0);
    // The token is not left in the page's field.
    expect(await page.locator('#operator-token').inputValue()).toBe('');

    await page.locator('#merge-enabled').uncheck();
    await page.locator('#settings-message', { hasText: 'merging switched off (version 2)' }).waitFor({ timeout: 15_000 });
    await eventually('merging off', () => followed.registry.byId('shop')?.settings.merge_enabled === false);

    await page.locator('#new-key-kind').selectOption('API');
    await page.locator('#create-key').click();
    await page.locator('#new-secret').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('#new-secret-id').innerText()).toBe('api-2');
    const secondKey = await page.locator('#new-secret-value').innerText();
    expect(secondKey.length).toBeGreaterThanOrEqual(43);
    await eventually('the new key', () => takes(secondKey));
    expect(await opens(secondKey)).toBe(true);
    // Both keys open the page while the old one is not revoked: a rotation without downtime.
    expect(await opens(firstKey)).toBe(true);

    await page.locator('#keys tr[data-key="api-1"] button').click();
    await page.locator('#settings-message', { hasText: 'key api-1 revoked' }).waitFor({ timeout: 15_000 });
    await eventually('the old key revoked', () => !takes(firstKey));
    // The one failed login of this file so far.
    expect(await opens(firstKey)).toBe(false);
    expect(await opens(secondKey)).toBe(true);
    expect(await page.locator('#keys tr[data-key="api-1"] button').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(problems).toEqual([]);
    await context.close();
    firstKey = secondKey;

    const trail = await adminCall('GET', '/v1/workspaces/shop/changes');
    expect(trail.body.changes.map((c: { version: number; changed_by: string; change: unknown }) => [c.version, c.changed_by, Object.keys(c.change as object)[0]])).toEqual([
      [1, 'ops-carol', 'create'],
      [2, 'ops-carol', 'update'],
      [3, 'ops-carol', 'createKey'],
      [4, 'ops-carol', 'revokeKey'],
    ]);
  });

  it('a stale version is refused (409) and nothing changes; bad input is 400 with the problem named', async () => {
    const stale = await panel('POST', '/merge', { body: { merge_enabled: true, version: 1 } });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { error: string }).error).toMatch(/version 4, not 1/);
    expect(followed.registry.byId('shop')?.settings.merge_enabled).toBe(false);
    expect((await (await panel('POST', '/merge', { body: { merge_enabled: 'yes', version: 4 } })).json())).toEqual({ error: 'merge_enabled: true or false' });
    expect((await panel('DELETE', '/keys/..%2F..%2Fworkspaces')).status).toBe(400);
    const unknownKind = await panel('POST', '/keys', { body: { kind: 'ROOT' } });
    expect(unknownKind.status).toBe(400);
    const tooLarge = await panel('POST', '/keys', { body: { kind: 'API', padding: 'x'.repeat(4096) } });
    expect(tooLarge.status).toBe(413);
    expect((await adminCall('GET', '/v1/workspaces/shop')).body.workspace.version).toBe(4);
  });

  it('a disabled workspace: its right key gets 403 saying so (no login prompt, not braked), a wrong key still 401', async () => {
    expect((await adminCall('POST', '/v1/workspaces/shop/disable')).status).toBe(200);
    const login = basic('shop-site', firstKey);
    await eventually('the workspace disabled', async () => (await fetch(`${url}/activity/api/workspaces`, { headers: { authorization: login } })).status === 403);
    const api = await fetch(`${url}/activity/api/rows?workspace=shop`, { headers: { authorization: login } });
    expect([api.status, api.headers.get('www-authenticate'), await api.json()]).toEqual([403, null, { error: 'forbidden: workspace shop is disabled' }]);
    const page = await fetch(`${url}/activity`, { headers: { authorization: login } });
    expect([page.status, page.headers.get('www-authenticate'), await page.text()]).toEqual([403, null, 'Forbidden: workspace shop is disabled.']);
    // More 403s than the brake's limit of 5: none counted as a failed login.
    for (let i = 0; i < 5; i += 1) expect((await fetch(`${url}/activity/api/workspaces`, { headers: { authorization: login } })).status).toBe(403);
    const wrong = await fetch(`${url}/activity/api/workspaces`, { headers: { authorization: basic('shop-site', 'not-the-key') } });
    expect([wrong.status, wrong.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="anonmerge activity"']);
    expect((await adminCall('POST', '/v1/workspaces/shop/enable')).status).toBe(200);
    await eventually('the workspace enabled again', () => takes(firstKey));
  });

  it('without the workspace login, without a token or with a wrong one, nothing is read or changed, and wrong tokens are braked', async () => {
    // A page of its own, so that its login brake (3 failures a minute) counts this test's alone.
    const own = await startTestActivity({ workspaces: followed.registry, adminApiUrl: admin.url, timeouts: defaults.activity, loginFailures: { maxFailures: 3, windowMs: 60_000 } });
    try {
      const base = own.url;
      // No login to the page: refused before the admin API is asked, token or not (no header: not counted).
      expect((await panel('GET', '', { base, login: null })).status).toBe(401);
      // The page's login but no operator token: the panel says what it needs (not counted either).
      const noToken = await panel('GET', '', { base, token: null });
      expect(noToken.status).toBe(401);
      expect(((await noToken.json()) as { error: string }).error).toContain(OPERATOR_TOKEN_HEADER);
      // Failures, each counted against this address: a wrong page login, a token the admin API
      // refuses, a token no admin API could have issued; then even the right token waits (429).
      expect((await panel('GET', '', { base, login: basic('shop-site', 'not-the-key') })).status).toBe(401);
      const wrong = await panel('POST', '/merge', { base, token: 'x'.repeat(48), body: { merge_enabled: true, version: 6 } });
      expect([wrong.status, ((await wrong.json()) as { error: string }).error]).toEqual([401, 'the admin API refused this operator token']);
      const malformed = await panel('GET', '', { base, token: 'bad token' });
      expect([malformed.status, ((await malformed.json()) as { error: string }).error]).toEqual([401, 'the operator token is not one the admin API could have issued']);
      const braked = await panel('GET', '', { base });
      expect([braked.status, Number(braked.headers.get('retry-after')) > 0]).toEqual([429, true]);
      expect((await adminCall('GET', '/v1/workspaces/shop')).body.workspace).toMatchObject({ version: 6, settings: { merge_enabled: false } });
    } finally {
      await own.app.close();
    }
  });

  it('answers 503, logged, when the admin API does not answer; nothing is sent anywhere else', async () => {
    const own = await startTestActivity({ workspaces: followed.registry, adminApiUrl: 'http://127.0.0.1:9', timeouts: defaults.activity, loginFailures: { maxFailures: 0, windowMs: 60_000 } });
    try {
      const answer = await panel('GET', '', { base: own.url });
      expect([answer.status, ((await answer.json()) as { error: string }).error]).toEqual([503, 'the admin API did not answer; nothing was changed unless the settings show it when read again']);
    } finally {
      await own.app.close();
    }
  });
});
