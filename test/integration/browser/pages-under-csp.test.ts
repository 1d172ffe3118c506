/**
 * Issue 14, item 7: the activity page and the demo shop page are served with a
 * Content-Security-Policy that runs only their own inline scripts (by hash). Here, in Chromium,
 * each page still works under it — its script runs, its style applies, its fetches and live
 * stream connect, the demo's buttons call the snippet — without a single policy violation; and
 * an inline script injected into the page is refused.
 */
import { readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { RunningIngest } from '../../../services/ingest/service';
import { loadConfig } from '../../../services/shared/config';
import { startTestActivity } from '../../support/activity';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { freePort } from '../../support/freePort';
import { DEMO_WORKSPACES, readInbound, startTestIngest } from '../../support/ingest';
import { resultsPath } from '../../support/results';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
type Window = { __violations: string[]; __injected?: boolean; document: { createElement(tag: string): { textContent: string }; body: { append(node: unknown): void } } };

/** Records the page's CSP violations from its first script on (init scripts are not subject to the policy). */
async function watchViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = globalThis as unknown as Window & { addEventListener(type: string, listener: (event: { violatedDirective: string; blockedURI: string }) => void): void };
    w.__violations = [];
    w.addEventListener('securitypolicyviolation', (event) => w.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
}
const violations = (page: Page) => page.evaluate(() => (globalThis as unknown as Window).__violations);
/** An inline script added to the page as an injection would: the policy must refuse it. */
const injectInlineScript = (page: Page) =>
  page.evaluate(() => {
    const w = globalThis as unknown as Window;
    const script = w.document.createElement('script');
    script.textContent = 'window.__injected = true;';
    w.document.body.append(script);
    return new Promise((resolve) => setTimeout(() => resolve(w.__injected === true), 100));
  });

describe('pages under their Content-Security-Policy, in Chromium', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('pages-csp', 1);
  const defaults = loadConfig(['activity'], {});
  let ingest: RunningIngest;
  let activity: FastifyInstance;
  let activityUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    // The shipped demo workspace (the page names its site id and publishable key, its server signs
    // with its identity secret), with this ingest's origin allowed as http://127.0.0.1:3000 is there.
    const port = await freePort();
    const demo = (JSON.parse(readFileSync(DEMO_WORKSPACES, 'utf8')) as { workspaces: Array<Record<string, unknown>> }).workspaces[0];
    const workspaces = new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ ...demo, allowed_origins: [`http://127.0.0.1:${port}`] }] }, 'test'));
    ingest = await startTestIngest(topics, { demo: true, workspaces, port });
    ({ app: activity, url: activityUrl } = await startTestActivity({ timeouts: defaults.activity, loginFailures: { maxFailures: 0, windowMs: 60000 } }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await activity?.close();
    await ingest?.close();
    await deleteTopics(kafka, topics);
  });

  it('the activity page: script, style, API and live stream work; no violation; an injected inline script does not run', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'site-a', password: 'key-a' } });
    const page = await context.newPage();
    await watchViolations(page);
    const response = await page.goto(`${activityUrl}/activity`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'sha256-");
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 15000 });
    expect(await page.locator('#workspace option').allTextContents()).toEqual(['ws-a']);
    // The inline <style> applied.
    expect(await page.locator('header').evaluate((header) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(header).backgroundColor)).toBe('rgb(17, 24, 39)');
    await page.click('#tab-anonymous');
    expect(await page.locator('#tab-anonymous').getAttribute('aria-selected')).toBe('true');
    await page.screenshot({ path: resultsPath('activity-csp.png') });
    expect(await violations(page)).toEqual([]);
    expect(await injectInlineScript(page)).toBe(false);
    expect((await violations(page)).join()).toContain('script-src');
    await context.close();
  });

  it('the demo shop page: the snippet loads, the buttons call it, its sends reach Kafka; no violation; an injected inline script does not run', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await watchViolations(page);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${ingest.url}/demo`);
    await page.locator('#who', { hasText: 'anonymous (' }).waitFor({ timeout: 5000 });
    await page.fill('#email', 'csp@example.com');
    await page.click('#signup');
    // Signed in once the shop's server (/demo/user-hash, a fetch to this origin) gave the user hash.
    await page.locator('#who', { hasText: 'signed in as csp@example.com' }).waitFor({ timeout: 5000 });
    await page.click('#cart');
    await page.click('#logout');
    await page.locator('#who', { hasText: 'anonymous (' }).waitFor({ timeout: 5000 });
    // The page view, the sign-up and the person's event: the snippet ran and connect-src let it send.
    const records = await readInbound(kafka, topics, 3);
    expect(records.map((r) => r.command.kind)).toEqual(['track', 'identify', 'track']);
    expect(records[1]?.command.body).toMatchObject({ person: { id_type: 'EMAIL', value: 'csp@example.com' } });
    await page.screenshot({ path: resultsPath('demo-csp.png') });
    expect(errors).toEqual([]);
    expect(await violations(page)).toEqual([]);
    expect(await injectInlineScript(page)).toBe(false);
    await context.close();
  });
});
