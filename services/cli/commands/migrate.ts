/**
 * anonmerge migrate two-planes: moves a deployment's Redis state from the legacy merger to the
 * two-plane merger (docs/deployment.md, "Moving a deployment to the two planes"), in place, under
 * the same prefix and consumer group:
 *
 *   1. checks that no merger runs (the group has no member) and that each inbound partition's
 *      state is exactly at the group's committed offset (the legacy mergers stopped gracefully);
 *   2. writes each bound anonymous id's binding and open window as the data plane keeps them, and
 *      each workspace's bindings and people's ids as the control plane keeps them
 *      (merger/migration/legacyState.ts);
 *   3. records, per inbound partition, that the state is at the committed offset (the two-plane
 *      claim compares this record with Kafka's positions: redis/partitionProgress.ts).
 *
 * Pending events, seen ids, people's events and the timer index are read by the data plane as
 * the legacy merger left them. Running it again writes the same.
 */
import { createKafka } from '../../shared/kafka/client';
import { fetchCommittedPositions } from '../../shared/kafka/committedOffsets';
import { ensureTopics } from '../../shared/kafka/topics';
import type { Logger } from '../../shared/logger';
import type { AnyRedis } from '../../shared/redis/client';
import { escapeGlob, scanKeys } from '../../shared/redis/scanKeys';
import { controlStatesOf, migrateAnonymous, parseAnonymousStateKey } from '../../merger/migration/legacyState';
import { controlWrites } from '../../merger/ordered/controlReads';
import { emptyControlState } from '../../merger/ordered/controlPlane';
import { ControlStore } from '../../merger/redis/controlStore';
import { KeySpace } from '../../merger/redis/keys';
import { PartitionProgress } from '../../merger/redis/partitionProgress';
import { defineMergerCommands } from '../../merger/redis/scripts';
import type { MergerConfig } from '../../merger/service';
import type { PersonRef } from '../../shared/model/person';

export interface MigrationReport {
  readonly anonymousIds: number;
  readonly bound: number;
  readonly openWindows: number;
  readonly workspaces: number;
  /** Inbound partitions recorded at the group's committed offset. */
  readonly partitions: number;
}

export class MigrationRefused extends Error {
  override name = 'MigrationRefused';
}


/** The applied stamp of a workspace no person operation reached yet through the two planes: before any record. */
const NOTHING_APPLIED = { at: 0, id: '', content: '' };

/** Inbound partitions whose legacy state has not been moved (none: nothing to migrate). Redis alone answers. */
export async function unmigratedPartitions(config: MergerConfig, redis: AnyRedis): Promise<number[]> {
  const keys = new KeySpace(config.merger.redisKeyPrefix);
  return new PartitionProgress(defineMergerCommands(redis), keys, config.topics.inbound, [config.topics.inbound, config.topics.commands]).unmigratedLegacy();
}

export async function migrateToTwoPlanes(config: MergerConfig, redis: AnyRedis, logger: Logger, progress: (line: string) => void): Promise<MigrationReport> {
  const inbound = config.topics.inbound;
  const keys = new KeySpace(config.merger.redisKeyPrefix);
  const merger = defineMergerCommands(redis);
  const kafka = createKafka(config.kafka, logger, 'migrate');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config.topics, logger);
    // 1. Nothing may write the state meanwhile, and the state must be where Kafka says it is.
    const [group] = (await admin.describeGroups([config.merger.groupId])).groups;
    if (group && group.members.length > 0) throw new MigrationRefused(`consumer group ${config.merger.groupId} has ${group.members.length} member(s): stop every merger first (SIGTERM, which finishes its batch and commits)`);
    const committed = await fetchCommittedPositions(admin, config.merger.groupId, inbound, { stable: true });
    const recordAt = new Map<number, number>();
    for (const [partition, position] of committed) {
      if (position.offset < 0) continue;
      const watermark = Number((await redis.hget(keys.partition(inbound, partition).state, 'w')) ?? -1);
      if (watermark !== position.offset - 1) {
        throw new MigrationRefused(
          `inbound partition ${partition}: Redis holds the state up to offset ${watermark}, the group committed ${position.offset}; ` +
            'start the legacy merger, let it catch up, stop it with SIGTERM, then migrate (or derive the state with anonmerge rebuild)',
        );
      }
      recordAt.set(partition, position.offset);
    }

    // 2. Bindings and open windows.
    const stateKeys = await scanKeys(redis, `${escapeGlob(config.merger.redisKeyPrefix)}:{*|a|*}:s`);
    const bindings: Array<{ workspace: string; anonymousId: string; person: PersonRef }> = [];
    let openWindows = 0;
    let anonymousIds = 0;
    for (const key of stateKeys) {
      const named = parseAnonymousStateKey(config.merger.redisKeyPrefix, key);
      if (!named) continue;
      anonymousIds += 1;
      const migrated = migrateAnonymous(await redis.hgetall(key));
      if (!migrated) continue;
      await redis.hset(key, 'o', JSON.stringify(migrated.ordered));
      bindings.push({ ...named, person: migrated.person });
      if (migrated.ordered.w) openWindows += 1;
      if (bindings.length % 1000 === 0) progress(`migrated ${bindings.length.toLocaleString()} bindings of ${anonymousIds.toLocaleString()} anonymous ids`);
    }
    const control = new ControlStore(merger, keys);
    const states = controlStatesOf(bindings);
    for (const [workspace, state] of states) {
      const version = Number((await redis.hget(keys.control(workspace).state, 'v')) ?? 0);
      if (!(await control.commit(workspace, version, controlWrites(emptyControlState(), state), NOTHING_APPLIED, new Map()))) {
        throw new Error(`workspace ${workspace}: its control state changed while migrating; is a merger running?`);
      }
    }

    // 3. The state is at the committed offsets: what the two-plane claim compares with Kafka's.
    const commandsStart = new Map((await admin.fetchTopicOffsets(config.topics.commands)).map((p) => [p.partition, Number(p.high)]));
    const record = new PartitionProgress(merger, keys, inbound, [inbound, config.topics.commands]);
    for (const [partition, offset] of recordAt) {
      const positions = new Map([
        [inbound, { offset, metadata: null }],
        [config.topics.commands, { offset: commandsStart.get(partition) ?? 0, metadata: null }],
      ]);
      if ((await record.record(partition, await record.writes(partition), positions)) === null) throw new Error(`inbound partition ${partition}: its progress record changed while migrating; is a merger running?`);
    }
    progress(`migrated ${bindings.length.toLocaleString()} bindings of ${anonymousIds.toLocaleString()} anonymous ids`);
    return { anonymousIds, bound: bindings.length, openWindows, workspaces: states.size, partitions: recordAt.size };
  } finally {
    await admin.disconnect();
  }
}
