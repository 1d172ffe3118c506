/**
 * The inbound record (schemas/inbound-record.avsc) as TypeScript sees it. avsc represents the
 * union of commands wrapped in an object keyed by the branch's full name; wrapCommand and
 * unwrapCommand are the only places that know those names.
 */
import type { PersonRef } from './person';

export type EventType = 'event' | 'page' | 'screen';
export const EVENT_TYPES: readonly EventType[] = ['event', 'page', 'screen'];

export interface WorkspaceSettings {
  readonly merge_enabled: boolean;
  readonly retention_seconds: number;
  readonly grace_seconds: number;
  readonly trigger_window_seconds: number;
}

export interface TrackEvent {
  readonly person: PersonRef | null;
  readonly anonymous_id: string | null;
  readonly name: string;
  readonly type: EventType;
  /** Event time, unix seconds. */
  readonly timestamp: number;
  readonly data_json: string;
}

export interface Identify {
  readonly person: PersonRef;
  readonly anonymous_id: string | null;
  readonly attributes_json: string;
}

export interface DeletePerson {
  readonly person: PersonRef;
}

export interface MergePeople {
  readonly primary: PersonRef;
  readonly secondary: PersonRef;
}

export interface Alias {
  readonly user: PersonRef;
  readonly previous_id: string;
}

/** SPEC R2a, R2e, R9, R10, as the merger's control plane decided them (schemas: BindingChange). */
export interface BindingChange {
  readonly change: 'BIND' | 'UNBIND' | 'MOVE' | 'RESOLVE';
  readonly anonymous_id: string | null;
  readonly person: PersonRef;
  readonly to: PersonRef | null;
  readonly window_end: number | null;
  readonly record_content: string;
}

export interface ControlClock {
  readonly control_partition: number;
}

export type Command =
  | { readonly kind: 'track'; readonly body: TrackEvent }
  | { readonly kind: 'identify'; readonly body: Identify }
  | { readonly kind: 'delete'; readonly body: DeletePerson }
  | { readonly kind: 'merge'; readonly body: MergePeople }
  | { readonly kind: 'alias'; readonly body: Alias }
  | { readonly kind: 'tick'; readonly body: Record<string, never> }
  /** Written by the merger's control plane (docs/design-person-operations.md), never by ingest. */
  | { readonly kind: 'binding'; readonly body: BindingChange }
  | { readonly kind: 'clock'; readonly body: ControlClock };

const BRANCH_OF = {
  track: 'dev.anonmerge.inbound.TrackEvent',
  identify: 'dev.anonmerge.inbound.Identify',
  delete: 'dev.anonmerge.inbound.DeletePerson',
  merge: 'dev.anonmerge.inbound.MergePeople',
  alias: 'dev.anonmerge.inbound.Alias',
  tick: 'dev.anonmerge.inbound.Tick',
  binding: 'dev.anonmerge.inbound.BindingChange',
  clock: 'dev.anonmerge.inbound.ControlClock',
} as const;

const KIND_OF: Record<string, Command['kind']> = Object.fromEntries(Object.entries(BRANCH_OF).map(([kind, branch]) => [branch, kind as Command['kind']]));

/** The record exactly as avsc encodes and decodes it. */
export interface InboundRecordWire {
  readonly workspace_id: string;
  readonly id: string;
  readonly received_at: number;
  readonly settings: WorkspaceSettings;
  readonly command: Readonly<Record<string, unknown>>;
}

export interface InboundRecord {
  readonly workspace_id: string;
  /** Idempotency key (sender's id, else a ULID from ingest). */
  readonly id: string;
  /** Milliseconds; when ingest accepted the request. */
  readonly received_at: number;
  readonly settings: WorkspaceSettings;
  readonly command: Command;
}

export function toWire(record: InboundRecord): InboundRecordWire {
  return { ...record, command: { [BRANCH_OF[record.command.kind]]: record.command.body } };
}

export function fromWire(wire: InboundRecordWire): InboundRecord {
  const entries = Object.entries(wire.command);
  const [branch, body] = entries[0] ?? [];
  const kind = branch === undefined ? undefined : KIND_OF[branch];
  if (entries.length !== 1 || kind === undefined) throw new Error(`unknown command branch ${String(branch)}`);
  return { ...wire, command: { kind, body } as Command };
}

/** Identify, alias, delete, merge: the records the merger's control plane decides (docs/design-person-operations.md). */
export function isPersonOperation(record: InboundRecord): boolean {
  const kind = record.command.kind;
  return kind === 'identify' || kind === 'alias' || kind === 'delete' || kind === 'merge';
}
