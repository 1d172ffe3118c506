/**
 * Workspace keys are kept as SHA-256 digests only (docs/design-workspaces.md): the log, the
 * registry and every replica hold digests, and a presented key is hashed and compared. The keys
 * we generate are 256 random bits, so a fast hash is enough — a slow password hash protects weak
 * secrets, and ingest hashes the presented key on every request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const keyDigest = (key: string): Buffer => createHash('sha256').update(key).digest();

// Compared against when a workspace has no key of the kind, so that case costs what a wrong key costs.
const NO_KEY = keyDigest('anonmerge-no-such-key');

/**
 * Whether `given` is one of the keys whose digests are listed. Every digest is compared, with no
 * early exit, so the time says nothing about which key matched or how many there are beyond one.
 */
export function matchesAnyKey(given: string, digests: readonly Buffer[]): boolean {
  const digest = keyDigest(given);
  let found = false;
  for (const candidate of digests.length > 0 ? digests : [NO_KEY]) {
    if (candidate.length === digest.length && timingSafeEqual(digest, candidate)) found = true;
  }
  return found && digests.length > 0;
}
