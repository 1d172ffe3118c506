/**
 * An activity page server for tests of its HTTP surface (timeouts, login brake): empty view, the
 * test workspaces, no admin token, listening on a port the system picks.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { buildActivityApp, type ActivityAppDependencies } from '../../services/activity/app';
import { RecentView } from '../../services/activity/view';
import { testWorkspaces } from './ingest';
import { testLogger } from './stack';

export async function startTestActivity(overrides: Partial<ActivityAppDependencies> & Pick<ActivityAppDependencies, 'timeouts' | 'loginFailures'>): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildActivityApp({
    logger: testLogger,
    view: new RecentView(10),
    rows: new EventEmitter(),
    workspaces: testWorkspaces(),
    adminToken: '',
    explain: async () => [],
    ready: () => true,
    ...overrides,
  });
  const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', '127.0.0.1');
  return { app, url };
}
