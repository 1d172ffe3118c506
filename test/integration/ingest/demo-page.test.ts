/**
 * Issue 14, item 7: the demo shop page (/demo, the demo workspace's publishable key and API key
 * printed on it) was served by every ingest, in production too. It is served only when
 * ANONMERGE_DEMO=1 (make run sets it), with the security headers of a page; otherwise 404, and
 * so is its shop's server (/demo/user-hash).
 */
import { createHash } from 'node:crypto';
import type { RunningIngest } from '../../../services/ingest/service';
import { startTestIngest } from '../../support/ingest';
import { deleteTopics, isolatedTopics, testKafka } from '../../support/stack';

describe('the demo shop page', () => {
  const kafka = testKafka();
  const topics = isolatedTopics('demo-page', 1);
  let production: RunningIngest;
  let demo: RunningIngest;

  beforeAll(async () => {
    production = await startTestIngest(topics);
    demo = await startTestIngest(topics, { demo: true });
  });
  afterAll(async () => {
    await production?.close();
    await demo?.close();
    await deleteTopics(kafka, topics);
  });

  it('is not served without ANONMERGE_DEMO: 404 in the JSON error shape', async () => {
    const response = await fetch(`${production.url}/demo`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ meta: { errors: ['no route GET /demo'] }, errors: [{ field: '', message: 'no route GET /demo' }] });
    // Nor its shop's server, which signs any identifier.
    expect((await fetch(`${production.url}/demo/user-hash?identifier=a%40b.c`)).status).toBe(404);
    // The snippet itself is public: sites load it.
    expect((await fetch(`${production.url}/js/anonmerge.js`)).status).toBe(200);
  });

  it('with ANONMERGE_DEMO: served with a policy that runs only its own inline script and the snippet, never framed', async () => {
    const response = await fetch(`${demo.url}/demo`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('/js/anonmerge.js');
    const policy = response.headers.get('content-security-policy') ?? '';
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1] as string).digest('base64')}'`);
    expect(inline.length).toBeGreaterThan(0);
    expect(policy).toContain(`script-src 'self' ${inline.join(' ')};`);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-inline');
    // No inline event handlers: the policy would block them (they are wired in the inline script).
    expect(html).not.toMatch(/<[a-z][^>]*\son[a-z]+\s*=/i);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
