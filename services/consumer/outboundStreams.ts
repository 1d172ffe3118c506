/**
 * The streams a downstream consumer reads, their default topics and the type of their values
 * (generated from schemas/*.avsc by the build: services/shared/generated/avroTypes.ts).
 */
import type { Activity, AnonymousEvent, CampaignTrigger, DeadLetter, MergedEvent } from '../shared/generated/avroTypes';

export type { Activity, AnonymousEvent, CampaignTrigger, DeadLetter, MergedEvent };

export interface OutboundValues {
  /** null: the person's tombstone (SPEC R10), after every event of the person received before the deletion. */
  readonly mergedEvents: MergedEvent | null;
  readonly campaignTriggers: CampaignTrigger;
  readonly activity: Activity;
  readonly anonymousEvents: AnonymousEvent;
  readonly deadLetters: DeadLetter;
}

export type OutboundStream = keyof OutboundValues;

export const OUTBOUND_STREAMS: readonly OutboundStream[] = ['mergedEvents', 'campaignTriggers', 'activity', 'anonymousEvents', 'deadLetters'];

/** Schema file of each stream, under schemas/ (the reader's schema: the one this build was made with). */
export const OUTBOUND_SCHEMA_FILE: Readonly<Record<OutboundStream, string>> = {
  mergedEvents: 'merged-event.avsc',
  campaignTriggers: 'campaign-trigger.avsc',
  activity: 'activity.avsc',
  anonymousEvents: 'anonymous-event.avsc',
  deadLetters: 'dead-letter.avsc',
};

/** Topic names as the merger's defaults make them (ANONMERGE_TOPIC_*), from a prefix. */
export function defaultTopics(prefix = 'anonmerge'): Record<OutboundStream, string> {
  return {
    mergedEvents: `${prefix}.merged-events`,
    campaignTriggers: `${prefix}.campaign-triggers`,
    activity: `${prefix}.activity`,
    anonymousEvents: `${prefix}.anonymous-events`,
    deadLetters: `${prefix}.dead-letters`,
  };
}
