/**
 * The demo shop page (/demo): the browser snippet as a site would embed it, for `make run`, and
 * its shop's server (/demo/user-hash, demoUserHash.ts, which signs any identifier). The page shows
 * the demo workspace's keys, so both exist only in a demo (ANONMERGE_DEMO=1); a deployment answers
 * 404. The page is served with the headers of a page: it runs its own inline script (by hash) and
 * the snippet from this origin, nothing else, and is never framed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pagePolicy, securityHeaders } from '../shared/http/securityHeaders';
import { projectRoot } from '../shared/projectRoot';
import { registerDemoUserHash } from './demoUserHash';
import type { WorkspaceRegistry } from './workspaces';

export const DEMO_PAGE_PATH = path.join(projectRoot(), 'services/ingest/public/demo.html');

export function registerDemoPage(app: FastifyInstance, workspaces: WorkspaceRegistry): void {
  const page = readFileSync(DEMO_PAGE_PATH, 'utf8');
  const headers = securityHeaders(pagePolicy(page, { scriptSrc: ["'self'"] }));
  app.get('/demo', async (_request, reply) => reply.headers(headers).type('text/html; charset=utf-8').send(page));
  registerDemoUserHash(app, workspaces);
}
