/**
 * The inbound contract beyond what Avro checks. A record that decodes but breaks it is a dead
 * letter with the reason (SPEC R8), never a half-applied change. Pure.
 */
import type { InboundRecord } from '../shared/model/inbound';

const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function contractViolation(record: InboundRecord): string | null {
  const { command } = record;
  // Time passing, for a partition: no workspace's data.
  if (command.kind === 'tick' || command.kind === 'clock') return null;
  if (!WORKSPACE_ID.test(record.workspace_id)) return `workspace_id "${record.workspace_id.slice(0, 80)}" is not a workspace id`;
  if (record.id.length === 0) return 'id is empty';
  if (!Number.isSafeInteger(record.received_at) || record.received_at <= 0) return `received_at ${record.received_at} is not a time`;
  const s = record.settings;
  if (s.retention_seconds < 0 || s.grace_seconds < 0 || s.trigger_window_seconds < 0) return 'settings hold a negative duration';
  switch (command.kind) {
    case 'track': {
      const event = command.body;
      if (event.name.length === 0) return 'event name is empty';
      let data: unknown;
      try {
        data = JSON.parse(event.data_json);
      } catch {
        return 'data_json is not JSON';
      }
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'data_json is not a JSON object';
      if (event.person && event.anonymous_id !== null) return 'an event has both a person and an anonymous_id';
      if (event.anonymous_id === '') return 'anonymous_id is empty';
      if (!event.person && event.anonymous_id === null && typeof (data as { recipient?: unknown }).recipient !== 'string') {
        return 'an event has neither a person, an anonymous_id nor data.recipient';
      }
      return null;
    }
    case 'identify':
      if (command.body.person.value.length === 0) return 'identify names no person';
      if (command.body.anonymous_id === '') return 'anonymous_id is empty';
      return null;
    case 'delete':
      return command.body.person.value.length === 0 ? 'delete names no person' : null;
    case 'merge':
      if (command.body.primary.value.length === 0 || command.body.secondary.value.length === 0) return 'merge names no person';
      return command.body.primary.id_type === command.body.secondary.id_type && command.body.primary.value === command.body.secondary.value ? 'merge of a person into itself' : null;
    case 'alias':
      return command.body.previous_id.length === 0 || command.body.user.value.length === 0 ? 'alias without both ids' : null;
    case 'binding': {
      const change = command.body;
      if (change.person.value.length === 0) return 'binding change names no person';
      if (change.change === 'RESOLVE' ? change.anonymous_id !== null : !change.anonymous_id) return `${change.change} ${change.change === 'RESOLVE' ? 'names' : 'lacks'} an anonymous_id`;
      if (change.change === 'BIND' && change.window_end === null) return 'BIND without a window_end';
      if (change.change === 'MOVE' && change.to === null) return 'MOVE without a primary';
      return null;
    }
  }
}
