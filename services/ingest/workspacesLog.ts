/**
 * A WorkspaceRegistry kept in step with the workspaces log (ANONMERGE_WORKSPACES_SOURCE=log):
 * the follower folds the log, and each time what is in force may have changed the registry is
 * replaced whole with the workspaces it defines. Shared by ingest and the activity service.
 */
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { WorkspacesFollower } from '../shared/workspaces/follower';
import { parseSecretKey } from '../shared/workspaces/secretBox';
import { demoKeysIn } from './demoKeys';
import { workspaceFromChange } from './workspaceChanges';
import { WorkspaceRegistry, type Workspace } from './workspaces';

export interface WorkspacesLogOptions {
  readonly kafka: Kafka;
  readonly catalog: SchemaCatalog;
  readonly topic: string;
  readonly groupPrefix: string;
  /** ANONMERGE_WORKSPACES_SECRET_KEY's text ('' when unset). */
  readonly secretKey: string;
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** How long a start may take to read the log to its end before the service gives up. */
  readonly catchUpTimeoutMs?: number;
  /**
   * ANONMERGE_DEMO: whether the demo workspace's public keys may be served. At start the service
   * refuses to run with them (demoKeys.ts); a workspace that brings them later (a seed run
   * against a live log) is not served, and logged, instead of opening the deployment to anyone.
   */
  readonly demo?: boolean;
}

export interface FollowedWorkspaces {
  readonly registry: WorkspaceRegistry;
  readonly follower: WorkspacesFollower;
  readonly stop: () => Promise<void>;
}

const CATCH_UP_TIMEOUT_MS = 60_000;

/**
 * The registry a service runs with: the one given (read from the file at start), or, for 'log',
 * one that follows the workspaces log — returned once the log has been read to where it ended
 * when the service started, so the service never answers with no workspaces.
 */
export async function openWorkspaces(source: WorkspaceRegistry | 'log', options: WorkspacesLogOptions): Promise<{ readonly registry: WorkspaceRegistry; readonly stop: () => Promise<void> }> {
  if (source !== 'log') return { registry: source, stop: async () => undefined };
  const followed = await followWorkspacesLog(options);
  const timeoutMs = options.catchUpTimeoutMs ?? CATCH_UP_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([followed.follower.caughtUp, gaveUp]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    await followed.stop();
    throw new Error(`the workspaces log ${options.topic} was not read to its end within ${timeoutMs} ms`);
  }
  return followed;
}

/** Starts following; the registry is empty until `follower.caughtUp` resolves. */
export async function followWorkspacesLog(options: WorkspacesLogOptions): Promise<FollowedWorkspaces> {
  const key = options.secretKey === '' ? null : parseSecretKey(options.secretKey);
  const registry = new WorkspaceRegistry([]);
  const admin = options.kafka.admin();
  await admin.connect();
  // Logged once per version, not on every re-apply.
  const reported = new Set<string>();
  const follower = new WorkspacesFollower({
    ...options,
    admin,
    apply: (inForce) => {
      const now = Date.now();
      const workspaces: Workspace[] = [];
      for (const change of inForce.values()) {
        const { workspace, problem } = workspaceFromChange(change, now, key);
        const version = `${change.workspace_id}/${change.version}`;
        if (problem && !reported.has(version)) {
          reported.add(version);
          options.logger.error({ workspace: change.workspace_id, version: change.version }, problem);
        }
        // Until the start has read the log to its end, the service's own check refuses to start.
        const demoKeys = options.demo === true || !follower.isCaughtUp ? [] : demoKeysIn([workspace]);
        if (demoKeys.length > 0) {
          if (!reported.has(`${version}/demo`)) {
            reported.add(`${version}/demo`);
            options.logger.error({ workspace: change.workspace_id, version: change.version, fields: demoKeys.map((field) => field.replace(/^workspaces\[0\]\./, '')) }, "workspace not served: it uses the demo workspace's public keys, and ANONMERGE_DEMO is not set");
          }
          continue;
        }
        workspaces.push(workspace);
      }
      for (const conflict of registry.replace(workspaces)) {
        if (reported.has(conflict)) continue;
        reported.add(conflict);
        options.logger.error({ topic: options.topic }, conflict);
      }
    },
  });
  const stop = async () => {
    await follower.stop();
    await admin.disconnect();
  };
  try {
    await follower.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { registry, follower, stop };
}
