/**
 * Basic auth for both APIs: `site_id:api_key` for the Track API v1, `write_key:` (empty
 * password) for the Segment spec. Secrets are compared in constant time; a failure says which
 * part was wrong only in a way that leaks nothing (no "site exists" oracle).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { matchesAnyKey } from '../shared/workspaces/keyDigest';
import type { Workspace, WorkspaceRegistry } from './workspaces';

/** A failure is 401 unless it says otherwise (403: right key, wrong origin). */
export type AuthResult = { ok: true; workspace: Workspace } | { ok: false; reason: string; status?: 401 | 403 };

export function parseBasicAuth(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { user: decoded, password: '' };
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A right key of a disabled workspace: 403, saying so (the key holder may know it). */
export function refuseDisabled(workspace: Workspace): AuthResult {
  if (workspace.disabled) return { ok: false, status: 403, reason: `workspace ${workspace.id} is disabled` };
  return { ok: true, workspace };
}

export function authenticateTrack(header: string | undefined, registry: WorkspaceRegistry): AuthResult {
  const credentials = parseBasicAuth(header);
  if (!credentials) return { ok: false, reason: 'missing or malformed Basic auth (expected site_id:api_key)' };
  const workspace = registry.bySiteId(credentials.user);
  // An unknown site id costs what a wrong key costs (no "site exists" oracle).
  const matches = matchesAnyKey(credentials.password, workspace?.keys.api ?? []);
  if (!workspace || !matches) return { ok: false, reason: 'unknown site_id or wrong api_key' };
  return refuseDisabled(workspace);
}

export function authenticateWriteKey(header: string | undefined, registry: WorkspaceRegistry): AuthResult {
  const credentials = parseBasicAuth(header);
  if (!credentials || credentials.user === '') return { ok: false, reason: 'missing or malformed Basic auth (expected write_key as user)' };
  // Look-up by key, then a constant-time compare of the whole key, so a timing difference in
  // the map look-up reveals nothing that the compare would not.
  const workspace = registry.byWriteKey(credentials.user);
  const matches = matchesAnyKey(credentials.user, workspace?.keys.write ?? []);
  if (!workspace || !matches) return { ok: false, reason: 'unknown write key' };
  return refuseDisabled(workspace);
}
