/**
 * What the key of an outbound record says (docs/consuming.md, "Keys"). Keys are plain UTF-8
 * strings, not Avro: `<workspace>/p/<id type>:<value>` for a person (merged events, their
 * tombstones, triggers of a person, activity), `<workspace>/a/<anonymous id>` for an anonymous id
 * (anonymous events), `<workspace>/i/<recipient>` for an invite's trigger. A workspace id never
 * contains '/', so the first '/' ends it. Dead letters carry the key of the record that failed,
 * whatever it was.
 */
import { personFromKey, type PersonRef } from '../shared/model/person';

export type OutboundKey =
  | { readonly kind: 'person'; readonly workspaceId: string; readonly person: PersonRef; readonly raw: string }
  | { readonly kind: 'anonymous'; readonly workspaceId: string; readonly anonymousId: string; readonly raw: string }
  | { readonly kind: 'invite'; readonly workspaceId: string; readonly recipient: string; readonly raw: string }
  /** Anything else (a dead letter's source key may be any bytes). */
  | { readonly kind: 'other'; readonly raw: string };

export function parseOutboundKey(raw: string): OutboundKey {
  const slash = raw.indexOf('/');
  if (slash <= 0 || raw[slash + 2] !== '/') return { kind: 'other', raw };
  const workspaceId = raw.slice(0, slash);
  const rest = raw.slice(slash + 3);
  switch (raw[slash + 1]) {
    case 'p':
      try {
        return { kind: 'person', workspaceId, person: personFromKey(rest), raw };
      } catch {
        return { kind: 'other', raw };
      }
    case 'a':
      return { kind: 'anonymous', workspaceId, anonymousId: rest, raw };
    case 'i':
      return { kind: 'invite', workspaceId, recipient: rest, raw };
    default:
      return { kind: 'other', raw };
  }
}
