/**
 * What the two-plane merger's decisions amount to, for metrics and the totals log: counted from
 * the outputs a decision produced (they are what downstream sees), so the counts cannot drift
 * from the decisions. Added to a batch's tally only once its state write succeeded, so a write
 * retried after a version conflict is not counted twice.
 */
import type { Activity, MergedEvent } from '../../shared/model/outbound';
import type { Output } from '../model/outputs';
import type { DataItem } from './dataPlane';

export interface DecisionCounts {
  /** Anonymous events merged into a person (R2b, R2c). */
  merged: number;
  /** Anonymous events that became pending (R1, R2d). */
  pending: number;
  /** Campaign triggers (R4). */
  triggers: number;
  /** Repeated event ids dropped (R7). */
  duplicates: number;
  /** Identifies refused because the id is bound to another person (R2f). */
  refusedRebinds: number;
}

export const noDecisions = (): DecisionCounts => ({ merged: 0, pending: 0, triggers: 0, duplicates: 0, refusedRebinds: 0 });

/** Counts what one item (an event or a command; null for a window the clock ended) produced. */
export function countDecisions(counts: DecisionCounts, item: DataItem | null, outputs: readonly Output[]): void {
  let aboutTheEvent = 0;
  for (const output of outputs) {
    if (output.stream === 'mergedEvents' && output.value !== null && (output.value as MergedEvent).previously_anonymous) counts.merged += 1;
    if (output.stream === 'anonymousEvents') counts.pending += 1;
    if (output.stream === 'campaignTriggers') counts.triggers += 1;
    if (output.stream === 'activity' && (output.value as Activity | null)?.kind === 'ANONYMOUS_ID_REBIND_REFUSED') counts.refusedRebinds += 1;
    if (output.stream !== 'activity') aboutTheEvent += 1;
  }
  // Every event that counts goes somewhere (merged, pending or a trigger); one that does not was
  // already counted under its id.
  if (item?.kind === 'event' && item.record.command.kind === 'track' && aboutTheEvent === 0) counts.duplicates += 1;
}

export function addDecisions(into: DecisionCounts, from: DecisionCounts): void {
  into.merged += from.merged;
  into.pending += from.pending;
  into.triggers += from.triggers;
  into.duplicates += from.duplicates;
  into.refusedRebinds += from.refusedRebinds;
}
