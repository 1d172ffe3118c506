/**
 * Which person attributes a browser identify may set: the workspace's `browser_attributes`, none
 * by default. A page is the visitor's to rewrite, so anything it may set, any visitor may set —
 * to their own verified profile only, but still: an `email` changed from a page redirects that
 * person's messages, and an `id` or `cio_id` would re-key them. A site lists what is harmless
 * coming from a page (a name, a plan, a preference) and sets the rest from its server, with the
 * API key. Attributes outside the list are refused, not dropped: a silently missing attribute
 * is a bug found in production, a 403 naming it is found on the first try.
 */
import { IDENTIFY_CONTROL_FIELDS } from './trackV1';

/** Identifiers re-key a person: never settable from a page, whatever the list says. */
export const NEVER_BROWSER_ATTRIBUTES: ReadonlySet<string> = new Set(['id', 'cio_id']);

/** `browser_attributes` of the workspaces file: a list of attribute names; absent means none. */
export function parseBrowserAttributes(raw: unknown, where: string, problems: string[]): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${where} must be a list of attribute names`);
    return [];
  }
  return raw.flatMap((name: unknown, i) => {
    if (typeof name !== 'string' || name.length === 0) {
      problems.push(`${where}[${i}] must be a non-empty string`);
      return [];
    }
    if (NEVER_BROWSER_ATTRIBUTES.has(name)) {
      problems.push(`${where}[${i}] "${name}" is an identifier: it can only be set with the API key`);
      return [];
    }
    return [name];
  });
}

/**
 * The attributes of an identify body that the allow-list does not name, in body order. Control
 * fields (anonymous_id, _update, _timestamp) are not attributes; `browserControl` names the
 * browser route's own (user_hash).
 */
export function attributesNotAllowed(body: Record<string, unknown>, allowed: readonly string[], browserControl: ReadonlySet<string>): string[] {
  return Object.keys(body).filter((name) => !IDENTIFY_CONTROL_FIELDS.has(name) && !browserControl.has(name) && !allowed.includes(name));
}
