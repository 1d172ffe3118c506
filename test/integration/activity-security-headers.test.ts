/**
 * Issue 14, item 7: the activity service sent no security headers. Every answer — the page, its
 * API, the live stream, refusals — now tells the browser not to frame it, not to sniff it and not
 * to send a Referer; the API's answers are never cached; and the page's Content-Security-Policy
 * lets run only its own inline script, by hash, not any other inline code.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../services/shared/config';
import { basic } from '../support/ingest';
import { startTestActivity } from '../support/activity';

const defaults = loadConfig(['activity'], {});
/** The directives of a Content-Security-Policy header, by name. */
const directives = (policy: string | null) =>
  Object.fromEntries((policy ?? '').split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name as string, values]));

describe('activity security headers', () => {
  let activity: FastifyInstance;
  let url: string;
  const login = { authorization: basic('site-a', 'key-a') };

  beforeAll(async () => {
    ({ app: activity, url } = await startTestActivity({
      timeouts: defaults.activity,
      loginFailures: { maxFailures: 0, windowMs: defaults.activity.loginFailureWindowMs },
    }));
  });
  afterAll(async () => {
    await activity?.close();
  });

  const answers: Array<[string, string, Record<string, string>, number]> = [
    ['the page', '/activity', login, 200],
    ['the login prompt', '/activity', {}, 401],
    ['the workspaces', '/activity/api/workspaces', login, 200],
    ['the rows', '/activity/api/rows?workspace=ws-a', login, 200],
    ['a bad explain request', '/activity/api/explain?workspace=ws-a', login, 400],
    ['a refused workspace', '/activity/api/rows?workspace=ws-b', login, 403],
    ['an unknown route', '/nothing-here', {}, 404],
    ['the health check', '/healthz', {}, 200],
    ['the icon a browser asks for (none: no error in its console)', '/favicon.ico', {}, 204],
  ];

  it.each(answers)('%s: nosniff, no framing, no referrer, not cached', async (_what, path, headers, status) => {
    const response = await fetch(`${url}${path}`, { headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(directives(response.headers.get('content-security-policy'))['frame-ancestors']).toEqual(["'none'"]);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('the API answers: a policy that lets nothing run or load', async () => {
    const response = await fetch(`${url}/activity/api/rows?workspace=ws-a`, { headers: login });
    const policy = directives(response.headers.get('content-security-policy'));
    expect(policy['default-src']).toEqual(["'none'"]);
    expect(policy['script-src']).toBeUndefined();
  });

  it('the live stream carries the same headers', async () => {
    const abort = new AbortController();
    const response = await fetch(`${url}/activity/api/stream?workspace=ws-a`, { headers: login, signal: abort.signal });
    try {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(directives(response.headers.get('content-security-policy'))['frame-ancestors']).toEqual(["'none'"]);
    } finally {
      abort.abort();
    }
  });

  it("the page's policy allows exactly its own inline script and style, by hash, and fetches to its own origin", async () => {
    const response = await fetch(`${url}/activity`, { headers: login });
    const html = await response.text();
    const policy = directives(response.headers.get('content-security-policy'));
    const hashOf = (block: string) => `'sha256-${createHash('sha256').update(block).digest('base64')}'`;
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => hashOf(m[1] as string));
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => hashOf(m[1] as string));
    expect(scripts.length).toBeGreaterThan(0);
    expect(policy['default-src']).toEqual(["'none'"]);
    expect(policy['script-src']).toEqual(scripts);
    expect(policy['style-src']).toEqual(styles);
    expect(policy['connect-src']).toEqual(["'self'"]);
    expect(response.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(response.headers.get('content-security-policy')).not.toContain('unsafe-eval');
  });
});
