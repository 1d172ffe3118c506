/**
 * The snippet in a real browser (Debian's chromium, driven by playwright-core; infra/chromium.sh
 * installs it when missing): a shop page on its own origin loads /js/anonmerge.js from ingest, a
 * visitor browses anonymously (one call made before the script loaded), signs up (with the user
 * hash the shop's server computes), browses on, logs out and browses again. What reaches the inbound topic is exactly the product's story:
 * anonymous page views under one cookie id, an identify carrying that id, the person's events,
 * and a new anonymous id after the logout. Screenshots go to test-results/.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { startActivity, type RunningActivity } from '../../../services/activity/service';
import { loadConfig } from '../../../services/shared/config';
import { readInbound, startTestIngest } from '../../support/ingest';
import { startTestMerger } from '../../support/merger';
import type { RunningMerger } from '../../../services/merger/service';
import { resultsPath } from '../../support/results';
import { deleteTopics, isolatedTopics, testKafka, testLogger } from '../../support/stack';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const SECRET = 'identity-secret-of-the-shop';
/** The shop's server: the user hash of the visitor it signs up or has signed in. */
const userHash = (identifier: string) => createHmac('sha256', SECRET).update(identifier).digest('hex');
/** The shop's session cookie (opaque; the shop's server knows whose it is). */
const SESSION = 'shop_session=s1';

/**
 * The shop: three pages, each with the snippet tag and its queue stub; for a signed-in visitor
 * the server renders identify with the user hash first, as a site does on each of its pages.
 */
function shopPage(ingestUrl: string, title: string, body: string, signedIn: boolean): string {
  return `<!doctype html><html><head><title>${title}</title>
<script>
  window.anonmerge = window.anonmerge || { _queue: [] };
  ['track', 'page', 'identify', 'reset'].forEach(function (m) {
    anonmerge[m] = anonmerge[m] || function () { anonmerge._queue.push([m, [].slice.call(arguments)]); };
  });
  ${signedIn ? `anonmerge.identify({ email: 'ada@example.com' }, { userHash: '${userHash('ada@example.com')}' });` : ''}
  anonmerge.page();
</script>
<script async src="${ingestUrl}/js/anonmerge.js" data-site-id="shop-site" data-key="pk_shop"></script>
</head><body><h1>${title}</h1>${body}</body></html>`;
}

describe('the browser snippet in Chromium', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('snippet', 1);
  let ingest: RunningIngest;
  let shop: Server;
  let browser: Browser;
  let merger: RunningMerger & { prefix: string };
  let activity: RunningActivity;
  let shopOrigin = '';

  beforeAll(async () => {
    shop = createServer((request, response) => {
      const signedIn = (request.headers.cookie ?? '').split('; ').includes(SESSION);
      const signUp = `document.cookie = '${SESSION}; path=/'; anonmerge.identify({ email: 'ada@example.com', plan: 'pro' }, { userHash: '${userHash('ada@example.com')}' })`;
      const pages: Record<string, string> = {
        '/': shopPage(ingest.url, 'Home', '<a id="pricing" href="/pricing">Pricing</a>', signedIn),
        '/pricing': shopPage(ingest.url, 'Pricing', `<button id="signup" onclick="${signUp}">Sign up</button><a id="docs" href="/docs">Docs</a>`, signedIn),
        '/docs': shopPage(ingest.url, 'Docs', `<button id="star" onclick="anonmerge.track('Starred docs', { page: 'docs' })">Star</button><button id="logout" onclick="document.cookie = '${SESSION}; path=/; max-age=0'; anonmerge.reset()">Log out</button>`, signedIn),
      };
      const page = pages[request.url ?? '/'];
      response.writeHead(page ? 200 : 404, { 'content-type': 'text/html' });
      response.end(page ?? 'not found');
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopOrigin = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
    const workspaces = new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ id: 'shop', site_id: 'shop-site', api_key: 'shop-secret', publishable_key: 'pk_shop', allowed_origins: [shopOrigin], identity_verification_secret: SECRET, browser_attributes: ['plan'] }] }, 'test'));
    ingest = await startTestIngest(topics, { workspaces });
    merger = await startTestMerger(topics);
    const base = loadConfig(['kafka', 'registry', 'redis', 'merger', 'ingest', 'activity']);
    activity = await startActivity(
      { ...base, topics, merger: { ...base.merger, redisKeyPrefix: merger.prefix }, activity: { ...base.activity, port: 0 } },
      testLogger,
      workspaces,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    shop?.close();
    await activity?.close();
    await merger?.close();
    await ingest?.close();
    await deleteTopics(kafka, topics);
  });

  it('R1, R2b, R6 from a real browser: anonymous views, sign-up, the person browsing on, logout — what reaches Kafka and the activity log', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const settle = () => page.waitForFunction(() => typeof (globalThis as unknown as { anonmerge?: { anonymousId?: unknown } }).anonmerge?.anonymousId === 'function');

    await page.goto(`${shopOrigin}/`);
    await settle();
    await page.screenshot({ path: resultsPath('snippet-1-home.png') });
    const firstId = await page.evaluate(() => (globalThis as unknown as { anonmerge: { anonymousId(): string } }).anonmerge.anonymousId());
    const cookie = (await context.cookies()).find((c) => c.name === 'anonmerge_aid');
    expect(cookie?.value).toBe(firstId);

    await page.click('#pricing');
    await settle();
    await page.click('#signup');
    await page.screenshot({ path: resultsPath('snippet-2-signed-up.png') });
    await page.click('#docs');
    await settle();
    await page.click('#star');
    await page.click('#logout');
    await page.goto(`${shopOrigin}/`);
    await settle();
    const secondId = await page.evaluate(() => (globalThis as unknown as { anonmerge: { anonymousId(): string } }).anonmerge.anonymousId());
    await page.screenshot({ path: resultsPath('snippet-3-logged-out.png') });
    await context.close();

    // home, pricing (anonymous) · identify · docs (identified again by the shop's server), star
    // (person) · home (new anonymous id). The merger's ticks share the topic; the visitor's
    // records are the rest.
    let records: Awaited<ReturnType<typeof readInbound>> = [];
    for (const deadline = Date.now() + 20000; records.length < 7 && Date.now() < deadline; ) {
      records = (await readInbound(kafka, topics)).filter((r) => r.command.kind !== 'tick');
    }
    const story = records.map((r) => {
      const body = r.command.body as { anonymous_id: string | null; person?: { value: string } | null; name?: string; type?: string };
      return `${r.command.kind} ${body.person ? `person ${body.person.value}` : `anonymous ${body.anonymous_id === firstId ? 'first' : body.anonymous_id === secondId ? 'second' : body.anonymous_id}`}${body.name ? ` ${body.type} ${body.name.replace(shopOrigin, '')}` : ''}${r.command.kind === 'identify' ? ` with ${body.anonymous_id === firstId ? 'first' : body.anonymous_id}` : ''}`;
    });
    expect(story.slice(0, 3)).toEqual(['track anonymous first page /', 'track anonymous first page /pricing', 'identify person ada@example.com with first']);
    // The docs page's identify and page view go out together; their order on the wire is the browser's.
    expect(story.slice(3, 5).sort()).toEqual(['identify person ada@example.com with first', 'track person ada@example.com page /docs']);
    expect(story.slice(5)).toEqual(['track person ada@example.com event Starred docs', 'track anonymous second page /']);
    expect(secondId).not.toBe(firstId);

    // The activity log, logged in with the workspace's credentials: what the merger made of it.
    const viewer = await browser.newContext({ httpCredentials: { username: 'shop-site', password: 'shop-secret' } });
    const log = await viewer.newPage();
    await log.goto(`${activity.url}/activity`);
    const identifiedRows = log.locator('#rows tr[data-event]');
    await identifiedRows.nth(3).waitFor({ timeout: 30000 });
    await log.locator('#rows tr[data-kind="ANONYMOUS_DATA_MERGED"]').waitFor({ timeout: 30000 });
    await log.screenshot({ path: resultsPath('activity-1-identified.png'), fullPage: true });
    const identified = await identifiedRows.allInnerTexts();
    // Cells: received, who, "type name", mark.
    const line = (path: string) => identified.find((row) => row.split('\t')[2] === `page ${shopOrigin}${path}`) ?? '';
    // Merged: the two pages seen before the sign-up, marked with the anonymous id they had.
    expect(line('/')).toContain(`was anonymous: ${firstId}`);
    expect(line('/pricing')).toContain(`was anonymous: ${firstId}`);
    // Sent as the person: no mark.
    expect(line('/docs')).not.toContain('was anonymous');
    expect(identified.find((row) => row.includes('Starred docs'))).not.toContain('was anonymous');
    expect(identified.every((row) => row.includes('email:ada@example.com'))).toBe(true);
    expect(await log.locator('#rows tr[data-kind="ANONYMOUS_DATA_MERGED"]').innerText()).toContain(`Anonymous Data Merged: 2 events`);

    await log.click('#tab-anonymous');
    // The view fills as the outbound topics are read: the last page view (after the logout) may come after the first rows.
    await log.locator('#rows tr[data-event]', { hasText: secondId }).waitFor({ timeout: 30000 });
    await log.locator('#rows tr[data-event]', { hasText: firstId }).nth(1).waitFor({ timeout: 30000 });
    const anonymous = await log.locator('#rows tr[data-event]').allInnerTexts();
    await log.screenshot({ path: resultsPath('activity-2-anonymous.png'), fullPage: true });
    // The visit after the logout is anonymous, under the new id; the first two were, when they came.
    expect(anonymous.filter((row) => row.includes(secondId))).toHaveLength(1);
    expect(anonymous.filter((row) => row.includes(firstId))).toHaveLength(2);

    // Search by anonymous id, with the explain answer.
    await log.click('#tab-identified');
    await log.fill('#search', firstId);
    await log.locator('#explain').waitFor({ state: 'visible', timeout: 20000 });
    expect(await log.locator('#explain').innerText()).toContain('bound to email:ada@example.com');
    expect(await log.locator('#rows tr[data-event]').count()).toBe(2);
    await log.screenshot({ path: resultsPath('activity-3-search.png'), fullPage: true });

    // Live: a new visitor's page view appears on the open page without a reload.
    await log.fill('#search', '');
    await log.click('#tab-anonymous');
    const before = await log.locator('#rows tr[data-event]').count();
    const visitor = await browser.newContext();
    const visit = await visitor.newPage();
    await visit.goto(`${shopOrigin}/pricing`);
    await visit.waitForFunction(() => typeof (globalThis as unknown as { anonmerge?: { anonymousId?: unknown } }).anonmerge?.anonymousId === 'function');
    await visitor.close();
    await log.locator('#rows tr[data-event]').nth(before).waitFor({ timeout: 30000 });
    expect(await log.locator('#status').innerText()).toBe('live');
    await viewer.close();
  }, 120000);

  it("the activity log's API needs the workspace's credentials and opens that workspace only", async () => {
    const shopAuth = { authorization: `Basic ${Buffer.from('shop-site:shop-secret').toString('base64')}` };
    const anonymous = await fetch(`${activity.url}/activity/api/rows?workspace=shop`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toMatch(/^unauthorized/);
    expect((await fetch(`${activity.url}/activity`)).status).toBe(401);
    const other = await fetch(`${activity.url}/activity/api/rows?workspace=elsewhere`, { headers: shopAuth });
    expect(other.status).toBe(403);
    const mine = await fetch(`${activity.url}/activity/api/rows`, { headers: shopAuth });
    expect(mine.status).toBe(200);
    expect(Object.keys((await mine.json()) as object).sort()).toEqual(['activity', 'anonymous', 'identified', 'workspace']);
  });
});
