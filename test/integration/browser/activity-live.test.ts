/**
 * The activity page keeps up with the rows as they come, in Chromium: a row that arrives while the
 * page opens, or while its live stream is away (a restart, a proxy that drops it), is shown once
 * the stream is back — and a row that comes both ways is shown once. The page used to read the
 * recent rows before opening its stream: a row added in between was never shown, and CI's browser
 * test failed on it whenever the merger's outputs landed just as the page opened.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RecentView, type ViewRow } from '../../../services/activity/view';
import { loadConfig } from '../../../services/shared/config';
import { anonymousRow, startTestActivity } from '../../support/activity';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const defaults = loadConfig(['activity'], {});

const row = (id: string): ViewRow => anonymousRow(id);

describe('the activity page and rows that arrive while it opens or reconnects', () => {
  const rows = new EventEmitter();
  const view = new RecentView(100);
  let activity: FastifyInstance;
  let url: string;
  let browser: Browser;

  /** As the activity service does with each row read from the outbound topics. */
  const arrive = (r: ViewRow) => {
    if (view.add('ws-a', r)) rows.emit('row', 'ws-a', r);
  };

  beforeAll(async () => {
    ({ app: activity, url } = await startTestActivity({ rows, view, timeouts: defaults.activity, loginFailures: { maxFailures: 0, windowMs: defaults.activity.loginFailureWindowMs } }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await activity?.close();
  });

  async function openPage(): Promise<Page> {
    const context = await browser.newContext({ httpCredentials: { username: 'site-a', password: 'key-a' } });
    return context.newPage();
  }
  const shown = (page: Page, id: string) => page.locator(`#rows tr[data-event="${id}"]`);

  it('a row that arrives between the recent rows and the live stream is shown', async () => {
    const page = await openPage();
    // The row arrives just before the page's stream request reaches the server, whichever the
    // page asks for first.
    await page.route('**/activity/api/stream*', async (route) => {
      arrive(row('while-opening'));
      await route.continue();
    });
    await page.goto(`${url}/activity`);
    await page.click('#tab-anonymous');
    await shown(page, 'while-opening').waitFor({ timeout: 15000 });
    expect(await page.locator('#status').innerText()).toBe('live');
    await page.context().close();
  });

  it('a row that arrives while the stream is away is shown when it is back, and a row that comes both ways is shown once', async () => {
    const page = await openPage();
    await page.goto(`${url}/activity`);
    await page.click('#tab-anonymous');
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 15000 });
    arrive(row('live'));
    await shown(page, 'live').waitFor({ timeout: 15000 });

    // Every connection dropped (a restart of the service, a proxy): the page's stream is away.
    activity.server.closeAllConnections();
    for (const deadline = Date.now() + 10000; rows.listenerCount('row') > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rows.listenerCount('row')).toBe(0);
    arrive(row('while-away'));

    await shown(page, 'while-away').waitFor({ timeout: 15000 });
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 15000 });
    // "live" came by the stream, then again with the recent rows read at the reconnect.
    expect(await shown(page, 'live').count()).toBe(1);
    expect(await shown(page, 'while-opening').count()).toBe(1);
    await page.context().close();
  });
});
