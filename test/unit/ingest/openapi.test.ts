/**
 * The OpenAPI document served at /openapi.json names every route the app has, and no other:
 * the two cannot drift apart. Built with every optional route on (/demo: ANONMERGE_DEMO=1).
 */
import { readFileSync } from 'node:fs';
import { buildIngestApp, OPENAPI_PATH } from '../../../services/ingest/app';
import { WorkspaceRegistry } from '../../../services/ingest/workspaces';
import { createLogger } from '../../../services/shared/logger';
import { Registry } from 'prom-client';

describe('OpenAPI document', () => {
  it('matches the routes', async () => {
    const app = buildIngestApp({ logger: createLogger('test', 'silent'), workspaces: new WorkspaceRegistry([]), publish: async () => undefined, ready: () => true, metrics: new Registry(), timeouts: { idleTimeoutMs: 30000, requestTimeoutMs: 30000 }, authFailures: { maxFailures: 20, windowMs: 60000 }, demo: true });
    await app.ready();
    const served = ((app as unknown as { routeList: string[] }).routeList).map((route) => route.replace(/:([a-z]+)/g, '{$1}'));
    const document = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(served.sort()).toEqual(documented.sort());
    expect(served).toHaveLength(22);
    await app.close();
  });

  it('documents the answers every route can give before it runs: 408, 431, and 429 where credentials are checked', () => {
    const document = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const codes = Object.keys(operation.responses);
        const wanted = ['408', '431', ...(codes.includes('401') ? ['429'] : [])];
        for (const code of wanted) if (!codes.includes(code)) missing.push(`${method.toUpperCase()} ${path} ${code}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
