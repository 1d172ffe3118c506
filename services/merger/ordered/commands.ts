/**
 * What the control plane tells the data plane (docs/design-person-operations.md): the changes to
 * an anonymous id's binding and to a person's resolution, each stamped with the `(received_at,
 * id)` of the person operation that caused it, so the data plane applies it among the id's events
 * in the reference model's order.
 */
import type { WorkspaceSettings } from '../../shared/model/inbound';
import type { PersonRef } from '../../shared/model/person';

interface Stamp {
  readonly workspace: string;
  /** received_at of the person operation. */
  readonly at: number;
  /** id of the person operation: orders commands among records received at the same instant. */
  readonly recordId: string;
  /** The person operation's content (recordContentKey): orders it among records sharing at and id. */
  readonly recordContent: string;
}

export type DataCommand =
  /**
   * SPEC R2a, R2b, R2e: the id is bound to `person` (newly, or again): report the open window,
   * merge what is pending within the retention, open a window to `windowEnd`.
   */
  | (Stamp & { readonly kind: 'bind'; readonly anonymousId: string; readonly person: PersonRef; readonly windowEnd: number; readonly settings: WorkspaceSettings })
  /** SPEC R10: the id's person was deleted: report the window's merges for it, unbind. */
  | (Stamp & { readonly kind: 'unbind'; readonly anonymousId: string; readonly person: PersonRef })
  /** SPEC R9: the id's person was merged into `to`: report the window's merges for `from`, go on for `to`. */
  | (Stamp & { readonly kind: 'move'; readonly anonymousId: string; readonly from: PersonRef; readonly to: PersonRef })
  /** SPEC R9, R10: records naming `person` mean `to` from now on (null: `person` itself again). */
  | (Stamp & { readonly kind: 'resolve'; readonly person: PersonRef; readonly to: PersonRef | null });

/** The data-plane entity a command is about: the anonymous id, or the person as named. */
export function commandTarget(command: DataCommand): { readonly kind: 'anonymous'; readonly anonymousId: string } | { readonly kind: 'person'; readonly person: PersonRef } {
  return command.kind === 'resolve' ? { kind: 'person', person: command.person } : { kind: 'anonymous', anonymousId: command.anonymousId };
}
