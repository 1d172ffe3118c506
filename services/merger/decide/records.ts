/**
 * Builders of the outbound records, and the campaign-trigger rule (SPEC R4). Pure.
 */
import { anonymousKey, personRecordKey } from '../../shared/model/keys';
import type { Activity, ActivityKind, AnonymousEvent, CampaignTrigger, MergedEvent } from '../../shared/model/outbound';
import { personKey, type PersonRef } from '../../shared/model/person';
import { positionKey, type Position } from '../model/entities';
import type { EventBody } from '../model/ops';
import type { Output } from '../model/outputs';

/**
 * SPEC R4: an event triggers campaigns when its timestamp is at most the trigger window before
 * the moment it became the person's (received_at, or the later of it and the identify's).
 */
export function isCampaignTrigger(timestampSeconds: number, associatedAtMs: number, triggerWindowSeconds: number): boolean {
  return timestampSeconds * 1000 >= associatedAtMs - triggerWindowSeconds * 1000;
}

export interface PersonEventFacts {
  readonly workspace: string;
  readonly person: PersonRef;
  readonly id: string;
  readonly receivedAt: number;
  readonly associatedAt: number;
  readonly event: EventBody;
  /** The anonymous id it was merged from, or null for an identified event. */
  readonly anonymousId: string | null;
  readonly triggerWindowSeconds: number;
}

/** A person's event on the merged stream, and its trigger when R4 says so. */
export function personEventOutputs(facts: PersonEventFacts): Output[] {
  const { workspace, person, id, receivedAt, associatedAt, event, anonymousId } = facts;
  const key = personRecordKey(workspace, person);
  const previouslyAnonymous = anonymousId !== null;
  const merged: MergedEvent = {
    workspace_id: workspace,
    person,
    event_id: id,
    name: event.name,
    type: event.type,
    timestamp: event.timestamp,
    data_json: event.dataJson,
    received_at: receivedAt,
    previously_anonymous: previouslyAnonymous,
    anonymous_id: anonymousId,
    associated_at: associatedAt,
  };
  const outputs: Output[] = [{ stream: 'mergedEvents', key, value: merged }];
  if (isCampaignTrigger(event.timestamp, associatedAt, facts.triggerWindowSeconds)) {
    const trigger: CampaignTrigger = {
      workspace_id: workspace,
      event_id: id,
      person,
      recipient: null,
      name: event.name,
      type: event.type,
      timestamp: event.timestamp,
      data_json: event.dataJson,
      previously_anonymous: previouslyAnonymous,
      anonymous_id: anonymousId,
      associated_at: associatedAt,
    };
    outputs.push({ stream: 'campaignTriggers', key, value: trigger });
  }
  return outputs;
}

export function inviteTrigger(workspace: string, id: string, receivedAt: number, recipient: string, event: EventBody): Output {
  const trigger: CampaignTrigger = {
    workspace_id: workspace,
    event_id: id,
    person: null,
    recipient,
    name: event.name,
    type: event.type,
    timestamp: event.timestamp,
    data_json: event.dataJson,
    previously_anonymous: false,
    anonymous_id: null,
    associated_at: receivedAt,
  };
  return { stream: 'campaignTriggers', key: `${workspace}/i/${recipient.toLowerCase()}`, value: trigger };
}

export function anonymousEventOutput(workspace: string, anonymousId: string, id: string, receivedAt: number, event: EventBody): Output {
  const value: AnonymousEvent = {
    workspace_id: workspace,
    anonymous_id: anonymousId,
    event_id: id,
    name: event.name,
    type: event.type,
    timestamp: event.timestamp,
    data_json: event.dataJson,
    received_at: receivedAt,
  };
  return { stream: 'anonymousEvents', key: anonymousKey(workspace, anonymousId), value };
}

export interface ActivityFacts {
  readonly workspace: string;
  readonly person: PersonRef;
  readonly kind: ActivityKind;
  readonly at: number;
  /** The position of the operation that caused it: with kind and subject, a deterministic id. */
  readonly position: Position;
  readonly anonymousId?: string | null;
  readonly mergedCount?: number | null;
  readonly oldestEventTimestamp?: number | null;
  readonly otherPerson?: PersonRef | null;
}

export function activityOutput(facts: ActivityFacts): Output {
  const subject = facts.anonymousId ?? personKey(facts.person);
  const value: Activity = {
    workspace_id: facts.workspace,
    activity_id: `${facts.kind.toLowerCase()}/${positionKey(facts.position)}/${subject}`,
    person: facts.person,
    kind: facts.kind,
    at: facts.at,
    anonymous_id: facts.anonymousId ?? null,
    merged_count: facts.mergedCount ?? null,
    oldest_event_timestamp: facts.oldestEventTimestamp ?? null,
    other_person: facts.otherPerson ?? null,
  };
  return { stream: 'activity', key: personRecordKey(facts.workspace, facts.person), value };
}
