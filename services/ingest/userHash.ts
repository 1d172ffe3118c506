/**
 * Identity verification's proof: `user_hash`, the HMAC-SHA256 (hex) of a person's identifier made
 * with the workspace's identity verification secret — Intercom's and Segment's "user hash". The
 * secret stays on the site's server, which computes the hash only for the visitor it logged in
 * and renders it into that visitor's page; a page that claims another identifier cannot make its
 * hash, however it forges its Origin.
 *
 * The identifier is hashed exactly as it is sent (UTF-8, after URL decoding; an email is not
 * lower-cased first): the site hashes the same string it passes to `identify`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const USER_HASH_FIELD = 'user_hash';

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** What the site's server computes (the docs' example does the same with crypto.createHmac). */
export function userHashOf(secret: string, identifier: string): string {
  return createHmac('sha256', secret).update(identifier, 'utf8').digest('hex');
}

export type UserHashCheck = 'verified' | 'missing' | 'wrong';

/**
 * Whether `given` is the user hash of `identifier`. The comparison is of the decoded digests, in
 * constant time; a value that is not 64 hex digits is simply wrong (its shape is no secret).
 */
export function checkUserHash(secret: string, identifier: string, given: unknown): UserHashCheck {
  if (given === undefined || given === null || given === '') return 'missing';
  if (typeof given !== 'string' || !HEX_SHA256.test(given)) return 'wrong';
  const expected = createHmac('sha256', secret).update(identifier, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex')) ? 'verified' : 'wrong';
}
