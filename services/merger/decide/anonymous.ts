/**
 * The decisions about one anonymous id (SPEC R1, R2, R3, R4, R6, R7, R9, R10), as a pure
 * function of its stored state and its operations in position order. Time is the records'
 * received_at only: whatever order the records are consumed in, however late, and however often
 * they are replayed, the same state and operations give the same outcome.
 */
import { personKey } from '../../shared/model/person';
import type { AnonymousOp } from '../model/ops';
import type { AnonymousState, Binding, PendingEvent } from '../model/state';
import { emptyTally, type FollowUp, type OpResult, type Output, type Tally } from '../model/outputs';
import type { Position } from '../model/entities';
import { activityOutput, anonymousEventOutput, personEventOutputs } from './records';

export interface AnonymousContext {
  readonly workspace: string;
  readonly anonymousId: string;
  /** Event ids this anonymous id has already seen (remembered, or still pending) (SPEC R7). */
  readonly knownIds: ReadonlySet<string>;
}

export type PendingWrite = { readonly kind: 'none' } | { readonly kind: 'append'; readonly events: PendingEvent[] } | { readonly kind: 'replace'; readonly events: PendingEvent[] };

export interface AnonymousDecision {
  readonly state: AnonymousState;
  readonly pendingWrite: PendingWrite;
  /** Ids to remember for the retention: events that left pending or never entered it. */
  readonly seen: Array<{ readonly id: string; readonly receivedAt: number }>;
  readonly results: Array<OpResult & { readonly position: Position }>;
  readonly tally: Tally;
}

const samePerson = (a: Binding['person'], b: Binding['person']) => personKey(a) === personKey(b);

export function decideAnonymous(initial: AnonymousState, ops: readonly AnonymousOp[], ctx: AnonymousContext): AnonymousDecision {
  const { workspace, anonymousId } = ctx;
  let binding = initial.binding;
  let pending: PendingEvent[] | null = initial.pending ? [...initial.pending] : null;
  const appended: PendingEvent[] = [];
  let replaced = false;
  const known = new Set(ctx.knownIds);
  const seen: AnonymousDecision['seen'] = [];
  const results: AnonymousDecision['results'] = [];
  const tally = emptyTally();
  const applied: Record<number, number> = { ...initial.applied };

  /** SPEC R6: the merges counted into an open window are reported as one activity. */
  const flushWindow = (position: Position, at: number, outputs: Output[]) => {
    if (binding && binding.windowCount > 0) {
      outputs.push(activityOutput({ workspace, person: binding.person, kind: 'ANONYMOUS_DATA_MERGED', at, position, anonymousId, mergedCount: binding.windowCount, oldestEventTimestamp: binding.windowOldest }));
      binding = { ...binding, windowCount: 0, windowOldest: null };
    }
  };

  for (const op of ops) {
    const outputs: Output[] = [];
    const followUps: FollowUp[] = [];
    switch (op.type) {
      case 'event': {
        if (known.has(op.id)) {
          tally.duplicates += 1;
          break;
        }
        known.add(op.id);
        const retentionMs = op.settings.retention_seconds * 1000;
        if (binding && op.settings.merge_enabled && op.receivedAt <= binding.windowEnd) {
          if (op.receivedAt < binding.boundAt - retentionMs) {
            // Received inside the window's reach but older than the retention at the identify:
            // it would have been dropped from pending (SPEC R1, R2b).
            tally.expired += 1;
            seen.push({ id: op.id, receivedAt: op.receivedAt });
            break;
          }
          // SPEC R2c: received inside the window, consumed after the identify.
          const associatedAt = Math.max(op.receivedAt, binding.boundAt);
          const produced = personEventOutputs({ workspace, person: binding.person, id: op.id, receivedAt: op.receivedAt, associatedAt, event: op.event, anonymousId, triggerWindowSeconds: op.settings.trigger_window_seconds });
          outputs.push(...produced);
          tally.merged += 1;
          tally.triggers += produced.length - 1;
          seen.push({ id: op.id, receivedAt: op.receivedAt });
          if (binding.windowOpen) {
            binding = { ...binding, windowCount: binding.windowCount + 1, windowOldest: Math.min(binding.windowOldest ?? op.event.timestamp, op.event.timestamp) };
          } else {
            outputs.push(activityOutput({ workspace, person: binding.person, kind: 'ANONYMOUS_DATA_MERGED', at: associatedAt, position: op.position, anonymousId, mergedCount: 1, oldestEventTimestamp: op.event.timestamp }));
          }
          break;
        }
        // SPEC R1 / R2d: anonymous, pending under its id, visible on the anonymous stream.
        const event: PendingEvent = { id: op.id, receivedAt: op.receivedAt, ...op.event };
        appended.push(event);
        pending?.push(event);
        outputs.push(anonymousEventOutput(workspace, anonymousId, op.id, op.receivedAt, op.event));
        tally.pending += 1;
        break;
      }

      case 'identify': {
        // SPEC R3: with merging off, an identify binds nothing and pending events stay pending.
        if (!op.settings.merge_enabled) break;
        if (binding && !samePerson(binding.person, op.person)) {
          // SPEC R2f: anonymous ids are not reusable.
          outputs.push(activityOutput({ workspace, person: op.person, kind: 'ANONYMOUS_ID_REBIND_REFUSED', at: op.receivedAt, position: op.position, anonymousId, otherPerson: binding.person }));
          tally.refusedRebinds += 1;
          break;
        }
        const windowEnd = op.receivedAt + op.settings.grace_seconds * 1000;
        if (binding) {
          // SPEC R2e: the same person again opens a new window from this identify.
          flushWindow(op.position, op.receivedAt, outputs);
          binding = { ...binding, boundAt: Math.max(binding.boundAt, op.receivedAt), windowEnd: Math.max(binding.windowEnd, windowEnd), windowOpen: true };
        } else {
          // SPEC R2a: bind, and open the window.
          binding = { person: op.person, boundAt: op.receivedAt, windowEnd, windowOpen: true, windowCount: 0, windowOldest: null };
          followUps.push({ type: 'index-add', workspace, person: op.person, anonymousId });
        }
        followUps.push({ type: 'timer-set', partition: op.position.partition, workspace, anonymousId, windowEnd: binding.windowEnd });
        if (pending === null) throw new Error(`pending events of ${anonymousId} were not loaded for an identify`);
        // SPEC R2b: merge what is pending, in received_at order, within the window and retention.
        const cutoff = op.receivedAt - op.settings.retention_seconds * 1000;
        const ordered = [...pending].sort((a, b) => a.receivedAt - b.receivedAt);
        const remaining: PendingEvent[] = [];
        let count = 0;
        let oldest: number | null = null;
        for (const event of ordered) {
          if (event.receivedAt < cutoff) {
            tally.expired += 1;
            seen.push({ id: event.id, receivedAt: event.receivedAt });
          } else if (event.receivedAt <= binding.windowEnd) {
            const associatedAt = Math.max(event.receivedAt, op.receivedAt);
            const { id, receivedAt, ...body } = event;
            const produced = personEventOutputs({ workspace, person: binding.person, id, receivedAt, associatedAt, event: body, anonymousId, triggerWindowSeconds: op.settings.trigger_window_seconds });
            outputs.push(...produced);
            tally.merged += 1;
            tally.triggers += produced.length - 1;
            count += 1;
            oldest = Math.min(oldest ?? event.timestamp, event.timestamp);
            seen.push({ id, receivedAt });
          } else {
            remaining.push(event);
          }
        }
        if (remaining.length !== pending.length) {
          pending = remaining;
          replaced = true;
        }
        tally.largestMerge = Math.max(tally.largestMerge, count);
        if (count > 0) {
          // SPEC R6: one Anonymous Data Merged activity for this merge.
          outputs.push(activityOutput({ workspace, person: binding.person, kind: 'ANONYMOUS_DATA_MERGED', at: op.receivedAt, position: op.position, anonymousId, mergedCount: count, oldestEventTimestamp: oldest }));
        }
        break;
      }

      case 'unbind': {
        // SPEC R10: the deleted person's anonymous ids become free; later events pend again.
        if (!binding || !samePerson(binding.person, op.person)) break;
        flushWindow(op.position, op.receivedAt, outputs);
        binding = null;
        followUps.push({ type: 'timer-clear', partition: op.position.partition, workspace, anonymousId });
        break;
      }

      case 'rebind': {
        // SPEC R9: the secondary's anonymous ids and open windows become the primary's.
        if (!binding || !samePerson(binding.person, op.from)) break;
        binding = { ...binding, person: op.to };
        followUps.push({ type: 'index-remove', workspace, person: op.from, anonymousId }, { type: 'index-add', workspace, person: op.to, anonymousId });
        break;
      }

      case 'fire': {
        // SPEC R6: the grace timer: report the window's merges, close its bookkeeping.
        if (binding && binding.windowOpen && binding.windowEnd === op.windowEnd) {
          flushWindow(op.position, op.windowEnd, outputs);
          binding = { ...binding, windowOpen: false };
          tally.timersFired += 1;
        }
        if (!binding || binding.windowEnd <= op.windowEnd) followUps.push({ type: 'timer-clear', partition: op.position.partition, workspace, anonymousId, afterCommit: true });
        break;
      }
    }
    applied[op.position.partition] = Math.max(applied[op.position.partition] ?? -1, op.position.offset);
    results.push({ position: op.position, outputs, followUps });
  }

  const pendingWrite: PendingWrite = replaced ? { kind: 'replace', events: pending ?? [] } : appended.length > 0 ? { kind: 'append', events: appended } : { kind: 'none' };
  return {
    state: { version: initial.version + 1, binding, pending, applied },
    pendingWrite,
    seen,
    results,
    tally,
  };
}
