/**
 * Operations on one entity, in the order of their positions. An inbound record becomes one
 * operation, or several (a deletion unbinds each of the person's anonymous ids); a grace timer
 * becomes a `fire` operation positioned at the record that moved time past it.
 */
import type { WorkspaceSettings } from '../../shared/model/inbound';
import type { PersonRef } from '../../shared/model/person';
import type { Position } from './entities';
import type { PendingEvent } from './state';

export type EventBody = Omit<PendingEvent, 'id' | 'receivedAt'>;

export type AnonymousOp =
  /** An event carrying this anonymous id and no person. */
  | { readonly type: 'event'; readonly position: Position; readonly id: string; readonly receivedAt: number; readonly settings: WorkspaceSettings; readonly event: EventBody }
  /** An identify of `person` with this anonymous id (or an alias resolved to one). */
  | { readonly type: 'identify'; readonly position: Position; readonly receivedAt: number; readonly settings: WorkspaceSettings; readonly person: PersonRef }
  /** The bound person was deleted (SPEC R10). */
  | { readonly type: 'unbind'; readonly position: Position; readonly receivedAt: number; readonly person: PersonRef }
  /** The bound person was merged into another (SPEC R9). */
  | { readonly type: 'rebind'; readonly position: Position; readonly receivedAt: number; readonly from: PersonRef; readonly to: PersonRef }
  /** The grace timer of the window ending at windowEnd fired (SPEC R6). */
  | { readonly type: 'fire'; readonly position: Position; readonly windowEnd: number };

export type PersonOp =
  /** An event of this person, sent with the person's identifier (SPEC R5). */
  | { readonly type: 'event'; readonly position: Position; readonly id: string; readonly receivedAt: number; readonly settings: WorkspaceSettings; readonly event: EventBody }
  /** The person was deleted: its anonymous ids are freed and a tombstone goes out (SPEC R10). */
  | { readonly type: 'delete'; readonly position: Position; readonly receivedAt: number; readonly anonymousIds: readonly string[] }
  /** Another person (secondary) was merged into this one (SPEC R9). */
  | { readonly type: 'absorb'; readonly position: Position; readonly receivedAt: number; readonly secondary: PersonRef; readonly anonymousIds: readonly string[] };

export type InviteOp = { readonly type: 'invite'; readonly position: Position; readonly id: string; readonly receivedAt: number; readonly recipient: string; readonly event: EventBody };
