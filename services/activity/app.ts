/**
 * The activity log's HTTP side: the page (/activity), its JSON (/activity/api/...), a live
 * stream of new rows (Server-Sent Events) and the explain answer for a searched anonymous id or
 * person. Every API call names a workspace the caller's credentials open.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { baseFastifyOptions } from '../shared/http/fastifyOptions';
import { FailedAuthThrottle, type FailedAuthLimit } from '../shared/http/failedAuthThrottle';
import { securityHeaders, API_POLICY, pagePolicy } from '../shared/http/securityHeaders';
import { clientErrorHandler, timeoutOptions, type HttpTimeouts } from '../shared/http/timeouts';
import type { Logger } from '../shared/logger';
import { projectRoot } from '../shared/projectRoot';
import type { Explanation } from '../merger/explain';
import type { WorkspaceRegistry } from '../ingest/workspaces';
import { accessOf } from './access';
import { registerSettingsRoutes } from './settingsRoutes';
import type { RecentView, Tab, ViewRow } from './view';

/** Rows written to a live stream and not yet taken by its client, at most (then it is closed). */
export const MAX_UNREAD_STREAM_BYTES = 1024 * 1024;
/** How often an open live stream's credentials are checked again (see the stream route). */
const ACCESS_RECHECK_MS = 1000;

export const PAGE_PATH = path.join(projectRoot(), 'services/activity/public/activity.html');

export interface ActivityAppDependencies {
  readonly logger: Logger;
  readonly view: RecentView;
  /** Emits ('row', workspace, row) for each row added to the view. */
  readonly rows: EventEmitter;
  readonly workspaces: WorkspaceRegistry;
  readonly adminToken: string;
  readonly explain: (workspace: string, target: { anonymousId?: string; person?: string }) => Promise<Explanation[]>;
  readonly ready: () => boolean;
  /** Idle timeout and whole-request deadline (ANONMERGE_ACTIVITY_IDLE_TIMEOUT_MS, _REQUEST_TIMEOUT_MS). */
  readonly timeouts: HttpTimeouts;
  /** Failed logins per client address (ANONMERGE_ACTIVITY_LOGIN_FAILURE_LIMIT, _WINDOW_MS). */
  readonly loginFailures: FailedAuthLimit;
  /** Proxies whose X-Forwarded-For names the client (addresses or CIDR ranges); none by default. */
  readonly trustedProxies?: readonly string[];
  /** The admin API the settings panel passes an operator's calls to (settingsRoutes.ts); none: no panel. */
  readonly adminApiUrl?: string;
}

type Query = { workspace?: string; q?: string; anonymous_id?: string; person?: string };

export function buildActivityApp(deps: ActivityAppDependencies): FastifyInstance {
  const app = Fastify({
    ...baseFastifyOptions(deps.logger),
    // Slow or silent clients are cut off (timeouts.ts); 408 and 431 as JSON.
    ...timeoutOptions(deps.timeouts),
    clientErrorHandler: clientErrorHandler(deps.timeouts, (message) => ({ error: message })),
    // Behind proxies we trust, X-Forwarded-For names the client whose failed logins are counted.
    trustProxy: deps.trustedProxies && deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false,
  });
  const page = readFileSync(PAGE_PATH, 'utf8');
  // Set before anything can answer (the login brake below, refusals, 404s), so every answer has
  // them. The page gets a policy that runs only its own inline script; everything else (JSON,
  // the login prompt) a policy that runs nothing. Nothing here may be cached: it is behind a login.
  const pageHeaders = { ...securityHeaders(pagePolicy(page)), 'cache-control': 'no-store' };
  const otherHeaders = { ...securityHeaders(API_POLICY), 'cache-control': 'no-store' };
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(request.url.split('?')[0] === '/activity' ? pageHeaders : otherHeaders);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => (deps.ready() ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' })));
  app.get('/', async (_request, reply) => reply.redirect('/activity'));
  // Browsers ask for an icon with every page; the page has none, and a 404 shows as an error in
  // every viewer's console.
  app.get('/favicon.ico', async (_request, reply) => reply.status(204).send());

  // A brake on guessing logins (failedAuthThrottle.ts): an address past its failures is refused
  // before its credentials are looked at. A request without credentials (the page's first, which
  // gets the login prompt) is no guess and is not counted.
  const loginThrottle = new FailedAuthThrottle(deps.loginFailures);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/activity')) return undefined;
    const wait = loginThrottle.retryAfterSeconds(request.ip);
    if (wait === 0) return undefined;
    return reply.status(429).header('retry-after', wait).header('connection', 'close').send({ error: `too many failed logins from this address; retry after ${wait} s` });
  });
  const accessFor = (request: FastifyRequest) => {
    const access = accessOf(request.headers.authorization, deps.workspaces, deps.adminToken);
    // A right key of a disabled workspace (403) is no guess.
    if (!access.ok && access.status === 401 && request.headers.authorization !== undefined) loginThrottle.fail(request.ip);
    return access;
  };
  /** A refusal: 401 asks the browser to log in again; 403 (a disabled workspace) says why instead. */
  const refuse = (reply: FastifyReply, access: { reason: string; status: 401 | 403 }) =>
    access.status === 403
      ? reply.status(403).send({ error: `forbidden: ${access.reason}` })
      : reply.status(401).header('www-authenticate', 'Basic realm="anonmerge activity"').send({ error: `unauthorized: ${access.reason}` });
  // The page asks for credentials (the browser's login prompt), which the browser then sends with
  // every call of the page, the live stream (EventSource) included.
  app.get('/activity', async (request, reply) => {
    const access = accessFor(request);
    if (!access.ok && access.status === 403) return reply.status(403).type('text/plain').send(`Forbidden: ${access.reason}.`);
    if (!access.ok) return reply.status(401).header('www-authenticate', 'Basic realm="anonmerge activity"').type('text/plain').send('Log in with a workspace\'s site id and API key (or admin and the admin token).');
    return reply.type('text/html; charset=utf-8').send(page);
  });

  /** The workspace asked for, if the credentials open it; otherwise the reply is sent. */
  const workspaceOf = (request: FastifyRequest, reply: FastifyReply): string | null => {
    const access = accessFor(request);
    if (!access.ok) {
      void refuse(reply, access);
      return null;
    }
    const asked = (request.query as Query).workspace ?? (access.workspaces.length === 1 ? access.workspaces[0] : undefined);
    if (!asked) {
      void reply.status(400).send({ error: 'workspace: name one (?workspace=...)' });
      return null;
    }
    if (!access.workspaces.includes(asked)) {
      void reply.status(403).send({ error: `forbidden: these credentials do not open workspace ${asked}` });
      return null;
    }
    return asked;
  };

  app.get('/activity/api/workspaces', async (request, reply) => {
    const access = accessFor(request);
    if (!access.ok) return refuse(reply, access);
    return { workspaces: access.workspaces, settings_panel: Boolean(deps.adminApiUrl) };
  });

  if (deps.adminApiUrl) {
    registerSettingsRoutes(app, { adminApiUrl: deps.adminApiUrl, logger: deps.logger, workspaceOf, tokenRefused: (request) => loginThrottle.fail(request.ip) });
  }

  app.get('/activity/api/rows', async (request, reply) => {
    const workspace = workspaceOf(request, reply);
    if (workspace === null) return reply;
    const q = (request.query as Query).q ?? '';
    const tabs: Tab[] = ['identified', 'anonymous', 'activity'];
    return { workspace, ...Object.fromEntries(tabs.map((tab) => [tab, deps.view.list(workspace, tab, q)])) };
  });

  app.get('/activity/api/explain', async (request, reply) => {
    const workspace = workspaceOf(request, reply);
    if (workspace === null) return reply;
    const { anonymous_id: anonymousId, person } = request.query as Query;
    if (!anonymousId && !person) return reply.status(400).send({ error: 'anonymous_id or person: name one' });
    // Explaining reads a partition of the inbound log and sends nothing until it is done, which
    // can take longer than the idle timeout: the connection waits for it, then gets its timeout back.
    const socket = request.raw.socket;
    socket.setTimeout(0);
    try {
      return { workspace, explanations: await deps.explain(workspace, anonymousId ? { anonymousId } : { person }) };
    } catch (error) {
      // Kafka or Redis did not answer in time (explain bounds its reads): said plainly, logged with what was asked.
      deps.logger.warn({ err: error, workspace }, 'explain failed');
      return reply.status(503).send({ error: 'explain could not read the logs just now; try again' });
    } finally {
      socket.setTimeout(deps.timeouts.idleTimeoutMs);
    }
  });

  // New rows as they arrive: Server-Sent Events, one "row" event each.
  app.get('/activity/api/stream', async (request, reply) => {
    const workspace = workspaceOf(request, reply);
    if (workspace === null) return reply;
    reply.hijack();
    const out = reply.raw;
    // Hijacked: the headers set on the reply so far (the security headers) are written by hand.
    out.writeHead(200, { ...otherHeaders, 'content-type': 'text/event-stream', connection: 'keep-alive' });
    out.write(': connected\n\n');
    // Credentials are checked again while the stream is open, at most once a second: a key
    // revoked, or a workspace disabled, on the workspaces log closes the streams it opened.
    let checkedAt = Date.now();
    const stillAllowed = () => {
      if (Date.now() - checkedAt < ACCESS_RECHECK_MS) return true;
      checkedAt = Date.now();
      const access = accessOf(request.headers.authorization, deps.workspaces, deps.adminToken);
      if (access.ok && access.workspaces.includes(workspace)) return true;
      out.destroy();
      return false;
    };
    const onRow = (rowWorkspace: string, row: ViewRow) => {
      if (rowWorkspace !== workspace || !stillAllowed()) return;
      // A viewer that does not read its stream would have us buffer rows without end: past a
      // bound the stream is closed instead; the page reconnects and reads the recent rows again.
      if (out.writableLength > MAX_UNREAD_STREAM_BYTES) {
        out.destroy();
        return;
      }
      out.write(`event: row\ndata: ${JSON.stringify(row)}\n\n`);
    };
    deps.rows.on('row', onRow);
    // Often enough that the idle timeout never closes an open page's stream.
    const keepAlive = setInterval(() => {
      if (stillAllowed()) out.write(': keep-alive\n\n');
    }, Math.min(15000, deps.timeouts.idleTimeoutMs / 2));
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      deps.rows.off('row', onRow);
    });
  });

  return app;
}
