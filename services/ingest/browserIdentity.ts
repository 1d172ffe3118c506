/**
 * What the publishable key may write about a person. The key is public and curl forges Origin,
 * so the browser's good behaviour proves nothing: a request that names a person — an identify
 * or a person's event — must prove, with `user_hash` (userHash.ts), that the site's server vouched
 * for that identifier; and an identify may set only the workspace's `browser_attributes`. A
 * workspace without an identity verification secret gets the safe default: its publishable key
 * sends anonymous events only, and its sign-ups identify from the server with the API key.
 *
 * Checked after the request is charged to the workspace's rate limit (app.ts), like any content.
 */
import { attributesNotAllowed } from './browserAttributes';
import { isPlainObject } from './checks';
import { Problems } from './problems';
import { checkUserHash, USER_HASH_FIELD } from './userHash';
import type { Workspace } from './workspaces';

export type PersonRequest = 'identify' | 'event';
export type BrowserPersonCheck = { ok: true; body: unknown } | { ok: false; status: 401 | 403; problems: Problems };

const BROWSER_CONTROL_FIELDS: ReadonlySet<string> = new Set([USER_HASH_FIELD]);
/** Attribute names are echoed in the answer: a long one is shortened (trackV1 does the same). */
const ECHOED_NAME_LENGTH = 40;

function refusal(status: 401 | 403, field: string, message: string): BrowserPersonCheck {
  const problems = new Problems();
  problems.add(field, message);
  return { ok: false, status, problems };
}

/**
 * Whether the publishable key may send this identify or person event for `identifier`; if so,
 * the body without user_hash (a proof, not an attribute) to translate as the Track API would.
 */
export function checkBrowserPerson(workspace: Workspace, identifier: string, body: unknown, request: PersonRequest): BrowserPersonCheck {
  const secret = workspace.identityVerificationSecret;
  if (secret === null) {
    return refusal(403, '', 'forbidden: identity verification is not set up for this workspace (identity_verification_secret), so the publishable key sends anonymous events only; identify people from your server with the API key');
  }
  const object = isPlainObject(body) ? body : {};
  switch (checkUserHash(secret, identifier, object[USER_HASH_FIELD])) {
    case 'missing':
      return refusal(401, USER_HASH_FIELD, "is required with the publishable key: the HMAC-SHA256 (hex) of the identifier, computed by your server with the workspace's identity verification secret");
    case 'wrong':
      return refusal(401, USER_HASH_FIELD, "does not match the identifier: it must be the HMAC-SHA256 (hex) of the identifier exactly as sent, made with the workspace's identity verification secret");
    case 'verified':
      break;
  }
  if (!isPlainObject(body)) return { ok: true, body };
  if (request === 'identify') {
    const refused = attributesNotAllowed(body, workspace.browserAttributes, BROWSER_CONTROL_FIELDS);
    if (refused.length > 0) {
      const problems = new Problems();
      for (const name of refused) problems.add(name.slice(0, ECHOED_NAME_LENGTH), "is not in this workspace's browser_attributes: set it from your server with the API key");
      return { ok: false, status: 403, problems };
    }
  }
  const { [USER_HASH_FIELD]: _proof, ...rest } = body;
  return { ok: true, body: rest };
}
