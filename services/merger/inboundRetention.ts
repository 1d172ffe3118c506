/**
 * The merger keeps pending events as pointers into the inbound log (docs/design-pending-pointers.md),
 * so the log must keep every record as long as a workspace may still merge it. Checked at start:
 * a topic that keeps less than the longest workspace retention plus a margin is a
 * misconfiguration the merger reports and refuses to run on, rather than one a merge would find,
 * weeks later, as events gone.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { Logger } from '../shared/logger';
import { WorkspacesFollower } from '../shared/workspaces/follower';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface TopicRetention {
  /** retention.ms; -1 keeps for ever. */
  readonly retentionMs: number;
  /** retention.bytes; -1: no limit by size. */
  readonly retentionBytes: number;
}

/** Why the topic cannot hold the pointers' records for long enough, or null. Pure. */
export function inboundRetentionProblem(topic: string, retention: TopicRetention, longestRetentionMs: number, marginMs: number): string | null {
  const needed = longestRetentionMs + marginMs;
  if (retention.retentionBytes >= 0) {
    return `the inbound topic ${topic} has retention.bytes=${retention.retentionBytes}: a size limit deletes records by volume, before a workspace retention of ${longestRetentionMs / DAY_MS} days ends; remove it (docs/deployment.md, "Inbound retention")`;
  }
  if (retention.retentionMs >= 0 && retention.retentionMs < needed) {
    return (
      `the inbound topic ${topic} keeps records ${(retention.retentionMs / DAY_MS).toFixed(2)} days (retention.ms=${retention.retentionMs}), less than the longest workspace retention ` +
      `(${(longestRetentionMs / DAY_MS).toFixed(2)} days) plus the margin (${marginMs / HOUR_MS} hours): pending events are read back from it when a person is identified; ` +
      `set retention.ms to at least ${needed} (docs/deployment.md, "Inbound retention")`
    );
  }
  return null;
}

export async function topicRetention(admin: Admin, topic: string): Promise<TopicRetention> {
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms', 'retention.bytes'] }] });
  const entries = described.resources[0]?.configEntries ?? [];
  const value = (name: string) => Number(entries.find((e) => e.configName === name)?.configValue ?? '-1');
  return { retentionMs: value('retention.ms'), retentionBytes: value('retention.bytes') };
}

/**
 * The longest retention among the workspaces on the workspaces log, and `floorMs` (the longest
 * of those the deployment keeps in a file, which the merger does not read).
 */
export async function longestWorkspaceRetention(options: { kafka: Kafka; admin: Admin; catalog: SchemaCatalog; topic: string; logger: Logger; floorMs: number; timeoutMs: number }): Promise<number> {
  let longest = options.floorMs;
  // An empty log (workspaces kept in a file) has nothing to fold: no consumer to start.
  const offsets = await options.admin.fetchTopicOffsets(options.topic).catch(() => []);
  if (offsets.every((o) => Number(o.high) === 0)) return longest;
  const follower = new WorkspacesFollower({
    kafka: options.kafka,
    admin: options.admin,
    catalog: options.catalog,
    topic: options.topic,
    groupPrefix: 'anonmerge-merger',
    logger: options.logger,
    apply: (inForce) => {
      for (const change of inForce.values()) longest = Math.max(longest, change.definition.settings.retention_seconds * 1000);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await follower.start();
    await Promise.race([
      follower.caughtUp,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the workspaces log ${options.topic} was not read to its end within ${options.timeoutMs} ms`)), options.timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await follower.stop();
  }
  return longest;
}
