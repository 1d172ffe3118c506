/**
 * An activity page server for tests of its HTTP surface (timeouts, login brake): empty view, the
 * test workspaces, no admin token, listening on a port the system picks.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { buildActivityApp, type ActivityAppDependencies } from '../../services/activity/app';
import { RecentView, type ViewRow } from '../../services/activity/view';
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

/** A row of the Anonymous tab for event `id` (a page view of `anon-<id>`), with what a test sets. */
export function anonymousRow(id: string, fields: Partial<ViewRow> = {}): ViewRow {
  return {
    tab: 'anonymous',
    at: Date.now(),
    id,
    person: null,
    anonymousId: `anon-${id}`,
    name: `/${id}`,
    type: 'page',
    timestamp: Math.floor(Date.now() / 1000),
    previouslyAnonymous: false,
    kind: null,
    mergedCount: null,
    oldestEventTimestamp: null,
    ...fields,
  };
}
