/**
 * Who may read which workspace on the activity page: a workspace's own Track API credentials
 * (Basic site_id:api_key) open that workspace; the admin token — as a Bearer token, or as the
 * password of the Basic user "admin", which is what a browser's login prompt can send — opens
 * all of them.
 */
import { authenticateTrack, parseBasicAuth, secretsEqual } from '../ingest/auth';
import type { WorkspaceRegistry } from '../ingest/workspaces';

/** A refusal is 401 (log in again) unless the credentials are right and the workspace is disabled: 403. */
export type Access = { ok: true; workspaces: readonly string[] } | { ok: false; reason: string; status: 401 | 403 };

export function accessOf(authorization: string | undefined, registry: WorkspaceRegistry, adminToken: string): Access {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (bearer !== undefined) {
    if (adminToken !== '' && secretsEqual(bearer, adminToken)) return { ok: true, workspaces: registry.workspaces.map((w) => w.id) };
    return { ok: false, reason: 'wrong admin token', status: 401 };
  }
  const basic = parseBasicAuth(authorization);
  if (adminToken !== '' && basic?.user === 'admin') {
    return secretsEqual(basic.password, adminToken) ? { ok: true, workspaces: registry.workspaces.map((w) => w.id) } : { ok: false, reason: 'wrong admin token', status: 401 };
  }
  const auth = authenticateTrack(authorization, registry);
  return auth.ok ? { ok: true, workspaces: [auth.workspace.id] } : { ok: false, reason: auth.reason, status: auth.status ?? 401 };
}
