/**
 * Auth of the browser snippet's calls (/js/v1/...). A page cannot keep a secret, and
 * `navigator.sendBeacon` cannot set headers: the site id and the workspace's publishable key
 * travel in the query string. What makes that acceptable is what the key can do — anonymous
 * events; identifies and a known person's events only with the person's user_hash
 * (browserIdentity.ts); nothing that deletes or merges people — and where from: the request's
 * Origin must be one of the workspace's allowed origins (which stops other sites' pages, not
 * curl: that is what the user hash is for).
 */
import { matchesAnyKey } from '../shared/workspaces/keyDigest';
import type { Workspace, WorkspaceRegistry } from './workspaces';

export type BrowserAuthResult = { ok: true; workspace: Workspace } | { ok: false; status: 401 | 403; reason: string };

export function authenticatePublishable(siteId: unknown, key: unknown, origin: string | undefined, registry: WorkspaceRegistry): BrowserAuthResult {
  if (typeof siteId !== 'string' || typeof key !== 'string' || siteId === '' || key === '') {
    return { ok: false, status: 401, reason: 'missing site_id or key in the query string' };
  }
  const workspace = registry.bySiteId(siteId);
  const matches = matchesAnyKey(key, workspace?.keys.publishable ?? []);
  if (!workspace || !matches) return { ok: false, status: 401, reason: 'unknown site_id or wrong publishable key' };
  if (workspace.disabled) return { ok: false, status: 403, reason: `workspace ${workspace.id} is disabled` };
  if (!origin || !workspace.allowedOrigins.includes(origin)) {
    return { ok: false, status: 403, reason: `origin ${origin ?? '(none)'} is not allowed for this workspace (allowed_origins)` };
  }
  return { ok: true, workspace };
}

/** CORS headers for an allowed origin (never a wildcard: the answer depends on the origin). */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}
