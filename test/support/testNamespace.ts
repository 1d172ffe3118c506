/**
 * What a test run may and may not touch on the shared local stack — the one `make run` uses.
 *
 * - `sandboxEnvironment`: points every setting that names a topic, a consumer group or a Redis
 *   prefix at this run's own names, so a service or script a test starts without naming its own
 *   (as the fuzz test's ingest once did, creating the default topics with 2 partitions) still never
 *   lands on the defaults.
 * - `defaultNamesInUse`: which of the default topics, subjects, group and Redis keys exist, read
 *   before and after the run; a default that appears during the run fails it.
 * - `removeTestNames`: deletes the run's topics, subjects, groups and Redis keys (and those of runs
 *   long over), so test runs do not pile up in the registry and the broker.
 */
import type { Admin } from 'kafkajs';
import type Redis from 'ioredis';
import { loadConfig, type RegistryConfig } from '../../services/shared/config';
import { prefixedTopics, topicEnv } from '../../services/shared/config/topicSets';
import { isRemovableTestName, runMarker } from './testRun';

const DEFAULTS = loadConfig(['topics', 'merger'], {});
const DEFAULT_TOPICS = Object.values(DEFAULTS.topics).filter((value): value is string => typeof value === 'string');

export function sandboxEnvironment(run: string): Record<string, string> {
  const base = `test${runMarker(run)}default`;
  const { ANONMERGE_TOPIC_PARTITIONS: _partitions, ANONMERGE_TOPIC_PERSON_ORDER_PARTITIONS: _orderPartitions, ...topics } = topicEnv(prefixedTopics(base, DEFAULTS.topics.partitions));
  return { ...topics, ANONMERGE_MERGER_GROUP_ID: `${base}-merger`, ANONMERGE_MERGER_REDIS_PREFIX: base };
}

export interface DefaultNames {
  readonly topics: string[];
  readonly subjects: string[];
  readonly groups: string[];
  readonly redisKeys: boolean;
}

/**
 * The broker's groups. A broker that has just started answers "the coordinator is loading" for a
 * few seconds (retriable), which kafkajs' admin does not retry for this call: this does.
 */
async function listGroupsWhenReady(admin: Admin): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await admin.listGroups()).groups.map((group) => group.groupId);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || attempt >= 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export async function defaultNamesInUse(admin: Admin, registry: RegistryConfig, redis: Redis): Promise<DefaultNames> {
  const topics = (await admin.listTopics()).filter((topic) => DEFAULT_TOPICS.includes(topic));
  const subjects = (await listSubjects(registry)).filter((subject) => DEFAULT_TOPICS.some((topic) => subject === `${topic}-value`));
  const groups = (await listGroupsWhenReady(admin)).filter((group) => group === DEFAULTS.merger.groupId);
  return { topics, subjects, groups, redisKeys: await anyKey(redis, `${DEFAULTS.merger.redisKeyPrefix}:*`) };
}

/** The defaults present now that were not before: what the run created of them. */
export function defaultsCreated(before: DefaultNames, after: DefaultNames): string[] {
  const created = [
    ...after.topics.filter((t) => !before.topics.includes(t)).map((t) => `topic ${t}`),
    ...after.subjects.filter((s) => !before.subjects.includes(s)).map((s) => `subject ${s}`),
    ...after.groups.filter((g) => !before.groups.includes(g)).map((g) => `consumer group ${g}`),
  ];
  if (after.redisKeys && !before.redisKeys) created.push(`Redis keys ${DEFAULTS.merger.redisKeyPrefix}:*`);
  return created;
}

export interface Removed {
  topics: number;
  subjects: number;
  groups: number;
  redisKeys: number;
  readonly failures: string[];
}

/**
 * Best effort: a name another teardown removed first, or a group still in use, is passed over
 * and counted in `failures` — cleaning up must not fail a run whose tests passed.
 */
export async function removeTestNames(admin: Admin, registry: RegistryConfig, redis: Redis, run: string): Promise<Removed> {
  const removable = (name: string) => isRemovableTestName(name, run);
  const removed: Removed = { topics: 0, subjects: 0, groups: 0, redisKeys: 0, failures: [] };
  const attempt = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      removed.failures.push(`${what}: ${(error as Error).message}`);
    }
  };

  const topics = (await admin.listTopics()).filter(removable);
  for (const topic of topics) {
    await attempt(`topic ${topic}`, async () => {
      await admin.deleteTopics({ topics: [topic], timeout: 30000 });
      removed.topics += 1;
    });
  }

  const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter(removable);
  if (groups.length > 0) {
    await attempt('consumer groups', async () => {
      // A group still holding members (a consumer that was not closed) cannot go; the others do.
      const results = await admin.deleteGroups(groups).catch((error: { groups?: Array<{ errorCode: number }> }) => error.groups ?? []);
      removed.groups = results.filter((result) => result.errorCode === 0).length;
    });
  }

  for (const subject of (await listSubjects(registry)).filter(removable)) {
    await attempt(`subject ${subject}`, async () => {
      // The registry deletes softly first; `permanent=true` then frees the name for good.
      await registryRequest(registry, 'DELETE', `/subjects/${encodeURIComponent(subject)}`);
      await registryRequest(registry, 'DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`);
      removed.subjects += 1;
    });
  }

  for (const pattern of ['*-amt*', 'test-*']) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const doomed = keys.filter(removable);
      if (doomed.length > 0) removed.redisKeys += await redis.unlink(...doomed);
    } while (cursor !== '0');
  }
  return removed;
}

/** Whether any key matches: SCAN pages until a match or the end (one page may hold none). */
async function anyKey(redis: Redis, pattern: string): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) return true;
    cursor = next;
  } while (cursor !== '0');
  return false;
}

async function listSubjects(registry: RegistryConfig): Promise<string[]> {
  return (await (await registryRequest(registry, 'GET', '/subjects')).json()) as string[];
}

async function registryRequest(registry: RegistryConfig, method: string, path: string): Promise<Response> {
  const response = await fetch(`${registry.url}${path}`, { method, signal: AbortSignal.timeout(registry.timeoutMs) });
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path} on the registry: HTTP ${response.status} ${await response.text()}`);
  return response;
}
