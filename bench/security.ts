/**
 * make security: the attack corpus of issue 14 (bench/securityCorpus.ts) against the running
 * stack (`make up`), as a table — attack, expected, got — with ingest's resident memory before
 * and after, and the stored-XSS payload opened in the activity page in Chromium. Exits 1 when an
 * attack got through.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../services/shared/config';
import { projectRoot } from '../services/shared/projectRoot';
import { runCorpus, type AttackResult, type Target } from './securityCorpus';

const config = loadConfig(['ingest', 'activity']);
const home = process.env.ANONMERGE_HOME ?? path.join(projectRoot(), '.local');
const local = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

interface WorkspaceEntry {
  readonly site_id: string;
  readonly api_key: string;
  readonly write_key: string;
  readonly publishable_key?: string;
  readonly allowed_origins?: string[];
}

function target(): Target {
  const file = path.resolve(projectRoot(), config.ingest.workspacesFile);
  const { workspaces } = JSON.parse(readFileSync(file, 'utf8')) as { workspaces: WorkspaceEntry[] };
  const workspace = workspaces.find((w) => w.publishable_key && (w.allowed_origins ?? []).length > 0);
  if (!workspace) throw new Error(`${file} has no workspace with a publishable key and an allowed origin to attack`);
  return {
    ingestUrl: `http://${local(config.ingest.host)}:${config.ingest.port}`,
    activityUrl: `http://${local(config.activity.host)}:${config.activity.port}`,
    siteId: workspace.site_id,
    apiKey: workspace.api_key,
    writeKey: workspace.write_key,
    publishableKey: workspace.publishable_key as string,
    allowedOrigin: (workspace.allowed_origins as string[])[0] as string,
    requestTimeoutMs: config.ingest.requestTimeoutMs,
    authFailureLimit: config.ingest.authFailureLimit,
  };
}

/** Ingest's resident memory in MB, from its pid file (make up's), or null. */
function ingestRssMb(): number | null {
  try {
    const pid = readFileSync(path.join(home, 'run', 'ingest.pid'), 'utf8').trim();
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * The stored payload, opened as a workspace's staff would open it: the activity page in Chromium,
 * logged in; a script that ran would have set the global.
 */
async function xssInChromium(t: Target): Promise<AttackResult> {
  const attack = 'stored XSS opened in the activity page (Chromium)';
  const expected = 'rows shown, no script run';
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { attack, expected, got: 'playwright-core is not installed', held: false };
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ httpCredentials: { username: t.siteId, password: t.apiKey } });
    const page = await context.newPage();
    await page.goto(`${t.activityUrl}/activity`);
    await page.click('text=anonymous').catch(() => undefined);
    const shown = await page
      .waitForFunction(() => (globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes('onerror=globalThis'), undefined, { timeout: 20_000 })
      .then(() => true)
      .catch(() => false);
    await page.waitForTimeout(500);
    const ran = await page.evaluate(() => (globalThis as unknown as { __anonmergeXss?: number }).__anonmergeXss === 1);
    return { attack, expected, got: `${shown ? 'payload shown as text' : 'payload row not seen within 20 s'}, ${ran ? 'SCRIPT RAN' : 'no script ran'}`, held: shown && !ran };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<number> {
  const t = target();
  const before = ingestRssMb();
  const results = await runCorpus(t, { slow: true, progress: (line) => process.stderr.write(`\r\u001b[2K${line}`) });
  process.stderr.write('\r\u001b[2K');
  const after = ingestRssMb();
  results.splice(1, 0, await xssInChromium(t));
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
  process.stdout.write('| attack | expected | got | held |\n| --- | --- | --- | --- |\n');
  for (const r of results) process.stdout.write(`| ${cell(r.attack)} | ${cell(r.expected)} | ${cell(r.got)} | ${r.held ? 'yes' : '**NO**'} |\n`);
  process.stdout.write(`\ningest RSS: ${before ?? '?'} MB before the corpus, ${after ?? '?'} MB after\n`);
  const failed = results.filter((r) => !r.held).length;
  process.stdout.write(failed === 0 ? `all ${results.length} attacks held\n` : `${failed} of ${results.length} attacks got through\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`make security failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
