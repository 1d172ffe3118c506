/**
 * Kafka record keys. Everything about one anonymous id must land on one partition (so the merger
 * that owns it sees its events and identifies), and one person's outbound events stay in order.
 * Workspace ids cannot contain '/', so the prefix makes every key unambiguous.
 */
import { personKey, type PersonRef } from './person';

export function anonymousKey(workspaceId: string, anonymousId: string): string {
  return `${workspaceId}/a/${anonymousId}`;
}

export function personRecordKey(workspaceId: string, person: PersonRef): string {
  return `${workspaceId}/p/${personKey(person)}`;
}

/** The inbound key of a record: by anonymous id when it carries one, else by person. */
export function inboundKey(record: {
  readonly workspace_id: string;
  readonly command:
    | { readonly kind: 'track'; readonly body: { readonly anonymous_id: string | null; readonly person: PersonRef | null } }
    | { readonly kind: 'identify'; readonly body: { readonly anonymous_id: string | null; readonly person: PersonRef } }
    | { readonly kind: 'delete'; readonly body: { readonly person: PersonRef } }
    | { readonly kind: 'merge'; readonly body: { readonly secondary: PersonRef } }
    | { readonly kind: 'alias'; readonly body: { readonly previous_id: string } }
    | { readonly kind: 'tick'; readonly body: unknown }
    | { readonly kind: 'binding'; readonly body: { readonly anonymous_id: string | null; readonly person: PersonRef } }
    | { readonly kind: 'clock'; readonly body: unknown };
}): string {
  const { workspace_id: workspace, command } = record;
  switch (command.kind) {
    case 'track':
      if (command.body.anonymous_id !== null) return anonymousKey(workspace, command.body.anonymous_id);
      if (command.body.person !== null) return personRecordKey(workspace, command.body.person);
      // An invite event has neither; it is keyed by workspace alone (it keeps no state).
      return `${workspace}/i`;
    case 'identify':
      return command.body.anonymous_id !== null ? anonymousKey(workspace, command.body.anonymous_id) : personRecordKey(workspace, command.body.person);
    case 'delete':
      return personRecordKey(workspace, command.body.person);
    case 'merge':
      return personRecordKey(workspace, command.body.secondary);
    case 'alias':
      // previous_id is most often an anonymous id: keep it with that id's records.
      return anonymousKey(workspace, command.body.previous_id);
    case 'tick':
      // Ticks are written to an explicit partition; the key only names them.
      return 'tick';
    case 'binding':
      // With the events of the id (or person) it concerns, so it lands on their partition.
      return command.body.anonymous_id !== null ? anonymousKey(workspace, command.body.anonymous_id) : personRecordKey(workspace, command.body.person);
    case 'clock':
      // Written to every partition explicitly; the key only names them.
      return 'clock';
  }
}
