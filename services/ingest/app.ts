/**
 * The ingest HTTP application: routes, auth, error shapes. Built without listening, so tests can
 * inject requests and service.ts can listen.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { baseFastifyOptions } from '../shared/http/fastifyOptions';
import { FailedAuthThrottle, type FailedAuthLimit } from '../shared/http/failedAuthThrottle';
import { clientErrorHandler, timeoutOptions, type HttpTimeouts } from '../shared/http/timeouts';
import { ulid } from 'ulid';
import type { Logger } from '../shared/logger';
import type { InboundRecord } from '../shared/model/inbound';
import { printable } from '../shared/printable';
import { projectRoot } from '../shared/projectRoot';
import { authenticateTrack, authenticateWriteKey, type AuthResult } from './auth';
import { registerBrowserRoutes } from './browserRoutes';
import { registerDemoPage } from './demoPage';
import { bodyBytesOf, registerBodyParsing } from './body';
import { KafkaUnavailableError } from './inboundProducer';
import { LIMITS } from './limits';
import { RateLimiter } from './rateLimit';
import type { Registry } from 'prom-client';
import { ingestMetrics } from './metrics';
import { errorBody, singleError } from './problems';
import { batchItemCount, translateSegmentBatch, translateSegmentMessage } from './segment';
import { translateAnonymousEvent, translateDelete, translateIdentify, translateMergeCustomers, translatePersonEvent, type RequestContext, type Translation } from './trackV1';
import type { Workspace, WorkspaceRegistry } from './workspaces';

export interface IngestDependencies {
  readonly logger: Logger;
  readonly workspaces: WorkspaceRegistry;
  /** Resolves once the records are durably in Kafka; rejects with KafkaUnavailableError. */
  readonly publish: (records: readonly InboundRecord[]) => Promise<void>;
  /** Readiness: the producer is connected and the schemas are resolved. */
  readonly ready: () => boolean;
  readonly clock?: () => number;
  readonly newId?: () => string;
  readonly rateLimiter?: RateLimiter;
  /** Prometheus registry the app counts into; served on a port of its own (service.ts), never here. */
  readonly metrics?: Registry;
  /** Idle timeout and whole-request deadline (ANONMERGE_INGEST_IDLE_TIMEOUT_MS, _REQUEST_TIMEOUT_MS). */
  readonly timeouts: HttpTimeouts;
  /** Failed authentications per client address (ANONMERGE_INGEST_AUTH_FAILURE_LIMIT, _WINDOW_MS). */
  readonly authFailures: FailedAuthLimit;
  /** Proxies whose X-Forwarded-For names the client (addresses or CIDR ranges); none by default. */
  readonly trustedProxies?: readonly string[];
  /** ANONMERGE_DEMO: serve the demo shop page at /demo and its /demo/user-hash (else 404). */
  readonly demo?: boolean;
}

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

export const OPENAPI_PATH = path.join(projectRoot(), 'services/ingest/openapi.json');

/** A Segment write key that may be in the body: asked again once the body is parsed. */
export const IN_BODY = Symbol('credentials in the body');
export type Authenticate = (request: FastifyRequest) => AuthResult | typeof IN_BODY;
export type Translate = (request: FastifyRequest, ctx: RequestContext) => Translation;
type RouteStep = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
/** A write route's hooks: credentials checked on request (before the body), the work in the handler. */
export interface WriteRoute {
  readonly onRequest: RouteStep;
  readonly handler: RouteStep;
}
/** `records`: how many records the request asks for, read before its content is checked (default 1). */
export type Handler = (authenticate: Authenticate, translate: Translate, success: () => unknown, records?: (request: FastifyRequest) => number) => WriteRoute;

export function buildIngestApp(deps: IngestDependencies): FastifyInstance {
  const clock = deps.clock ?? Date.now;
  const newId = deps.newId ?? ulid;
  const limiter = deps.rateLimiter ?? new RateLimiter(clock);
  const authThrottle = new FailedAuthThrottle(deps.authFailures, clock);
  const app = Fastify({
    ...baseFastifyOptions(deps.logger),
    bodyLimit: LIMITS.trackBodyBytes,
    // Refuse, rather than strip, bodies that try prototype pollution (body.ts parses with the same).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Slow or silent clients are cut off (timeouts.ts); 408 and 431 in our error shape.
    ...timeoutOptions(deps.timeouts),
    clientErrorHandler: clientErrorHandler(deps.timeouts, (message) => singleError(message)),
    // Identifiers are up to 150 bytes, which URL-encoded can take three times as many characters.
    routerOptions: { maxParamLength: 1024 },
    // Behind proxies we trust, X-Forwarded-For names the client (request.ip): per-address brakes
    // then apply to clients, not to the proxy that all of them share. Anyone else's header is ignored.
    trustProxy: deps.trustedProxies && deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false,
  });
  registerBodyParsing(app);
  // Every route, as "METHOD /path", for the OpenAPI check and metrics labels.
  const routeList: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeList.push(`${method} ${route.url}`);
  });
  app.decorate('routeList', routeList);
  const counters = deps.metrics ? ingestMetrics(deps.metrics) : null;
  if (deps.metrics) {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unknown';
      counters?.requests.inc({ route, status: String(reply.statusCode) });
      counters?.latency.observe({ route }, reply.elapsedTime / 1000);
    });
  }

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error, method: request.method, url: printable(request.url) }, 'request failed');
    // A refusal is the sender's mistake, not ours: no stack trace, and the message (which may quote
    // the body) made printable.
    else {
      request.log.debug({ status, code: error.code, reason: printable(error.message), url: printable(request.url) }, 'request refused');
      chargeRefusedBody(request);
    }
    void reply.status(status).send(singleError(status === 500 ? 'internal error' : bodyErrorMessage(error, request.routeOptions.bodyLimit)));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(singleError(`no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (deps.ready()) return { status: 'ready' };
    return reply.status(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'not ready' });
  });
  const openapi = readFileSync(OPENAPI_PATH, 'utf8');
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(openapi));

  /**
   * The credentials of a request are checked from its headers (and query string) before its body
   * is read: a wrong key costs us no reading and no inflating, and the connection is closed
   * rather than drained. Failures count against the client's address (failedAuthThrottle.ts).
   * Only a Segment request without an Authorization header, whose write key may be in the body
   * (browsers), is checked once the body is parsed.
   */
  const refuseAuth = (request: FastifyRequest, reply: FastifyReply, auth: { reason: string; status?: 401 | 403 }) => {
    void reply.header('connection', 'close');
    if (auth.status === 403) return reply.status(403).send(singleError(`forbidden: ${auth.reason}`));
    authThrottle.fail(request.ip);
    return reply.status(401).header('www-authenticate', 'Basic realm="anonmerge"').send(singleError(`unauthorized: ${auth.reason}`));
  };
  const tooManyFailures = (reply: FastifyReply, wait: number) =>
    reply
      .status(429)
      .header('retry-after', wait)
      .header('connection', 'close')
      .send(singleError(`too many failed authentications from this address; retry after ${wait} s`));
  const authenticated = new WeakMap<FastifyRequest, Workspace>();
  /** Requests of the write routes: their credentials were looked at before the body. */
  const guarded = new WeakSet<FastifyRequest>();
  /**
   * A write request whose body was refused before the handler ran (invalid JSON, too deep, too
   * large, wrong type) still costs its sender: charged to its workspace when the headers named
   * it, else — its key would have been in that body — counted as a failed authentication of
   * its address. Without this, broken bodies could be sent for free, as often as wanted.
   */
  const chargeRefusedBody = (request: FastifyRequest) => {
    if (!guarded.has(request)) return;
    const workspace = authenticated.get(request);
    if (!workspace) {
      authThrottle.fail(request.ip);
      return;
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    limiter.take(workspace.id, workspace.rateLimit, { records: 1, bytes: Number.isFinite(declared) && declared > 0 ? declared : 1 });
  };
  const checkCredentials = (authenticate: Authenticate) => async (request: FastifyRequest, reply: FastifyReply) => {
    guarded.add(request);
    const wait = authThrottle.retryAfterSeconds(request.ip);
    if (wait > 0) return tooManyFailures(reply, wait);
    const auth = authenticate(request);
    if (auth === IN_BODY) return undefined;
    if (!auth.ok) return refuseAuth(request, reply, auth);
    authenticated.set(request, auth.workspace);
    // Out of budget already: refused from the headers, its body never read (nor inflated), and
    // the connection closed rather than drained.
    const declared = Number(request.headers['content-length'] ?? 0);
    const room = limiter.peek(auth.workspace.id, auth.workspace.rateLimit, { records: 1, bytes: Number.isFinite(declared) && declared > 0 ? declared : 1 });
    if (!room.ok) {
      void reply.header('connection', 'close');
      return rateLimited(reply, auth.workspace, room);
    }
    return undefined;
  };
  const rateLimited = (reply: FastifyReply, workspace: Workspace, refused: { retryAfterSeconds: number; exceeded: 'records' | 'bytes' }) => {
    counters?.rateLimited.inc({ workspace: workspace.id });
    const budget = refused.exceeded === 'bytes' ? `${workspace.rateLimit.bytesPerSecond} bytes` : `${workspace.rateLimit.recordsPerSecond} records`;
    return reply
      .status(429)
      .header('retry-after', refused.retryAfterSeconds)
      .send(singleError(`rate limit: this workspace may send ${budget} per second; retry after ${refused.retryAfterSeconds} s`));
  };

  /** Auth → charge → translate → publish → answer, the same for every write route. */
  const handle: Handler = (authenticate, translate, success, records = () => 1) => ({
    onRequest: checkCredentials(authenticate),
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      let workspace = authenticated.get(request);
      if (!workspace) {
        // Checked again for a key read from the body: requests sent in parallel all passed the
        // onRequest check before any of them failed, and must not each get a guess.
        const wait = authThrottle.retryAfterSeconds(request.ip);
        if (wait > 0) return tooManyFailures(reply, wait);
        const auth = authenticate(request);
        if (auth === IN_BODY || !auth.ok) return refuseAuth(request, reply, auth === IN_BODY ? { reason: 'missing or malformed Basic auth (expected write_key as user)' } : auth);
        workspace = auth.workspace;
      }
      // Charged before the content is looked at, and whatever the outcome: a request of bad items
      // costs its sender as much as a good one, and the workspace's budget bounds our work.
      const cost = { records: Math.max(1, records(request)), bytes: bodyBytesOf(request) };
      const allowed = limiter.take(workspace.id, workspace.rateLimit, cost);
      if (!allowed.ok) return rateLimited(reply, workspace, allowed);
      const translation = translate(request, { workspaceId: workspace.id, settings: workspace.settings, receivedAt: clock(), newId });
      if (!translation.ok) return reply.status(translation.status ?? 400).send(errorBody(translation.problems.list, translation.problems.omitted));
      try {
        await deps.publish(translation.records);
      } catch (error) {
        if (error instanceof KafkaUnavailableError) {
          counters?.produceErrors.inc();
          // Our failure, not the sender's: its retry must not pay for this request twice.
          limiter.refund(workspace.id, workspace.rateLimit, cost);
          return reply.status(503).header('retry-after', RETRY_AFTER_SECONDS).send(singleError('temporarily unable to store the request; retry later'));
        }
        request.log.error({ err: error, workspace: workspace.id, url: request.url }, 'publishing failed');
        throw error;
      }
      counters?.records.inc({ workspace: workspace.id }, translation.records.length);
      return reply.status(200).send(success());
    },
  });

  // Track API v1 (Basic auth site_id:api_key). Customer.io answers these with an empty object.
  const track: Authenticate = (request) => authenticateTrack(request.headers.authorization, deps.workspaces);
  const empty = () => ({});
  type Identified = FastifyRequest<{ Params: { identifier: string } }>;
  app.put('/api/v1/customers/:identifier', handle(track, (r, ctx) => translateIdentify((r as Identified).params.identifier, r.body, ctx), empty));
  app.post('/api/v1/customers/:identifier/events', handle(track, (r, ctx) => translatePersonEvent((r as Identified).params.identifier, r.body, ctx), empty));
  app.delete('/api/v1/customers/:identifier', handle(track, (r, ctx) => translateDelete((r as Identified).params.identifier, ctx), empty));
  app.post('/api/v1/events', handle(track, (r, ctx) => translateAnonymousEvent(r.body, ctx), empty));
  app.post('/api/v1/merge_customers', handle(track, (r, ctx) => translateMergeCustomers(r.body, ctx), empty));

  // Segment spec (Basic auth write_key with an empty password; browsers may send it in the body).
  const writeKey: Authenticate = (request) => {
    const header = request.headers.authorization;
    if (header) return authenticateWriteKey(header, deps.workspaces);
    // Not read yet (onRequest): ask again once it is.
    if (request.body === undefined) return IN_BODY;
    const fromBody = (request.body as { writeKey?: unknown } | null)?.writeKey;
    return authenticateWriteKey(typeof fromBody === 'string' ? `Basic ${Buffer.from(`${fromBody}:`).toString('base64')}` : undefined, deps.workspaces);
  };
  const success = () => ({ success: true });
  for (const type of ['identify', 'track', 'page', 'screen', 'alias', 'group'] as const) {
    app.post(`/v1/${type}`, { bodyLimit: LIMITS.segmentMessageBytes, ...handle(writeKey, (r, ctx) => translateSegmentMessage(type, r.body, ctx), success) });
  }
  app.post('/v1/batch', { bodyLimit: LIMITS.segmentBatchBytes, ...handle(writeKey, (r, ctx) => translateSegmentBatch(r.body, ctx), success, (r) => batchItemCount(r.body)) });

  registerBrowserRoutes(app, deps.workspaces, handle, empty);
  if (deps.demo) registerDemoPage(app, deps.workspaces);

  return app;
}

function bodyErrorMessage(error: { code?: string; message: string }, bodyLimit: number | undefined): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return error.message.includes('decompressed') ? error.message : `the body is larger than ${bodyLimit ?? LIMITS.trackBodyBytes} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'the body must be JSON (Content-Type: application/json)';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'the body does not match its Content-Length';
    default:
      return error.message;
  }
}
