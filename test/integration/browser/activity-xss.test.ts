/**
 * The activity page faces a workspace's staff, but what it shows comes from senders: event ids,
 * names, anonymous ids and person identifiers. Records carrying script in every one of those go
 * through the real merger and activity service; the page, opened in Chromium, must show them as
 * text and run none of them (issue 14: a quote in an event id used to break out of an attribute).
 */
import { chromium, type Browser } from 'playwright-core';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { startActivity, type RunningActivity } from '../../../services/activity/service';
import { loadConfig } from '../../../services/shared/config';
import type { InboundRecord } from '../../../services/shared/model/inbound';
import type { RunningMerger } from '../../../services/merger/service';
import { DEFAULT_SETTINGS, InboundWriter, startTestMerger } from '../../support/merger';
import { resultsPath } from '../../support/results';
import { deleteTopics, isolatedTopics, testKafka, testLogger } from '../../support/stack';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Each payload, if it ever became markup or an attribute, would set window.__xss (or open a dialog).
const PAYLOADS = [
  'q" autofocus onfocus="window.__xss=1" x="',
  "q' onmouseover='window.__xss=2' x='",
  '<img src=x onerror="window.__xss=3">',
  '</td></tr><script>window.__xss=4</script>',
  '<svg onload="window.__xss=5">',
];

describe('the activity page in Chromium', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('activity-xss', 1);
  const writer = new InboundWriter(kafka, topics);
  let merger: RunningMerger & { prefix: string };
  let activity: RunningActivity;
  let browser: Browser;
  const workspaces = new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ id: 'xss', site_id: 'xss-site', api_key: 'xss-secret' }] }, 'test'));

  beforeAll(async () => {
    merger = await startTestMerger(topics);
    const base = loadConfig(['kafka', 'registry', 'redis', 'merger', 'ingest', 'activity']);
    activity = await startActivity({ ...base, topics, merger: { ...base.merger, redisKeyPrefix: merger.prefix }, activity: { ...base.activity, port: 0 } }, testLogger, workspaces);
    await writer.open();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await writer.close();
    await activity?.close();
    await merger?.close();
    await deleteTopics(kafka, topics);
  });

  it('R6: script in event ids, names, anonymous ids and person identifiers is shown as text and never runs', async () => {
    const now = Date.now();
    const records: InboundRecord[] = [];
    PAYLOADS.forEach((payload, i) => {
      const at = now + i * 10;
      const track = (id: string, who: { person: { id_type: 'ID'; value: string } | null; anonymous_id: string | null }): InboundRecord => ({
        workspace_id: 'xss',
        id,
        received_at: at,
        settings: DEFAULT_SETTINGS,
        command: { kind: 'track', body: { ...who, name: `${payload} name`, type: 'page', timestamp: Math.floor(at / 1000), data_json: '{}' } },
      });
      // Anonymous, then merged into a person named with the payload (a merged mark, an activity row).
      records.push(track(`${payload} id-${i}`, { person: null, anonymous_id: `${payload} anon-${i}` }));
      records.push({ workspace_id: 'xss', id: `identify-${i}`, received_at: at + 1, settings: DEFAULT_SETTINGS, command: { kind: 'identify', body: { person: { id_type: 'ID', value: `${payload} person-${i}` }, anonymous_id: `${payload} anon-${i}`, attributes_json: '{}' } } });
      // A person's own event, and an anonymous one left pending.
      records.push(track(`${payload} own-${i}`, { person: { id_type: 'ID', value: `${payload} person-${i}` }, anonymous_id: null }));
      records.push(track(`${payload} pending-${i}`, { person: null, anonymous_id: `${payload} other-${i}` }));
    });
    await writer.write(records);

    const context = await browser.newContext({ httpCredentials: { username: 'xss-site', password: 'xss-secret' } });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${activity.url}/activity`);
    // Every identified event (merged and own) and every merge activity of every payload.
    await page.waitForFunction((n) => (globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }).document.querySelectorAll('#rows tr[data-event]').length >= n, PAYLOADS.length * 2, { timeout: 30000 });
    await page.locator('#rows tr[data-kind="ANONYMOUS_DATA_MERGED"]').nth(PAYLOADS.length - 1).waitFor({ timeout: 30000 });
    // Focus and hover every cell, as a person using the page would, to give handlers their chance.
    for (const cell of await page.locator('#rows td').all()) await cell.hover();
    await page.keyboard.press('Tab');
    const identified = await page.locator('#rows').innerText();
    const eventIds = await page.locator('#rows tr[data-event]').evaluateAll((rows) => rows.map((row) => (row as unknown as { dataset: Record<string, string> }).dataset.event));
    await page.click('#tab-anonymous');
    await page.locator('#rows tr[data-event]').nth(PAYLOADS.length * 2 - 1).waitFor({ timeout: 30000 });
    for (const cell of await page.locator('#rows td').all()) await cell.hover();
    const anonymous = await page.locator('#rows').innerText();
    await page.screenshot({ path: resultsPath('activity-xss.png'), fullPage: true });

    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.locator('#rows img, #rows script, #rows svg').count()).toBe(0);
    for (const [i, payload] of PAYLOADS.entries()) {
      // Shown exactly as sent: names, identifiers, the merged mark, the activity's anonymous id.
      expect(identified).toContain(`${payload} person-${i}`);
      expect(identified).toContain(`${payload} name`);
      expect(identified).toContain(`was anonymous: ${payload} anon-${i}`);
      expect(identified).toContain(`(from ${payload} anon-${i})`);
      expect(anonymous).toContain(`${payload} other-${i}`);
      expect(eventIds).toContain(`${payload} id-${i}`);
    }
  });
});
