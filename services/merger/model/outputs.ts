/**
 * What a decision produces: records for the outbound topics, and follow-up writes to other
 * entities' keys (a person's set of anonymous ids, a partition's timers) that cannot be part of
 * the entity's own atomic script in Redis Cluster. Both are stored in the entity's outbox with
 * the operation that made them, so a replay re-sends and re-applies exactly the same ones.
 */
import type { StreamName } from '../../shared/avro/schemaFiles';
import type { Activity, AnonymousEvent, CampaignTrigger, MergedEvent } from '../../shared/model/outbound';
import type { PersonRef } from '../../shared/model/person';

export type OutputValue = MergedEvent | CampaignTrigger | Activity | AnonymousEvent;

export interface Output {
  readonly stream: StreamName;
  readonly key: string;
  /** null is a tombstone (a deleted person on the merged stream). */
  readonly value: OutputValue | null;
}

export type FollowUp =
  | { readonly type: 'index-add'; readonly workspace: string; readonly person: PersonRef; readonly anonymousId: string }
  | { readonly type: 'index-remove'; readonly workspace: string; readonly person: PersonRef; readonly anonymousId: string }
  | { readonly type: 'index-delete'; readonly workspace: string; readonly person: PersonRef }
  | { readonly type: 'timer-set'; readonly partition: number; readonly workspace: string; readonly anonymousId: string; readonly windowEnd: number }
  /**
   * afterCommit: cleared only once the Kafka transaction that carries the fire's outputs has
   * committed, so that a replay of the batch finds the timer due again, at the same record.
   */
  | { readonly type: 'timer-clear'; readonly partition: number; readonly workspace: string; readonly anonymousId: string; readonly afterCommit?: boolean };

/** Counts for metrics and logs. */
export interface Tally {
  merged: number;
  pending: number;
  triggers: number;
  duplicates: number;
  refusedRebinds: number;
  expired: number;
  timersFired: number;
  /** The most events one identify merged (a maximum, not a sum): the backlog a merge emptied. */
  largestMerge: number;
}

export const emptyTally = (): Tally => ({ merged: 0, pending: 0, triggers: 0, duplicates: 0, refusedRebinds: 0, expired: 0, timersFired: 0, largestMerge: 0 });

/** Adds `from` into `into`: counts add up, largestMerge keeps the maximum. */
export function addTally(into: Record<keyof Tally, number>, from: Tally): void {
  for (const key of Object.keys(from) as Array<keyof Tally>) into[key] = key === 'largestMerge' ? Math.max(into[key], from[key]) : into[key] + from[key];
}

/** The outcome of one operation. */
export interface OpResult {
  readonly outputs: Output[];
  readonly followUps: FollowUp[];
}
