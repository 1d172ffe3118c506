/**
 * The demo shop's server (/demo/user-hash) signs any identifier, so it must never sign with a
 * secret that protects anything: only the demo workspace's published one.
 */
import { buildIngestApp } from '../../../services/ingest/app';
import { DEMO_IDENTITY_SECRET } from '../../../services/ingest/demoUserHash';
import { userHashOf } from '../../../services/ingest/userHash';
import { parseWorkspaces, WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { createLogger } from '../../../services/shared/logger';

/** The app on a free local port (Fastify's inject needs an ESM module jest cannot load here). */
async function appWith(identitySecret: string | undefined): Promise<{ get(path: string): Promise<Response>; close(): Promise<void> }> {
  const app = buildIngestApp({
    logger: createLogger('test', 'silent'),
    workspaces: new WorkspaceRegistry(parseWorkspaces({ workspaces: [{ id: 'demo', site_id: 'demo-site', api_key: 'demo-key-not-secret', ...(identitySecret ? { identity_verification_secret: identitySecret } : {}) }] }, 'test')),
    publish: async () => undefined,
    ready: () => true,
    timeouts: { idleTimeoutMs: 30000, requestTimeoutMs: 30000 },
    authFailures: { maxFailures: 20, windowMs: 60000 },
    // Served with /demo, in a demo only (ANONMERGE_DEMO=1; demo-page.test.ts checks the 404 without).
    demo: true,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { get: (path) => fetch(`${url}${path}`), close: () => app.close() };
}

describe('the demo shop server (/demo/user-hash)', () => {
  it("answers the user hash made with the demo's published secret", async () => {
    const app = await appWith(DEMO_IDENTITY_SECRET);
    const answer = await app.get('/demo/user-hash?identifier=ada%40example.com');
    expect([answer.status, await answer.json()]).toEqual([200, { identifier: 'ada@example.com', user_hash: userHashOf(DEMO_IDENTITY_SECRET, 'ada@example.com') }]);
    expect((await app.get('/demo/user-hash')).status).toBe(400);
    expect((await app.get(`/demo/user-hash?identifier=${'x'.repeat(151)}`)).status).toBe(400);
    await app.close();
  });

  it('signs nothing when the demo workspace has a secret of its own, or none (404)', async () => {
    for (const secret of ['a-real-secret-of-someone', undefined]) {
      const app = await appWith(secret);
      const answer = await app.get('/demo/user-hash?identifier=ada%40example.com');
      expect(answer.status).toBe(404);
      expect(await answer.text()).not.toMatch(/[0-9a-f]{64}/);
      await app.close();
    }
  });
});
