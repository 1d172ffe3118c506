/**
 * What the browser snippet talks to: the script itself (/js/anonmerge.js) and three write
 * routes with the Track API v1 bodies, authenticated by the publishable key (browserAuth.ts):
 *
 *   POST /js/v1/events?site_id=&key=                      an anonymous event (anonymous_id required)
 *   POST /js/v1/customers/{identifier}?site_id=&key=      identify (with the anonymous_id: a merge)
 *   POST /js/v1/customers/{identifier}/events?site_id=&key=   an event of the identified visitor
 *
 * The two person routes need the person's `user_hash` and the workspace's identity verification
 * secret (browserIdentity.ts): without them the key sends anonymous events only.
 *
 * POST everywhere (sendBeacon can only POST); bodies may be text/plain, which browsers send
 * without a CORS preflight. Answers carry CORS headers for an allowed origin.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { projectRoot } from '../shared/projectRoot';
import type { Authenticate, Handler, WriteRoute } from './app';
import { authenticatePublishable, corsHeaders } from './browserAuth';
import { checkBrowserPerson, type PersonRequest } from './browserIdentity';
import { Problems, singleError } from './problems';
import { translateAnonymousEvent, translateIdentify, translatePersonEvent, type RequestContext, type Translation } from './trackV1';
import type { WorkspaceRegistry } from './workspaces';

export const SNIPPET_PATH = path.join(projectRoot(), 'services/ingest/public/anonmerge.js');

type Query = { site_id?: string; key?: string };
type WithIdentifier = FastifyRequest<{ Params: { identifier: string }; Querystring: Query }>;

export function registerBrowserRoutes(app: FastifyInstance, workspaces: WorkspaceRegistry, handle: Handler, success: () => unknown): void {
  const snippet = readFileSync(SNIPPET_PATH, 'utf8');
  app.get('/js/anonmerge.js', async (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').header('access-control-allow-origin', '*').send(snippet),
  );

  const publishable: Authenticate = (request) => {
    const query = request.query as Query;
    const result = authenticatePublishable(query.site_id, query.key, request.headers.origin, workspaces);
    return result.ok ? result : { ok: false, status: result.status, reason: result.reason };
  };

  /**
   * CORS headers when the origin is allowed for the site id asked for; nothing otherwise. Set
   * first, so that the refusals of the credential check carry them too (a page can read why).
   */
  const cors = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    const workspace = workspaces.bySiteId(String((request.query as Query).site_id ?? ''));
    if (origin && workspace?.allowedOrigins.includes(origin)) void reply.headers(corsHeaders(origin));
  };
  const withCors = (route: WriteRoute) => ({ onRequest: [cors, route.onRequest], handler: route.handler });

  app.options('/js/v1/*', { onRequest: cors }, async (request, reply) => {
    const origin = request.headers.origin;
    if (!reply.getHeader('access-control-allow-origin')) return reply.status(403).send(singleError(`forbidden: origin ${origin ?? '(none)'} is not allowed for this site_id`));
    return reply.status(204).send();
  });

  app.post('/js/v1/events', withCors(handle(publishable, (request, ctx) => {
    // The publishable key sends anonymous events only; invites (no anonymous_id) need the API key.
    const body = request.body as { anonymous_id?: unknown } | undefined;
    if (body && typeof body === 'object' && !Array.isArray(body) && (body.anonymous_id === undefined || body.anonymous_id === null || body.anonymous_id === '')) {
      const problems = new Problems();
      problems.add('anonymous_id', 'is required with the publishable key (invite events need the API key)');
      return { ok: false, problems };
    }
    return translateAnonymousEvent(request.body, ctx);
  }, success)));
  /**
   * A person's routes: only with that person's user_hash, and only the allowed attributes
   * (browserIdentity.ts); then the Track API's translation, as for the API key.
   */
  const asVerifiedPerson = (kind: PersonRequest, translate: (identifier: string, body: unknown, ctx: RequestContext) => Translation) => (request: FastifyRequest, ctx: RequestContext): Translation => {
    const { params, query } = request as WithIdentifier;
    // The workspace the credential check found (onRequest): the site id is authenticated.
    const workspace = workspaces.bySiteId(String(query.site_id));
    if (!workspace) throw new Error('a snippet request got past its credential check without a workspace');
    const check = checkBrowserPerson(workspace, params.identifier, request.body, kind);
    return check.ok ? translate(params.identifier, check.body, ctx) : check;
  };
  app.post('/js/v1/customers/:identifier', withCors(handle(publishable, asVerifiedPerson('identify', translateIdentify), success)));
  app.post('/js/v1/customers/:identifier/events', withCors(handle(publishable, asVerifiedPerson('event', translatePersonEvent), success)));
}
