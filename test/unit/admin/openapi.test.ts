/**
 * The admin API's OpenAPI document names every /v1 route the app has, and no other.
 */
import { readFileSync } from 'node:fs';
import { buildAdminApp, OPENAPI_PATH } from '../../../services/admin/app';
import { createLogger } from '../../../services/shared/logger';

describe('admin API OpenAPI document', () => {
  it('matches the routes', async () => {
    const writer = { write: async () => ({ ok: false as const, status: 404 as const, problems: [] }), latest: () => null, all: () => [], history: () => [] };
    const app = buildAdminApp({ logger: createLogger('test', 'silent'), writer, operators: [], timeouts: { idleTimeoutMs: 30000, requestTimeoutMs: 30000 }, authFailures: { maxFailures: 10, windowMs: 60000 }, ready: () => true });
    await app.ready();
    const served = (app as unknown as { routeList: string[] }).routeList.filter((route) => route.includes(' /v1/')).map((route) => route.replace(/:([A-Za-z]+)/g, '{$1}'));
    const document = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const methods = ['get', 'post', 'put', 'patch', 'delete'];
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).filter((key) => methods.includes(key)).map((method) => `${method.toUpperCase()} ${path}`));
    expect(served.sort()).toEqual(documented.sort());
    expect(served).toHaveLength(9);
    await app.close();
  });
});
