/**
 * Decisions about one person (SPEC R5, R7, R9, R10) and about a workspace's invite events
 * (SPEC R4). Pure, like anonymous.ts.
 */
import { personRecordKey } from '../../shared/model/keys';
import type { PersonRef } from '../../shared/model/person';
import type { Position } from '../model/entities';
import type { InviteOp, PersonOp } from '../model/ops';
import { emptyTally, type FollowUp, type OpResult, type Output, type Tally } from '../model/outputs';
import type { SimpleState } from '../model/state';
import { activityOutput, inviteTrigger, personEventOutputs } from './records';

export interface SimpleDecision {
  readonly state: SimpleState;
  readonly seen: Array<{ readonly id: string; readonly receivedAt: number }>;
  readonly results: Array<OpResult & { readonly position: Position }>;
  readonly tally: Tally;
}

function advance(applied: Record<number, number>, position: Position): void {
  applied[position.partition] = Math.max(applied[position.partition] ?? -1, position.offset);
}

export function decidePerson(initial: SimpleState, ops: readonly PersonOp[], ctx: { readonly workspace: string; readonly person: PersonRef; readonly knownIds: ReadonlySet<string> }): SimpleDecision {
  const { workspace, person } = ctx;
  const known = new Set(ctx.knownIds);
  const applied: Record<number, number> = { ...initial.applied };
  const seen: SimpleDecision['seen'] = [];
  const results: SimpleDecision['results'] = [];
  const tally = emptyTally();
  for (const op of ops) {
    const outputs: Output[] = [];
    const followUps: FollowUp[] = [];
    switch (op.type) {
      case 'event': {
        // SPEC R7: a repeated id is one event downstream.
        if (known.has(op.id)) {
          tally.duplicates += 1;
          break;
        }
        known.add(op.id);
        seen.push({ id: op.id, receivedAt: op.receivedAt });
        // SPEC R5: at once, as the person's event; R4 with its received_at as the association.
        const produced = personEventOutputs({ workspace, person, id: op.id, receivedAt: op.receivedAt, associatedAt: op.receivedAt, event: op.event, anonymousId: null, triggerWindowSeconds: op.settings.trigger_window_seconds });
        outputs.push(...produced);
        tally.triggers += produced.length - 1;
        break;
      }
      case 'delete': {
        // SPEC R10: a tombstone downstream; the anonymous ids are unbound by their own operations.
        outputs.push({ stream: 'mergedEvents', key: personRecordKey(workspace, person), value: null });
        outputs.push(activityOutput({ workspace, person, kind: 'PERSON_DELETED', at: op.receivedAt, position: op.position }));
        followUps.push({ type: 'index-delete', workspace, person });
        break;
      }
      case 'absorb': {
        // SPEC R9: the secondary's anonymous ids are this person's from now on.
        outputs.push(activityOutput({ workspace, person, kind: 'PEOPLE_MERGED', at: op.receivedAt, position: op.position, otherPerson: op.secondary }));
        for (const anonymousId of op.anonymousIds) followUps.push({ type: 'index-add', workspace, person, anonymousId });
        followUps.push({ type: 'index-delete', workspace, person: op.secondary });
        break;
      }
    }
    advance(applied, op.position);
    results.push({ position: op.position, outputs, followUps });
  }
  return { state: { version: initial.version + 1, applied }, seen, results, tally };
}

export function decideInvites(initial: SimpleState, ops: readonly InviteOp[], ctx: { readonly workspace: string; readonly knownIds: ReadonlySet<string> }): SimpleDecision {
  const known = new Set(ctx.knownIds);
  const applied: Record<number, number> = { ...initial.applied };
  const seen: SimpleDecision['seen'] = [];
  const results: SimpleDecision['results'] = [];
  const tally = emptyTally();
  for (const op of ops) {
    const outputs: Output[] = [];
    if (known.has(op.id)) {
      tally.duplicates += 1;
    } else {
      known.add(op.id);
      seen.push({ id: op.id, receivedAt: op.receivedAt });
      // SPEC R4: an invite is a trigger addressed to its recipient, never pending.
      outputs.push(inviteTrigger(ctx.workspace, op.id, op.receivedAt, op.recipient, op.event));
      tally.triggers += 1;
    }
    advance(applied, op.position);
    results.push({ position: op.position, outputs, followUps: [] });
  }
  return { state: { version: initial.version + 1, applied }, seen, results, tally };
}
