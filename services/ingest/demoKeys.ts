/**
 * The demo workspace's keys (config/workspaces.json) are in the repository and the README: anyone
 * can write with them, and read its activity log. A service that finds them in its workspaces file
 * is a demo someone is about to expose, unless it was told it is a demo (ANONMERGE_DEMO=1, which
 * make run sets); so it refuses to start and says why, naming where the keys are.
 *
 * The keys are listed here, not read from config/workspaces.json, because the image does not carry
 * that file (a unit test keeps the two in step).
 */
import { DEMO_IDENTITY_SECRET } from './demoUserHash';
import { keyDigest } from '../shared/workspaces/keyDigest';
import type { Workspace } from './workspaces';

export const DEMO_KEYS: readonly string[] = ['demo-key-not-secret', 'demo-write-key-not-secret', 'pk_demo', DEMO_IDENTITY_SECRET];

export class DemoKeysError extends Error {
  override name = 'DemoKeysError';
}

/** Where a demo key is used, as "workspaces[0].api_key" (or the admin token's setting). */
export function demoKeysIn(workspaces: readonly Workspace[], adminToken = ''): string[] {
  // Keys are digests past parsing: the demo keys are compared as digests too.
  const demoDigests = new Set(DEMO_KEYS.map((key) => keyDigest(key).toString('hex')));
  const isDemo = (digests: readonly Buffer[]) => digests.some((digest) => demoDigests.has(digest.toString('hex')));
  const places = workspaces.flatMap((workspace, index) =>
    (
      [
        ['api_key', isDemo(workspace.keys.api)],
        ['write_key', isDemo(workspace.keys.write)],
        ['publishable_key', isDemo(workspace.keys.publishable)],
        // Anyone holding it can sign user hashes: write as any person through the browser key.
        ['identity_verification_secret', workspace.identityVerificationSecret !== null && DEMO_KEYS.includes(workspace.identityVerificationSecret)],
      ] as const
    )
      .filter(([, demo]) => demo)
      .map(([field]) => `workspaces[${index}].${field}`),
  );
  if (adminToken !== '' && DEMO_KEYS.includes(adminToken)) places.push('ANONMERGE_ACTIVITY_ADMIN_TOKEN');
  return places;
}

/**
 * Why the service must not start with these workspaces, or null when it may: demo keys are
 * refused unless `demo` (ANONMERGE_DEMO) says this is a demo.
 */
export function demoKeysRefusal(workspaces: readonly Workspace[], options: { demo: boolean; adminToken?: string }): string | null {
  if (options.demo) return null;
  const places = demoKeysIn(workspaces, options.adminToken);
  if (places.length === 0) return null;
  return (
    `the demo workspace's public keys are in use (${places.join(', ')}): anyone could write to and read this deployment. ` +
    'Use keys of your own (openssl rand -hex 24), or set ANONMERGE_DEMO=1 if this is a demo'
  );
}

/** Throws DemoKeysError when demoKeysRefusal refuses. */
export function refuseDemoKeys(workspaces: readonly Workspace[], options: { demo: boolean; adminToken?: string }): void {
  const refusal = demoKeysRefusal(workspaces, options);
  if (refusal !== null) throw new DemoKeysError(refusal);
}
