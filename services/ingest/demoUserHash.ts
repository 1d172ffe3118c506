/**
 * The demo shop's server, for the /demo page: what a site's backend does for the visitor it has
 * just logged in — the user hash of their identifier, made with the workspace's identity
 * verification secret, for the page to pass to `anonmerge.identify`.
 *
 * A real site computes it for its logged-in user only, never for whatever identifier a page asks
 * for: this route signs anything, which is why it signs only with the demo's published secret
 * (config/workspaces.json) — never a secret that protects anything — and is served with /demo.
 */
import type { FastifyInstance } from 'fastify';
import { LIMITS, byteLength } from './limits';
import { singleError } from './problems';
import { userHashOf } from './userHash';
import type { WorkspaceRegistry } from './workspaces';

export const DEMO_SITE_ID = 'demo-site';
/** Published in config/workspaces.json and the README: nothing it signs is worth protecting. */
export const DEMO_IDENTITY_SECRET = 'demo-identity-secret-not-secret';

export function registerDemoUserHash(app: FastifyInstance, workspaces: WorkspaceRegistry): void {
  app.get('/demo/user-hash', async (request, reply) => {
    const identifier = (request.query as { identifier?: unknown }).identifier;
    if (workspaces.bySiteId(DEMO_SITE_ID)?.identityVerificationSecret !== DEMO_IDENTITY_SECRET) {
      return reply.status(404).send(singleError(`the demo shop signs only for the demo workspace (${DEMO_SITE_ID}) with its published identity verification secret`));
    }
    if (typeof identifier !== 'string' || identifier === '' || byteLength(identifier) > LIMITS.identifierBytes) {
      return reply.status(400).send(singleError(`must be an identifier of 1 to ${LIMITS.identifierBytes} bytes`, 'identifier'));
    }
    return { identifier, user_hash: userHashOf(DEMO_IDENTITY_SECRET, identifier) };
  });
}
