/**
 * The outbound records (schemas/*.avsc) as TypeScript sees them. The .avsc files are the
 * contract; these interfaces mirror them and test/unit/schemas.test.ts checks that they agree.
 */
import type { EventType } from './inbound';
import type { PersonRef } from './person';

export interface MergedEvent {
  readonly workspace_id: string;
  readonly person: PersonRef;
  readonly event_id: string;
  readonly name: string;
  readonly type: EventType;
  readonly timestamp: number;
  readonly data_json: string;
  readonly received_at: number;
  readonly previously_anonymous: boolean;
  readonly anonymous_id: string | null;
  readonly associated_at: number;
}

export interface CampaignTrigger {
  readonly workspace_id: string;
  readonly event_id: string;
  readonly person: PersonRef | null;
  readonly recipient: string | null;
  readonly name: string;
  readonly type: EventType;
  readonly timestamp: number;
  readonly data_json: string;
  readonly previously_anonymous: boolean;
  readonly anonymous_id: string | null;
  readonly associated_at: number;
}

export type ActivityKind = 'ANONYMOUS_DATA_MERGED' | 'ANONYMOUS_ID_REBIND_REFUSED' | 'PEOPLE_MERGED' | 'PERSON_DELETED';

export interface Activity {
  readonly workspace_id: string;
  readonly activity_id: string;
  readonly person: PersonRef;
  readonly kind: ActivityKind;
  readonly at: number;
  readonly anonymous_id: string | null;
  readonly merged_count: number | null;
  readonly oldest_event_timestamp: number | null;
  readonly other_person: PersonRef | null;
}

export interface AnonymousEvent {
  readonly workspace_id: string;
  readonly anonymous_id: string;
  readonly event_id: string;
  readonly name: string;
  readonly type: EventType;
  readonly timestamp: number;
  readonly data_json: string;
  readonly received_at: number;
}

export interface DeadLetter {
  readonly reason: string;
  readonly source_topic: string;
  readonly source_partition: number;
  readonly source_offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly failed_at: number;
}
