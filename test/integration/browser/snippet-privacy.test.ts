/**
 * What the snippet keeps and sends, in a real browser (Debian's chromium, playwright-core) against
 * a real ingest (issue 14, item 8, and the snippet's side of item 4):
 * - no cookie or storage holds the person's identifier (often an email), and the one earlier
 *   versions left for a year is removed; only the anonymous id cookie stays;
 * - page() names a page by its URL without query string or fragment (tokens, emails), keeping
 *   only the parameters a page names;
 * - a malformed or foreign anonymous id cookie is treated as absent: a new id, never a dead snippet;
 * - identify and the person's events carry the user hash the site's server rendered, and the
 *   demo shop page (/demo) signs up through its server's user hash.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DEMO_PAGE_PATH } from '../../../services/ingest/demoPage';
import type { RunningIngest } from '../../../services/ingest/service';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { DEMO_WORKSPACES, readInbound, startTestIngest } from '../../support/ingest';
import { resultsPath } from '../../support/results';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SECRET = 'identity-secret-of-the-shop';
/** The shop's server: the user hash of the visitor it logged in. */
const userHash = (identifier: string) => createHmac('sha256', SECRET).update(identifier).digest('hex');

type Body = { person?: { value: string } | null; anonymous_id: string | null; name?: string; type?: string; attributes_json?: string };
type Inbound = Awaited<ReturnType<typeof readInbound>>[number];

/** A shop page: the snippet's stub, `calls` (what the page's server rendered), the snippet tag. */
function shopPage(ingestUrl: string, calls: string): string {
  return `<!doctype html><html><head><title>Shop</title>
<script>
  window.anonmerge = window.anonmerge || { _queue: [] };
  ['track', 'page', 'identify', 'reset'].forEach(function (m) {
    anonmerge[m] = anonmerge[m] || function () { anonmerge._queue.push([m, [].slice.call(arguments)]); };
  });
  ${calls}
</script>
<script async src="${ingestUrl}/js/anonmerge.js" data-site-id="shop-site" data-key="pk_shop"></script>
</head><body><h1>Shop</h1></body></html>`;
}

const readBody = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
  });

describe('what the snippet keeps and sends, in Chromium', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('snippet-privacy', 1);
  let ingest: RunningIngest;
  let shop: Server;
  let browser: Browser;
  let shopOrigin = '';

  beforeAll(async () => {
    shop = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://shop');
      const pages: Record<string, string> = {
        '/blank': '<!doctype html><title>blank</title>',
        '/account': shopPage(ingest.url, `anonmerge.identify({ email: 'ada@example.com', plan: 'pro' }, { userHash: '${userHash('ada@example.com')}' }); anonmerge.page();`),
        '/later': shopPage(ingest.url, 'anonmerge.page();'),
        '/reset': shopPage(ingest.url, 'anonmerge.page();'),
        '/landing': shopPage(ingest.url, "anonmerge.page({}, { query: ['utm_source'] });"),
        '/': shopPage(ingest.url, 'anonmerge.page();'),
        '/demo': readFileSync(DEMO_PAGE_PATH, 'utf8'),
      };
      const page = pages[url.pathname];
      if (page) {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end(page);
        return;
      }
      // Everything else goes to ingest, as it would behind the shop's reverse proxy: the demo page
      // loads the snippet, its server's user hash and the snippet's routes from its own origin.
      void readBody(request).then(async (body) => {
        const headers: Record<string, string> = {};
        for (const name of ['origin', 'content-type']) if (typeof request.headers[name] === 'string') headers[name] = request.headers[name] as string;
        const forwarded = await fetch(`${ingest.url}${request.url ?? '/'}`, { method: request.method, headers, body: body.length > 0 ? body : undefined });
        response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'text/plain' });
        response.end(Buffer.from(await forwarded.arrayBuffer()));
      });
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopOrigin = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
    // The shipped demo workspace as it is, but for the shop's origin (the demo page is served here).
    const demo = (JSON.parse(readFileSync(DEMO_WORKSPACES, 'utf8')) as { workspaces: Array<Record<string, unknown>> }).workspaces[0] as Record<string, unknown>;
    const workspaces = new WorkspaceRegistry(
      parseWorkspaces(
        {
          workspaces: [
            { id: 'shop', site_id: 'shop-site', api_key: 'shop-api-key-0123', publishable_key: 'pk_shop', allowed_origins: [shopOrigin], identity_verification_secret: SECRET, browser_attributes: ['plan'] },
            { ...demo, allowed_origins: [shopOrigin] },
          ],
        },
        'test',
      ),
    );
    // The shipped demo workspace: its keys are accepted, and /demo/user-hash served, only in a demo.
    ingest = await startTestIngest(topics, { workspaces, demo: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    shop?.close();
    await ingest?.close();
    await deleteTopics(kafka, topics);
  });

  const settle = (page: Page) => page.waitForFunction(() => typeof (globalThis as unknown as { anonmerge?: { anonymousId?: unknown } }).anonmerge?.anonymousId === 'function');
  const anonymousIdOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { anonmerge: { anonymousId(): string } }).anonmerge.anonymousId());
  /** The inbound records `wanted` picks, once there are `count` of them (the beacons take a moment). */
  const recordsWhere = async (wanted: (record: Inbound, body: Body) => boolean, count: number): Promise<Inbound[]> => {
    let found: Inbound[] = [];
    for (const deadline = Date.now() + 20000; found.length < count && Date.now() < deadline; ) {
      found = (await readInbound(kafka, topics)).filter((r) => r.command.kind !== 'tick' && wanted(r, r.command.body as Body));
    }
    return found;
  };
  const storageOf = async (context: BrowserContext, page: Page) => ({
    cookies: (await context.cookies()).map((c) => `${c.name}=${decodeURIComponent(c.value)}`),
    documentCookie: await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie),
    localStorage: await page.evaluate(() => JSON.stringify((globalThis as unknown as { localStorage: object }).localStorage)),
  });

  it('keeps no identifier in a cookie or storage: after identify, only the anonymous id cookie; the old person cookie is removed', async () => {
    const context = await browser.newContext();
    // What earlier versions left behind: the person's email, in a cookie and in localStorage.
    await context.addCookies([{ name: 'anonmerge_pid', value: 'old%40example.com', url: shopOrigin }]);
    const page = await context.newPage();
    await page.goto(`${shopOrigin}/blank`);
    await page.evaluate(() => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('anonmerge_pid', 'old@example.com'));

    await page.goto(`${shopOrigin}/account`);
    await settle(page);
    const anonymousId = await anonymousIdOf(page);
    const stored = await storageOf(context, page);
    await page.screenshot({ path: resultsPath('snippet-privacy-1-account.png') });
    expect(stored.cookies).toEqual([`anonmerge_aid=${anonymousId}`]);
    expect(stored.documentCookie).toBe(`anonmerge_aid=${anonymousId}`);
    expect(JSON.parse(stored.localStorage)).toEqual({ anonmerge_aid: anonymousId });
    expect(JSON.stringify(stored)).not.toMatch(/example\.com/);

    // Sent, with the user hash the page's server rendered: the identify and the page as Ada.
    const records = await recordsWhere((r, body) => body.person?.value === 'ada@example.com', 2);
    expect(records.map((r) => `${r.command.kind} ${(r.command.body as Body).name ?? ''}`.trim()).sort()).toEqual(['identify', `track ${shopOrigin}/account`]);
    expect((records.find((r) => r.command.kind === 'identify')?.command.body as Body).anonymous_id).toBe(anonymousId);

    // The next page knows nobody until its server identifies again: the person was in memory only.
    await page.goto(`${shopOrigin}/later`);
    await settle(page);
    expect(await page.evaluate(() => (globalThis as unknown as { anonmerge: { person(): string | null } }).anonmerge.person())).toBeNull();
    expect(await anonymousIdOf(page)).toBe(anonymousId);
    expect(JSON.stringify(await storageOf(context, page))).not.toMatch(/example\.com/);
    await context.close();
  });

  it('page() sends the URL without query string or fragment, and keeps only the parameters a page names', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${shopOrigin}/reset?token=s3cret-token&email=ada%40example.com#access_token=s3cret-fragment`);
    await settle(page);
    const anonymousId = await anonymousIdOf(page);
    await page.goto(`${shopOrigin}/landing?utm_source=newsletter&token=s3cret-token#top`);
    await settle(page);
    await context.close();

    const records = await recordsWhere((_r, body) => body.anonymous_id === anonymousId, 2);
    expect(records.map((r) => (r.command.body as Body).name)).toEqual([`${shopOrigin}/reset`, `${shopOrigin}/landing?utm_source=newsletter`]);
    // Match the secrets themselves, not a bare "ada": record ids are random UUIDs and may hold it.
    expect(JSON.stringify(records)).not.toMatch(/s3cret|ada(@|%40)example\.com|access_token/);
  });

  it('survives a malformed or foreign anonymous id cookie: treated as absent, a new id minted, cookie rewritten, page view sent', async () => {
    for (const [label, value] of [
      ['malformed %-escape', '%E0%A4%A'],
      ['not an id of ours', 'x%3Cscript%3E'],
    ] as const) {
      const context = await browser.newContext();
      await context.addCookies([
        { name: 'unrelated', value: '%zz', url: shopOrigin },
        { name: 'anonmerge_aid', value, url: shopOrigin },
      ]);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${shopOrigin}/`);
      await settle(page);
      const anonymousId = await anonymousIdOf(page);
      expect([label, anonymousId]).toEqual([label, expect.stringMatching(/^[0-9a-f-]{32,36}$/)]);
      expect((await context.cookies()).find((c) => c.name === 'anonmerge_aid')?.value).toBe(anonymousId);
      const records = await recordsWhere((_r, body) => body.anonymous_id === anonymousId, 1);
      expect(records.map((r) => (r.command.body as Body).name)).toEqual([`${shopOrigin}/`]);
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it('the demo shop page signs up with its server-side user hash, and the demo workspace accepts it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${shopOrigin}/demo?page=pricing`);
    await settle(page);
    const anonymousId = await anonymousIdOf(page);
    await page.fill('#email', 'demo.visitor@example.com');
    await page.click('#signup');
    await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('who').textContent.startsWith('signed in'));
    await page.click('#cart');
    // Another page of the signed-in visitor: the shop's session identifies them again.
    await page.goto(`${shopOrigin}/demo?page=blog&session=s3cret`);
    await settle(page);
    await page.screenshot({ path: resultsPath('snippet-privacy-2-demo.png') });
    await context.close();

    const records = await recordsWhere((r, body) => r.workspace_id === 'demo' && (body.anonymous_id === anonymousId || body.person?.value === 'demo.visitor@example.com'), 5);
    const story = records.map((r) => {
      const body = r.command.body as Body;
      return `${r.command.kind} ${body.person ? body.person.value : 'anonymous'} ${body.name ?? `with ${body.anonymous_id === anonymousId ? 'the cookie' : body.anonymous_id}`}`;
    });
    expect(story.slice(0, 3)).toEqual([
      `track anonymous ${shopOrigin}/demo?page=pricing`,
      'identify demo.visitor@example.com with the cookie',
      'track demo.visitor@example.com Added to cart',
    ]);
    // The next page's identify and page view go out together; their order on the wire is the browser's.
    expect(story.slice(3).sort()).toEqual(['identify demo.visitor@example.com with the cookie', `track demo.visitor@example.com ${shopOrigin}/demo?page=blog`]);
  });
});
