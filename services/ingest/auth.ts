/**
 * Basic auth for both APIs: `site_id:api_key` for the Track API v1, `write_key:` (empty
 * password) for the Segment spec. Secrets are compared in constant time; a failure says which
 * part was wrong only in a way that leaks nothing (no "site exists" oracle).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

// Compared against when the user is unknown, so that case costs the same as a wrong key.
const DUMMY_SECRET = 'anonmerge-no-such-workspace';

export function authenticateTrack(header: string | undefined, registry: WorkspaceRegistry): AuthResult {
  const credentials = parseBasicAuth(header);
  if (!credentials) return { ok: false, reason: 'missing or malformed Basic auth (expected site_id:api_key)' };
  const workspace = registry.bySiteId(credentials.user);
  const matches = secretsEqual(credentials.password, workspace?.apiKey ?? DUMMY_SECRET);
  if (!workspace || !matches) return { ok: false, reason: 'unknown site_id or wrong api_key' };
  return { ok: true, workspace };
}

export function authenticateWriteKey(header: string | undefined, registry: WorkspaceRegistry): AuthResult {
  const credentials = parseBasicAuth(header);
  if (!credentials || credentials.user === '') return { ok: false, reason: 'missing or malformed Basic auth (expected write_key as user)' };
  // Look-up by key, then a constant-time compare of the whole key, so a timing difference in
  // the map look-up reveals nothing that the compare would not.
  const workspace = registry.byWriteKey(credentials.user);
  const matches = secretsEqual(credentials.user, workspace?.writeKey ?? DUMMY_SECRET);
  if (!workspace || !matches) return { ok: false, reason: 'unknown write key' };
  return { ok: true, workspace };
}
