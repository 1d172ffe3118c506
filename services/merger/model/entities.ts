/**
 * What the merger keeps state about. Every piece of state belongs to one entity, and each
 * entity's keys share one Redis Cluster hash tag, so that an entity's state changes, its replay
 * markers and its outbox are written by one atomic script:
 *
 *   anonymous id  (workspace, anonymous id)  binding, window, pending events, seen ids
 *   person        (workspace, person)        its anonymous ids, seen ids of its own events
 *   invites       (workspace)                seen ids of invite events
 */
import type { PersonRef } from '../../shared/model/person';

export type EntityRef =
  | { readonly kind: 'anonymous'; readonly workspace: string; readonly anonymousId: string }
  | { readonly kind: 'person'; readonly workspace: string; readonly person: PersonRef }
  | { readonly kind: 'invites'; readonly workspace: string };

/** Where an operation came from: the inbound record that caused it. */
export interface Position {
  readonly partition: number;
  readonly offset: number;
}

export function positionKey(position: Position): string {
  return `${position.partition}:${position.offset}`;
}
