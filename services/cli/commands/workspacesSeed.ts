/**
 * `anonmerge workspaces seed --file F`: writes each workspace of a workspaces file that the log
 * does not hold yet as its version 1 (docs/design-workspaces.md) — keys hashed on the way, the
 * identity secret sealed. How a fresh stack (make run, the tests) and a deployment moving from the
 * file to the log begin; a workspace already on the log is left as it is, so seeding again is
 * harmless.
 */
import type { Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../../shared/avro/catalog';
import type { Logger } from '../../shared/logger';
import { changeKey, latestVersion } from '../../shared/workspaces/fold';
import { WorkspacesFollower } from '../../shared/workspaces/follower';
import { parseSecretKey } from '../../shared/workspaces/secretBox';
import type { WorkspaceChange } from '../../shared/generated/workspaceTypes';
import { definitionOf } from '../../ingest/workspaceChanges';
import type { WorkspaceRegistry } from '../../ingest/workspaces';

export interface SeedReport {
  readonly written: readonly string[];
  readonly alreadyOnTheLog: readonly string[];
}

export async function seedWorkspaces(kafka: Kafka, catalog: SchemaCatalog, topic: string, file: string, fromFile: WorkspaceRegistry, secretKey: string, logger: Logger): Promise<SeedReport> {
  const key = secretKey === '' ? null : parseSecretKey(secretKey);
  const admin = kafka.admin();
  await admin.connect();
  const follower = new WorkspacesFollower({ kafka, admin, catalog, topic, groupPrefix: 'anonmerge-cli', logger, apply: () => undefined });
  try {
    await follower.start();
    await follower.caughtUp;
    const now = Date.now();
    const by = `seed:${file}`;
    const fresh = fromFile.workspaces.filter((workspace) => latestVersion(follower.writtenSoFar, workspace.id) === 0);
    // Every definition is built (secrets sealed) before anything is written: a file that cannot be seeded writes nothing.
    const changes = fresh.map(
      (workspace): WorkspaceChange => ({ workspace_id: workspace.id, version: 1, effective_at: now, changed_at: now, changed_by: by, change: JSON.stringify({ seed: file }), definition: definitionOf(workspace, by, now, key) }),
    );
    if (changes.length > 0) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await producer.send({ topic, acks: -1, timeout: 10_000, messages: changes.map((change) => ({ key: changeKey(change.workspace_id, change.version), value: catalog.encode('workspaces', change) })) });
      } finally {
        await producer.disconnect();
      }
    }
    return { written: fresh.map((w) => w.id), alreadyOnTheLog: fromFile.workspaces.filter((w) => !fresh.includes(w)).map((w) => w.id) };
  } finally {
    await follower.stop();
    await admin.disconnect();
  }
}
