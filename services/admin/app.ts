/**
 * The admin API of workspaces (docs/design-workspaces.md, "The admin API"; described in
 * openapi.json, served at /openapi.json). Operators authenticate with their own bearer tokens
 * (operators.ts); every change goes through the one writer (workspacesWriter.ts) and records who
 * made it. Limits come before work: failed authentications are braked per address before a token
 * is looked at, bodies are capped at 16 KiB before they are parsed, and what a request asks is
 * checked whole, every problem named in a 4xx JSON body. Answers never hold a key's digest or the
 * identity secret; a created key's secret is in its creation's answer only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { baseFastifyOptions } from '../shared/http/fastifyOptions';
import { FailedAuthThrottle, type FailedAuthLimit } from '../shared/http/failedAuthThrottle';
import { securityHeaders, API_POLICY } from '../shared/http/securityHeaders';
import { clientErrorHandler, timeoutOptions, type HttpTimeouts } from '../shared/http/timeouts';
import type { WorkspaceChange } from '../shared/generated/workspaceTypes';
import type { Logger } from '../shared/logger';
import { projectRoot } from '../shared/projectRoot';
import { operatorOf, type Operator } from './operators';
import type { WorkspaceRequest } from './workspaceRequests';
import { WriterFencedError, type WorkspacesWriter, type WriteOutcome } from './workspacesWriter';

export const ADMIN_BODY_LIMIT = 16 * 1024;
export const OPENAPI_PATH = path.join(projectRoot(), 'services/admin/openapi.json');

export interface AdminAppDependencies {
  readonly logger: Logger;
  readonly writer: Pick<WorkspacesWriter, 'write' | 'latest' | 'all' | 'history'>;
  readonly operators: readonly Operator[];
  readonly timeouts: HttpTimeouts;
  readonly authFailures: FailedAuthLimit;
  readonly ready: () => boolean;
  readonly now?: () => number;
  /** Proxies whose X-Forwarded-For names the client (the activity page's settings panel); none by default. */
  readonly trustedProxies?: readonly string[];
}

const errors = (...messages: string[]) => ({ errors: messages });

/** A workspace as operators see it: no digest, no secret; settings in the file's units. */
export function workspaceView(change: WorkspaceChange) {
  const { definition: d } = change;
  return {
    id: change.workspace_id,
    version: change.version,
    effective_at: change.effective_at,
    name: d.name,
    site_id: d.site_id,
    disabled: d.disabled,
    settings: { merge_enabled: d.settings.merge_enabled, retention_days: d.settings.retention_seconds / 86400, grace_seconds: d.settings.grace_seconds, trigger_window_hours: d.settings.trigger_window_seconds / 3600 },
    rate_limit: d.rate_limit,
    allowed_origins: d.allowed_origins,
    browser_attributes: d.browser_attributes,
    identity_secret_set: d.identity_secret !== null,
    keys: d.keys.map((k) => ({ key_id: k.key_id, kind: k.kind, created_at: k.created_at, created_by: k.created_by, revoked_at: k.revoked_at })),
  };
}

/** The version an If-Match names (`"3"`, `3`, `W/"3"`); undefined when absent, null when malformed. */
function ifMatchOf(request: FastifyRequest): number | null | undefined {
  const raw = request.headers['if-match'];
  if (raw === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?([0-9]{1,12})"?\s*$/.exec(String(raw));
  return match ? Number(match[1]) : null;
}

export function buildAdminApp(deps: AdminAppDependencies): FastifyInstance {
  const now = deps.now ?? Date.now;
  const app = Fastify({
    ...baseFastifyOptions(deps.logger),
    ...timeoutOptions(deps.timeouts),
    clientErrorHandler: clientErrorHandler(deps.timeouts, (message) => errors(message)),
    bodyLimit: ADMIN_BODY_LIMIT,
    trustProxy: deps.trustedProxies && deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false,
  });
  // Every route, for the test that keeps openapi.json in step with them.
  const routeList: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeList.push(`${method} ${route.url}`);
  });
  app.decorate('routeList', routeList);
  const openapi = readFileSync(OPENAPI_PATH, 'utf8');
  const headers = { ...securityHeaders(API_POLICY), 'cache-control': 'no-store' };
  app.addHook('onRequest', async (_request, reply) => {
    void reply.headers(headers);
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) deps.logger.error({ err: error, method: request.method, url: request.url }, 'admin request failed');
    // Fastify's own 4xx (a body over the limit, bad JSON, a wrong content type) say what was wrong.
    return reply.status(status).send(errors(status >= 500 ? 'the admin API could not complete this request; nothing was changed unless a later read shows it' : error.message));
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(errors(`no route ${request.method} ${request.url.split('?')[0]}`)));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => (deps.ready() ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' })));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(openapi));

  const throttle = new FailedAuthThrottle(deps.authFailures);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return undefined;
    const wait = throttle.retryAfterSeconds(request.ip);
    if (wait > 0) return reply.status(429).header('retry-after', wait).header('connection', 'close').send(errors(`too many failed authentications from this address; retry after ${wait} s`));
    const operator = operatorOf(request.headers.authorization, deps.operators);
    if (operator) {
      (request as FastifyRequest & { operator?: Operator }).operator = operator;
      return undefined;
    }
    if (request.headers.authorization !== undefined) throttle.fail(request.ip);
    return reply.status(401).header('www-authenticate', 'Bearer realm="anonmerge admin"').header('connection', 'close').send(errors('unauthorized: an operator\'s bearer token is needed'));
  });
  const operatorName = (request: FastifyRequest) => (request as FastifyRequest & { operator?: Operator }).operator?.name ?? 'unknown';

  const answer = (reply: FastifyReply, outcome: WriteOutcome, created = false) => {
    if (!outcome.ok) {
      if ('currentVersion' in outcome) void reply.header('etag', `"${outcome.currentVersion}"`);
      return reply.status(outcome.status).send(errors(...outcome.problems));
    }
    void reply.header('etag', `"${outcome.change.version}"`);
    const body = { workspace: workspaceView(outcome.change), ...(outcome.secret ? { key: { key_id: outcome.secret.keyId, kind: outcome.secret.kind, secret: outcome.secret.value, shown_once: true } } : {}) };
    return reply.status(created ? 201 : 200).send(body);
  };
  const write = async (request: FastifyRequest, reply: FastifyReply, workspaceId: string, ask: WorkspaceRequest, options: { ifMatchRequired?: boolean; created?: boolean } = {}) => {
    const ifMatch = ifMatchOf(request);
    if (ifMatch === null) return reply.status(400).send(errors('If-Match must be a version, such as "3" (the ETag of the workspace read)'));
    if (ifMatch === undefined && options.ifMatchRequired) return reply.status(428).send(errors('If-Match is required: send the version you read (its ETag), so that a change made meanwhile is not overwritten'));
    try {
      return answer(reply, await deps.writer.write(workspaceId, ifMatch ?? null, ask, { operator: operatorName(request), now: now() }), options.created);
    } catch (error) {
      if (error instanceof WriterFencedError) return reply.status(503).header('retry-after', 5).send(errors('another admin API instance took over writing; retry, it will answer'));
      throw error;
    }
  };

  type Params = { id: string; keyId: string };
  app.get('/v1/workspaces', async () => ({ workspaces: deps.writer.all().map(workspaceView) }));
  app.get('/v1/workspaces/:id', async (request, reply) => {
    const change = deps.writer.latest((request.params as Params).id);
    if (!change) return reply.status(404).send(errors('no such workspace'));
    return reply.header('etag', `"${change.version}"`).send({ workspace: workspaceView(change) });
  });
  app.get('/v1/workspaces/:id/changes', async (request, reply) => {
    const history = deps.writer.history((request.params as Params).id);
    if (history.length === 0) return reply.status(404).send(errors('no such workspace'));
    return { changes: history.map((c) => ({ version: c.version, changed_at: c.changed_at, changed_by: c.changed_by, effective_at: c.effective_at, change: JSON.parse(c.change) as unknown })) };
  });
  app.post('/v1/workspaces', async (request, reply) => {
    const body = request.body as { id?: unknown } | null;
    if (typeof body?.id !== 'string') return reply.status(400).send(errors('id: the new workspace\'s id is required'));
    const { id, ...rest } = body as { id: string };
    return write(request, reply, id, { kind: 'create', workspaceId: id, body: rest }, { created: true });
  });
  app.patch('/v1/workspaces/:id', async (request, reply) => write(request, reply, (request.params as Params).id, { kind: 'update', body: request.body }, { ifMatchRequired: true }));
  app.post('/v1/workspaces/:id/disable', async (request, reply) => write(request, reply, (request.params as Params).id, { kind: 'disable' }));
  app.post('/v1/workspaces/:id/enable', async (request, reply) => write(request, reply, (request.params as Params).id, { kind: 'enable' }));
  app.post('/v1/workspaces/:id/keys', async (request, reply) =>
    write(request, reply, (request.params as Params).id, { kind: 'createKey', keyKind: (request.body as { kind?: unknown } | null)?.kind }, { created: true }),
  );
  app.delete('/v1/workspaces/:id/keys/:keyId', async (request, reply) =>
    write(request, reply, (request.params as Params).id, { kind: 'revokeKey', keyId: (request.params as Params).keyId, at: (request.query as { at?: string }).at === undefined ? undefined : Number((request.query as { at?: string }).at) }),
  );
  return app;
}
