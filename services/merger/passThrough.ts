/**
 * Until the stateful merger lands, inbound records pass straight through: events of known people
 * become merged events (and triggers, per SPEC R4's window), anonymous events go to the anonymous
 * stream, invite events become triggers. Identifies do nothing yet. Pure.
 */
import type { InboundRecord } from '../shared/model/inbound';
import { anonymousKey, personRecordKey } from '../shared/model/keys';
import type { AnonymousEvent, CampaignTrigger, MergedEvent } from '../shared/model/outbound';
import type { StreamName } from '../shared/avro/schemaFiles';

export interface Output {
  readonly stream: StreamName;
  readonly key: string;
  readonly value: MergedEvent | CampaignTrigger | AnonymousEvent;
}

export function passThrough(record: InboundRecord): Output[] {
  if (record.command.kind !== 'track') return [];
  const event = record.command.body;
  const common = { workspace_id: record.workspace_id, name: event.name, type: event.type, timestamp: event.timestamp, data_json: event.data_json };
  const withinTriggerWindow = event.timestamp * 1000 >= record.received_at - record.settings.trigger_window_seconds * 1000;
  if (event.person) {
    const merged: MergedEvent = { ...common, person: event.person, event_id: record.id, received_at: record.received_at, previously_anonymous: false, anonymous_id: null, associated_at: record.received_at };
    const outputs: Output[] = [{ stream: 'mergedEvents', key: personRecordKey(record.workspace_id, event.person), value: merged }];
    if (withinTriggerWindow) {
      outputs.push({ stream: 'campaignTriggers', key: personRecordKey(record.workspace_id, event.person), value: { ...common, event_id: record.id, person: event.person, recipient: null, previously_anonymous: false, anonymous_id: null, associated_at: record.received_at } });
    }
    return outputs;
  }
  if (event.anonymous_id) {
    return [{ stream: 'anonymousEvents', key: anonymousKey(record.workspace_id, event.anonymous_id), value: { ...common, anonymous_id: event.anonymous_id, event_id: record.id, received_at: record.received_at } }];
  }
  const recipient = (JSON.parse(event.data_json) as { recipient?: string }).recipient ?? null;
  return [{ stream: 'campaignTriggers', key: `${record.workspace_id}/i`, value: { ...common, event_id: record.id, person: null, recipient, previously_anonymous: false, anonymous_id: null, associated_at: record.received_at } }];
}
