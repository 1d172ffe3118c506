/**
 * A workspace and its record on the workspaces log (schemas/workspace-change.avsc), both ways:
 * `definitionOf` for the seed (a file's workspace written as version 1), `workspaceFromChange`
 * for the followers (the record in force turned into what auth, the routes and the rate limiter
 * use). Keys are digests on both sides; the identity secret is sealed on the log and open in
 * memory (shared/workspaces/secretBox.ts).
 */
import type { WorkspaceChange, WorkspaceDefinition, WorkspaceKey, WorkspaceKeyKind } from '../shared/generated/workspaceTypes';
import { seal, unseal } from '../shared/workspaces/secretBox';
import type { Workspace } from './workspaces';

const KIND_OF: Record<keyof Workspace['keys'], WorkspaceKeyKind> = { api: 'API', write: 'WRITE', publishable: 'PUBLISHABLE' };

export class SealingError extends Error {
  override name = 'SealingError';
}

/** A workspace's definition for the log. Its identity secret needs the deployment's key. */
export function definitionOf(workspace: Workspace, by: string, at: number, secretKey: Buffer | null): WorkspaceDefinition {
  if (workspace.identityVerificationSecret !== null && secretKey === null) {
    throw new SealingError(`workspace ${workspace.id} has an identity_verification_secret: set ANONMERGE_WORKSPACES_SECRET_KEY to seal it on the log`);
  }
  const keys: WorkspaceKey[] = [];
  for (const kind of Object.keys(KIND_OF) as Array<keyof Workspace['keys']>) {
    workspace.keys[kind].forEach((digest, i) => keys.push({ key_id: `${kind}-${i + 1}`, kind: KIND_OF[kind], sha256: digest, created_at: at, created_by: by, revoked_at: null }));
  }
  return {
    name: workspace.name,
    site_id: workspace.siteId,
    disabled: workspace.disabled,
    keys,
    allowed_origins: [...workspace.allowedOrigins],
    identity_secret: workspace.identityVerificationSecret === null || secretKey === null ? null : seal(workspace.identityVerificationSecret, secretKey, workspace.id),
    browser_attributes: [...workspace.browserAttributes],
    settings: { ...workspace.settings },
    rate_limit: {
      records_per_second: workspace.rateLimit.recordsPerSecond,
      burst: workspace.rateLimit.burst,
      bytes_per_second: workspace.rateLimit.bytesPerSecond,
      bytes_burst: workspace.rateLimit.bytesBurst,
    },
  };
}

/**
 * The workspace a change defines, as in force at `now`: its keys not revoked by then. A sealed
 * identity secret that does not open (no key, another key, an altered record) leaves the
 * workspace without one — browser identifies are then refused, never accepted unchecked — and
 * says so in `problem`.
 */
export function workspaceFromChange(change: WorkspaceChange, now: number, secretKey: Buffer | null): { readonly workspace: Workspace; readonly problem: string | null } {
  const { definition } = change;
  const live = (kind: WorkspaceKeyKind) => definition.keys.filter((key) => key.kind === kind && (key.revoked_at === null || key.revoked_at > now)).map((key) => key.sha256);
  let identitySecret: string | null = null;
  let problem: string | null = null;
  if (definition.identity_secret !== null) {
    identitySecret = secretKey === null ? null : unseal(definition.identity_secret, secretKey, change.workspace_id);
    if (identitySecret === null) {
      problem = `workspace ${change.workspace_id} version ${change.version}: its identity secret does not open under ${secretKey === null ? 'no key (ANONMERGE_WORKSPACES_SECRET_KEY is not set)' : 'ANONMERGE_WORKSPACES_SECRET_KEY'}; browser identifies are refused`;
    }
  }
  const workspace: Workspace = {
    id: change.workspace_id,
    name: definition.name,
    siteId: definition.site_id,
    keys: { api: live('API'), write: live('WRITE'), publishable: live('PUBLISHABLE') },
    disabled: definition.disabled,
    allowedOrigins: definition.allowed_origins,
    identityVerificationSecret: identitySecret,
    browserAttributes: definition.browser_attributes,
    settings: { ...definition.settings },
    rateLimit: {
      recordsPerSecond: definition.rate_limit.records_per_second,
      burst: definition.rate_limit.burst,
      bytesPerSecond: definition.rate_limit.bytes_per_second,
      bytesBurst: definition.rate_limit.bytes_burst,
    },
  };
  return { workspace, problem };
}
