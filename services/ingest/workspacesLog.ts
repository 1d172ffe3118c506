/**
 * A WorkspaceRegistry kept in step with the workspaces log (ANONMERGE_WORKSPACES_SOURCE=log):
 * the follower folds the log, and each time what is in force may have changed the registry is
 * replaced whole with the workspaces it defines. Shared by ingest and the activity service.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { WorkspacesFollower } from '../shared/workspaces/follower';
import { parseSecretKey } from '../shared/workspaces/secretBox';
import { workspaceFromChange } from './workspaceChanges';
import { WorkspaceRegistry, type Workspace } from './workspaces';

export interface WorkspacesLogOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly catalog: SchemaCatalog;
  readonly topic: string;
  readonly groupPrefix: string;
  /** ANONMERGE_WORKSPACES_SECRET_KEY's text ('' when unset). */
  readonly secretKey: string;
  readonly logger: Logger;
  readonly metrics?: Registry;
}

export interface FollowedWorkspaces {
  readonly registry: WorkspaceRegistry;
  readonly follower: WorkspacesFollower;
}

/**
 * The registry a service runs with: the one given (read from the file at start), or, for 'log',
 * one that follows the workspaces log — returned once the log has been read to where it ended
 * when the service started, so the service never answers with no workspaces.
 */
export async function openWorkspaces(source: WorkspaceRegistry | 'log', options: WorkspacesLogOptions): Promise<{ readonly registry: WorkspaceRegistry; readonly stop: () => Promise<void> }> {
  if (source !== 'log') return { registry: source, stop: async () => undefined };
  const followed = await followWorkspacesLog(options);
  await followed.follower.caughtUp;
  return { registry: followed.registry, stop: () => followed.follower.stop() };
}

/** Starts following; the registry is empty until `follower.caughtUp` resolves. */
export async function followWorkspacesLog(options: WorkspacesLogOptions): Promise<FollowedWorkspaces> {
  const key = options.secretKey === '' ? null : parseSecretKey(options.secretKey);
  const registry = new WorkspaceRegistry([]);
  // Logged once per version, not on every re-apply.
  const reported = new Set<string>();
  const follower = new WorkspacesFollower({
    ...options,
    apply: (inForce) => {
      const now = Date.now();
      const workspaces: Workspace[] = [];
      for (const change of inForce.values()) {
        const { workspace, problem } = workspaceFromChange(change, now, key);
        workspaces.push(workspace);
        if (problem && !reported.has(`${change.workspace_id}/${change.version}`)) {
          reported.add(`${change.workspace_id}/${change.version}`);
          options.logger.error({ workspace: change.workspace_id, version: change.version }, problem);
        }
      }
      registry.replace(workspaces);
    },
  });
  await follower.start();
  return { registry, follower };
}
