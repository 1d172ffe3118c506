/**
 * Which operations can be replayed from a one-letter outbox code, and how. Pure.
 *
 * An operation whose outputs follow from the record alone, once it is known which way the
 * decision went, is stored as a code; a replay rebuilds its outputs with the same builders and
 * the same encoder, so they are byte for byte the ones the first pass would have sent. Anything
 * else (a merge, a refusal, a timer, a deletion) is stored whole. Most operations are anonymous
 * page views that became pending, so most entries are one byte.
 */
import type { SchemaCatalog } from '../shared/avro/catalog';
import type { PersonRef } from '../shared/model/person';
import { anonymousEventOutput, inviteTrigger, personEventOutputs } from './decide/records';
import type { EntityRef, Position } from './model/entities';
import type { AnonymousOp, InviteOp, PersonOp } from './model/ops';
import type { Output } from './model/outputs';
import type { EncodedOutput, StoredOutcome } from './redis/codec';

export type AnyOp = AnonymousOp | PersonOp | InviteOp;

export interface PositionOutcome {
  readonly position: Position;
  readonly outputs: EncodedOutput[];
  readonly followUps: import('./model/outputs').FollowUp[];
}

/** How to store the outcome of the operations at one position. */
export function storedOutcome(entity: EntityRef, ops: readonly AnyOp[], outcome: PositionOutcome): StoredOutcome {
  const whole: StoredOutcome = { code: 'B', entry: { outputs: outcome.outputs, followUps: outcome.followUps } };
  if (ops.length !== 1) return whole;
  const op = ops[0] as AnyOp;
  const { outputs, followUps } = outcome;
  if (outputs.length === 0 && followUps.length === 0) return { code: 'N' };
  if (followUps.length > 0) return whole;
  if (entity.kind === 'anonymous' && op.type === 'event' && outputs.length === 1 && outputs[0]?.stream === 'anonymousEvents') return { code: 'P' };
  if (entity.kind === 'person' && op.type === 'event') return { code: 'E' };
  if (entity.kind === 'invites' && op.type === 'invite' && outputs.length === 1) return { code: 'I' };
  return whole;
}

function rebuilt(entity: EntityRef, op: AnyOp, code: 'P' | 'E' | 'I'): Output[] {
  if (code === 'P' && entity.kind === 'anonymous' && op.type === 'event') return [anonymousEventOutput(entity.workspace, entity.anonymousId, op.id, op.receivedAt, op.event)];
  if (code === 'E' && entity.kind === 'person' && op.type === 'event') {
    const person: PersonRef = entity.person;
    return personEventOutputs({ workspace: entity.workspace, person, id: op.id, receivedAt: op.receivedAt, associatedAt: op.receivedAt, event: op.event, anonymousId: null, triggerWindowSeconds: op.settings.trigger_window_seconds });
  }
  if (code === 'I' && entity.kind === 'invites' && op.type === 'invite') return [inviteTrigger(entity.workspace, op.id, op.receivedAt, op.recipient, op.event)];
  throw new Error(`outbox code ${code} does not fit a ${op.type} operation of a ${entity.kind}`);
}

/** The outcome of a replayed position, from what the outbox stored. */
export function replayedOutcome(entity: EntityRef, ops: readonly AnyOp[], position: Position, stored: StoredOutcome, catalog: SchemaCatalog): PositionOutcome {
  if (stored.code === 'B') return { position, outputs: stored.entry.outputs, followUps: stored.entry.followUps };
  if (stored.code === 'N') return { position, outputs: [], followUps: [] };
  const outputs = rebuilt(entity, ops[0] as AnyOp, stored.code).map((o) => ({ stream: o.stream, key: o.key, value: o.value === null ? null : catalog.encode(o.stream, o.value) }));
  return { position, outputs, followUps: [] };
}
